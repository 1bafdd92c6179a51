"""Linear systems on disk: the files ``pdekit solve`` reads, written and read with full checks.

A system file is either

* ``.npz`` in scipy's sparse layout (the keys of :func:`scipy.sparse.save_npz`: ``data``,
  ``indices``, ``indptr``, ``shape``, ``format`` = ``"csr"`` or ``"csc"``) plus the right-hand
  side under ``b`` and, for grid problems, the bool mask of the unknown grid nodes under
  ``unknowns`` (numbered in C order, as :class:`pdekit.solvers.fd.GridSystem` numbers them), which
  a grid network needs to see the residual as a field; or
* Matrix Market ``.mtx`` (real, coordinate or array; read by
  :func:`pdekit.data.matrix_market.read_matrix_market`), with the right-hand side in a separate
  ``.npy``, ``.mtx`` or whitespace-separated text file.

Every matrix that enters from a file is checked in full before any sparse routine touches it:
the shape, the index arrays (``indptr`` starts at 0, never decreases, ends at the number of
stored entries; every column index lies in range), and the values (real and finite). scipy's
own constructors check only lengths, and an index out of range makes its compiled routines
write out of bounds (a crash, not an error). A file that is not what it claims to be (not a zip,
truncated, corrupted) raises :class:`SystemFileError`, a ``ValueError``.

Examples
--------
>>> import numpy as np, os, tempfile
>>> from pdekit.solvers.fd import poisson_system
>>> s = poisson_system((9, 9))
>>> path = os.path.join(tempfile.mkdtemp(), "system.npz")
>>> save_system(path, s.matrix, s.rhs, unknowns=s.unknowns).name
'system.npz'
>>> A, b, unknowns = load_system(path)
>>> A.shape, b.shape, unknowns.shape
((49, 49), (49,), (9, 9))
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pdekit.data.matrix_market import SystemFileError, read_matrix_market

__all__ = ["save_system", "load_system", "load_vector", "checked_sparse", "SystemFileError"]

#: suffixes :func:`load_system` reads
SYSTEM_SUFFIXES = (".npz", ".mtx")
_NPZ_KEYS = ("data", "indices", "indptr", "shape")


def _where(path) -> str:
    return repr(str(path))


def checked_sparse(data, indices, indptr, shape, *, fmt: str = "csr", source: str = "the matrix"
                   ) -> sp.csr_matrix:
    """Build a square CSR matrix from raw compressed arrays after checking every entry.

    Parameters
    ----------
    data : (nnz,) real array
    indices : (nnz,) integer array
        Column (CSR) or row (CSC) index of each stored entry.
    indptr : (n_major + 1,) integer array
    shape : (2,) integer array
    fmt : {"csr", "csc"}
    source : str
        Named in error messages (e.g. the file).

    Returns
    -------
    (n, n) scipy.sparse.csr_matrix, float64, duplicates summed, indices sorted

    Raises
    ------
    SystemFileError
        Any inconsistency: a non-integer or negative shape, a matrix that is not square, index
        arrays of the wrong kind or length, an ``indptr`` that does not start at 0, decreases or
        does not end at ``nnz``, an index out of range, complex or non-finite values.
    """
    if fmt not in ("csr", "csc"):
        raise SystemFileError(f"{source}: sparse format {fmt!r} is not supported; save CSR or CSC")
    shape = np.asarray(shape)
    if shape.shape != (2,) or shape.dtype.kind not in "iu":
        raise SystemFileError(f"{source}: shape must be two integers; got {shape.tolist()!r} "
                              f"(dtype {shape.dtype})")
    n_rows, n_cols = (int(v) for v in shape)
    if n_rows < 0 or n_cols < 0:
        raise SystemFileError(f"{source}: shape must be non-negative; got ({n_rows}, {n_cols})")
    if n_rows != n_cols:
        raise SystemFileError(f"{source}: the matrix must be square; got shape ({n_rows}, {n_cols})")
    n = n_rows
    arrays = {}
    for name, arr in (("data", data), ("indices", indices), ("indptr", indptr)):
        arr = np.asarray(arr)
        if arr.ndim != 1:
            raise SystemFileError(f"{source}: {name} must be a 1-D array; got shape {arr.shape}")
        arrays[name] = arr
    data, indices, indptr = arrays["data"], arrays["indices"], arrays["indptr"]
    for name, arr in (("indices", indices), ("indptr", indptr)):
        if arr.dtype.kind not in "iu":
            raise SystemFileError(f"{source}: {name} must hold integers; got dtype {arr.dtype}")
    if data.dtype.kind == "c":
        raise SystemFileError(f"{source}: the matrix is complex (dtype {data.dtype}); pdekit's "
                              "SPD solvers take real matrices")
    if data.dtype.kind not in "fiub":
        raise SystemFileError(f"{source}: data must be real numbers; got dtype {data.dtype}")
    if indptr.size != n + 1:
        raise SystemFileError(f"{source}: indptr has {indptr.size} entries; a {fmt.upper()} matrix "
                              f"of shape ({n}, {n}) needs {n + 1}")
    nnz = data.size
    if indices.size != nnz:
        raise SystemFileError(f"{source}: indices has {indices.size} entries but data has {nnz}")
    if indptr[0] != 0 or int(indptr[-1]) != nnz:
        raise SystemFileError(f"{source}: indptr must start at 0 and end at the {nnz} stored entries; "
                              f"it runs from {int(indptr[0])} to {int(indptr[-1])}")
    steps = np.diff(indptr)
    if steps.size and steps.min() < 0:
        at = int(np.argmax(steps < 0))
        raise SystemFileError(f"{source}: indptr decreases at position {at} ({int(indptr[at])} -> "
                              f"{int(indptr[at + 1])}); it must be non-decreasing")
    if nnz and (indices.min() < 0 or indices.max() >= n):
        bad = int(np.argmax((indices < 0) | (indices >= n)))
        raise SystemFileError(f"{source}: index {int(indices[bad])} at position {bad} is out of range "
                              f"[0, {n})")
    values = data.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        raise SystemFileError(f"{source}: the matrix holds {int((~finite).sum())} NaN/inf entries, the "
                              f"first at position {int(np.argmax(~finite))}")
    index_type = np.int32 if max(n, nnz) < 2**31 - 1 else np.int64
    cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
    A = cls((values, indices.astype(index_type), indptr.astype(index_type)), shape=(n, n)).tocsr()
    A.sum_duplicates()
    A.sort_indices()
    return A


def _checked_vector(v: Any, n: int | None, source: str) -> np.ndarray:
    v = np.asarray(v)
    if v.dtype.kind == "c":
        raise SystemFileError(f"{source}: the right-hand side is complex (dtype {v.dtype}); expected real")
    if v.dtype.kind not in "fiub":
        raise SystemFileError(f"{source}: the right-hand side must hold numbers; got dtype {v.dtype}")
    v = v.astype(np.float64).reshape(-1)
    if n is not None and v.size != n:
        raise SystemFileError(f"{source}: the right-hand side has {v.size} entries but A has {n} rows")
    bad = ~np.isfinite(v)
    if bad.any():
        raise SystemFileError(f"{source}: the right-hand side holds {int(bad.sum())} NaN/inf entries, "
                              f"the first at index {int(np.argmax(bad))}")
    return v


def _checked_mask(mask: Any, n: int, source: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.ndim not in (2, 3):
        raise SystemFileError(f"{source}: unknowns must be a 2-D or 3-D bool grid mask; got dtype "
                              f"{mask.dtype}, shape {mask.shape}")
    if int(mask.sum()) != n:
        raise SystemFileError(f"{source}: the unknowns mask marks {int(mask.sum())} grid nodes but A has "
                              f"{n} rows")
    return mask


def _check_npz_members(p: Path) -> None:
    """Refuse members whose ``.npy`` header declares more data than the member holds (numpy
    would allocate the declared size before noticing) and pickled (object) members."""
    with zipfile.ZipFile(p) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with z.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh)
                if dtype.hasobject:
                    raise SystemFileError(f"{_where(p)}: member {info.filename!r} holds Python objects; "
                                          "a system file holds numbers only")
                declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if declared > info.file_size:
                    raise SystemFileError(f"{_where(p)}: member {info.filename!r} declares {declared} bytes "
                                          f"of data but holds {info.file_size}; the file is corrupted")


def _read_npz(p: Path) -> tuple[sp.csr_matrix, np.ndarray | None, np.ndarray | None]:
    where = _where(p)
    try:
        _check_npz_members(p)
        with np.load(p, allow_pickle=False) as f:
            keys = set(f.files)
            if not set(_NPZ_KEYS) <= keys:
                raise SystemFileError(f"{where} holds {sorted(keys)}; expected scipy's sparse layout "
                                      "(data, indices, indptr, shape, format) plus b")
            fmt = f["format"] if "format" in keys else np.array("csr")
            if fmt.dtype.kind not in "US" or fmt.shape != ():
                raise SystemFileError(f"{where}: format must be a string such as 'csr'; got {fmt!r}")
            fmt = fmt.item().decode() if isinstance(fmt.item(), bytes) else str(fmt.item())
            raw = {k: f[k] for k in _NPZ_KEYS}
            b = f["b"] if "b" in keys else None
            unknowns = f["unknowns"] if "unknowns" in keys else None
    except SystemFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, struct.error, OSError, EOFError, ValueError, KeyError,
            RuntimeError, NotImplementedError, OverflowError, TypeError) as err:
        # np.load / zipfile / zlib / struct on a file that is not an intact .npz
        raise SystemFileError(f"{where} is not a readable .npz system file ({type(err).__name__}: "
                              f"{err})") from err
    A = checked_sparse(raw["data"], raw["indices"], raw["indptr"], raw["shape"], fmt=fmt, source=where)
    if b is not None:
        b = _checked_vector(b, A.shape[0], where)
    if unknowns is not None:
        unknowns = _checked_mask(unknowns, A.shape[0], where)
    return A, b, unknowns


def _matrix_from_mtx(p: Path) -> sp.csr_matrix:
    M = sp.csr_matrix(read_matrix_market(p))
    return checked_sparse(M.data, M.indices, M.indptr, np.array(M.shape), source=_where(p))


def load_vector(path: str | os.PathLike, n: int | None = None) -> np.ndarray:
    """Read a right-hand side ``(n,)`` from ``.npy``, ``.mtx`` or whitespace-separated text.

    Raises
    ------
    FileNotFoundError
        No such file.
    SystemFileError
        Unreadable, complex, non-finite, or not ``n`` entries.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no right-hand side file at {_where(path)}")
    where = _where(p)
    if p.suffix == ".mtx":
        v = read_matrix_market(p)
        v = v.toarray() if sp.issparse(v) else v
    else:
        try:
            v = np.load(p, allow_pickle=False) if p.suffix == ".npy" else np.loadtxt(p, dtype=float, ndmin=1)
        except (OSError, EOFError, ValueError, UnicodeDecodeError) as err:
            raise SystemFileError(f"{where} is not a readable right-hand side ({type(err).__name__}: "
                                  f"{err})") from err
    return _checked_vector(v, n, where)


