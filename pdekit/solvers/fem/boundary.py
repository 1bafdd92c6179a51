"""Dirichlet conditions (condensation or symmetric lifting) and the linear solve.

*Condensation* removes the constrained dofs: with free dofs ``F`` and constrained ``D``,
solve ``A_FF x_F = b_F - A_FD g`` and put ``x_D = g``. *Lifting* keeps the full size, moves
``A_:D g`` to the right-hand side and replaces the rows and columns of ``D`` by the identity,
so the matrix stays symmetric. Both give the same solution.

Solves are sparse direct (SuperLU) or conjugate gradients preconditioned by smoothed
aggregation AMG (pyamg); ``solver="auto"`` picks direct for small systems.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit._validation import check_choice, check_finite

from .function import _call

__all__ = ["dirichlet_values", "CondensedSystem", "condense", "lift", "solve_linear", "SolveInfo"]


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


@dataclasses.dataclass
class SolveInfo:
    """How a linear solve went: ``method`` ("direct" or "amg-cg"), ``iterations`` (0 for
    direct) and ``residual``, the true relative residual ``||b - A x|| / ||b||``."""

    method: str
    iterations: int
    residual: float


def solve_linear(A: sp.spmatrix, b: np.ndarray, *, solver: str = "auto", rtol: float = 1e-10,
                 maxiter: int = 500, near_null_space: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, SolveInfo]:
    """Solve a symmetric positive definite sparse system.

    Parameters
    ----------
    A : (n, n) sparse matrix
    b : (n,) float array
    solver : {"auto", "direct", "amg-cg"}
        "auto" uses the direct solver below 100,000 unknowns (30,000 for P2 / 3D-like
        densities, judged by nonzeros per row), AMG-preconditioned CG above.
    rtol : float
        Relative residual tolerance of CG (checked on the true residual).
    maxiter : int
    near_null_space : (n, k) float array, optional
        Near-null-space vectors for AMG (rigid-body modes for elasticity).

    Returns
    -------
    x : (n,) float array
    info : SolveInfo

    Raises
    ------
    RuntimeError
        CG did not reach ``rtol`` within ``maxiter`` iterations.
    """
    check_choice("solver", solver, ("auto", "direct", "amg-cg"))
    A = sp.csr_matrix(A)
    b = np.asarray(b, dtype=np.float64)
    n = A.shape[0]
    if solver == "auto":
        solver = "direct" if n < 100_000 and A.nnz < 2_000_000 else "amg-cg"
    nb = np.linalg.norm(b)
    if nb == 0.0:
        return np.zeros(n), SolveInfo(solver, 0, 0.0)
    if solver == "direct":
        lu = spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        x = lu.solve(b)
        res = float(np.linalg.norm(b - A @ x) / nb)
        return x, SolveInfo("direct", 0, res)
    import pyamg

    ml = pyamg.smoothed_aggregation_solver(A, B=near_null_space, symmetry="hermitian")
    count = [0]

    def cb(_):
        count[0] += 1

    x, _ = spla.cg(A, b, rtol=rtol, atol=0.0, maxiter=maxiter, M=ml.aspreconditioner(), callback=cb)
    res = float(np.linalg.norm(b - A @ x) / nb)
    if res > 10 * rtol:
        raise RuntimeError(f"AMG-preconditioned CG did not converge: relative residual {res:.3g} "
                           f"after {count[0]} iterations (rtol = {rtol:g}, maxiter = {maxiter})")
    return x, SolveInfo("amg-cg", count[0], res)
