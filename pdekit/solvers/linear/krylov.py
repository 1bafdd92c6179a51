"""Conjugate gradients: plain (CG), preconditioned (PCG) and flexible (FCG).

All three take scipy's arguments, ``(A, b, x0=None, *, rtol, atol, maxiter, M, callback)``,
and return ``(x, info)`` with a :class:`~pdekit.solvers.linear.SolveInfo`. Convergence is
decided by the true residual ``||b - A x|| <= max(rtol * ||b||, atol)``.

By default (``true_residuals=True``) every iteration computes the residual explicitly as
``b - A x`` (one extra matrix-vector product per iteration), so every entry of
``info.residuals`` is a true relative residual and convergence is decided by it. CG and PCG
keep iterating with the recurrence residual (their short recurrences rely on it; it is
replaced by the true one if it claims a convergence the true one denies); FCG and DCDM
iterate with the true residual. With ``true_residuals=False`` the
residual comes from the recurrence ``r -= alpha A p`` (equal in exact arithmetic, one product
cheaper); when the recurrence claims convergence the true residual is computed, and if it is
still too large it replaces the recurrence's residual and the iteration goes on, so
convergence is still decided, and the last entry recorded, by the true residual. The extra
product nearly doubles a plain CG iteration (+85% measured on a 257^2 Poisson grid) and costs
a few percent of a DCDM iteration (+3%: its network costs about ten products); preconditioned
iterations lie in between.

PCG needs a linear symmetric positive definite preconditioner. FCG keeps the last ``m``
search directions, A-orthogonalizes each new preconditioned residual against all of them and
takes an exact line search, so it stays correct when the preconditioner is nonlinear, varies
from one iteration to the next, or is not symmetric (Notay 2000, "Flexible conjugate
gradients"); with a linear SPD preconditioner it produces the PCG iterates.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
>>> x, info = cg(A, np.ones(50), rtol=1e-10)
>>> info.converged, info.iterations
(True, 25)
"""

from __future__ import annotations

import collections
import time
from typing import Any, Callable, NamedTuple

import numpy as np
import scipy.sparse.linalg as spla

from pdekit.solvers.linear._common import (SolveInfo, SystemOperator, as_preconditioner_fn, as_system,
                                           check_tolerances, finish, stop_info)

__all__ = ["cg", "pcg", "fcg"]


class _Start(NamedTuple):
    """A checked Krylov start: the right-hand side, first iterate and residual, the tolerance,
    the histories, and ``finished`` = ``(x, info)`` when nothing is left to do."""

    b: Any
    x: Any
    r: Any
    rnorm: float
    bnorm: float
    tol: float
    maxiter: int
    residuals: list
    times: list
    finished: tuple | None


def _start(system: SystemOperator, b, x0, rtol: float, atol: float, maxiter: int | None,
           info: SolveInfo, t0: float, apply_M: Callable | None = None) -> _Start:
    rtol, atol = check_tolerances(rtol, atol)
    if maxiter is None:
        maxiter = 10 * system.n
    if isinstance(maxiter, bool) or int(maxiter) != maxiter or maxiter < 0:
        raise ValueError(f"maxiter must be a non-negative integer; got {maxiter!r}")
    system.promote(b)
    b = system.vector(b, "b")
    if isinstance(x0, str):
        if x0 != "Mb":
            raise ValueError(f"x0 must be an array or 'Mb' (start from the preconditioned right-hand "
                             f"side); got {x0!r}")
        x = b.clone() if system.backend == "torch" else b.copy()
        if apply_M is not None:
            x = _check_direction(apply_M(b), system, "preconditioner")[0]
        x0 = x
    x = system.zeros() if x0 is None else system.vector(x0, "x0")
    if x0 is not None:
        r = b - system.matvec(x)
    else:
        r = b.clone() if system.backend == "torch" else b.copy()
    bnorm = system.norm(b)
    if bnorm == 0.0:  # scipy's answer: x = 0 solves it exactly
        info.tolerance = atol
        done = (system.zeros(), stop_info(info, [0.0], [0.0], t0, "converged"))
        return _Start(b, x, r, 0.0, bnorm, atol, int(maxiter), [0.0], [0.0], done)
    tol = info.tolerance = max(rtol * bnorm, atol)
    rnorm = system.norm(r)
    residuals, times = [rnorm / bnorm], [time.perf_counter() - t0]
    done = (x, stop_info(info, residuals, times, t0, "converged")) if rnorm <= tol else None
    return _Start(b, x, r, rnorm, bnorm, tol, int(maxiter), residuals, times, done)


def _timed(fn: Callable, arg, system: SystemOperator, info: SolveInfo):
    t = time.perf_counter()
    out = fn(arg)
    system.synchronize()
    info.preconditioner_time += time.perf_counter() - t
    return out