def load_system(path: str | os.PathLike, rhs: str | os.PathLike | None = None
                ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray | None]:
    """Read ``(A, b, unknowns)`` from a ``.npz`` or ``.mtx`` system file (see the module doc).

    Parameters
    ----------
    path : path-like
        The system.
    rhs : path-like, optional
        A right-hand side file; it replaces the one stored in a ``.npz`` and is required for
        ``.mtx``.

    Returns
    -------
    A : (n, n) scipy.sparse.csr_matrix, float64, fully checked
    b : (n,) float array
    unknowns : bool array of the grid shape, or None

    Raises
    ------
    FileNotFoundError
        No such file.
    SystemFileError (a ValueError)
        Unknown suffix, unreadable or corrupted file, inconsistent arrays, an empty (0 x 0)
        system, a missing right-hand side.
    """
    p = Path(path)
    if p.suffix not in SYSTEM_SUFFIXES:
        raise SystemFileError(f"unknown system format {p.suffix!r} of {_where(path)}; expected .npz or .mtx")
    if not p.is_file():
        raise FileNotFoundError(f"no system file at {_where(path)}")
    if p.suffix == ".npz":
        A, b, unknowns = _read_npz(p)
    else:
        A, b, unknowns = _matrix_from_mtx(p), None, None
    if A.shape[0] == 0:
        raise SystemFileError(f"{_where(p)} holds an empty (0 x 0) system; nothing to solve")
    if rhs is not None:
        b = load_vector(rhs, A.shape[0])
    if b is None:
        raise SystemFileError(f"{_where(p)} has no right-hand side; pass one (--rhs FILE on the command line)")
    return A, b, unknowns


