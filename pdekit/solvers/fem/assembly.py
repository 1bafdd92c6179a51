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

* the CSR structure (``indptr``, ``indices``, sorted),
* ``half_scatter``: for the packed upper triangle of each (symmetric) local matrix, its slot in
  a *half* array with one value per dof (diagonal) and per edge, and ``csr_to_half``, the slot
  each CSR position reads (``(i, j)`` and ``(j, i)`` share one).

Symmetric assembly is then ``data = bincount(half_scatter, packed)[csr_to_half]``; for a
coefficient constant per cell, :meth:`SparsityPattern.cell_operator` folds the unit local
matrices into a sparse ``(n_dofs + n_edges, m)`` matrix (rows grouped by an O(N) counting
sort), so re-assembly with new cell values ``a (m,)`` is ``(op @ a)[csr_to_half]``: one
gather-multiply-scatter. Non-symmetric local matrices use the full scatter map
(:attr:`SparsityPattern.scatter`, built on first use).

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

try:  # scipy's compiled COO -> CSR counting sort and per-row sort (private but long-stable)
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - exercised only on a scipy without it
    _sparsetools = None

__all__ = ["SparsityPattern", "assemble_vector", "pack_symmetric", "packed_pairs"]


def _index_dtype(n: int):
    return np.int32 if n < 2**31 - 1 else np.int64


