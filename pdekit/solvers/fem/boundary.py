"""Dirichlet conditions: condensation or symmetric lifting.

*Condensation* removes the constrained dofs: with free dofs ``F`` and constrained ``D``,
solve ``A_FF x_F = b_F - A_FD g`` and put ``x_D = g``. *Lifting* keeps the full size, moves
``A_:D g`` to the right-hand side and replaces the rows and columns of ``D`` by the identity,
so the matrix stays symmetric. Both give the same solution. The solves themselves go through
:func:`pdekit.solvers.linear.solve`.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import zlib

import numpy as np
import scipy.sparse as sp

from pdekit._validation import check_finite

from .function import _call

__all__ = ["dirichlet_values", "CondensedSystem", "condense", "lift"]


def dirichlet_values(space, dofs: np.ndarray, g) -> np.ndarray:
    """Values ``(len(dofs),)`` of Dirichlet data ``g`` at ``dofs``.

    Parameters
    ----------
    space : FunctionSpace
    dofs : (k,) int array
    g : number, length-``c`` constant (vector spaces), callable ``g(x)`` with ``x (d, n)``
        (returning ``(n,)`` or ``(c, n)``), array ``(n_dofs,)`` over all dofs, or ``(k,)``.
    """
    dofs = np.asarray(dofs, dtype=np.int64)
    c = space.n_components
    nodes, comp = dofs // c, dofs % c
    if callable(g):
        vals = _call(g, space.dofmap.node_coordinates[nodes], "dirichlet", c)
        return vals if c == 1 else vals[np.arange(len(dofs)), comp]
    arr = check_finite("dirichlet", np.asarray(g, dtype=np.float64))
    if arr.ndim == 0:
        return np.full(len(dofs), float(arr))
    if c > 1 and arr.shape == (c,):
        return arr[comp]
    if arr.shape == (space.n_dofs,):
        return arr[dofs]
    if arr.shape == (len(dofs),):
        return arr
    raise ValueError(f"dirichlet data has shape {arr.shape}; expected a number, a callable of x, "
                     f"({space.n_dofs},) (all dofs) or ({len(dofs)},) (the constrained dofs)")


@dataclasses.dataclass
class CondensedSystem:
    """The system on the free dofs and what is needed to rebuild the full solution.

    Attributes
    ----------
    matrix : (n_free, n_free) csr_matrix
    rhs : (n_free,) float array
    free, constrained : int arrays
    values : (n_constrained,) float array
    """

    matrix: sp.csr_matrix
    rhs: np.ndarray
    free: np.ndarray
    constrained: np.ndarray
    values: np.ndarray

    def expand(self, x_free: np.ndarray) -> np.ndarray:
        """Full solution ``(n,)`` from the free part."""
        x = np.empty(len(self.free) + len(self.constrained))
        x[self.free] = x_free
        x[self.constrained] = self.values
        return x


def _check_dofs(A, dofs, values) -> tuple[np.ndarray, np.ndarray]:
    n = A.shape[0]
    dofs = np.asarray(dofs, dtype=np.int64).reshape(-1)
    values = check_finite("dirichlet values", np.broadcast_to(np.asarray(values, dtype=np.float64),
                                                              dofs.shape))
    if dofs.size and (dofs.min() < 0 or dofs.max() >= n):
        raise ValueError(f"Dirichlet dofs must lie in [0, {n}); got range [{dofs.min()}, {dofs.max()}]")
    dofs, first = np.unique(dofs, return_index=True)
    return dofs, np.ascontiguousarray(values[first])


@dataclasses.dataclass(frozen=True)
class _Elimination:
    """Where the free-free block of a CSR pattern sits in its data array (kept per pattern)."""

    indptr: np.ndarray  # of the source pattern (a copy: compared on every hit)
    indices: np.ndarray
    dofs: np.ndarray
    free: np.ndarray
    take: np.ndarray  # positions in the source data array, in the block's CSR order
    block_indptr: np.ndarray
    block_indices: np.ndarray


_ELIMINATIONS: collections.OrderedDict = collections.OrderedDict()
_ELIMINATIONS_LOCK = threading.Lock()


def _elimination(A: sp.csr_matrix, dofs: np.ndarray) -> _Elimination:
    """The free-free block's gather for ``A``'s pattern, computed once per (pattern, dofs)."""
    key = (A.shape, A.nnz, zlib.crc32(A.indptr), zlib.crc32(A.indices), dofs.size, zlib.crc32(dofs))
    with _ELIMINATIONS_LOCK:
        hit = _ELIMINATIONS.get(key)
    if hit is not None and np.array_equal(hit.indptr, A.indptr) and np.array_equal(hit.indices, A.indices) \
            and np.array_equal(hit.dofs, dofs):
        return hit
    n = A.shape[0]
    mask = np.ones(n, dtype=bool)
    mask[dofs] = False
    free = np.flatnonzero(mask)
    number = np.cumsum(mask) - 1  # new index of every free dof
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    keep = mask[rows] & mask[A.indices]
    take = np.flatnonzero(keep)  # CSR order of the block: rows and columns keep their order
    counts = np.bincount(number[rows[take]], minlength=free.size) if free.size else np.zeros(0, np.int64)
    index_type = A.indices.dtype
    block_indptr = np.zeros(free.size + 1, dtype=index_type)
    np.cumsum(counts, out=block_indptr[1:])
    entry = _Elimination(A.indptr.copy(), A.indices.copy(), dofs.copy(), free, take, block_indptr,
                         number[A.indices[take]].astype(index_type))
    with _ELIMINATIONS_LOCK:
        _ELIMINATIONS[key] = entry
        while len(_ELIMINATIONS) > 8:
            _ELIMINATIONS.popitem(last=False)
    return entry


def condense(A: sp.spmatrix, b: np.ndarray, dofs: np.ndarray, values) -> CondensedSystem:
    """Eliminate the Dirichlet dofs ``dofs`` (values ``values``) from ``A x = b``.

    The position of the free-free block in ``A``'s data array is computed once per sparsity
    pattern and set of dofs, so condensing the next matrix of the same pattern is one gather.
    """
    A = sp.csr_matrix(A)
    A.sort_indices()
    dofs, values = _check_dofs(A, dofs, values)
    e = _elimination(A, dofs)
    rhs = np.asarray(b, dtype=np.float64)
    if values.any():
        g = np.zeros(A.shape[0])
        g[dofs] = values
        rhs = rhs - A @ g
    matrix = sp.csr_matrix((A.data[e.take], e.block_indices, e.block_indptr), shape=(e.free.size,) * 2)
    matrix.has_sorted_indices = True
    return CondensedSystem(matrix, rhs[e.free].copy(), e.free, dofs, values)


def lift(A: sp.spmatrix, b: np.ndarray, dofs: np.ndarray, values) -> tuple[sp.csr_matrix, np.ndarray]:
    """Symmetric lifting: same-size system whose solution satisfies ``x[dofs] = values``.

    Returns
    -------
    A_lifted : (n, n) csr_matrix
        ``A`` with the rows and columns of ``dofs`` zeroed and ones on their diagonal.
    b_lifted : (n,) float array
    """
    A = sp.csr_matrix(A)
    dofs, values = _check_dofs(A, dofs, values)
    n = A.shape[0]
    g = np.zeros(n)
    g[dofs] = values
    rhs = np.asarray(b, dtype=np.float64) - A @ g
    rhs[dofs] = values
    keep = np.ones(n)
    keep[dofs] = 0.0
    D = sp.diags(keep)
    ident = np.zeros(n)
    ident[dofs] = 1.0
    return (D @ A @ D + sp.diags(ident)).tocsr(), rhs