def save_system(path: str | os.PathLike, A: Any, b: Any, *, unknowns: np.ndarray | None = None,
                overwrite: bool = False) -> Path:
    """Write ``A``, ``b`` and an optional grid mask as a ``.npz`` system file (atomically).

    Parameters
    ----------
    path : path-like
        Destination; must end in ``.npz``.
    A : (n, n) sparse matrix or array
        Real and finite.
    b : (n,) array
    unknowns : bool array of a 2-D or 3-D grid, optional
        Mask of the grid nodes the unknowns sit on (C order), with ``n`` True entries; lets a
        grid network (``pdekit solve --method dcdm``) see the residual as a field.
    overwrite : bool
        Replace an existing file (refused otherwise).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        Wrong suffix, a matrix that is not square, real and finite, a ``b`` or mask that does
        not match it.
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    from pdekit._atomic import atomic_path

    p = Path(path)
    if p.suffix != ".npz":
        raise ValueError(f"a system file must end in .npz; got {str(path)!r}")
    if p.is_dir():
        raise IsADirectoryError(f"{_where(path)} is a folder; give the name of a .npz file")
    if p.exists() and not overwrite:
        raise FileExistsError(f"{_where(path)} exists; pass overwrite=True to replace it")
    A = sp.csr_matrix(A)
    A = checked_sparse(A.data, A.indices, A.indptr, np.array(A.shape), source="A")
    b = _checked_vector(b, A.shape[0], "b")
    extra = {} if unknowns is None else {"unknowns": _checked_mask(unknowns, A.shape[0], "unknowns")}
    with atomic_path(p, suffix=".npz", overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, data=A.data, indices=A.indices, indptr=A.indptr, shape=np.array(A.shape),
                     format=np.array("csr"), b=b, **extra)
    return p
