"""The Tucker algorithms on plain arrays: truncated HOSVD, ST-HOSVD and HOOI sweeps.

Shared by the format (:meth:`~pdekit.tensor_formats.TuckerTensor.truncate`) and the public
decomposition (:func:`~pdekit.tensor_formats.tucker`), so that neither imports the other
("formats below algorithms"). Arrays are numpy arrays or torch tensors, real or complex; every
projection uses conjugate transposes. Nothing here validates its input: callers do.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import _backend as B
from ._subspace import complete_basis, leading_subspace

__all__ = ["hosvd", "sthosvd", "project", "hooi", "full", "orthonormal_basis", "orthonormal_start", "truncate",
           "METHODS"]

METHODS = ("hosvd", "sthosvd", "hooi")


def project(x: Any, factors: Sequence[Any], *, skip: int | None = None, done: Sequence[int] = ()) -> Any:
    """``x ×_m U_m^H`` for every mode ``m != skip`` not in ``done``, the largest reduction first.

    ``done``: modes already contracted in ``x`` (HOOI reuses ``x ×_0 U_0^H`` within a sweep).
    """
    d = x.ndim
    others = [m for m in range(d) if m != skip and m not in done]
    if not others:
        return x
    if not done:  # contract a contiguous end mode first (no strided access on the full tensor)
        first = d - 1 if skip == 0 else 0
        others.remove(first)
        others.sort(key=lambda m: factors[m].shape[1] / factors[m].shape[0])
        others.insert(0, first)
    else:
        others.sort(key=lambda m: factors[m].shape[1] / factors[m].shape[0])
    out = x
    for m in others:
        out = B.mode_dot(out, B.herm(factors[m]), m)
    return out


def hosvd(x: Any, ranks: Sequence[int] | None, budget: float | None):
    """Truncated HOSVD: each factor from the unfolding of the original tensor.

    Returns ``(core, factors, singular_values, discarded_energy)``.
    """
    d = x.ndim
    factors, svals, tail = [], [], 0.0
    for m in range(d):
        u, s, t = leading_subspace(B.unfold(x, m), rank=None if ranks is None else ranks[m],
                                   budget=None if budget is None else budget / d)
        factors.append(u)
        svals.append(s)
        tail += t
    return project(x, factors), factors, svals, tail


def sthosvd(x: Any, ranks: Sequence[int] | None, budget: float | None, *, accurate: bool = True):
    """Sequentially truncated HOSVD; modes processed from the largest to the smallest.

    Returns ``(core, factors, singular_values, discarded_energy)``.
    """
    d = x.ndim
    order = sorted(range(d), key=lambda m: -x.shape[m])
    factors: list[Any] = [None] * d
    svals: list[Any] = [None] * d
    core, used = x, 0.0
    for k, m in enumerate(order):
        if budget is None:
            u, s, t = leading_subspace(B.unfold(core, m), rank=ranks[m], accurate=accurate)
        else:
            share = max(budget - used, 0.0) / (d - k)
            u, s, t = leading_subspace(B.unfold(core, m), budget=share)
            if u.shape[1] == 0:  # keep at least rank 1
                u, s, t = leading_subspace(B.unfold(core, m), rank=1)
        used += t
        factors[m], svals[m] = u, s
        core = B.mode_dot(core, B.herm(u), m)
    return core, factors, svals, used


def hooi(x: Any, factors: list[Any], *, n_iter_max: int, tol: float | None, fixed: Sequence[int] = (),
         mask: Any = None, core: Any = None, rel_error: float | None = None,
         on_sweep: Callable[[int, float], None] | None = None):
    """Higher-order orthogonal iteration (alternating least squares) at fixed ranks.

    Parameters
    ----------
    x : (n_0, ..., n_{d-1}) array
    factors : d arrays ``(n_m, r_m)`` with orthonormal columns (updated in place)
    n_iter_max : int
        Most sweeps.
    tol : float or None
        Stop when a sweep lowers the relative error by less than this (tensorly's meaning);
        None or 0: run ``n_iter_max`` sweeps. Gains below round-off always stop.
    fixed : modes whose factors are kept.
    mask : array of ``x``'s shape, optional
        1 where ``x`` is known, 0 where it is missing: each sweep first fills the missing entries
        with the current approximation (expectation-maximization); errors are measured on the
        known entries.
    core : array, optional
        Core of the starting point (default: ``x`` projected on ``factors``); with a mask, its
        approximation fills the missing entries before the first sweep.
    rel_error : float, optional
        Relative error of the starting point (for the first gain).
    on_sweep : callable ``(sweep, rel_error)``, optional
        Called after every sweep.

    Returns
    -------
    core, factors, n_iter, singular_values, errors
        ``errors`` holds the relative error after each sweep.
    """
    d = x.ndim
    ranks = [u.shape[1] for u in factors]
    free = [m for m in range(d) if m not in set(fixed)]
    svals: list[Any] = [None] * d
    if mask is not None:
        known = B.norm(x * mask)
        xf = x
    norm2 = B.norm(x) ** 2
    floor = 1e2 * B.eps(x) * norm2
    core = project(x, factors) if core is None else core
    prev = rel_error
    errors: list[float] = []
    n_iter = 0
    for n_iter in range(1, int(n_iter_max) + 1):
        if mask is not None:
            approx = full(core, factors)
            xf = x * mask + approx * (1 - mask)
            norm2 = B.norm(xf) ** 2
        target = xf if mask is not None else x
        head = None  # target ×_0 U_0^H once U_0 is updated: every later mode of the sweep starts from it
        for j, m in enumerate(free):
            if head is not None:
                w = project(head, factors, skip=m, done=(0,))
            else:
                w = project(target, factors, skip=m)
            u, s, _ = leading_subspace(B.unfold(w, m), rank=ranks[m])
            factors[m], svals[m] = u, s
            if m == 0 and d > 2 and j < len(free) - 1:
                head = B.mode_dot(target, B.herm(u), 0)
            if j == len(free) - 1:
                core = B.mode_dot(w, B.herm(u), m)
        if not free:
            core = project(target, factors)
        if mask is not None:
            err = B.norm((x - full(core, factors)) * mask) / max(known, 1e-300)
        else:
            err = float(np.sqrt(max(norm2 - B.norm(core) ** 2, 0.0) / norm2))
        errors.append(err)
        if on_sweep is not None:
            on_sweep(n_iter, err)
        if prev is not None:
            gain = prev - err
            # the squared error is resolved only to ~floor: smaller gains are round-off
            if gain * (prev + err) * norm2 <= floor or (tol and abs(gain) < tol):
                break
        prev = err
    return core, factors, n_iter, svals, errors


def full(core: Any, factors: Sequence[Any]) -> Any:
    """``core ×_0 U_0 ... ×_{d-1} U_{d-1}``."""
    out = core
    for m, u in enumerate(factors):
        out = B.mode_dot(out, u, m)
    return out


def orthonormal_basis(u: Any) -> tuple[Any, Any]:
    """``u = q r`` with orthonormal ``q``; raises ValueError for linearly dependent columns."""
    q, r = B.qr(u)
    diag = np.abs(B.to_numpy(r).diagonal())
    if diag.size and diag.min() <= 1e3 * B.eps(u) * max(diag.max(), 1e-300) * max(u.shape):
        raise ValueError(f"a factor of shape {tuple(u.shape)} has linearly dependent columns "
                         f"(numerical rank below {u.shape[1]})")
    return q, r


def orthonormal_start(u: Any) -> Any:
    """Orthonormal columns spanning ``u`` (completed when ``u`` is rank deficient)."""
    q, r = B.qr(u)
    diag = np.abs(B.to_numpy(r).diagonal())
    keep = diag > 1e3 * B.eps(u) * max(diag.max(initial=0.0), 1e-300) * max(u.shape)
    if keep.all():
        return q
    return complete_basis(q[:, [int(i) for i in np.flatnonzero(keep)]], u.shape[1])


def truncate(x: Any, *, ranks: Sequence[int] | None, budget: float | None, method: str,
             n_iter_max: int = 100, tol: float | None = 1e-4,
             on_sweep: Callable[[int, float], None] | None = None):
    """Tucker approximation of ``x`` at ``ranks`` or within the discarded energy ``budget``.

    ``method``: ``"hosvd"``, ``"sthosvd"`` or ``"hooi"`` (ST-HOSVD start, then HOOI sweeps until
    a sweep lowers the relative error by less than ``tol``; one sweep when the ST-HOSVD error is
    within ~``30 sqrt(eps)``, where the gain of a sweep cannot be measured; its error is never
    above ST-HOSVD's).

    Returns
    -------
    core, factors, info
        ``info``: ``method``, ``n_iter``, ``singular_values`` (per mode), ``rel_error`` (from the
        discarded singular values, accurate even far below ``sqrt(eps)``) and ``errors`` (after
        each HOOI sweep).
    """
    norm2 = B.norm(x) ** 2
    d = x.ndim
    if norm2 == 0.0:
        shape = list(ranks) if ranks is not None else [1] * d
        factors = [B.eye(n, r, x) for n, r in zip(x.shape, shape)]
        return (B.zeros_like_shape(x, shape), factors,
                {"method": method, "n_iter": 0, "singular_values": [np.zeros(r) for r in shape],
                 "rel_error": 0.0, "errors": []})
    if method == "hosvd":
        core, factors, svals, tail = hosvd(x, ranks, budget)
    else:
        core, factors, svals, tail = sthosvd(x, ranks, budget, accurate=(method == "sthosvd"))
    n_iter, errors = 0, []
    if method == "hooi" and int(n_iter_max) > 0 and any(u.shape[1] < n for u, n in zip(factors, x.shape)):
        # HOOI gains are measured on ||core||^2, which round-off blurs at ~eps ||X||^2: when
        # the ST-HOSVD error is already near that level, one sweep is all that can be judged
        sweeps = int(n_iter_max) if tail > 1e3 * B.eps(x) * norm2 else 1
        core, factors, n_iter, hooi_svals, errors = hooi(
            x, factors, n_iter_max=sweeps, tol=tol, rel_error=float(np.sqrt(max(tail, 0.0) / norm2)),
            on_sweep=on_sweep)
        svals = [s if s is not None else t for s, t in zip(hooi_svals, svals)]
        est = norm2 - B.norm(core) ** 2
        if est > 1e4 * B.eps(x) * norm2:  # resolved above round-off: HOOI's own error
            tail = est
    info = {"method": method, "n_iter": n_iter, "singular_values": svals,
            "rel_error": float(np.sqrt(max(tail, 0.0) / norm2)), "errors": errors}
    return core, factors, info
