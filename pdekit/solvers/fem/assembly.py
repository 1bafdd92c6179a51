"""Sparsity pattern and element-to-CSR scatter, computed once per mesh and space.

Local element matrices are stored *pair-major*: ``local[a, b, e]`` is the entry of local basis
pair ``(a, b)`` in cell ``e``, shape ``(nloc, nloc, m)``. Cell-wise arithmetic then runs over
long contiguous arrays, and a Python loop touches at most the ``nloc^2`` basis pairs.

A :class:`SparsityPattern` sorts the ``nloc^2 m`` keys ``row * n + col`` once (a stable sort,
fast because every pair's slab is already nearly sorted when cells are ordered) and keeps

* the CSR structure (``indptr``, ``indices``), and
* ``order`` and ``segments``: the local entries sorted by their CSR position, and where each
  position's run starts.

From these, summing local matrices into the CSR data array is a sparse matrix-vector product
with a fixed 0/1 *gather matrix* ``(nnz, nloc^2 m)``; and for a coefficient constant per cell,
:meth:`SparsityPattern.cell_operator` folds the unit local matrices into a ``(nnz, m)`` matrix,
so re-assembly with new cell values ``a (m,)`` is ``data = op @ a``: one gather-multiply-scatter.

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

__all__ = ["SparsityPattern", "assemble_vector"]


def _index_dtype(n: int):
    return np.int32 if n < 2**31 - 1 else np.int64


class SparsityPattern:
    """CSR structure of the matrix coupling the dofs that share a cell.

    Parameters
    ----------
    cell_dofs : (m, nloc) int array
        Global dofs of each cell.
    n_dofs : int
        Number of rows and columns.

    Attributes
    ----------
    indptr : (n_dofs + 1,) int array
    indices : (nnz,) int array
        Sorted column indices of each row.
    order : (nloc^2 m,) int array
        Flat pair-major local entries (``(a * nloc + b) * m + e``) sorted by CSR position.
    segments : (nnz + 1,) int array
        ``order[segments[k]:segments[k+1]]`` are the local entries summed into position ``k``.
    """

    def __init__(self, cell_dofs: np.ndarray, n_dofs: int) -> None:
        cell_dofs = np.asarray(cell_dofs, dtype=np.int64)
        m, nloc = cell_dofs.shape
        self.n_dofs = int(n_dofs)
        self.n_cells, self.n_local = m, nloc
        n = np.int64(self.n_dofs)
        dofs_t = np.ascontiguousarray(cell_dofs.T)
        keys = (dofs_t[:, None, :] * n + dofs_t[None, :, :]).reshape(-1)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        del keys
        new = np.empty(len(sorted_keys), dtype=bool)
        new[:1] = True
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        unique_keys = sorted_keys[starts]
        del sorted_keys, new
        nnz = len(unique_keys)
        idx = _index_dtype(max(nnz, self.n_dofs))
        ent = _index_dtype(len(order) + 1)
        self.order = order.astype(ent)
        del order
        self.segments = np.empty(nnz + 1, dtype=ent)
        self.segments[:-1] = starts
        self.segments[-1] = nloc * nloc * m
        rows = unique_keys // n
        self.indices = (unique_keys - rows * n).astype(idx)
        self.indptr = np.zeros(self.n_dofs + 1, dtype=idx)
        np.cumsum(np.bincount(rows, minlength=self.n_dofs), out=self.indptr[1:])
        self._keys = unique_keys
        self._gather = None

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
        cells = (self.order % self.n_cells).astype(_index_dtype(self.n_cells))
        return sp.csr_matrix((unit.reshape(-1)[self.order], cells, self.segments),
                             shape=(self.nnz, self.n_cells))

    def data(self, local: np.ndarray) -> np.ndarray:
        """Sum local matrices ``(nloc, nloc, m)`` into a CSR data array ``(nnz,)``."""
        local = self._check_local(local)
        if self._gather is None:
            ones = np.ones(len(self.order))
            self._gather = sp.csr_matrix((ones, self.order, self.segments),
                                         shape=(self.nnz, len(self.order)))
        return self._gather @ local.reshape(-1)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """A CSR matrix with this pattern and ``data (nnz,)`` (the index arrays are shared)."""
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs, self.n_dofs))

    def assemble(self, local: np.ndarray) -> sp.csr_matrix:
        """Global CSR matrix ``(n_dofs, n_dofs)`` from local matrices ``(nloc, nloc, m)``."""
        return self.matrix(self.data(local))

    def positions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Positions in the data array of entries ``(rows, cols)``; raises if one is absent."""
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
