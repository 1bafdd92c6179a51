"""What every linear solve shares: the info record, the non-convergence policy, operator and
preconditioner adapters, input checks.

A system matrix may be a dense numpy array, a scipy sparse matrix, a scipy
``LinearOperator`` (vectors are numpy arrays) or a torch sparse tensor (vectors are torch
tensors on the tensor's device, so the whole iteration runs on a GPU where the matrix lives
on one). Real symmetric and complex Hermitian matrices are accepted; the iteration runs in
the precision of the system as scipy's does (float32 in, float32 out; integers become
float64; a complex right-hand side makes the iteration complex).

One policy decides what happens when a solve stops short of its tolerance (maxiter, a
breakdown, an inaccurate direct solve): with ``throw=True`` a :class:`ConvergenceError` is
raised (it carries the last iterate and the :class:`SolveInfo`), otherwise a
:class:`ConvergenceWarning` is issued and ``info.converged`` is False.

Inner products and norms of numpy vectors are :mod:`pdekit.solvers.linear.reductions`'
(numpy's sums, the same bits at any BLAS thread count).
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
from pdekit.solvers.linear.reductions import inner_product, vector_norm

__all__ = ["SolveInfo", "ConvergenceWarning", "ConvergenceError", "SystemOperator", "as_system",
           "as_preconditioner_fn", "check_tolerances"]


class ConvergenceError(RuntimeError):
    """A linear solve stopped before reaching the requested tolerance (``throw=True``).

    Attributes
    ----------
    x : (n,) array or tensor
        The last iterate.
    info : SolveInfo
        What the solve did (``info.status`` says why it stopped).
    """

    def __init__(self, message: str, x: Any, info: "SolveInfo") -> None:
        super().__init__(message)
        self.x, self.info = x, info


@dataclasses.dataclass
class SolveInfo:
    """What a Krylov solve did.

    Attributes
    ----------
    method : str
        ``"direct"``, ``"cg"``, ``"pcg"``, ``"fcg(m)"`` or ``"dcdm(k)"``.
    converged : bool
        True when the true relative residual ``||b - A x|| / ||b||`` reached the tolerance.
    iterations : int
        Number of iterations (matrix-vector products with search directions); 0 for a
        direct solve.
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
    preconditioner : str
        What preconditioned the iteration (``"none"``, ``"jacobi"``, ``"ic0"``, ``"sa-amg"``,
        a network, ...); for a direct solve the factorisation.
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
    preconditioner: str = "none"

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
    dtype : numpy or torch dtype
        The working precision; :meth:`promote` widens it to hold a right-hand side.
    """

    def __init__(self, matvec: Callable, n: int, backend: str, device=None, dtype=None) -> None:
        self.matvec = matvec
        self.n = n
        self.backend = backend
        self.device = device
        self.dtype = dtype

    @property
    def is_complex(self) -> bool:
        if self.backend == "torch":
            return bool(self.dtype.is_complex)
        return np.dtype(self.dtype).kind == "c"

    def promote(self, b) -> None:
        """Widen the working dtype so that it holds ``b`` (a complex ``b`` makes it complex)."""
        if self.backend == "torch":
            import torch

            if isinstance(b, torch.Tensor) and b.is_complex() and not self.dtype.is_complex:
                self.dtype = torch.promote_types(self.dtype, b.dtype)
            return
        kind = np.asarray(b).dtype if not hasattr(b, "dtype") else np.dtype(b.dtype)
        if kind.kind in "fiuc":
            self.dtype = np.result_type(self.dtype, kind, np.float32)

    def inner(self, a, b):
        """``a^H b``: a float for real systems, a complex for complex ones."""
        if self.backend == "torch":
            value = (a.conj() * b).sum().item() if a.is_complex() else (a * b).sum().item()
        else:
            value = inner_product(a, b)
        return complex(value) if self.is_complex else float(np.real(value))

    def dot(self, a, b) -> float:
        """Real part of ``a^H b`` (the quantities CG compares with zero)."""
        return float(np.real(self.inner(a, b)))

    def norm(self, a) -> float:
        if self.backend == "torch":
            import torch

            return float(torch.linalg.vector_norm(a).item())
        return vector_norm(a)

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
        if arr.dtype.kind not in "fiuc":
            raise TypeError(f"{name} must be a numeric array; got dtype {arr.dtype}")
        if arr.dtype.kind == "c" and not self.is_complex:
            raise TypeError(f"{name} is complex but the system is real; give a real {name}")
        arr = arr.astype(self.dtype, copy=True).reshape(-1)
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
        return np.zeros(self.n, dtype=self.dtype)

    def synchronize(self) -> None:
        if self.backend == "torch" and str(self.device).startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)


def _check_square(shape, what: str) -> int:
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"A must be a square matrix; got {what} of shape {tuple(shape)}")
    return int(shape[0])


def _sparse_asymmetry(A: sp.spmatrix) -> float:
    """max |A - A^H| of a sparse matrix; cheap when the pattern is symmetric (one CSR -> CSC
    conversion and an elementwise comparison instead of a sparse subtraction)."""
    R = sp.csr_matrix(A)
    if R.has_canonical_format:
        C = R.tocsc()
        C.sort_indices()
        if np.array_equal(R.indptr, C.indptr) and np.array_equal(R.indices, C.indices):
            other = C.data.conj() if np.iscomplexobj(C.data) else C.data
            return float(np.abs(R.data - other).max()) if R.nnz else 0.0
    diff = abs(R - (R.conj().T if np.iscomplexobj(R.data) else R.T))
    return float(diff.max()) if diff.nnz else 0.0


def _check_symmetric_scipy(A: sp.spmatrix | sp.sparray | np.ndarray, rtol: float | None = None) -> None:
    """Refuse a matrix that is not symmetric (Hermitian if complex) to ``rtol`` relative to max |A|
    (default: 1e-10 in double precision, 1e-5 in single)."""
    if rtol is None:
        rtol = 1e-5 if np.dtype(A.dtype).itemsize <= (8 if np.dtype(A.dtype).kind == "c" else 4) else 1e-10
    if sp.issparse(A):
        worst = _sparse_asymmetry(A)
        scale = float(abs(A.data).max()) if A.nnz else 0.0
    else:
        adjoint = A.conj().T if np.dtype(A.dtype).kind == "c" else A.T
        diff = np.abs(A - adjoint)
        worst, scale = diff.max(initial=0.0), np.abs(A).max(initial=0.0)
    if worst > rtol * max(scale, np.finfo(float).tiny):
        kind = "Hermitian" if np.dtype(A.dtype).kind == "c" else "symmetric"
        raise ValueError(
            f"A must be {kind} for CG-type solvers; max |A - A^H| = {worst:.3g} against "
            f"max |A| = {scale:.3g} (a non-symmetric matrix needs GMRES or BiCGStab; pass "
            "check_symmetry=False to skip this check)")


def _working_dtype(dtype) -> np.dtype:
    """scipy's rule: float32/complex64 stay single precision, integers and bools become float64."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iub":
        return np.dtype(np.float64)
    return np.result_type(dtype, np.float32)


