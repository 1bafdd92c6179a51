"""ShuffledBatches: reproducible order, disjoint rank shares, skipping; striding helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdekit.training.batches import ShuffledBatches, collate, stride_batch
from tests.training._toy import PairDataset


def test_order_depends_on_seed_and_epoch_only():
    data = PairDataset(10)
    a = ShuffledBatches(data, batch_size=3, seed=5)
    b = ShuffledBatches(data, batch_size=3, seed=5)
    assert np.array_equal(a.indices(2), b.indices(2))
    assert not np.array_equal(a.indices(0), a.indices(1))
    assert sorted(a.indices(0)) == list(range(10))
    assert len(a) == 4 and len(ShuffledBatches(data, batch_size=3, drop_last=True)) == 3


def test_rank_shares_partition_the_permutation():
    data = PairDataset(10)
    shares = [ShuffledBatches(data, batch_size=2, seed=1, rank=r, world_size=3).indices(4) for r in range(3)]
    assert [len(s) for s in shares] == [4, 4, 4]  # padded to 12 by wrapping around
    perm = ShuffledBatches(data, batch_size=2, seed=1).indices(4)
    merged = np.stack(shares, axis=1).ravel()
    assert np.array_equal(merged[:10], perm) and np.array_equal(merged[10:], perm[:2])
    # without padding (evaluation) the shares cover every sample exactly once
    exact = [ShuffledBatches(data, batch_size=2, shuffle=False, rank=r, world_size=3, pad=False) for r in range(3)]
    assert [len(b) for b in exact] == [2, 2, 2] and [len(b.indices(0)) for b in exact] == [4, 3, 3]
    assert sorted(np.concatenate([b.indices(0) for b in exact])) == list(range(10))


def test_skipping_batches_matches_full_iteration():
    data = PairDataset(10)
    b = ShuffledBatches(data, batch_size=3, seed=2)
    full = list(b.batches(3))
    rest = list(b.batches(3, start=2))
    assert len(rest) == 2
    for u, v in zip(full[2:], rest):
        assert torch.equal(u["x"], v["x"])


def test_collate_and_errors():
    batch = collate([{"x": np.zeros((1, 4)), "y": torch.ones(1, 4), "name": "a"}] * 3)
    assert batch["x"].shape == (3, 1, 4) and batch["name"] == ["a"] * 3
    with pytest.raises(TypeError, match="must be a dict with keys 'x' and 'y'; got tuple"):
        collate([(1, 2)])
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        ShuffledBatches(PairDataset(2), batch_size=0)
    with pytest.raises(ValueError, match="empty dataset"):
        ShuffledBatches([], batch_size=1)


def test_stride_batch():
    x = torch.arange(2 * 1 * 9 * 9, dtype=torch.float32).reshape(2, 1, 9, 9)
    out = stride_batch({"x": x, "y": x + 1, "id": [0, 1]}, 2)
    assert out["x"].shape == (2, 1, 5, 5) and out["id"] == [0, 1]
    assert torch.equal(out["y"], x[:, :, ::2, ::2] + 1)


def test_mesh_batches_bind_the_model_to_their_mesh_while_drawn():
    from pdekit import meshes
    from pdekit.operators import GINO
    from pdekit.operators.normalizers import NormalizedOperator, UnitGaussianNormalizer
    from pdekit.training.batches import MeshBatches

    class MeshData(torch.utils.data.Dataset):
        def __init__(self, mesh, n):
            self.points, self.cells, self.n = mesh.points, mesh.cells, n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            x = torch.full((1, len(self.points)), float(i))
            return {"x": x, "y": x}

    train_mesh, other_mesh = meshes.unit_square(3), meshes.unit_square(5)
    gino = GINO(1, 1, latent_shape=(6, 6), n_modes=(3, 3), hidden_channels=4, radius=0.3, n_layers=1)
    norm = UnitGaussianNormalizer(1).fit(torch.randn(4, 1, 5))
    model = NormalizedOperator(gino, norm, norm)
    gino.bind(train_mesh)
    before = gino.geometry
    batches = MeshBatches(model, MeshData(other_mesh, 5), batch_size=2, rank=1, world_size=2)
    assert len(batches) == 1
    seen = []
    for batch in batches:
        seen.append(batch["x"][:, 0, 0].tolist())
        assert gino.geometry.n_points == other_mesh.n_points
        assert model(batch["x"]).shape == (2, 1, other_mesh.n_points)
    assert seen == [[1.0, 3.0]] and gino.geometry is before  # rank 1's share; the training mesh is back
    with pytest.raises(ValueError, match="holds no GINO"):
        MeshBatches(torch.nn.Linear(1, 1), MeshData(other_mesh, 2), batch_size=1)
    with pytest.raises(ValueError, match="holds no mesh"):
        MeshBatches(model, PairDataset(2), batch_size=1)