def _group_rows(n_rows: int, rows: np.ndarray, cols: np.ndarray, payload: np.ndarray,
                *, sort: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counting sort of entries by row (stable), optionally sorting each row by column.

    Returns ``indptr (n_rows + 1,)``, the columns and the payloads in row order.
    """
    nnz = len(rows)
    if _sparsetools is None:
        order = np.lexsort((cols, rows)) if sort else np.argsort(rows, kind="stable")
        indptr = np.zeros(n_rows + 1, dtype=rows.dtype)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return indptr, cols[order], payload[order]
    indptr = np.empty(n_rows + 1, dtype=rows.dtype)
    out_cols = np.empty(nnz, dtype=rows.dtype)
    out_payload = np.empty(nnz, dtype=payload.dtype)
    _sparsetools.coo_tocsr(n_rows, n_rows, nnz, rows, cols, payload, indptr, out_cols, out_payload)
    if sort:
        _sparsetools.csr_sort_indices(n_rows, indptr, out_cols, out_payload)
    return indptr, out_cols, out_payload


def packed_pairs(nloc: int) -> tuple[np.ndarray, np.ndarray]:
    """Local pairs ``(a, b)`` of the packed symmetric layout: the diagonal, then ``a < b``."""
    pa, pb = np.triu_indices(nloc, 1)
    diag = np.arange(nloc)
    return np.concatenate([diag, pa]), np.concatenate([diag, pb])


def pack_symmetric(local: np.ndarray) -> np.ndarray:
    """Packed ``(nloc (nloc + 1) / 2, m)`` upper triangle of symmetric ``(nloc, nloc, m)``."""
    a, b = packed_pairs(local.shape[0])
    return local[a, b]


class SparsityPattern:
    """CSR structure of the matrix coupling the dofs that share a cell.

    Symmetric local matrices can be given *packed*: ``packed[k, e]`` for the local pairs of
    :func:`packed_pairs` (the diagonal, then ``a < b``). They are summed into a *half* array
    ``(n_dofs + n_edges,)`` (one value per dof and per graph edge) and expanded to the CSR data
    by one gather, which touches ``(nloc + 1) / (2 nloc)`` of the entries a full scatter would.

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
    half_scatter : (nloc (nloc + 1) / 2, m) int array
        Half-array slot of each packed local entry: the dof for diagonal pairs,
        ``n_dofs + edge`` otherwise.
    csr_to_half : (nnz,) int array
        Half-array slot of each CSR position (both ``(i, j)`` and ``(j, i)`` read edge ``ij``).
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
        edge_sorted = np.cumsum(new, dtype=idx)
        edge_sorted += n - 1  # half-array slot n + edge
        half_scatter = np.empty((nloc + len(pa), m), dtype=idx)
        half_scatter[:nloc] = dofs_t
        half_scatter[nloc:].reshape(-1)[up_src] = edge_sorted
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
        del low_ptr, low_edge, low_row
        pos_diag = indptr[:-1] + lower_count.astype(idx)
        nnz = int(indptr[-1])
        indices = np.empty(nnz, dtype=idx)
        indices[pos_upper] = cols_e
        indices[pos_lower] = rows_e
        indices[pos_diag] = np.arange(n, dtype=idx)
        csr_to_half = np.empty(nnz, dtype=idx)
        csr_to_half[pos_diag] = np.arange(n, dtype=idx)
        csr_to_half[pos_upper] = edges + n
        csr_to_half[pos_lower] = edges + n
        self.indptr, self.indices = indptr, indices
        self.half_scatter, self.csr_to_half = half_scatter, csr_to_half
        self.n_edges = n_edges
        self._pos = (pos_diag, pos_upper, pos_lower)
        self._cell_dofs = dofs_t
        self._scatter = None
        self._keys = None

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indices.shape[0])

    @property
    def scatter(self) -> np.ndarray:
        """Position in the CSR data of every local entry ``(a, b, e)``, ``(nloc, nloc, m)``."""
        if self._scatter is None:
            nloc, m, n = self.n_local, self.n_cells, self.n_dofs
            pos_diag, pos_upper, pos_lower = self._pos
            dofs_t = self._cell_dofs
            scatter = np.empty((nloc, nloc, m), dtype=self.indices.dtype)
            for a in range(nloc):
                scatter[a, a] = pos_diag[dofs_t[a]]
            pa, pb = np.triu_indices(nloc, 1)
            for p, (a, b) in enumerate(zip(pa, pb)):
                e = self.half_scatter[nloc + p] - n
                a_low = dofs_t[a] < dofs_t[b]
                up, down = pos_upper[e], pos_lower[e]
                scatter[a, b] = np.where(a_low, up, down)
                scatter[b, a] = np.where(a_low, down, up)
            self._scatter = scatter
        return self._scatter

    def _check_local(self, local: np.ndarray) -> np.ndarray:
        shape = (self.n_local, self.n_local, self.n_cells)
        local = np.asarray(local, dtype=np.float64)
        if local.shape != shape:
            raise ValueError(f"local matrices must have shape (nloc, nloc, m) = {shape}; got {local.shape}")
        return local

    def _check_packed(self, packed: np.ndarray) -> np.ndarray:
        shape = self.half_scatter.shape
        packed = np.asarray(packed, dtype=np.float64)
        if packed.shape != shape:
            raise ValueError(f"packed local matrices must have shape (nloc (nloc + 1) / 2, m) = "
                             f"{shape}; got {packed.shape}")
        return packed

    def half_data(self, packed: np.ndarray, *, cell_major: bool = False) -> np.ndarray:
        """Sum packed symmetric local matrices into the half array ``(n_dofs + n_edges,)``.

        ``cell_major=True`` adds the contributions cell by cell, the order in which
        ``cell_operator(unit) @ a`` adds them, so ``half_data(unit * a, cell_major=True)``
        equals the operator's result bit for bit.
        """
        packed = self._check_packed(packed)
        if cell_major:
            slots, weights = self.half_scatter.T.reshape(-1), packed.T.reshape(-1)
        else:
            slots, weights = self.half_scatter.reshape(-1), packed.reshape(-1)
        return np.bincount(slots, weights=weights, minlength=self.n_dofs + self.n_edges)

    def symmetric_matrix(self, half: np.ndarray) -> sp.csr_matrix:
        """The CSR matrix whose entries ``(i, i)`` and ``(i, j) = (j, i)`` are read from ``half``."""
        return self.matrix(half[self.csr_to_half])

    def cell_operator(self, unit_packed: np.ndarray) -> sp.csr_matrix:
        """Matrix ``(n_dofs + n_edges, m)`` mapping per-cell coefficients to the half array.

        Parameters
        ----------
        unit_packed : (nloc (nloc + 1) / 2, m) float array
            Packed symmetric local matrices for a coefficient equal to 1 in every cell.

        Returns
        -------
        csr_matrix
            ``symmetric_matrix(op @ a)`` is the matrix assembled from ``a[e] * unit_e``.
        """
        unit_packed = self._check_packed(unit_packed)
        k, m = unit_packed.shape
        cells = np.broadcast_to(np.arange(m, dtype=self.half_scatter.dtype), (k, m)).reshape(-1)
        n_half = self.n_dofs + self.n_edges
        # sorting each row by cell makes the product read ``a`` in order (~1.5x faster)
        ptr, cols, vals = _group_rows(n_half, self.half_scatter.reshape(-1), cells,
                                      unit_packed.reshape(-1), sort=True)
        return sp.csr_matrix((vals, cols, ptr), shape=(n_half, m), copy=False)

    def data(self, local: np.ndarray) -> np.ndarray:
        """Sum full local matrices ``(nloc, nloc, m)`` into a CSR data array ``(nnz,)``."""
        local = self._check_local(local)
        return np.bincount(self.scatter.reshape(-1), weights=local.reshape(-1), minlength=self.nnz)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """A CSR matrix with this pattern and ``data (nnz,)`` (the index arrays are shared)."""
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs, self.n_dofs),
                             copy=False)

    def assemble(self, local: np.ndarray) -> sp.csr_matrix:
        """Global CSR matrix ``(n_dofs, n_dofs)`` from full local matrices ``(nloc, nloc, m)``."""
        return self.matrix(self.data(local))

    def assemble_symmetric(self, packed: np.ndarray) -> sp.csr_matrix:
        """Global symmetric CSR matrix from packed local matrices (see :func:`pack_symmetric`)."""
        return self.symmetric_matrix(self.half_data(packed))

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
