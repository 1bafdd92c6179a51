"""The HDF5 layout: seeds, axis names, writing and reading a file, and refusing other layouts."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from pdekit.data.layout import FORMAT, DatasetHeader, sample_axes, sample_seeds, write_dataset
from pdekit.data.reading import read_info


def _header(n=4, **kw) -> DatasetHeader:
    base = dict(pde="toy", summary="a toy", params={"b": 2, "a": [1, 2]}, seed=7, n=n,
                resolution=5, input_names=("a",), output_names=("u", "v"),
                coords={"x": np.linspace(0, 1, 5), "t": np.arange(3.0)}, pdekit_version="0.1.0")
    base.update(kw)
    return DatasetHeader(**base)


def _sample(i):
    x = np.full((5, 1), float(i))
    y = np.stack([np.full((3, 5), i + 0.5), np.full((3, 5), -i)], axis=-1)
    return x, y


def test_sample_seeds_are_spawned_children_independent_of_n():
    s10 = sample_seeds(3, 10)
    assert s10.dtype == np.uint64
    np.testing.assert_array_equal(sample_seeds(3, 4), s10[:4])
    child = np.random.SeedSequence(3).spawn(10)[7]
    assert s10[7] == child.generate_state(1, np.uint64)[0]
    assert len(set(s10.tolist())) == 10
    assert not np.array_equal(sample_seeds(4, 10), s10)


@pytest.mark.parametrize("shape, coords, axes", [
    ((8, 8, 1), {"x": 0, "y": 0}, "N,X,Y,C"),
    ((4, 8, 8, 2), {"x": 0, "y": 0, "t": 0}, "N,T,X,Y,C"),
    ((16, 1), {"x": 0}, "N,X,C"),
    ((5, 16, 1), {"x": 0, "t": 0}, "N,T,X,C"),
    ((30, 3), {"points": 0, "cells": 0}, "N,node,C"),
    ((7, 30, 3), {"points": 0, "cells": 0, "t": 0}, "N,T,node,C"),
    ((6, 6, 6, 1), {}, "N,X,Y,Z,C"),
])
def test_sample_axes(shape, coords, axes):
    assert sample_axes(shape, coords) == axes


def test_sample_axes_rejects_shape_that_does_not_fit_the_coordinates():
    with pytest.raises(ValueError, match=r"does not fit coordinates \['x', 'y'\]"):
        sample_axes((4, 3, 8, 8, 1), {"x": 0, "y": 0})


def test_write_then_read_roundtrip(tmp_path):
    path = tmp_path / "d.h5"
    completed = np.array([True, False, True, True])
    write_dataset(path, _header(), completed=completed, sample=_sample)
    info = read_info(path)
    assert info.format == FORMAT and info.n_completed == 3
    assert info.header.params == {"a": [1, 2], "b": 2}
    assert info.header.output_names == ("u", "v")
    assert info.input_shape == (4, 5, 1) and info.output_shape == (4, 3, 5, 2)
    assert (info.input_axes, info.output_axes) == ("N,X,C", "N,T,X,C")
    np.testing.assert_array_equal(info.seeds, sample_seeds(7, 4))
    with h5py.File(path, "r") as f:
        assert f.attrs["pde"] == "toy" and f.attrs["pdekit_format"] == FORMAT
        assert f["inputs"].dtype == np.float32 and f["inputs"].chunks == (1, 5, 1)
        np.testing.assert_array_equal(f["inputs"][2], np.full((5, 1), 2.0))
        np.testing.assert_array_equal(f["outputs"][3, :, :, 1], np.full((3, 5), -3.0))
        np.testing.assert_array_equal(f["inputs"][1], 0.0)  # not completed: fill value
        np.testing.assert_array_equal(f["coords/t"][()], np.arange(3.0))
    text = info.describe()
    assert "3/4 completed (missing: 1)" in text and "/outputs" in text and "N,T,X,C" in text


def test_same_content_gives_same_bytes(tmp_path):
    for name in ("a.h5", "b.h5"):
        write_dataset(tmp_path / name, _header(), completed=np.ones(4, bool), sample=_sample)
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_file_without_samples_has_no_inputs_yet(tmp_path):
    write_dataset(tmp_path / "e.h5", _header(), completed=np.zeros(4, bool), sample=_sample)
    info = read_info(tmp_path / "e.h5")
    assert info.n_completed == 0 and info.input_shape is None
    assert "not yet written" in info.describe()


def test_write_rejects_inconsistent_samples(tmp_path):
    def ragged(i):
        x, y = _sample(i)
        return (x[:4], y) if i == 2 else (x, y)

    with pytest.raises(ValueError, match=r"sample 2 has inputs of shape \(4, 1\); expected \(5, 1\)"):
        write_dataset(tmp_path / "r.h5", _header(), completed=np.ones(4, bool), sample=ragged)
    with pytest.raises(ValueError, match=r"one last-axis channel per name \['u', 'v'\]"):
        write_dataset(tmp_path / "c.h5", _header(), completed=np.ones(4, bool),
                      sample=lambda i: (_sample(i)[0], np.zeros((3, 5, 1))))


def test_read_info_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no dataset file"):
        read_info(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        read_info(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"not a pdekit dataset.*top-level keys: \['data'\]"):
        read_info(tmp_path / "other.h5")
    with h5py.File(tmp_path / "v9.h5", "w") as f:
        f.attrs["pdekit_format"] = "pdekit-dataset/9"
    with pytest.raises(ValueError, match="has pdekit_format 'pdekit-dataset/9'; this pdekit reads"):
        read_info(tmp_path / "v9.h5")
    path = tmp_path / "bad.h5"
    write_dataset(path, _header(), completed=np.ones(4, bool), sample=_sample)
    with h5py.File(path, "a") as f:
        del f["outputs"]
        f["outputs"] = np.zeros((4, 3, 5, 7), np.float32)
    with pytest.raises(ValueError, match=r"/outputs is float32 of shape \(4, 3, 5, 7\); expected float32 \(4, \.\.\., 2\)"):
        read_info(path)
    with h5py.File(path, "a") as f:
        del f["seeds"]
    with pytest.raises(ValueError, match=r"incomplete pdekit dataset: missing \['/seeds'\]"):
        read_info(path)
