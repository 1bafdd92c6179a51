"""A lean AMG-preconditioned CG for a family of matrices that share one sparsity pattern.

The aggregates and smoothed prolongators of a smoothed-aggregation hierarchy (pyamg) are
built once from a reference operator (for Darcy: the a = 1 Laplacian on the same grid). For
each new matrix of the family only the Galerkin coarse operators R A P are recomputed, and
the V-cycle (symmetric Gauss-Seidel pre- and post-smoothing, dense Cholesky on the coarsest
level) calls pyamg's compiled relaxation directly, without per-call Python bookkeeping. The
V-cycle is a symmetric positive definite operator, so it is a valid CG preconditioner.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = ["GalerkinHierarchy", "VCycle", "pcg"]


class GalerkinHierarchy:
    """Transfers (P_l, R_l) of a smoothed-aggregation hierarchy of ``reference``.

    Parameters
    ----------
    reference : (n, n) sparse SPD matrix
    max_coarse : int
        Size at which coarsening stops (the coarsest level is solved densely).
    """

    def __init__(self, reference: sp.spmatrix, *, max_coarse: int = 50) -> None:
        import pyamg

        ml = pyamg.smoothed_aggregation_solver(sp.csr_matrix(reference), max_coarse=max_coarse)
        self.transfers = [(sp.csr_matrix(lvl.P), sp.csr_matrix(lvl.R)) for lvl in ml.levels[:-1]]

    def preconditioner(self, matrix: sp.csr_matrix) -> "VCycle":
        """The V-cycle for ``matrix`` (Galerkin coarse operators of this hierarchy)."""
        levels = [sp.csr_matrix(matrix)]
        for p, r in self.transfers:
            levels.append(sp.csr_matrix(r @ (levels[-1] @ p)))
        return VCycle(levels, self.transfers)


class VCycle:
    """One V(1,1)-cycle with symmetric Gauss-Seidel smoothing, as a callable r -> z."""

    def __init__(self, levels: list[sp.csr_matrix], transfers) -> None:
        from pyamg.amg_core import gauss_seidel

        self._gs = gauss_seidel
        self.levels = []
        for a in levels[:-1]:
            a.sort_indices()
            self.levels.append((a.indptr, a.indices, a.data, a.shape[0], a))
        self.transfers = transfers
        coarse = levels[-1].toarray()
        self.coarse = scipy.linalg.cho_factor(coarse) if coarse.size else None

    def _smooth(self, level, x, b) -> None:
        ap, aj, ax, n, _ = level
        self._gs(ap, aj, ax, x, b, 0, n, 1)
        self._gs(ap, aj, ax, x, b, n - 1, -1, -1)

    def __call__(self, b: np.ndarray) -> np.ndarray:
        return self._cycle(0, np.ascontiguousarray(b, dtype=float))

    def _cycle(self, i: int, b: np.ndarray) -> np.ndarray:
        if i == len(self.levels):
            return scipy.linalg.cho_solve(self.coarse, b)
        level = self.levels[i]
        p, r = self.transfers[i]
        x = np.zeros_like(b)
        self._smooth(level, x, b)
        x += p @ self._cycle(i + 1, r @ (b - level[4] @ x))
        self._smooth(level, x, b)
        return x


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum, not BLAS: threaded BLAS level-1 calls stall on oversubscribed machines
    return float(np.einsum("i,i->", a, b))


def pcg(matrix: sp.spmatrix, b: np.ndarray, preconditioner, *, rtol: float = 1e-10,
        maxiter: int = 200) -> tuple[np.ndarray, int, float]:
    """Preconditioned conjugate gradients from x0 = 0.

    Stops when the true relative residual ||b - A x|| / ||b|| <= rtol (the recursively updated
    residual proposes, the true one decides).

    Returns
    -------
    x : (n,) array
    iterations : int
    relative_residual : float
        The true one at exit: above ``rtol`` if ``maxiter`` ran out, or if round-off kept
        the true residual above ``rtol`` through 5 restarts.
    """
    bnorm = _dot(b, b) ** 0.5
    x = np.zeros_like(b, dtype=float)
    if bnorm == 0.0:
        return x, 0, 0.0
    r = np.array(b, dtype=float)
    z = preconditioner(r)
    p = z.copy()
    rz = _dot(r, z)
    restarts, max_restarts = 0, 5
    for it in range(1, maxiter + 1):
        ap = matrix @ p
        alpha = rz / _dot(p, ap)
        x += alpha * p
        r -= alpha * ap
        if _dot(r, r) ** 0.5 <= rtol * bnorm:
            r = b - matrix @ x
            res = _dot(r, r) ** 0.5 / bnorm
            if res <= rtol:
                return x, it, res
            # the recursive residual drifted from the true one: restart from the true one,
            # a few times at most (round-off bounds the attainable residual)
            restarts += 1
            if restarts > max_restarts:
                return x, it, res
            z = preconditioner(r)
            p = z.copy()
            rz = _dot(r, z)
            continue
        z = preconditioner(r)
        rz_new = _dot(r, z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    r = b - matrix @ x
    res = _dot(r, r) ** 0.5 / bnorm
    return x, maxiter, res
