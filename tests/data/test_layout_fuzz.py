"""Property tests of the dataset reader: damaged files raise only pdekit's documented errors.

``read_info`` and ``open_dataset`` (and reading every item) on a small valid file after byte
flips, truncation, and missing or mistyped datasets and attributes: the only exceptions that
may escape are ``ValueError`` (the file is not a valid pdekit dataset; the message says why)
and ``OSError`` (the file cannot be read: HDF5's own I/O errors, FileNotFoundError).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdekit.data import open_dataset, read_info
from pdekit.data.layout import DatasetHeader, write_dataset

ALLOWED = (ValueError, OSError)
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                derandomize=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A valid 4-sample file with a time axis, 3 samples completed."""
    path = tmp_path_factory.mktemp("corpus") / "good.h5"
    rng = np.random.default_rng(0)
    header = DatasetHeader(pde="toy", summary="fuzz corpus", params={"k": 1.0}, seed=3, n=4, resolution=5,
                           input_names=("a",), output_names=("u", "v"),
                           coords={"x": np.linspace(0, 1, 5), "y": np.linspace(0, 1, 5), "t": np.arange(1.0, 3.0)},
                           pdekit_version="0.1.0", domain={"x": [0, 1], "y": [0, 1]},
                           boundary_conditions={"x": "periodic"}, environment={"numpy": "2"})
    write_dataset(path, header, completed=np.array([True, False, True, True]),
                  sample=lambda i: (rng.standard_normal((5, 5, 1)), rng.standard_normal((2, 5, 5, 2))))
    read_info(path)
    return path


def _exercise(path: Path) -> None:
    """Everything a user does with a dataset file; only documented errors may escape."""
    try:
        info = read_info(path)
        info.describe()
        ds = open_dataset(path)
        try:
            for i in range(len(ds)):
                item = ds[i]
                assert item["x"].shape == ds.x_shape and item["y"].shape == ds.y_shape
            repr(ds), ds.coords
        finally:
            ds.close()
    except ALLOWED:
        pass


def test_the_corpus_itself_reads(corpus):
    ds = open_dataset(corpus)
    assert len(ds) == 3 and ds.x_shape == (1, 5, 5) and ds.y_shape == (4, 5, 5)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes(corpus, tmp_path, flips):
    data = bytearray(corpus.read_bytes())
    for pos, xor in flips:
        data[pos % len(data)] ^= xor
    path = tmp_path / "flipped.h5"
    path.write_bytes(bytes(data))
    _exercise(path)


@FUZZ
@given(keep=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated(corpus, tmp_path, keep):
    data = corpus.read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(data[: int(keep * len(data))])
    _exercise(path)


_ATTRS = ["pdekit_format", "pde", "summary", "params", "seed", "n", "resolution", "pdekit_version",
          "input_names", "output_names", "n_completed", "domain", "boundary_conditions", "environment"]
_OBJECTS = ["inputs", "outputs", "seeds", "completed", "coords", "coords/x", "coords/t"]
_VALUES = st.one_of(
    st.integers(-(2**40), 2**40), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["{}", "[]", "null", '{"a": 1', "pdekit-dataset/1", "N,X,C", "N,T,X,Y,C", ""]),
    st.lists(st.text(max_size=4), max_size=3),
    st.lists(st.integers(-3, 9), min_size=1, max_size=5).map(np.array),
)


@FUZZ
@given(attr=st.sampled_from(_ATTRS), value=_VALUES, delete=st.booleans())
def test_missing_or_mistyped_attributes(corpus, tmp_path, attr, value, delete):
    path = tmp_path / "attr.h5"
    shutil.copy(corpus, path)
    with h5py.File(path, "a") as f:
        if delete:
            del f.attrs[attr]
        else:
            f.attrs[attr] = value
    _exercise(path)


@FUZZ
@given(name=st.sampled_from(_OBJECTS + ["inputs/axes", "outputs/axes"]), value=_VALUES,
       shape=st.lists(st.integers(0, 6), max_size=5), delete=st.booleans(),
       dtype=st.sampled_from(["f4", "f8", "i8", "u1", "S3"]))
def test_missing_or_mistyped_datasets(corpus, tmp_path, name, value, shape, delete, dtype):
    path = tmp_path / "ds.h5"
    shutil.copy(corpus, path)
    with h5py.File(path, "a") as f:
        if name.endswith("/axes"):  # the axes attribute of /inputs or /outputs
            obj = f[name.split("/")[0]]
            if delete:
                del obj.attrs["axes"]
            else:
                obj.attrs["axes"] = value
        else:
            del f[name]
            if not delete:
                if dtype == "S3":
                    f[name] = np.full(shape, b"abc", dtype="S3")
                else:
                    f[name] = np.ones(shape, dtype=dtype)
    _exercise(path)


def test_documented_errors(tmp_path, corpus):
    with pytest.raises(FileNotFoundError):
        read_info(tmp_path / "none.h5")
    path = tmp_path / "x.h5"
    shutil.copy(corpus, path)
    with h5py.File(path, "a") as f:
        f.attrs["n"] = "four"
    with pytest.raises(ValueError, match="attribute 'n'"):
        read_info(path)
    with h5py.File(path, "a") as f:
        f.attrs["n"] = 4
        f["inputs"].attrs["axes"] = "N,X,C"
    with pytest.raises(ValueError, match="axes"):
        read_info(path)
