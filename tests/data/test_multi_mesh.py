"""Samples of one problem on several meshes of one domain, batched per mesh."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tests.data.toy_problems  # noqa: F401  (registers the toy problems)
from pdekit import meshes
from pdekit.data import MultiMeshDataset, generate, open_dataset


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mm")
    coarse = meshes.perturb(meshes.l_shape(2), 0.2, rng=0, boundary="slide")
    for name, mesh, n in (("coarse", coarse, 5), ("fine", meshes.refine(coarse), 5)):
        meshes.write(d / f"{name}.vtu", mesh)
        generate("darcy-fem", d / f"{name}.h5", n=n, resolution=2, seed=4, workers=0, mesh=str(d / f"{name}.vtu"))
    generate("toy-2d", d / "grid.h5", n=2, resolution=5, seed=1, workers=0)
    return d


def test_items_come_from_their_own_mesh(files):
    ds = open_dataset([files / "coarse.h5", files / "fine.h5"], split="test", test_fraction=2)
    assert isinstance(ds, MultiMeshDataset) and len(ds) == 4
    assert [len(p) for p in ds.parts] == [2, 2] and ds.in_channels == 1 == ds.out_channels
    coarse, fine = ds.parts
    assert fine.points.shape[0] > coarse.points.shape[0]
    item = ds[3]
    assert item["mesh"] == 1 and item["x"].shape == (1, fine.points.shape[0])
    torch.testing.assert_close(item["y"], fine[1]["y"])
    torch.testing.assert_close(ds[-4]["x"], coarse[0]["x"])
    # sample 3 of seed 4, one random coefficient seen on both meshes: equal at the shared vertices
    n = coarse.points.shape[0]
    np.testing.assert_allclose(fine.points[:n], coarse.points)
    torch.testing.assert_close(ds[0]["x"], ds[2]["x"][:, :n])
    assert not torch.equal(ds[0]["x"], ds[1]["x"])
    assert "2 on" in repr(ds)
    with pytest.raises(IndexError):
        ds[4]


def test_mixed_meshes_cannot_share_a_batch_and_other_data_are_refused(files):
    from pdekit.training.batches import collate

    ds = open_dataset([files / "coarse.h5", files / "fine.h5"])
    with pytest.raises(ValueError, match="different meshes or grids cannot share a batch"):
        collate([ds[0], ds[len(ds) - 1]])
    with pytest.raises(ValueError, match="is not mesh data"):
        open_dataset([files / "coarse.h5", files / "grid.h5"])
    with pytest.raises(ValueError, match="at least one dataset"):
        MultiMeshDataset([])
