"""The DCDM loss, random training systems, and label-free training through the Trainer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from pdekit.operators import VCycleNet, load
from pdekit.training.dcdm import (RitzBatches, dcdm_loss, random_grid_system, train_dcdm,
                                  train_pretrained)


@pytest.fixture(scope="module")
def small_systems():
    rng = np.random.default_rng(11)
    return [random_grid_system(2, 33, rng, darcy_probability=0.5) for _ in range(3)]


def test_loss_is_zero_for_the_inverse_and_positive_otherwise(small_systems):
    s = small_systems[0]
    net = VCycleNet(2)
    h = net.hierarchy(s.matrix, unknowns=s.unknowns)
    b = torch.from_numpy(np.random.default_rng(0).normal(size=(s.matrix.shape[0], 3)))
    lu = spla.splu(s.matrix.tocsc())
    inverse = lambda hh, r: torch.from_numpy(5.0 * lu.solve(r.numpy()))  # noqa: E731
    identity = lambda hh, r: r  # noqa: E731
    assert dcdm_loss(inverse, {"hierarchy": h, "rhs": b}).item() < 1e-20
    assert 0.1 < dcdm_loss(identity, {"hierarchy": h, "rhs": b}).item() <= 1.0 + 1e-12


def test_random_systems_are_spd_mixed_and_reproducible():
    a = random_grid_system(2, 33, np.random.default_rng(5), darcy_probability=1.0)
    b = random_grid_system(2, 33, np.random.default_rng(5), darcy_probability=1.0)
    assert (a.matrix != b.matrix).nnz == 0 and np.array_equal(a.unknowns, b.unknowns)
    assert np.linalg.eigvalsh(a.matrix.toarray()).min() > 0
    s3 = random_grid_system(3, 9, np.random.default_rng(1))
    assert s3.unknowns.ndim == 3 and s3.matrix.shape[0] == s3.unknowns.sum()
    kinds = set()
    rng = np.random.default_rng(0)
    for _ in range(6):
        s = random_grid_system(2, 17, rng, neumann_probability=0.5)
        kinds.add(bool(s.unknowns[0].any() or s.unknowns[-1].any() or s.unknowns[:, 0].any()))
    assert kinds == {True, False}  # some with Neumann sides (boundary unknowns), some without


def test_batches_cycle_over_systems(small_systems):
    batches = RitzBatches(VCycleNet(2), small_systems, rhs_per_system=8, batch_size=4, steps_per_epoch=6,
                          n_ritz=16)
    seen = list(batches)
    assert len(seen) == len(batches) == 6
    assert all(b["rhs"].shape == (b["hierarchy"].n, 4) for b in seen)
    assert len({id(b["hierarchy"]) for b in seen}) >= 2


def test_training_lowers_the_loss(small_systems, tmp_path):
    torch.manual_seed(0)
    net = VCycleNet(2)
    result = train_dcdm(net, small_systems, epochs=3, steps_per_epoch=10, batch_size=4, rhs_per_system=8,
                        n_ritz=16, lr=2e-2, out_dir=tmp_path)
    assert result["final_loss"] < 0.7 * result["initial_loss"]
    assert len(result["history"]) == 3 and (tmp_path / "checkpoint.pt").is_file()


def test_train_pretrained_writes_weights_and_card(tmp_path):
    card = train_pretrained("dcdm-poisson-2d", tmp_path, scale=0.07)
    net = load(tmp_path / "dcdm-poisson-2d.pt")
    assert isinstance(net, VCycleNet) and card["config"] == net.config
    assert card["final_loss"] < card["initial_loss"] and (tmp_path / "dcdm-poisson-2d.json").is_file()
    with pytest.raises(ValueError, match="unknown pretrained network"):
        train_pretrained("nope", tmp_path)
    with pytest.raises(ValueError, match="scale"):
        train_pretrained("dcdm-poisson-2d", tmp_path, scale=0.0)
    weights = (tmp_path / "dcdm-poisson-2d.pt").read_bytes()
    with pytest.raises(FileExistsError, match=r"dcdm-poisson-2d\.pt' exists; pass overwrite=True"):
        train_pretrained("dcdm-poisson-2d", tmp_path, scale=0.07)  # refused before any training
    assert (tmp_path / "dcdm-poisson-2d.pt").read_bytes() == weights


def test_random_fem_systems_cover_degrees_and_dimensions():
    from pdekit.training.dcdm import random_fem_system

    rng = np.random.default_rng(3)
    seen = set()
    for dim, degree in [(2, 1), (2, 2), (3, 1), (3, 2)]:
        s = random_fem_system(rng, dim=dim, degree=degree, size=4 if dim == 3 else 8)
        assert f"P{degree}" in s.description and f"{dim}D" in s.description and s.unknowns is None
        assert np.linalg.eigvalsh(s.matrix.toarray()).min() > 0 and s.rhs.shape == (s.matrix.shape[0],)
        seen.add(s.matrix.shape[0])
    assert len(seen) == 4
    with pytest.raises(ValueError, match="dim must be 2 or 3"):
        random_fem_system(rng, dim=1)


def test_algebraic_network_trains_on_fem_systems():
    from pdekit.operators import AlgebraicVCycleNet
    from pdekit.training.dcdm import random_fem_system

    rng = np.random.default_rng(4)
    systems = [random_fem_system(rng, dim=2, degree=d, size=20) for d in (1, 2)]
    torch.manual_seed(0)
    net = AlgebraicVCycleNet(coarse_size=32)
    result = train_dcdm(net, systems, epochs=2, steps_per_epoch=8, batch_size=4, rhs_per_system=8,
                        n_ritz=16, lr=2e-2)
    assert result["final_loss"] < 0.8 * result["initial_loss"]
