"""System files: round trip, full checks of every matrix read, and a fuzz of the reader."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdekit.data.systems import (SystemFileError, checked_sparse, load_system, load_vector,
                                 save_system)
from pdekit.solvers.fd import poisson_system


def _laplacian_1d(n=50):
    return sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]).tocsr()


def _raw_npz(path, L, **changes):
    arrays = dict(data=L.data, indices=L.indices, indptr=L.indptr, shape=np.array(L.shape),
                  format=np.array("csr"), b=np.ones(L.shape[0]))
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


def test_round_trip_with_grid_mask(tmp_path):
    s = poisson_system((9, 11), bc={"left": "neumann"})
    save_system(tmp_path / "s.npz", s.matrix, s.rhs, unknowns=s.unknowns)
    A, b, mask = load_system(tmp_path / "s.npz")
    assert abs(A - s.matrix).max() == 0 and np.array_equal(b, s.rhs) and np.array_equal(mask, s.unknowns)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_system(tmp_path / "s.npz", s.matrix, s.rhs)
    save_system(tmp_path / "s.npz", 2 * s.matrix, s.rhs, overwrite=True)
    assert abs(load_system(tmp_path / "s.npz")[0] - 2 * s.matrix).max() == 0


def test_csc_and_matrix_market(tmp_path):
    L = _laplacian_1d(12)
    C = L.tocsc()
    np.savez(tmp_path / "c.npz", data=C.data, indices=C.indices, indptr=C.indptr,
             shape=np.array(C.shape), format=np.array("csc"), b=np.arange(12.0))
    A, b, mask = load_system(tmp_path / "c.npz")
    assert abs(A - L).max() == 0 and mask is None and b[3] == 3.0
    scipy.io.mmwrite(tmp_path / "L.mtx", L)
    np.savetxt(tmp_path / "b.txt", np.ones(12))
    A, b, _ = load_system(tmp_path / "L.mtx", rhs=tmp_path / "b.txt")
    assert abs(A - L).max() == 0 and b.shape == (12,)
    scipy.io.mmwrite(tmp_path / "dense.mtx", L.toarray())
    assert abs(load_system(tmp_path / "dense.mtx", rhs=tmp_path / "b.txt")[0] - L).max() == 0


def test_out_of_range_index_is_refused_before_any_sparse_routine(tmp_path):
    """Issue 12: this file made `pdekit solve` segfault inside scipy's A - A.T."""
    L = _laplacian_1d()
    i = L.indices.copy()
    i[4] = 10**6
    with pytest.raises(SystemFileError, match=r"index 1000000 at position 4 is out of range \[0, 50\)"):
        load_system(_raw_npz(tmp_path / "bad.npz", L, indices=i))


@pytest.mark.parametrize("change, message", [
    (lambda L: {"indptr": L.indptr[::-1].copy()}, "must start at 0"),
    (lambda L: {"indptr": np.r_[0, 5, 3, L.indptr[3:]]}, "decreases at position 1"),
    (lambda L: {"indptr": L.indptr[:-1]}, "indptr has 50 entries"),
    (lambda L: {"indices": L.indices[:-1]}, "indices has 147 entries but data has 148"),
    (lambda L: {"indices": L.indices.astype(float)}, "indices must hold integers"),
    (lambda L: {"shape": np.array([50, 49])}, "must be square"),
    (lambda L: {"shape": np.array([50.0, 50.0])}, "shape must be two integers"),
    (lambda L: {"shape": np.array([-1, -1])}, "non-negative"),
    (lambda L: {"data": np.where(np.arange(L.nnz) == 7, np.nan, L.data)}, "NaN/inf entries, the first at position 7"),
    (lambda L: {"data": L.data + 1j}, "complex"),
    (lambda L: {"format": np.array("coo")}, "format 'coo' is not supported"),
    (lambda L: {"b": np.ones(49)}, "has 49 entries but A has 50 rows"),
    (lambda L: {"b": np.full(50, np.inf)}, "NaN/inf"),
    (lambda L: {"unknowns": np.ones((7, 7), bool)}, "marks 49 grid nodes but A has 50"),
    (lambda L: {"unknowns": np.ones(50, bool)}, "2-D or 3-D bool grid mask"),
])
def test_every_inconsistency_is_named(tmp_path, change, message):
    L = _laplacian_1d()
    with pytest.raises(SystemFileError, match=message):
        load_system(_raw_npz(tmp_path / "bad.npz", L, **change(L)))


