"""What the Krylov solvers share: operator and preconditioner adapters, input checks, the info record.

A system matrix may be a dense numpy array, a scipy sparse matrix, a scipy
``LinearOperator`` (vectors are numpy arrays) or a torch sparse tensor (vectors are torch
tensors on the tensor's device, so the whole iteration runs on a GPU where the matrix lives
on one).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit._warnings import ConvergenceWarning

__all__ = ["SolveInfo", "ConvergenceWarning", "SystemOperator", "as_system", "as_preconditioner_fn"]


@dataclasses.dataclass
class SolveInfo:
    """What a Krylov solve did.

    Attributes
    ----------
    method : str
        ``"cg"``, ``"pcg"``, ``"fcg(m)"`` or ``"dcdm(k)"``.
    converged : bool
        True when the true relative residual ``||b - A x|| / ||b||`` reached the tolerance.
    iterations : int
        Number of iterations (matrix-vector products with search directions).
    residuals : (iterations + 1,) float array
        True relative residual ``||b - A x_k|| / ||b||`` after each iteration (entry 0 is the
        initial guess), computed explicitly by default. With ``true_residuals=False`` the entries
        come from the residual recurrence (equal in exact arithmetic), except that whenever the
        recurrence claims convergence the true residual is computed and replaces it, so the last
        entry is always a true residual.
    times : (iterations + 1,) float array
        Wall-clock seconds since the solve started, at each entry of ``residuals``.
    preconditioner_time : float
        Seconds spent applying the preconditioner (or the network).
    setup_time : float
        Seconds spent before the first iteration building the preconditioner inside the call
        (e.g. binding a network to the matrix); 0 when it was built outside.
    solve_time : float
        Seconds of the whole call.
    fallback_iterations : int
        DCDM only: iterations whose direction was the residual itself because the previous
        network direction had stalled (see :func:`pdekit.solvers.linear.dcdm`).
    status : str
        ``"converged"``, ``"maxiter"``, or a sentence saying why the iteration broke down.
    tolerance : float
        The absolute residual norm that was asked for, ``max(rtol * ||b||, atol)``.
    """

    method: str
    converged: bool = False
    iterations: int = 0
    residuals: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    times: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    preconditioner_time: float = 0.0
    setup_time: float = 0.0
    solve_time: float = 0.0
    fallback_iterations: int = 0
    status: str = ""
    tolerance: float = 0.0

    @property
    def final_residual(self) -> float:
        """The last true relative residual."""
        return float(self.residuals[-1]) if len(self.residuals) else math.nan


def _is_torch(x: Any) -> bool:
    mod = type(x).__module__
    return mod.startswith("torch") and hasattr(x, "is_sparse")


class SystemOperator:
    """A square system matrix seen as ``matvec`` plus the vector algebra of its backend.

    Attributes
    ----------
    n : int
        Number of unknowns.
    backend : str
        ``"numpy"`` or ``"torch"``.
    device : str or None
        The torch device (``None`` for numpy).
    """

    def __init__(self, matvec: Callable, n: int, backend: str, device=None, dtype=None) -> None:
        self.matvec = matvec
        self.n = n
        self.backend = backend
        self.device = device
        self.dtype = dtype

    def dot(self, a, b) -> float:
        if self.backend == "torch":
            return float((a * b).sum().item())
        return float(np.dot(a, b))

    def norm(self, a) -> float:
        if self.backend == "torch":
            import torch

            return float(torch.linalg.vector_norm(a).item())
        return float(np.linalg.norm(a))

    def vector(self, x, name: str):
        """Return ``x`` as a backend vector of length n, checking shape and finiteness."""
        if self.backend == "torch":
            import torch

            t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
            t = t.to(device=self.device, dtype=self.dtype).reshape(-1)
            if t.numel() != self.n:
                raise ValueError(f"{name} must have {self.n} entries to match A; got {t.numel()}")
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name} must be finite; it holds {int((~torch.isfinite(t)).sum())} NaN/inf entries")
            return t.clone()
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
        arr = arr.astype(self.dtype or np.float64, copy=True).reshape(-1)
        if arr.size != self.n:
            raise ValueError(f"{name} must have {self.n} entries to match A; got shape {np.shape(x)}")
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} must be finite; it holds {int(bad.sum())} NaN/inf entries, "
                             f"the first at index {int(np.argmax(bad))}")
        return arr

    def zeros(self):
        if self.backend == "torch":
            import torch

            return torch.zeros(self.n, device=self.device, dtype=self.dtype)
        return np.zeros(self.n, dtype=self.dtype or np.float64)

    def synchronize(self) -> None:
        if self.backend == "torch" and str(self.device).startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)


def _check_square(shape, what: str) -> int:
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"A must be a square matrix; got {what} of shape {tuple(shape)}")
    return int(shape[0])


def _check_symmetric_scipy(A: sp.spmatrix | sp.sparray | np.ndarray, rtol: float = 1e-10) -> None:
    if sp.issparse(A):
        diff = abs(A - A.T)
        worst = diff.max() if diff.nnz else 0.0
        scale = abs(A).max() if A.nnz else 0.0
    else:
        diff = np.abs(A - A.T)
        worst, scale = diff.max(initial=0.0), np.abs(A).max(initial=0.0)
    if worst > rtol * max(scale, np.finfo(float).tiny):
        raise ValueError(
            f"A must be symmetric for CG-type solvers; max |A - A^T| = {worst:.3g} against "
            f"max |A| = {scale:.3g} (pass check_symmetry=False to skip this check)")


def as_system(A: Any, *, check_symmetry: bool = True) -> SystemOperator:
    """Wrap ``A`` as a :class:`SystemOperator` after checking it.

    Parameters
    ----------
    A : (n, n) numpy array, scipy sparse matrix, scipy LinearOperator or torch sparse tensor
    check_symmetry : bool
        Refuse an explicit matrix that is not symmetric (LinearOperators are not checked).

    Raises
    ------
    ValueError
        ``A`` is not square, holds NaN/inf, or (when checked) is not symmetric.
    TypeError
        ``A`` is of no supported kind.
    """
    if _is_torch(A):
        import torch

        if A.ndim != 2:
            raise ValueError(f"A must be a square matrix; got a torch tensor of shape {tuple(A.shape)}")
        n = _check_square(tuple(A.shape), "a torch tensor")
        if A.layout == torch.strided:
            vals = A
        else:
            coo = A.to_sparse_coo().coalesce() if A.layout != torch.sparse_coo else A.coalesce()
            vals = coo.values()
        if not bool(torch.isfinite(vals).all()):
            raise ValueError("A must be finite; its entries hold NaN/inf")
        if check_symmetry:
            dense_like = A if A.layout == torch.strided else coo
            diff = (dense_like - dense_like.t())
            diff = diff.coalesce().values() if diff.is_sparse else diff
            worst = float(diff.abs().max().item()) if diff.numel() else 0.0
            scale = float(vals.abs().max().item()) if vals.numel() else 0.0
            if worst > 1e-10 * max(scale, 1e-300):
                raise ValueError(f"A must be symmetric for CG-type solvers; max |A - A^T| = {worst:.3g} "
                                 f"against max |A| = {scale:.3g} (pass check_symmetry=False to skip)")
        mat = A if A.layout != torch.sparse_coo else A.coalesce()
        return SystemOperator(lambda x: mat @ x, n, "torch", device=A.device, dtype=A.dtype)
    if isinstance(A, spla.LinearOperator):
        n = _check_square(A.shape, "a LinearOperator")
        return SystemOperator(A.matvec, n, "numpy", dtype=np.result_type(A.dtype, np.float64))
    if sp.issparse(A) or isinstance(A, np.ndarray):
        if A.ndim != 2:
            raise ValueError(f"A must be a square matrix; got an array of shape {A.shape}")
        n = _check_square(A.shape, type(A).__name__)
        data = A.data if sp.issparse(A) else A
        if np.asarray(data).dtype.kind not in "fiu":
            raise TypeError(f"A must be real; got dtype {A.dtype}")
        if not np.isfinite(data).all():
            raise ValueError(f"A must be finite; it holds {int((~np.isfinite(data)).sum())} NaN/inf entries")
        if check_symmetry:
            _check_symmetric_scipy(A)
        mat = A.tocsr() if sp.issparse(A) else A
        return SystemOperator(lambda x: mat @ x, n, "numpy", dtype=np.result_type(A.dtype, np.float64))
    raise TypeError(f"A must be a numpy array, scipy sparse matrix, LinearOperator or torch sparse "
                    f"tensor; got {type(A).__name__}")


def as_preconditioner_fn(M: Any, system: SystemOperator) -> Callable | None:
    """Return ``M`` as a callable ``r -> z`` in the system's backend (None for no preconditioner).

    ``M`` approximates the inverse of ``A`` (scipy's convention): a callable, a LinearOperator,
    a matrix (numpy/scipy, or torch for a torch system), or an object with ``matvec``.
    """
    if M is None:
        return None
    if system.backend == "torch" and _is_torch(M):
        return lambda r: M @ r
    if sp.issparse(M) or isinstance(M, np.ndarray):
        if M.shape != (system.n, system.n):
            raise ValueError(f"preconditioner M must have shape {(system.n, system.n)}; got {M.shape}")
        return lambda r: M @ r
    if isinstance(M, spla.LinearOperator):
        if M.shape != (system.n, system.n):
            raise ValueError(f"preconditioner M must have shape {(system.n, system.n)}; got {M.shape}")
        return M.matvec
    if callable(M):
        return M
    if hasattr(M, "matvec"):
        return M.matvec
    raise TypeError(f"preconditioner M must be a callable r -> z, a LinearOperator or a matrix; "
                    f"got {type(M).__name__}")


def stop_info(info: SolveInfo, residuals: list, times: list, t0: float, status: str) -> SolveInfo:
    """Finish ``info``: store histories, status and total time, and warn on non-convergence."""
    info.residuals = np.asarray(residuals, dtype=float)
    info.times = np.asarray(times, dtype=float)
    info.status = status
    info.converged = status == "converged"
    info.solve_time = time.perf_counter() - t0
    if not info.converged:
        warnings.warn(ConvergenceWarning(
            f"{info.method} did not converge: {status}; relative residual "
            f"{info.final_residual:.3g} after {info.iterations} iterations"), stacklevel=3)
    return info