def as_system(A: Any, *, check_symmetry: bool = True) -> SystemOperator:
    """Wrap ``A`` as a :class:`SystemOperator` after checking it.

    Parameters
    ----------
    A : (n, n) numpy array, scipy sparse matrix, scipy LinearOperator or torch sparse tensor
    check_symmetry : bool
        Refuse an explicit matrix that is not symmetric (Hermitian if complex);
        LinearOperators are not checked.

    Raises
    ------
    ValueError
        ``A`` is not square, holds NaN/inf, or (when checked) is not symmetric/Hermitian.
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
            diff = (dense_like - dense_like.t().conj())
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
        dtype = np.dtype(A.dtype) if A.dtype is not None else np.dtype(np.float64)
        return SystemOperator(A.matvec, n, "numpy", dtype=_working_dtype(dtype))
    if sp.issparse(A) or isinstance(A, np.ndarray):
        if A.ndim != 2:
            raise ValueError(f"A must be a square matrix; got an array of shape {A.shape}")
        n = _check_square(A.shape, type(A).__name__)
        data = A.data if sp.issparse(A) else A
        if np.asarray(data).dtype.kind not in "fiucb":
            raise TypeError(f"A must be a numeric matrix; got dtype {A.dtype}")
        if not np.isfinite(data).all():
            raise ValueError(f"A must be finite; it holds {int((~np.isfinite(data)).sum())} NaN/inf entries")
        if check_symmetry:
            _check_symmetric_scipy(A)
        mat = A.tocsr() if sp.issparse(A) else A
        return SystemOperator(lambda x: mat @ x, n, "numpy", dtype=_working_dtype(A.dtype))
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


def check_tolerances(rtol: Any, atol: Any) -> tuple[float, float]:
    """Return ``(rtol, atol)`` as floats after checking them (scipy's rules: numbers >= 0,
    infinity allowed, not both 0).

    Raises
    ------
    ValueError
        A tolerance that is not a number (``None``, a string), NaN or negative, or both zero.
    """
    out = []
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a number >= 0; got {value!r}")
        value = float(value)
        if np.isnan(value) or value < 0:
            raise ValueError(f"{name} must be a number >= 0 (inf allowed); got {value}")
        out.append(value)
    if out[0] == 0 and out[1] == 0:
        raise ValueError("rtol and atol are both 0: no residual can be reached; give a positive tolerance")
    return out[0], out[1]


def finish(info: SolveInfo, x: Any, status: str, *, throw: bool, stacklevel: int = 3) -> tuple[Any, SolveInfo]:
    """Apply the non-convergence policy to a finished solve: raise with ``throw``, else warn."""
    info.status = status
    info.converged = status == "converged"
    if not info.converged:
        message = (f"{info.method} did not converge: {status}; relative residual "
                   f"{info.final_residual:.3g} after {info.iterations} iterations")
        if throw:
            raise ConvergenceError(message, x, info)
        warnings.warn(ConvergenceWarning(message), stacklevel=stacklevel + 1)
    return x, info


def stop_info(info: SolveInfo, residuals: list, times: list, t0: float, status: str) -> SolveInfo:
    """Store the histories, status and total time in ``info`` (the policy is :func:`finish`'s)."""
    info.residuals = np.asarray(residuals, dtype=float)
    info.times = np.asarray(times, dtype=float)
    info.status = status
    info.converged = status == "converged"
    info.solve_time = time.perf_counter() - t0
    return info
