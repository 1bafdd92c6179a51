"""Sparsity pattern and element-to-CSR scatter map, computed once per mesh and space.

Local element matrices are stored *pair-major*: ``local[a, b, e]`` is the entry of local basis
pair ``(a, b)`` in cell ``e``, shape ``(nloc, nloc, m)``. Cell-wise arithmetic then runs over
long contiguous arrays, and a Python loop touches at most the ``nloc^2`` basis pairs.

A :class:`SparsityPattern` never sorts all ``nloc^2 m`` entries. The matrix graph is symmetric,
so only the ``nloc (nloc - 1) / 2`` strict upper pairs of each cell are grouped (one O(N)
counting sort by row and a sort of each short row, in scipy's compiled sparse tools) into the
unique *edges* ``i < j`` of the graph; every CSR row is then ``[lower neighbours, diagonal,
upper neighbours]``, already in column order, and the lower half is the transpose of the upper
half (another counting sort, of the edges only). The result is

* the CSR structure (``indptr``, ``indices``, sorted), and
* ``scatter``: the position in the CSR data array of every local entry.

Assembly is then ``data = bincount(scatter, local)``; for a coefficient constant per cell,
:meth:`SparsityPattern.cell_operator` folds the unit local matrices into a sparse ``(nnz, m)``
matrix (rows grouped by an O(N) counting sort), so re-assembly with new cell values ``a (m,)``
is ``data = op @ a``: one gather-multiply-scatter.

Examples
--------
>>> import numpy as np
>>> p = SparsityPattern(np.array([[0, 1, 2], [1, 3, 2]]), 4)
>>> p.nnz
14
>>> A = p.assemble(np.ones((3, 3, 2)))
>>> float(A[1, 2]), float(A[0, 3])
(2.0, 0.0)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import _sparsetools

__all__ = ["SparsityPattern", "assemble_vector"]


def _index_dtype(n: int):
    return np.int32 if n < 2**31 - 1 else np.int64


def _group_rows(n_rows: int, rows: np.ndarray, cols: np.ndarray, payload: np.ndarray,
                *, sort: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counting sort of entries by row (stable), optionally sorting each row by column.

    Returns ``indptr (n_rows + 1,)``, the columns and the payloads in row order.
    """
    nnz = len(rows)
    indptr = np.empty(n_rows + 1, dtype=rows.dtype)
    out_cols = np.empty(nnz, dtype=rows.dtype)
    out_payload = np.empty(nnz, dtype=payload.dtype)
    _sparsetools.coo_tocsr(n_rows, 1 << 30, nnz, rows, cols, payload, indptr, out_cols, out_payload)
    if sort:
        _sparsetools.csr_sort_indices(n_rows, indptr, out_cols, out_payload)
    return indptr, out_cols, out_payload