def _check_direction(z, system: SystemOperator, what: str):
    if system.backend == "torch":
        import torch

        if not isinstance(z, torch.Tensor):
            z = torch.as_tensor(np.asarray(z), device=system.device)
        z = z.reshape(-1).to(dtype=system.dtype)
        ok = bool(torch.isfinite(z).all())
    else:
        z = np.asarray(z)
        if z.dtype.kind == "c" and not system.is_complex:
            raise TypeError(f"the {what} returned complex values for a real system")
        z = z.astype(system.dtype, copy=False).reshape(-1)
        ok = bool(np.isfinite(z).all())
    if z.shape[0] != system.n:
        raise ValueError(f"the {what} returned {z.shape[0]} entries; expected {system.n}")
    return z, ok


def _next_residual(system, b, x, r, alpha, Ap, tol, true_residuals: bool, iterate_on_true: bool):
    """Residual after ``x += alpha p``: (r to iterate with, recorded norm, done, replaced).

    ``true_residuals``: the recorded norm (which decides convergence) is ``||b - A x||``.
    ``iterate_on_true``: iterate with ``b - A x`` too (flexible CG); otherwise with the
    recurrence ``r - alpha A p`` (CG/PCG, whose short recurrences rely on it), replaced by the
    true residual when the recurrence claims a convergence the true residual denies
    (``replaced``)."""
    if true_residuals and iterate_on_true:
        r = b - system.matvec(x)
        rnorm = system.norm(r)
        return r, rnorm, rnorm <= tol, False
    r -= alpha * Ap
    recurrence = system.norm(r)
    if true_residuals:
        r_true = b - system.matvec(x)
        rnorm = system.norm(r_true)
        done = rnorm <= tol
        if recurrence <= tol and not done:
            return r_true, rnorm, False, True
        return r, rnorm, done, False
    if recurrence > tol:
        return r, recurrence, False, False
    r, rnorm, done = _converged_true(system, b, x, tol)
    return r, rnorm, done, not done


#: times the recurrence may claim a convergence the true residual denies before the solve stops
_MAX_REPLACEMENTS = 5


def _stagnation(relative: float) -> str:
    return (f"stagnated at relative residual {relative:.3g}: the residual recurrence reached the tolerance "
            f"{_MAX_REPLACEMENTS + 1} times but the true residual did not follow; round-off limits the "
            "attainable accuracy (about eps * cond(A)): loosen rtol")


def _converged_true(system, b, x, tol):
    """Return (true residual vector, its norm, whether it meets tol)."""
    r_true = b - system.matvec(x)
    rn = system.norm(r_true)
    return r_true, rn, rn <= tol


def preconditioned_cg(system: SystemOperator, b, x0, *, rtol: float, atol: float, maxiter: int | None,
                      apply_M: Callable | None, callback: Callable | None, method: str,
                      true_residuals: bool = True, setup_time: float = 0.0):
    """PCG on an already checked system (``apply_M=None``: plain CG); returns ``(x, info)``
    without applying the non-convergence policy (the caller applies :func:`finish`)."""
    t0 = time.perf_counter() - setup_time
    info = SolveInfo(method=method, setup_time=setup_time)
    b, x, r, rnorm, bnorm, tol, maxiter, residuals, times, finished = _start(
        system, b, x0, rtol, atol, maxiter, info, t0, apply_M)
    if finished is not None:
        return finished
    z = r if apply_M is None else _check_direction(_timed(apply_M, r, system, info), system, "preconditioner")[0]
    rz = system.dot(r, z)
    replacements = 0
    p = z.clone() if system.backend == "torch" else z.copy()
    status = "maxiter"
    for it in range(1, maxiter + 1):
        Ap = system.matvec(p)
        pAp = system.dot(p, Ap)
        if not np.isfinite(pAp) or pAp <= 0:
            status = (f"breakdown at iteration {it}: p.Ap = {pAp:.3g} <= 0, so A is not positive "
                      "definite (or the preconditioner is not SPD)")
            break
        alpha = rz / pAp
        x += alpha * p
        r, rnorm, done, replaced = _next_residual(system, b, x, r, alpha, Ap, tol, true_residuals, False)
        replacements += replaced
        info.iterations = it
        residuals.append(rnorm / bnorm)
        times.append(time.perf_counter() - t0)
        if callback is not None:
            callback(x)
        if done:
            status = "converged"
            break
        if replacements > _MAX_REPLACEMENTS:
            status = _stagnation(rnorm / bnorm)
            break
        if apply_M is None:
            z = r
        else:
            z, ok = _check_direction(_timed(apply_M, r, system, info), system, "preconditioner")
            if not ok:
                status = f"breakdown at iteration {it}: the preconditioner returned NaN/inf"
                break
        rz_new = system.dot(r, z)
        if not rz_new > 0:
            status = (f"breakdown at iteration {it}: r.Mr = {rz_new:.3g} <= 0, so the preconditioner "
                      "is not positive definite; use fcg for a non-SPD or nonlinear preconditioner")
            break
        p = z + (rz_new / rz) * p if not replaced else z  # restart from a replaced residual
        rz = rz_new
    return x, stop_info(info, residuals, times, t0, status)


