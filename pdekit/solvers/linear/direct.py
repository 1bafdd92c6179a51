"""Sparse direct solves of SPD systems: one factorisation, many right-hand sides, checked answers.

The factorisation is SuperLU's (scipy) with the minimum-degree ordering of ``A + A^T``, in
symmetric mode with diagonal pivots only: for a symmetric (Hermitian) positive definite matrix
that is a Cholesky factorisation in LU form (stable without pivoting), and a pivot that is not
positive proves the matrix is not positive definite, which is reported as an error.
Every solve computes the true residual; when it is above the tolerance (an ill-conditioned or
badly scaled matrix) up to two steps of iterative refinement are taken, and what is left is
reported, not hidden: the :class:`~pdekit.solvers.linear.SolveInfo` says whether the tolerance
was met, and NaN/inf in the answer is a failure, never a result.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit.solvers.linear._common import SolveInfo, check_tolerances
from pdekit.solvers.linear.reductions import vector_norm

__all__ = ["DirectSolver"]


class DirectSolver:
    """A sparse LU factorisation of ``A`` (SuperLU), applied to right-hand sides with checks.

    Parameters
    ----------
    A : (n, n) sparse or dense matrix, real or complex

    Attributes
    ----------
    setup_time : float
        Seconds of the factorisation.
    name : str
        ``"superlu"`` (recorded in ``info.preconditioner``).
    """

    name = "superlu"

    def __init__(self, A: Any) -> None:
        t = time.perf_counter()
        A = sp.csc_matrix(A)
        self.shape = A.shape
        self._A = A
        try:
            self._lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A",
                                 options={"SymmetricMode": True, "DiagPivotThresh": 0.0})
        except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
            raise ValueError(f"the direct solver could not factorise A: {err}; A is singular "
                             "(a pure Neumann problem? a zero row?)") from err
        pivots = self._lu.U.diagonal()
        diagonal = np.array_equal(self._lu.perm_r, self._lu.perm_c)
        bad = ~(np.real(pivots) > 0) if diagonal else np.ones(1, dtype=bool)
        if bad.any():
            met = (f"{int(bad.sum())} non-positive pivot(s)" if diagonal else
                   "a zero diagonal pivot and had to pivot off the diagonal")
            raise ValueError(f"A is not positive definite: its symmetric factorisation met {met}; "
                             "pdekit's solvers take SPD matrices (check the sign convention: "
                             "-div(a grad u) gives a positive definite matrix)")
        self.setup_time = time.perf_counter() - t

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """``A^-1 r`` (used as an exact preconditioner)."""
        return self._lu.solve(np.asarray(r))

    def solve(self, b: np.ndarray, *, rtol: float = 1e-8, atol: float = 0.0, refine: int = 2
              ) -> tuple[np.ndarray, SolveInfo]:
        """Solve ``A x = b``; ``info.converged`` says whether ``||b - A x|| <= max(rtol ||b||, atol)``.

        Up to ``refine`` steps of iterative refinement are taken while the residual is above
        the tolerance and decreasing.
        """
        rtol, atol = check_tolerances(rtol, atol)
        t0 = time.perf_counter()
        info = SolveInfo(method="direct", preconditioner=self.name, setup_time=self.setup_time)
        b = np.asarray(b)
        bnorm = vector_norm(b)
        tol = info.tolerance = max(rtol * bnorm, atol)
        if bnorm == 0.0:
            x = np.zeros(self.shape[0], dtype=np.result_type(self._A.dtype, b.dtype, np.float64))
            info.residuals, info.times, info.status, info.converged = np.zeros(1), np.zeros(1), "converged", True
            info.solve_time = time.perf_counter() - t0
            return x, info
        with np.errstate(all="ignore"):
            x = self._lu.solve(b)
            r = b - self._A @ x
            rnorm = vector_norm(r)
            residuals = [1.0, rnorm / bnorm]
            for _ in range(int(refine)):
                if not np.isfinite(rnorm) or rnorm <= tol:
                    break
                x_new = x + self._lu.solve(r)
                r_new = b - self._A @ x_new
                new = vector_norm(r_new)
                if not new < rnorm:
                    break
                x, r, rnorm = x_new, r_new, new
                residuals.append(rnorm / bnorm)
        info.residuals = np.asarray(residuals)
        info.times = np.full(len(residuals), time.perf_counter() - t0)
        info.solve_time = time.perf_counter() - t0 + self.setup_time
        if not np.isfinite(x).all() or not np.isfinite(rnorm):
            info.status = ("the direct solve produced NaN/inf: A is singular or so badly scaled that "
                           "its factorisation over- or underflowed")
        elif rnorm <= tol:
            info.status = "converged"
        else:
            info.status = (f"the direct solve left a relative residual {rnorm / bnorm:.3g} above the "
                           f"tolerance after iterative refinement (A is ill-conditioned)")
        info.converged = info.status == "converged"
        return x, info
