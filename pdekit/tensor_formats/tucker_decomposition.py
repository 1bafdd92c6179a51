"""Tucker decomposition: truncated HOSVD, sequentially truncated HOSVD and HOOI.

Works on numpy arrays and torch tensors alike (a CUDA tensor is decomposed on its GPU).
The cost is dominated by one pass over the full tensor per mode; see
:mod:`pdekit.tensor_formats._subspace` for how the singular subspaces are found cheaply
without losing digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_choice
from . import _backend as B
from ._checks import check_rank_or_tol, check_tensor, check_tol, per_mode_ranks
from ._subspace import leading_subspace
from .tucker_tensor import TuckerTensor

__all__ = ["tucker"]

_METHODS = ("hosvd", "sthosvd", "hooi")


def tucker(tensor: Any, *, rank: Any = None, tol: float | None = None, method: str = "hooi",
           n_iter_max: int = 50, iter_tol: float = 1e-5) -> TuckerTensor:
    """Tucker decomposition with orthonormal factors, of a given rank or to a relative error.

    Parameters
    ----------
    tensor : (n_0, ..., n_{d-1}) array
        numpy array or torch tensor (the result is of the same kind, on the same device).
    rank : int or sequence of d ints, optional
        Tucker rank per mode (an int means the same for every mode), at most the mode sizes.
    tol : float in (0, 1), optional
        Instead of ``rank``: the relative error ``||X - T|| / ||X||`` to stay within; the
        smallest ranks meeting it are chosen from true singular values (the discarded
        energy is shared between the modes).
    method : {"hooi", "sthosvd", "hosvd"}
        ``"hosvd"``: truncated HOSVD (each factor from the original tensor);
        ``"sthosvd"``: sequentially truncated HOSVD (each mode from the tensor already
        projected on the previous ones: cheaper, usually more accurate);
        ``"hooi"``: ST-HOSVD followed by higher-order orthogonal iteration (ALS) at those
        ranks until the error stops decreasing (one sweep when the ST-HOSVD error is within
        ~``30 sqrt(eps)``, where the gain of a sweep cannot be measured); its error is never
        above ST-HOSVD's.
    n_iter_max : int
        Most HOOI sweeps.
    iter_tol : float
        HOOI stops when a sweep lowers the squared error by less than this fraction.

    Returns
    -------
    TuckerTensor
        With orthonormal factors and ``info`` holding ``method``, ``n_iter``,
        ``singular_values`` (per mode, of the unfolding the factor came from) and
        ``rel_error`` (the error estimate ``sqrt(||X||^2 - ||core||^2) / ||X||`` from the
        discarded singular values, accurate even far below ``sqrt(eps)``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.einsum("i,j,k->ijk", *[np.linspace(1, 2, n) for n in (4, 5, 6)])
    >>> t = tucker(x, rank=1)
    >>> t.rank, bool(np.allclose(t.full(), x))
    ((1, 1, 1), True)
    """
    check_rank_or_tol(rank, tol)
    check_choice("method", method, _METHODS)
    x = check_tensor(tensor)
    ranks = per_mode_ranks(rank, x.shape) if rank is not None else None
    tol = check_tol(tol) if tol is not None else None
    if int(n_iter_max) < 0:
        raise ValueError(f"n_iter_max must be >= 0; got {n_iter_max}")
    norm2 = B.norm(x) ** 2
    if norm2 == 0.0:
        core = B.zeros_like_shape(x, [1] * x.ndim)
        factors = [B.like(np.eye(n, 1), x) for n in x.shape]
        out = TuckerTensor(core, factors, orthogonal=True)
        out.info = {"method": method, "n_iter": 0, "singular_values": [np.zeros(1)] * x.ndim,
                    "rel_error": 0.0}
        return out
    budget = None if tol is None else tol * tol * norm2
    if method == "hosvd":
        core, factors, svals, tail = _hosvd(x, ranks, budget)
    else:
        core, factors, svals, tail = _sthosvd(x, ranks, budget, accurate=(method == "sthosvd"))
    n_iter = 0
    if method == "hooi" and int(n_iter_max) > 0:
        # HOOI gains are measured on ||core||^2, which round-off blurs at ~eps ||X||^2: when
        # the ST-HOSVD error is already near that level, one sweep is all that can be judged
        sweeps = int(n_iter_max) if tail > 1e3 * B.eps(x) * norm2 else 1
        core, factors, n_iter, svals = _hooi(x, factors, norm2, tail, sweeps, iter_tol)
        est = norm2 - B.norm(core) ** 2
        if est > 1e4 * B.eps(x) * norm2:  # resolved above round-off: HOOI's own error
            tail = est
    out = TuckerTensor(core, factors, orthogonal=True)
    out.info = {"method": method, "n_iter": n_iter, "singular_values": svals,
                "rel_error": float(np.sqrt(max(tail, 0.0) / norm2))}
    return out


def _hosvd(x: Any, ranks: list[int] | None, budget: float | None):
    """Truncated HOSVD: each factor from the unfolding of the original tensor."""
    d = x.ndim
    factors, svals, tail = [], [], 0.0
    for m in range(d):
        u, s, t = leading_subspace(B.unfold(x, m), rank=None if ranks is None else ranks[m],
                                   budget=None if budget is None else budget / d)
        factors.append(u)
        svals.append(s)
        tail += t
    core = x
    for m, u in enumerate(factors):
        core = B.mode_dot(core, u.T, m)
    return core, factors, svals, tail


def _sthosvd(x: Any, ranks: list[int] | None, budget: float | None, *, accurate: bool):
    """Sequentially truncated HOSVD; modes processed from the largest to the smallest."""
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
        core = B.mode_dot(core, u.T, m)
    return core, factors, svals, used


def _project_all_but(x: Any, factors: list[Any], skip: int) -> Any:
    """``x ×_m U_m^T`` for every mode ``m != skip``, the largest reduction first."""
    d = x.ndim
    others = [m for m in range(d) if m != skip]
    if not others:
        return x
    # contract a contiguous end mode first (no strided access on the full tensor)
    first = d - 1 if skip == 0 else 0
    others.remove(first)
    others.sort(key=lambda m: factors[m].shape[1] / factors[m].shape[0])
    out = x
    for m in [first] + others:
        out = B.mode_dot(out, factors[m].T, m)
    return out


def _hooi(x: Any, factors: list[Any], norm2: float, tail: float, n_iter_max: int, iter_tol: float):
    """Higher-order orthogonal iteration from the given factors (ranks fixed)."""
    d = x.ndim
    ranks = [u.shape[1] for u in factors]
    floor = 1e2 * B.eps(x) * norm2
    core = None
    g2_prev = norm2 - tail
    svals: list[Any] = [None] * d
    n_iter = 0
    for n_iter in range(1, n_iter_max + 1):
        for m in range(d):
            w = _project_all_but(x, factors, m)
            u, s, _ = leading_subspace(B.unfold(w, m), rank=ranks[m])
            factors[m], svals[m] = u, s
            if m == d - 1:
                core = B.mode_dot(w, u.T, m)
        g2 = B.norm(core) ** 2
        gain = g2 - g2_prev
        g2_prev = max(g2, g2_prev)
        if gain <= max(iter_tol * max(norm2 - g2, 0.0), floor):
            break
    return core, factors, n_iter, svals
