"""The torch Dataset: channel-first items, striding, time modes, splits, DataLoader workers."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest
import torch

import tests.data.toy_problems  # noqa: F401  (registers the toy problems)
from pdekit.data import H5Dataset, generate, open_dataset


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ds")
    generate("toy-2d", d / "grid.h5", n=10, resolution=9, seed=1, workers=0)
    generate("toy-time", d / "time.h5", n=6, resolution=8, seed=2, workers=0, steps=4)
    return d


def test_items_are_channel_first_copies_of_the_file(files):
    ds = open_dataset(files / "grid.h5")
    assert len(ds) == 10 and ds.pde == "toy-2d"
    item = ds[3]
    assert set(item) == {"x", "y"}
    assert item["x"].dtype == torch.float32 and item["x"].shape == (1, 9, 9) == ds.x_shape
    assert item["y"].shape == (2, 9, 9) and (ds.in_channels, ds.out_channels) == (1, 2)
    with h5py.File(files / "grid.h5", "r") as f:
        np.testing.assert_array_equal(item["x"][0].numpy(), f["inputs"][3, :, :, 0])
        np.testing.assert_array_equal(item["y"][1].numpy(), f["outputs"][3, :, :, 1])
    np.testing.assert_array_equal(ds[-1]["x"].numpy(), open_dataset(files / "grid.h5", indices=[9])[0]["x"].numpy())
    with pytest.raises(IndexError, match="item 10 out of range for a dataset of 10"):
        ds[10]


def test_stride_subsamples_space_and_coordinates(files):
    full = open_dataset(files / "grid.h5")
    ds = open_dataset(files / "grid.h5", stride=2)
    assert ds[0]["x"].shape == (1, 5, 5) == ds.x_shape
    np.testing.assert_array_equal(ds[0]["y"].numpy(), full[0]["y"].numpy()[:, ::2, ::2])
    np.testing.assert_array_equal(ds.coords["x"], np.linspace(0, 1, 9)[::2])
    ds2 = open_dataset(files / "grid.h5", stride=(1, 3))
    assert ds2[0]["x"].shape == (1, 9, 3)
    with pytest.raises(ValueError, match=r"stride must be a positive int or 2 positive ints, one per spatial axis \['X', 'Y'\]"):
        open_dataset(files / "grid.h5", stride=(1, 2, 3))


def test_time_folded_into_channels_or_kept(files):
    folded = open_dataset(files / "time.h5")
    kept = open_dataset(files / "time.h5", time="keep")
    assert folded[0]["x"].shape == (1, 8) and folded[0]["y"].shape == (4, 8)  # T*C = 4*1
    assert kept[0]["y"].shape == (1, 4, 8) and kept.y_shape == (1, 4, 8)
    x = folded[2]["x"][0]
    for t in range(4):  # toy-time: output step t is a * (t + 1)
        torch.testing.assert_close(folded[2]["y"][t], x * (t + 1))
        torch.testing.assert_close(kept[2]["y"][0, t], x * (t + 1))
    with pytest.raises(ValueError, match=r"unknown time mode 'fold'; expected one of \['channels', 'keep'\]"):
        open_dataset(files / "time.h5", time="fold")


def test_train_test_split_by_fraction_count_and_index_range(files):
    train = open_dataset(files / "grid.h5", split="train", test_fraction=0.2)
    test = open_dataset(files / "grid.h5", split="test", test_fraction=0.2)
    assert train.indices.tolist() == list(range(8)) and test.indices.tolist() == [8, 9]
    assert open_dataset(files / "grid.h5", split="test", test_fraction=3).indices.tolist() == [7, 8, 9]
    sub = open_dataset(files / "grid.h5", indices=range(2, 6), split="train", test_fraction=0.25)
    assert sub.indices.tolist() == [2, 3, 4]
    assert open_dataset(files / "grid.h5", indices=slice(None, None, 3)).indices.tolist() == [0, 3, 6, 9]
    assert train.subset(slice(0, 2)).indices.tolist() == [0, 1]
    with pytest.raises(ValueError, match="unknown split 'val'"):
        open_dataset(files / "grid.h5", split="val")
    with pytest.raises(ValueError, match="leaves one side empty"):
        open_dataset(files / "grid.h5", split="train", test_fraction=10)
    with pytest.raises(IndexError, match="sample index 12 out of range for a dataset of 10 samples"):
        open_dataset(files / "grid.h5", indices=[1, 12])


def test_incomplete_file_serves_completed_samples_only(files, tmp_path):
    path = tmp_path / "part.h5"
    path.write_bytes((files / "grid.h5").read_bytes())
    with h5py.File(path, "a") as f:
        f["completed"][[1, 4]] = False
    ds = open_dataset(path)
    assert ds.indices.tolist() == [0, 2, 3, 5, 6, 7, 8, 9]
    assert open_dataset(path, split="test", test_fraction=0.2).indices.tolist() == [8, 9]
    with pytest.raises(ValueError, match="no completed samples among the 2 selected"):
        H5Dataset(path, indices=[1, 4])


def test_dataloader_with_worker_processes_and_pickling(files):
    ds = open_dataset(files / "grid.h5", stride=3)
    ds[0]  # opens the file in this process; pickling must not carry the handle
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._h5 is None and torch.equal(clone[4]["y"], ds[4]["y"])
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)
    batches = list(loader)
    assert [b["x"].shape for b in batches] == [(4, 1, 3, 3), (4, 1, 3, 3), (2, 1, 3, 3)]
    torch.testing.assert_close(batches[2]["y"][1], ds[9]["y"])
    ds.close()


def test_mesh_data_items_are_channels_by_nodes(tmp_path):
    from pdekit.data.layout import DatasetHeader, write_dataset

    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    header = DatasetHeader(pde="mesh-toy", summary="", params={}, seed=0, n=3, resolution=1,
                           input_names=("k",), output_names=("u", "v"),
                           coords={"points": points, "cells": np.array([[0, 1, 2], [1, 3, 2]])},
                           pdekit_version="0")
    write_dataset(tmp_path / "m.h5", header, completed=np.ones(3, bool),
                  sample=lambda i: (np.full((4, 1), i), np.arange(8.0).reshape(4, 2) + i))
    ds = open_dataset(tmp_path / "m.h5")
    assert ds.info.input_axes == "N,node,C" and ds.x_shape == (1, 4) and ds.y_shape == (2, 4)
    np.testing.assert_array_equal(ds[2]["y"].numpy(), (np.arange(8.0).reshape(4, 2) + 2).T)
    np.testing.assert_array_equal(ds.coords["cells"], [[0, 1, 2], [1, 3, 2]])
    with pytest.raises(ValueError, match="stride must be 1 for mesh data"):
        open_dataset(tmp_path / "m.h5", stride=2)


def test_mesh_items_carry_the_mesh_points_and_quadrature_weights(tmp_path):
    from pdekit import meshes

    mesh = meshes.l_shape(2)
    generate("darcy-fem", tmp_path / "l.h5", n=3, resolution=2, seed=0, workers=0, mesh=_write(mesh, tmp_path))
    ds = open_dataset(tmp_path / "l.h5")
    assert ds.is_mesh and ds.x_shape == (1, mesh.n_points)
    np.testing.assert_array_equal(ds.points, mesh.points)
    np.testing.assert_array_equal(ds.cells, mesh.cells)
    assert ds.weights.sum() == pytest.approx(3.0, rel=1e-12)  # the L's area
    item = ds[1]
    assert set(item) == {"x", "y", "points", "weights"}
    assert item["points"].shape == (mesh.n_points, 2) and item["points"].dtype == torch.float32
    torch.testing.assert_close(item["weights"], torch.as_tensor(ds.weights, dtype=torch.float32))
    clone = pickle.loads(pickle.dumps(ds))
    torch.testing.assert_close(clone[1]["points"], item["points"])
    grid = open_dataset(_grid(tmp_path))
    assert not grid.is_mesh and grid.points is None and grid.weights is None and "points" not in grid[0]


def _write(mesh, folder):
    from pdekit import meshes

    meshes.write(folder / "mesh.vtu", mesh)
    return str(folder / "mesh.vtu")


def _grid(folder):
    generate("toy-2d", folder / "grid.h5", n=2, resolution=5, seed=1, workers=0)
    return folder / "grid.h5"