def flexible_cg(system: SystemOperator, b, x0, *, rtol: float, atol: float, maxiter: int | None,
                direction: Callable, m: int, callback: Callable | None, method: str,
                normalize: bool = False, setup_time: float = 0.0, stall_ratio: float | None = None,
                true_residuals: bool = True):
    """Flexible CG on an already checked system: directions ``direction(r)`` A-orthogonalized
    against the last ``m`` ones, then an exact line search (``normalize``: feed ``r / ||r||``).

    ``stall_ratio``: when an iteration reduced the residual norm by less than this factor, the
    next direction is the residual itself (a steepest-descent step, counted in
    ``info.fallback_iterations``), so a map that is blind to part of the residual cannot stall
    the iteration. Returns ``(x, info)`` without applying the non-convergence policy (the
    caller applies :func:`~pdekit.solvers.linear._common.finish`)."""
    if int(m) != m or m < 1:
        raise ValueError(f"the number of kept directions must be an integer >= 1; got {m}")
    t0 = time.perf_counter() - setup_time
    info = SolveInfo(method=method, setup_time=setup_time)
    b, x, r, rnorm, bnorm, tol, maxiter, residuals, times, finished = _start(
        system, b, x0, rtol, atol, maxiter, info, t0, None if normalize else direction)
    if finished is not None:
        return finished
    kept: collections.deque = collections.deque(maxlen=int(m))
    status = "maxiter"
    stalled = False
    replacements = 0
    for it in range(1, maxiter + 1):
        if stalled:
            z, ok = r, True
            info.fallback_iterations += 1
        else:
            z, ok = _check_direction(_timed(direction, r / rnorm if normalize else r, system, info),
                                     system, "preconditioner" if not normalize else "network")
        if not ok:
            status = f"breakdown at iteration {it}: the {'network' if normalize else 'preconditioner'} returned NaN/inf"
            break
        p = z
        for pj, Apj, pApj in kept:  # modified Gram-Schmidt in the A inner product
            p = p - (system.inner(Apj, p) / pApj) * pj
        Ap = system.matvec(p)
        pAp = system.dot(p, Ap)
        if not np.isfinite(pAp) or pAp <= 0:
            what = "the direction is zero or" if pAp == 0 else "A is not positive definite:"
            status = f"breakdown at iteration {it}: p.Ap = {pAp:.3g}; {what} no progress is possible"
            break
        alpha = system.inner(p, r) / pAp
        x += alpha * p
        kept.append((p, Ap, pAp))
        previous = rnorm
        r, rnorm, done, replaced = _next_residual(system, b, x, r, alpha, Ap, tol, true_residuals, True)
        if replaced:
            kept.clear()  # the recurrence residual was replaced: restart the direction memory
            replacements += 1
        stalled = stall_ratio is not None and rnorm > stall_ratio * previous
        info.iterations = it
        residuals.append(rnorm / bnorm)
        times.append(time.perf_counter() - t0)
        if callback is not None:
            callback(x)
        if done:
            status = "converged"
            break
        if replacements > _MAX_REPLACEMENTS:
            status = _stagnation(rnorm / bnorm)
            break
    return x, stop_info(info, residuals, times, t0, status)


def _scipy_preconditioner(A: Any, M: Any) -> Any:
    """scipy's convention: without ``M``, a LinearOperator ``A`` may carry one as ``A.psolve``."""
    if M is None and isinstance(A, spla.LinearOperator) and callable(getattr(A, "psolve", None)):
        return A.psolve
    return M


