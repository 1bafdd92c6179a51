"""Tucker compression of pdekit datasets: stated error met, any sample rebuilt, file round trip."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.data import CompressedDataset, compress_dataset
from pdekit.data.layout import DatasetHeader, write_dataset

N, R = 24, 32


def _smooth_sample(i: int):
    rng = np.random.default_rng(i)
    x = np.linspace(0, 1, R)
    a, b = rng.uniform(0.5, 2.0, 2)
    u = np.sin(np.pi * a * x)[:, None] * np.cosh(b * x)[None, :]
    v = np.exp(-((x[:, None] - a / 2) ** 2 + (x[None, :] - b / 3) ** 2) / 0.05)
    return u[..., None], np.stack([u, v], axis=-1)


def _write(path, completed):
    header = DatasetHeader(pde="toy-smooth", summary="smooth fields", params={}, seed=0, n=N,
                           resolution=R, input_names=("a",), output_names=("u", "v"),
                           coords={"x": np.linspace(0, 1, R), "y": np.linspace(0, 1, R)},
                           pdekit_version="test")
    write_dataset(path, header, completed=completed, sample=lambda i: _smooth_sample(i))


@pytest.mark.parametrize("tol", [1e-2, 1e-5])
def test_stated_error_is_met_and_samples_rebuild(tmp_path, tol):
    path = tmp_path / "d.h5"
    _write(path, np.ones(N, bool))
    c = compress_dataset(path, tmp_path / "c.h5", tol=tol, keys=("outputs", "inputs"))
    ref = np.stack([_smooth_sample(i)[1] for i in range(N)]).astype(np.float32)
    rebuilt = np.stack([c.sample(i) for i in range(N)])
    err = np.linalg.norm(rebuilt - ref) / np.linalg.norm(ref)
    assert err <= tol * 1.001 + 1e-7  # float32 storage of the source
    assert c.rel_errors["outputs"] <= tol
    assert c.compression_ratio() > 2
    assert c.axes["outputs"] == "N,X,Y,C"
    back = CompressedDataset.load(tmp_path / "c.h5")
    assert np.array_equal(back.sample(5), c.sample(5))
    assert np.array_equal(back.sample(3, "inputs"), c.sample(3, "inputs"))


def test_only_completed_samples(tmp_path):
    path = tmp_path / "d.h5"
    done = np.ones(N, bool)
    done[[2, 7]] = False
    _write(path, done)
    c = compress_dataset(path, tol=1e-4)
    assert c.sample_index.size == N - 2
    assert np.allclose(c.sample(8), _smooth_sample(8)[1], atol=1e-3)
    with pytest.raises(IndexError, match="not completed"):
        c.sample(2)
    with pytest.raises(KeyError, match="not compressed"):
        c.sample(0, "inputs")


def test_bad_input(tmp_path):
    path = tmp_path / "d.h5"
    _write(path, np.ones(N, bool))
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        compress_dataset(path, tol=0)
    with pytest.raises(ValueError, match="keys must be"):
        compress_dataset(path, tol=1e-3, keys=("seeds",))
    with pytest.raises(FileNotFoundError):
        compress_dataset(tmp_path / "missing.h5", tol=1e-3)


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    path = tmp_path / "d.h5"
    _write(path, np.ones(N, bool))
    out = tmp_path / "c.h5"
    out.write_bytes(b"a user's file")
    with pytest.raises(FileExistsError, match=r"c\.h5' exists; pass overwrite=True"):
        compress_dataset(path, out, tol=1e-3)
    assert out.read_bytes() == b"a user's file"
    c = compress_dataset(path, out, tol=1e-3, overwrite=True)
    with pytest.raises(FileExistsError):
        c.save(out)
    assert np.array_equal(CompressedDataset.load(out).sample(4), c.sample(4))