class SparsityPattern:
    """CSR structure of the matrix coupling the dofs that share a cell.

    Parameters
    ----------
    cell_dofs : (m, nloc) int array
        Global dofs of each cell (distinct within a cell).
    n_dofs : int
        Number of rows and columns.

    Attributes
    ----------
    indptr : (n_dofs + 1,) int array
    indices : (nnz,) int array
        Sorted column indices of each row.
    scatter : (nloc, nloc, m) int array
        Position in the CSR data array of each local entry ``(a, b, e)``.
    """

    def __init__(self, cell_dofs: np.ndarray, n_dofs: int) -> None:
        cell_dofs = np.asarray(cell_dofs)
        m, nloc = cell_dofs.shape
        n = int(n_dofs)
        self.n_dofs, self.n_cells, self.n_local = n, m, nloc
        idx = _index_dtype(max(n + 1, nloc * nloc * m + 1))
        dofs_t = np.ascontiguousarray(cell_dofs.T, dtype=idx)  # (nloc, m)
        pa, pb = np.triu_indices(nloc, 1)
        n_up = len(pa) * m
        # 1. unique edges i < j of the graph, from the strict upper local pairs
        lo = np.minimum(dofs_t[pa], dofs_t[pb]).reshape(-1)
        hi = np.maximum(dofs_t[pa], dofs_t[pb]).reshape(-1)
        up_ptr, up_cols, up_src = _group_rows(n, lo, hi, np.arange(n_up, dtype=idx), sort=True)
        del lo, hi
        new = np.ones(n_up, dtype=bool)
        np.not_equal(up_cols[1:], up_cols[:-1], out=new[1:])
        new[up_ptr[:-1][np.diff(up_ptr) > 0]] = True  # a row's first entry starts an edge
        edge_sorted = np.cumsum(new, dtype=idx) - 1
        edge_of = np.empty(n_up, dtype=idx)
        edge_of[up_src] = edge_sorted  # edge of each (pair, cell), in input order
        del up_src, edge_sorted
        starts = np.flatnonzero(new)
        cols_e = up_cols[starts]
        rows_e = np.repeat(np.arange(n, dtype=idx), np.diff(up_ptr))[starts]
        del up_cols, new, starts
        n_edges = len(cols_e)
        # 2. full CSR rows: [lower neighbours, diagonal, upper neighbours]
        upper_count = np.bincount(rows_e, minlength=n)
        lower_count = np.bincount(cols_e, minlength=n)
        indptr = np.zeros(n + 1, dtype=idx)
        np.cumsum(lower_count + upper_count + 1, out=indptr[1:])
        first_edge = np.concatenate([[0], np.cumsum(upper_count)[:-1]]).astype(idx)
        edges = np.arange(n_edges, dtype=idx)
        pos_upper = indptr[rows_e] + lower_count[rows_e] + 1 + (edges - first_edge[rows_e])
        low_ptr, _, low_edge = _group_rows(n, cols_e, rows_e, edges, sort=False)
        low_row = np.repeat(np.arange(n, dtype=idx), np.diff(low_ptr))
        pos_lower = np.empty(n_edges, dtype=idx)
        pos_lower[low_edge] = indptr[low_row] + (edges - low_ptr[low_row])
        del low_ptr, low_edge, low_row, edges
        pos_diag = indptr[:-1] + lower_count.astype(idx)
        nnz = int(indptr[-1])
        indices = np.empty(nnz, dtype=idx)
        indices[pos_upper] = cols_e
        indices[pos_lower] = rows_e
        indices[pos_diag] = np.arange(n, dtype=idx)
        # 3. scatter map of every local entry
        scatter = np.empty((nloc, nloc, m), dtype=idx)
        for a in range(nloc):
            scatter[a, a] = pos_diag[dofs_t[a]]
        for p, (a, b) in enumerate(zip(pa, pb)):
            e = edge_of[p * m:(p + 1) * m]
            a_low = dofs_t[a] < dofs_t[b]
            up, down = pos_upper[e], pos_lower[e]
            scatter[a, b] = np.where(a_low, up, down)
            scatter[b, a] = np.where(a_low, down, up)
        self.indptr, self.indices, self.scatter = indptr, indices, scatter
        self._keys = None

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indices.shape[0])

    def _check_local(self, local: np.ndarray) -> np.ndarray:
        shape = (self.n_local, self.n_local, self.n_cells)
        local = np.asarray(local, dtype=np.float64)
        if local.shape != shape:
            raise ValueError(f"local matrices must have shape (nloc, nloc, m) = {shape}; got {local.shape}")
        return local

    def cell_operator(self, unit: np.ndarray) -> sp.csr_matrix:
        """Matrix ``(nnz, m)`` mapping per-cell coefficients to CSR data.

        Parameters
        ----------
        unit : (nloc, nloc, m) float array
            Local matrices for a coefficient equal to 1 in every cell.

        Returns
        -------
        csr_matrix
            ``op @ a`` is the data array of the matrix assembled from ``a[e] * unit[:, :, e]``.
        """
        unit = self._check_local(unit)
        k2 = self.n_local * self.n_local
        cells = np.broadcast_to(np.arange(self.n_cells, dtype=self.scatter.dtype),
                                (k2, self.n_cells)).reshape(-1)
        ptr, cols, vals = _group_rows(self.nnz, self.scatter.reshape(-1), cells, unit.reshape(-1),
                                      sort=False)
        return sp.csr_matrix((vals, cols, ptr), shape=(self.nnz, self.n_cells), copy=False)

    def data(self, local: np.ndarray) -> np.ndarray:
        """Sum local matrices ``(nloc, nloc, m)`` into a CSR data array ``(nnz,)``."""
        local = self._check_local(local)
        return np.bincount(self.scatter.reshape(-1), weights=local.reshape(-1), minlength=self.nnz)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """A CSR matrix with this pattern and ``data (nnz,)`` (the index arrays are shared)."""
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs, self.n_dofs),
                             copy=False)

    def assemble(self, local: np.ndarray) -> sp.csr_matrix:
        """Global CSR matrix ``(n_dofs, n_dofs)`` from local matrices ``(nloc, nloc, m)``."""
        return self.matrix(self.data(local))

    def positions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Positions in the data array of entries ``(rows, cols)``; raises if one is absent."""
        if self._keys is None:
            row_of = np.repeat(np.arange(self.n_dofs, dtype=np.int64), np.diff(self.indptr))
            self._keys = row_of * self.n_dofs + self.indices
        keys = np.asarray(rows, dtype=np.int64) * self.n_dofs + np.asarray(cols, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._keys, keys), self.nnz - 1)
        if not np.all(self._keys[pos] == keys):
            raise ValueError("some entries are outside the sparsity pattern")
        return pos


def assemble_vector(cell_dofs: np.ndarray, local: np.ndarray, n_dofs: int) -> np.ndarray:
    """Global vector ``(n_dofs,)`` from local vectors ``local (nloc, m)`` on ``cell_dofs (m, nloc)``."""
    local = np.asarray(local, dtype=np.float64)
    if local.shape != cell_dofs.T.shape:
        raise ValueError(f"local vectors must have shape (nloc, m) = {cell_dofs.T.shape}; got {local.shape}")
    return np.bincount(cell_dofs.T.reshape(-1), weights=local.reshape(-1), minlength=n_dofs)