def cg(A: Any, b, x0=None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: int | None = None,
       M: Any = None, callback: Callable | None = None, check_symmetry: bool = True,
       true_residuals: bool = True, throw: bool = False):
    """Solve ``A x = b`` by (preconditioned) conjugate gradients, scipy style.

    Parameters
    ----------
    A : (n, n) symmetric (Hermitian) positive definite matrix
        numpy array, scipy sparse matrix, scipy LinearOperator or torch sparse tensor (then the
        vectors are torch tensors on its device). Real or complex; single or double precision
        (the iteration runs in the precision of ``A`` and ``b``, as scipy's does).
    b : (n,) array or tensor
    x0 : (n,) array or tensor, or ``"Mb"``, optional
        Initial guess (zero by default; ``"Mb"`` starts from the preconditioned right-hand side).
    rtol, atol : float
        Stop when ``||b - A x|| <= max(rtol * ||b||, atol)`` (true residual). Either may be
        ``inf`` (then the initial guess is accepted), not both 0.
    maxiter : int, optional
        Iteration limit (``10 n`` by default).
    M : optional
        Linear SPD approximation of ``A^-1``: callable ``r -> z``, LinearOperator or matrix.
        Without it, a LinearOperator ``A`` with a ``psolve`` method is preconditioned by it
        (scipy's convention).
    callback : callable, optional
        Called as ``callback(xk)`` after every iteration.
    check_symmetry : bool
        Refuse an explicit ``A`` that is not symmetric (Hermitian).
    true_residuals : bool
        Compute ``b - A x`` explicitly every iteration (one extra product) so that every entry
        of ``info.residuals`` is a true relative residual; False uses the residual recurrence
        and checks the true residual only when the recurrence claims convergence.
    throw : bool
        What happens when the tolerance is not reached (maxiter, breakdown): raise
        :class:`~pdekit.solvers.linear.ConvergenceError` (True), or warn with a
        :class:`~pdekit.solvers.linear.ConvergenceWarning` and return (False, scipy's behaviour).

    Returns
    -------
    x : (n,) array or tensor, in the working precision
    info : SolveInfo
        ``info.converged`` is False when the tolerance was not reached or the iteration broke
        down (``info.status`` says which). scipy's integer is ``0`` when converged, else
        ``info.iterations``.

    Raises
    ------
    ValueError
        A non-square, non-symmetric or non-finite ``A``; ``b`` or ``x0`` of the wrong length or
        non-finite; a negative, NaN or non-numeric tolerance; a negative ``maxiter``.
    TypeError
        ``A`` of no supported kind, a complex ``b`` for a real system, positional tolerances.
    ConvergenceError
        With ``throw=True``, when the tolerance was not reached.
    """
    system = as_system(A, check_symmetry=check_symmetry)
    M = _scipy_preconditioner(A, M)
    x, info = preconditioned_cg(system, b, x0, rtol=rtol, atol=atol, maxiter=maxiter,
                                apply_M=as_preconditioner_fn(M, system), callback=callback,
                                method="cg" if M is None else "pcg", true_residuals=true_residuals)
    info.preconditioner = _describe(M)
    return finish(info, x, info.status, throw=throw)


def pcg(A: Any, b, x0=None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: int | None = None,
        M: Any = None, callback: Callable | None = None, check_symmetry: bool = True,
        true_residuals: bool = True, throw: bool = False):
    """Preconditioned conjugate gradients; see :func:`cg` (identical, named for clarity).

    ``M`` must be linear and SPD (Jacobi, IC(0), an AMG V-cycle); use :func:`fcg` otherwise.
    """
    return cg(A, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, M=M, callback=callback,
              check_symmetry=check_symmetry, true_residuals=true_residuals, throw=throw)


def fcg(A: Any, b, x0=None, *, rtol: float = 1e-5, atol: float = 0.0, maxiter: int | None = None,
        M: Any = None, callback: Callable | None = None, m: int = 2, check_symmetry: bool = True,
        true_residuals: bool = True, throw: bool = False):
    """Flexible conjugate gradients FCG(m), for nonlinear or non-symmetric preconditioners.

    Each iteration preconditions the residual, A-orthogonalizes the result against the last
    ``m`` search directions (modified Gram-Schmidt) and takes the exact line search
    ``alpha = p.r / p.Ap``. Parameters and returns are those of :func:`cg`, plus:

    Parameters
    ----------
    m : int
        Number of previous directions kept (>= 1).
    """
    system = as_system(A, check_symmetry=check_symmetry)
    M = _scipy_preconditioner(A, M)
    apply_M = as_preconditioner_fn(M, system)
    x, info = flexible_cg(system, b, x0, rtol=rtol, atol=atol, maxiter=maxiter,
                          direction=(lambda r: r) if apply_M is None else apply_M, m=m,
                          callback=callback, method=f"fcg({m})", true_residuals=true_residuals)
    info.preconditioner = _describe(M)
    return finish(info, x, info.status, throw=throw)


def _describe(M: Any) -> str:
    """A short name for what preconditioned a solve (recorded in ``info.preconditioner``)."""
    if M is None:
        return "none"
    name = getattr(M, "name", None)
    if isinstance(name, str):
        return name
    return str(getattr(M, "__name__", type(M).__name__))
