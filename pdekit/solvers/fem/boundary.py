"""Dirichlet conditions: condensation or symmetric lifting.

*Condensation* removes the constrained dofs: with free dofs ``F`` and constrained ``D``,
solve ``A_FF x_F = b_F - A_FD g`` and put ``x_D = g``. *Lifting* keeps the full size, moves
``A_:D g`` to the right-hand side and replaces the rows and columns of ``D`` by the identity,
so the matrix stays symmetric. Both give the same solution. The solves themselves go through
:func:`pdekit.solvers.linear.solve`.
"""

from __future__ import annotations

import dataclasses

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


def condense(A: sp.spmatrix, b: np.ndarray, dofs: np.ndarray, values) -> CondensedSystem:
    """Eliminate the Dirichlet dofs ``dofs`` (values ``values``) from ``A x = b``."""
    A = sp.csr_matrix(A)
    dofs, values = _check_dofs(A, dofs, values)
    mask = np.ones(A.shape[0], dtype=bool)
    mask[dofs] = False
    free = np.flatnonzero(mask)
    A_f = A[free]
    rhs = np.asarray(b, dtype=np.float64)[free] - A_f[:, dofs] @ values
    return CondensedSystem(A_f[:, free].tocsr(), rhs, free, dofs, values)


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
