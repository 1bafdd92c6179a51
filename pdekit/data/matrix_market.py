"""A checked reader of Matrix Market files (``.mtx``), for files pdekit did not write.

scipy's reader (``scipy.io.mmread``, a compiled parser) trusts the file: a corrupted body (more
entries than the header declares, say) made it crash the interpreter in pdekit's fuzz tests. This
reader parses the header in Python and the body with :func:`numpy.loadtxt`, then checks the
count of entries, every index and every value before it builds anything, so a broken file
raises :class:`~pdekit.data.systems.SystemFileError` and never reaches compiled code unchecked.

Supported: ``matrix coordinate|array`` with field ``real``, ``double`` or ``integer`` and
symmetry ``general``, ``symmetric``, ``skew-symmetric`` or ``hermitian`` (real, so symmetric).
Complex and pattern matrices are refused (pdekit's solvers take real matrices with values).

Examples
--------
>>> import io, os, tempfile, scipy.io, scipy.sparse as sp
>>> path = os.path.join(tempfile.mkdtemp(), "A.mtx")
>>> scipy.io.mmwrite(path, sp.diags([1.0, 2.0, 3.0]).tocsr())
>>> read_matrix_market(path).toarray().diagonal().tolist()
[1.0, 2.0, 3.0]
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = ["read_matrix_market"]

_FIELDS = ("real", "double", "integer")
_SYMMETRIES = ("general", "symmetric", "skew-symmetric", "hermitian")


def _error(path, message: str) -> Exception:
    from pdekit.data.systems import SystemFileError

    return SystemFileError(f"{str(path)!r}: {message}")


def _header(lines: list[bytes], path) -> tuple[str, str, str, tuple[int, ...], int]:
    """(format, field, symmetry, sizes, index of the first body line)."""
    if not lines or not lines[0].lower().startswith(b"%%matrixmarket"):
        raise _error(path, "not a Matrix Market file (the first line must start with %%MatrixMarket)")
    try:
        banner = lines[0].decode("ascii").lower().split()
    except UnicodeDecodeError:
        raise _error(path, "the %%MatrixMarket banner is not ASCII text") from None
    if len(banner) != 5 or banner[1] != "matrix":
        raise _error(path, f"banner {lines[0][:80]!r} must read '%%MatrixMarket matrix FORMAT FIELD SYMMETRY'")
    fmt, field, symmetry = banner[2:]
    if fmt not in ("coordinate", "array"):
        raise _error(path, f"format {fmt!r} is not 'coordinate' or 'array'")
    if field == "complex":
        raise _error(path, "the matrix is complex; pdekit's solvers take real matrices")
    if field == "pattern":
        raise _error(path, "a pattern matrix holds no values; expected a real matrix")
    if field not in _FIELDS:
        raise _error(path, f"field {field!r} is not one of {list(_FIELDS)}")
    if symmetry not in _SYMMETRIES:
        raise _error(path, f"symmetry {symmetry!r} is not one of {list(_SYMMETRIES)}")
    i = 1
    while i < len(lines) and (lines[i].startswith(b"%") or not lines[i].strip()):
        i += 1
    if i == len(lines):
        raise _error(path, "the size line is missing")
    try:
        sizes = tuple(int(v) for v in lines[i].split())
    except ValueError:
        raise _error(path, f"size line {lines[i][:80]!r} must hold integers") from None
    if len(sizes) != (3 if fmt == "coordinate" else 2) or min(sizes) < 0:
        raise _error(path, f"size line {lines[i][:80]!r} must hold "
                           f"{'rows, columns and entries' if fmt == 'coordinate' else 'rows and columns'}")
    if symmetry != "general" and sizes[0] != sizes[1]:
        raise _error(path, f"a {symmetry} matrix must be square; got {sizes[0]} x {sizes[1]}")
    return fmt, field, symmetry, sizes, i + 1


def _body(lines: list[bytes], start: int, columns: int, count: int, path) -> np.ndarray:
    text = b"\n".join(line for line in lines[start:] if line.strip() and not line.startswith(b"%"))
    if not text:
        table = np.zeros((0, columns))
    else:
        try:
            table = np.loadtxt(io.BytesIO(text), dtype=np.float64, ndmin=2)
        except ValueError as err:
            raise _error(path, f"the body is not a table of numbers ({err})") from None
    if table.shape != (count, columns):
        raise _error(path, f"the header declares {count} entries of {columns} numbers; the body holds "
                           f"{table.shape[0]} lines of {table.shape[1] if table.ndim == 2 else 0}")
    if not np.isfinite(table).all():
        raise _error(path, "the body holds NaN/inf values")
    return table


def read_matrix_market(path: str | os.PathLike) -> sp.csr_matrix | np.ndarray:
    """Read a real Matrix Market file: a CSR matrix (coordinate) or a 2-D array (array format).

    Raises
    ------
    FileNotFoundError
        No such file.
    SystemFileError
        Anything that is not a well-formed real Matrix Market matrix: bad banner or size line,
        a body whose entry count or shape differs from the header, non-integer or out-of-range
        indices, NaN/inf values.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no Matrix Market file at {str(path)!r}")
    lines = p.read_bytes().splitlines()
    fmt, field, symmetry, sizes, start = _header(lines, p)
    rows, cols = sizes[0], sizes[1]
    if fmt == "array":
        count = rows * cols if symmetry == "general" else (
            rows * (rows + 1) // 2 if symmetry != "skew-symmetric" else rows * (rows - 1) // 2)
        if count > len(lines):  # before allocating anything of that size
            raise _error(p, f"the header declares {count} entries; the file has {len(lines)} lines")
        values = _body(lines, start, 1, count, p)[:, 0]
        if symmetry == "general":
            return values.reshape(cols, rows).T.copy()
        dense = np.zeros((rows, rows))
        r, c = np.tril_indices(rows, 0 if symmetry != "skew-symmetric" else -1)
        order = np.lexsort((r, c))  # column-major order of the lower triangle
        dense[r[order], c[order]] = values
        sign = -1.0 if symmetry == "skew-symmetric" else 1.0
        return dense + sign * np.tril(dense, -1).T
    count = sizes[2]
    if count > len(lines):
        raise _error(p, f"the header declares {count} entries; the file has {len(lines)} lines")
    if max(rows, cols) > 2 * count + 1:  # bounds what is allocated by what the file holds
        raise _error(p, f"the header declares {max(rows, cols)} rows or columns but only {count} stored "
                        "entries: most rows would be empty, so the matrix is singular")
    table = _body(lines, start, 3, count, p)
    index = table[:, :2]
    if np.any(index != np.round(index)):
        raise _error(p, "row and column indices must be integers")
    i, j = index[:, 0].astype(np.int64) - 1, index[:, 1].astype(np.int64) - 1
    bad = (i < 0) | (i >= rows) | (j < 0) | (j >= cols)
    if bad.any():
        k = int(np.argmax(bad))
        raise _error(p, f"entry {k} at ({i[k] + 1}, {j[k] + 1}) lies outside the {rows} x {cols} matrix "
                        "(indices are 1-based)")
    v = table[:, 2]
    if symmetry != "general":
        off = i != j
        sign = -1.0 if symmetry == "skew-symmetric" else 1.0
        i, j, v = np.r_[i, j[off]], np.r_[j, i[off]], np.r_[v, sign * v[off]]
    return sp.csr_matrix((v, (i, j)), shape=(rows, cols))
