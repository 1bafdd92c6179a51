"""Sparsity pattern and element-to-CSR scatter map, computed once per mesh and space.

Assembling a global matrix from local element matrices ``A_e (m, nloc, nloc)`` is a
scatter-add into the CSR data array: entry ``(e, a, b)`` lands at position
``scatter[e * nloc**2 + a * nloc + b]``. The pattern (``indptr``, ``indices``) and the scatter
map depend only on the cell-to-dof table, so a :class:`SparsityPattern` is built once (one
sort of the ``m nloc^2`` keys) and every later assembly is a single ``np.bincount``.

Examples
--------
>>> import numpy as np
>>> p = SparsityPattern(np.array([[0, 1, 2], [1, 3, 2]]), 4)
>>> p.nnz
14
>>> A = p.assemble(np.ones((2, 3, 3)))
>>> A[1, 2], A[0, 3]
(2.0, 0.0)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["SparsityPattern", "assemble_vector"]


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
    scatter : (m * nloc * nloc,) int array
        Position in the CSR data array of every local matrix entry (row-major per cell).
    """

    def __init__(self, cell_dofs: np.ndarray, n_dofs: int) -> None:
        cell_dofs = np.asarray(cell_dofs, dtype=np.int64)
        m, nloc = cell_dofs.shape
        self.n_dofs = int(n_dofs)
        self.shape = (m, nloc)
        n = np.int64(self.n_dofs)
        # key of entry (e, a, b) = row * n + col; cells are usually ordered, so the stable
        # (radix / timsort) argsort sees long sorted runs and is fast.
        keys = (cell_dofs[:, :, None] * n + cell_dofs[:, None, :]).ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        del keys
        new = np.empty(len(sorted_keys), dtype=bool)
        new[:1] = True
        np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
        unique_keys = sorted_keys[new]
        del sorted_keys
        index_dtype = np.int32 if max(len(unique_keys), self.n_dofs) < 2**31 - 1 else np.int64
        slot = np.cumsum(new, dtype=np.int64) - 1
        scatter = np.empty(len(order), dtype=index_dtype)
        scatter[order] = slot
        del order, slot, new
        rows = unique_keys // n
        self.indices = (unique_keys - rows * n).astype(index_dtype)
        self.indptr = np.zeros(self.n_dofs + 1, dtype=index_dtype)
        np.cumsum(np.bincount(rows, minlength=self.n_dofs), out=self.indptr[1:])
        self.scatter = scatter
        self._keys = unique_keys

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indices.shape[0])

    def data(self, local: np.ndarray) -> np.ndarray:
        """Scatter-add local matrices into a CSR data array.

        Parameters
        ----------
        local : (m, nloc, nloc) float array
            Local matrices, in the cell order and local dof order of ``cell_dofs``.

        Returns
        -------
        (nnz,) float array
        """
        local = np.asarray(local, dtype=np.float64)
        if local.shape != (self.shape[0], self.shape[1], self.shape[1]):
            raise ValueError(
                f"local matrices must have shape {(self.shape[0], self.shape[1], self.shape[1])}; "
                f"got {local.shape}"
            )
        return np.bincount(self.scatter, weights=local.reshape(-1), minlength=self.nnz)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """A CSR matrix with this pattern and ``data (nnz,)`` (the index arrays are shared)."""
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs, self.n_dofs))

    def assemble(self, local: np.ndarray) -> sp.csr_matrix:
        """Global CSR matrix ``(n_dofs, n_dofs)`` from local matrices ``(m, nloc, nloc)``."""
        return self.matrix(self.data(local))

    def positions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Positions in the data array of entries ``(rows, cols)``; raises if one is absent."""
        keys = np.asarray(rows, dtype=np.int64) * self.n_dofs + np.asarray(cols, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._keys, keys), self.nnz - 1)
        if not np.all(self._keys[pos] == keys):
            raise ValueError("some entries are outside the sparsity pattern")
        return pos


def assemble_vector(cell_dofs: np.ndarray, local: np.ndarray, n_dofs: int) -> np.ndarray:
    """Global vector ``(n_dofs,)`` from local vectors ``local (m, nloc)`` on ``cell_dofs (m, nloc)``."""
    local = np.asarray(local, dtype=np.float64)
    if local.shape != cell_dofs.shape:
        raise ValueError(f"local vectors must have shape {cell_dofs.shape}; got {local.shape}")
    return np.bincount(cell_dofs.reshape(-1), weights=local.reshape(-1), minlength=n_dofs)