def test_files_that_are_not_systems(tmp_path):
    (tmp_path / "text.npz").write_text("not a zip at all")
    with pytest.raises(SystemFileError, match="not a readable .npz"):
        load_system(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError, match="no system file"):
        load_system(tmp_path / "missing.npz")
    with pytest.raises(SystemFileError, match="unknown system format '.txt'"):
        load_system(tmp_path / "A.txt")
    np.savez(tmp_path / "junk.npz", x=np.ones(3))
    with pytest.raises(SystemFileError, match="scipy's sparse layout"):
        load_system(tmp_path / "junk.npz")
    np.savez(tmp_path / "empty.npz", data=np.zeros(0), indices=np.zeros(0, int), indptr=np.zeros(1, int),
             shape=np.array([0, 0]), format=np.array("csr"), b=np.zeros(0))
    with pytest.raises(SystemFileError, match=r"empty \(0 x 0\) system"):
        load_system(tmp_path / "empty.npz")
    scipy.io.mmwrite(tmp_path / "A.mtx", _laplacian_1d(5))
    with pytest.raises(SystemFileError, match="no right-hand side"):
        load_system(tmp_path / "A.mtx")
    (tmp_path / "huge.mtx").write_text("%%MatrixMarket matrix array real general\n100000 100000\n1\n")
    with pytest.raises(SystemFileError, match="declares 10000000000 entries; the file has 3 lines"):
        load_system(tmp_path / "huge.mtx", rhs=tmp_path / "b.npy")
    (tmp_path / "tall.mtx").write_text("%%MatrixMarket matrix coordinate real general\n"
                                       "1000000000 1000000000 1\n1 1 1.0\n")
    with pytest.raises(SystemFileError, match="most rows would be empty"):
        load_system(tmp_path / "tall.mtx", rhs=tmp_path / "b.npy")
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    header = buf.getvalue().replace(b"(3,)", b"(10000000000,)".ljust(4))
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as z:
        z.writestr("data.npy", header)
    with pytest.raises(SystemFileError, match="declares 80000000000 bytes"):
        load_system(tmp_path / "bomb.npz")
    (tmp_path / "c.mtx").write_text("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1.0 2.0\n")
    np.save(tmp_path / "b.npy", np.ones(1))
    with pytest.raises(SystemFileError, match="complex"):
        load_system(tmp_path / "c.mtx")
    np.save(tmp_path / "bc.npy", np.ones(5) + 1j)
    with pytest.raises(SystemFileError, match="complex"):
        load_vector(tmp_path / "bc.npy", 5)


def test_save_refuses_what_it_cannot_write(tmp_path):
    L = _laplacian_1d(4)
    with pytest.raises(ValueError, match="must end in .npz"):
        save_system(tmp_path / "s.npy", L, np.ones(4))
    with pytest.raises(IsADirectoryError, match="is a folder"):
        (tmp_path / "dir.npz").mkdir()
        save_system(tmp_path / "dir.npz", L, np.ones(4))
    with pytest.raises(ValueError, match="4 rows"):
        save_system(tmp_path / "s.npz", L, np.ones(3))
    with pytest.raises(ValueError, match="NaN/inf"):
        save_system(tmp_path / "s.npz", L * np.nan, np.ones(4))
    assert checked_sparse([4.0], [0], [0, 1], [1, 1]).toarray().tolist() == [[4.0]]
    with pytest.raises(SystemFileError, match="x: the matrix holds 1 NaN/inf"):
        checked_sparse([np.inf], [0], [0, 1], [1, 1], source="x")


# ---- fuzz: byte flips, truncation, index corruption (issue 12) ------------------------------

def _npz_bytes(compressed: bool) -> bytes:
    L = _laplacian_1d(12)
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(
        buf, data=L.data, indices=L.indices, indptr=L.indptr, shape=np.array(L.shape),
        format=np.array("csr"), b=np.ones(12), unknowns=np.ones((3, 4), bool))
    return buf.getvalue()


def _mtx_bytes() -> bytes:
    buf = io.BytesIO()
    scipy.io.mmwrite(buf, _laplacian_1d(6))
    return buf.getvalue()


SEEDS = {"npz": _npz_bytes(False), "npz-compressed": _npz_bytes(True), "mtx": _mtx_bytes()}
ALLOWED = (SystemFileError, FileNotFoundError)


def _mutate(data: bytes, flips, cut) -> bytes:
    out = bytearray(data)
    for pos, value in flips:
        out[pos % len(out)] = value
    return bytes(out[: max(0, len(out) - cut)])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(SEEDS)),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       cut=st.integers(0, 400) | st.just(0))
def test_fuzz_only_documented_errors_escape(tmp_path, kind, flips, cut):
    suffix = ".mtx" if kind == "mtx" else ".npz"
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(_mutate(SEEDS[kind], flips, cut))
    rhs = None
    if kind == "mtx":
        rhs = tmp_path / "b.npy"
        np.save(rhs, np.ones(6))
    try:
        A, b, _ = load_system(path, rhs=rhs)
    except ALLOWED:
        return
    except ValueError as err:  # pragma: no cover - a ValueError that is not ours
        raise AssertionError(f"undocumented ValueError: {err!r}") from err
    # whatever was accepted is a consistent, finite square CSR matrix
    assert A.shape[0] == A.shape[1] == b.shape[0] > 0
    assert np.isfinite(A.data).all() and A.indices.min(initial=0) >= 0 and A.indices.max(initial=0) < A.shape[0]
    assert np.all(np.diff(A.indptr) >= 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(array=st.sampled_from(["indices", "indptr", "shape", "data"]),
       position=st.integers(0, 200), value=st.integers(-2**40, 2**40))
def test_fuzz_index_corruption(tmp_path, array, position, value):
    L = _laplacian_1d(12)
    arrays = {"indices": L.indices.astype(np.int64), "indptr": L.indptr.astype(np.int64),
              "shape": np.array(L.shape, dtype=np.int64), "data": L.data.copy()}
    target = arrays[array]
    target[position % target.size] = value
    path = _raw_npz(tmp_path / "c.npz", L, **{k: v for k, v in arrays.items()})
    try:
        A, _, _ = load_system(path)
    except SystemFileError:
        return
    assert A.indices.max(initial=0) < A.shape[0] and A.shape == (12, 12)


def test_fuzz_seeds_are_readable(tmp_path):
    for kind, data in SEEDS.items():
        path = tmp_path / ("s.mtx" if kind == "mtx" else "s.npz")
        path.write_bytes(data)
        np.save(tmp_path / "b.npy", np.ones(6))
        A, _, _ = load_system(path, rhs=tmp_path / "b.npy" if kind == "mtx" else None)
        assert A.nnz in (16, 34)
    assert zipfile.is_zipfile(io.BytesIO(SEEDS["npz"]))
