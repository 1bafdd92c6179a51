"""Tucker decomposition with tensorly's signature: HOOI from an SVD, random or given start.

``tucker(tensor, rank, ...)`` takes the arguments of ``tensorly.decomposition.tucker`` with the
same meaning (``rank=None`` is full rank, ``init``, ``n_iter_max``, ``tol`` as the iteration
tolerance, ``fixed_factors``, ``random_state``, ``mask``, ``verbose``, ``return_errors``), and its
result unpacks as ``core, factors``. What pdekit adds: the rank can be chosen by accuracy
(``max_rel_error``), ``method`` selects truncated HOSVD or sequentially truncated HOSVD without
iterations, the singular subspaces are found accurately to round-off (see
:mod:`pdekit.tensor_formats._subspace`), and the requested rank is always the returned rank.

Works on numpy arrays and torch tensors alike (a CUDA tensor is decomposed on its GPU), real or
complex (complex tensors get complex factors; nothing is cast to real).
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

from .._progress import as_progress
from .._validation import check_choice
from . import _backend as B
from . import _tucker_kernel as K
from ._checks import check_tensor, check_tol, per_mode_ranks
from ._ranks import tucker_rank
from .tucker_tensor import TuckerTensor

__all__ = ["tucker", "Tucker"]


def tucker(tensor: Any, rank: Any, *, fixed_factors: Sequence[int] | None = None, n_iter_max: int = 100,
           init: Any = "svd", return_errors: bool = False, tol: float | None = 1e-4, random_state: Any = None,
           mask: Any = None, verbose: bool | int = False, max_rel_error: float | None = None,
           method: str = "hooi", progress: Any = None) -> TuckerTensor | tuple[TuckerTensor, list[float]]:
    """Tucker decomposition ``X ≈ core ×_0 U_0 ... ×_{d-1} U_{d-1}`` with orthonormal factors.

    Parameters
    ----------
    tensor : (n_0, ..., n_{d-1}) array
        numpy array or torch tensor, real or complex (the result is of the same kind, on the
        same device).
    rank : None, int, sequence of d ints or float
        Tucker rank per mode (an int: the same for every mode; each at most the mode size).
        ``None``: full rank, the ranks of the factors given as ``init``, or the ranks that
        ``max_rel_error`` chooses. A float is a fraction of the number of entries to keep in core
        and factors (tensorly's rule). Always the rank of the result (factors are completed with
        orthonormal directions when the tensor has a lower rank). Required, as in tensorly.
    fixed_factors : sequence of int, optional
        Modes whose factors are taken from ``init`` and kept as they are (need not be
        orthonormal; the core is then the least-squares one).
    n_iter_max : int
        Most HOOI sweeps.
    init : {"svd", "random"}, TuckerTensor, (core, factors) or list of factors
        Start of HOOI: sequentially truncated HOSVD (``"svd"``), random orthonormal factors
        (``"random"``, drawn from ``random_state``), or given factors (orthonormalized).
    return_errors : bool
        Also return the list of relative errors after each sweep.
    tol : float or None
        Iteration tolerance: HOOI stops when a sweep lowers the relative error
        ``||X - T|| / ||X||`` by less than ``tol`` (None or 0: run ``n_iter_max`` sweeps). Sweeps
        whose gain is below round-off always stop it.
    random_state : None, int, numpy RandomState or Generator
        Source of the random start (``init="random"``).
    mask : array of the tensor's shape, optional
        1 (True) where the entry is known, 0 where it is missing (missing entries may hold
        anything, NaN included): every sweep fills them with the current approximation
        (expectation-maximization); errors are measured on the known entries.
    verbose : bool or int
        Print the relative error after every sweep (on standard output, as tensorly does).
    max_rel_error : float in (0, 1), optional
        With ``rank=None``: the relative error ``||X - T|| / ||X||`` to stay within; the smallest
        ranks meeting it are chosen from true singular values (the discarded energy is shared
        between the modes).
    method : {"hooi", "sthosvd", "hosvd"}
        ``"hooi"``: HOOI sweeps from ``init`` (from the ST-HOSVD, one sweep only when its error is
        within ~``30 sqrt(eps)``, where the gain of a sweep cannot be measured; the error is never
        above ST-HOSVD's). ``"sthosvd"``: sequentially truncated HOSVD (each mode from the tensor
        already projected on the previous ones), no sweeps. ``"hosvd"``: truncated HOSVD (each
        factor from the original tensor), no sweeps.
    progress : True or a progress object, optional
        Reports every HOOI sweep (``pdekit._progress``: ``True`` draws a bar, or pass any object
        with ``start``/``update``/``close``, e.g. a tqdm-like wrapper).

    Returns
    -------
    TuckerTensor
        Unpacks as ``core, factors``. ``info`` holds ``method``, ``n_iter``,
        ``singular_values`` (per mode, of the unfolding the factor came from), ``rel_error``
        (``||X - T|| / ||X||``; from the discarded singular values for the SVD paths, accurate
        even far below ``sqrt(eps)``; on the known entries with a mask) and ``errors`` (after
        each sweep). With ``return_errors=True``, the pair ``(tucker_tensor, errors)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.einsum("i,j,k->ijk", *[np.linspace(1, 2, n) for n in (4, 5, 6)])
    >>> core, factors = tucker(x, rank=1)
    >>> core.shape, bool(np.allclose(tucker(x, rank=[1, 2, 1]).full(), x))
    ((1, 1, 1), True)
    >>> tucker(x, None, max_rel_error=1e-8).rank
    (1, 1, 1)
    """
    check_choice("method", method, K.METHODS)
    if mask is not None:  # missing entries may hold anything (NaN included): zero them before the checks
        tensor = _zero_missing(tensor, mask)
    x = check_tensor(tensor)
    if rank is not None and max_rel_error is not None:
        raise ValueError(f"give either rank or max_rel_error, not both; got rank={rank!r}, "
                         f"max_rel_error={max_rel_error!r}")
    if isinstance(n_iter_max, bool) or not isinstance(n_iter_max, numbers.Integral) or n_iter_max < 0:
        raise ValueError(f"n_iter_max must be an int >= 0; got {n_iter_max!r}")
    if tol is not None and not (isinstance(tol, numbers.Real) and tol >= 0):
        raise ValueError(f"tol is HOOI's iteration tolerance, a number >= 0 (or None); got {tol!r}")
    if rank is None and max_rel_error is None and tol != 1e-4 and init == "svd" and not fixed_factors:
        import warnings

        warnings.warn("tucker with rank=None decomposes at full rank (exact; tol is only the iteration "
                      "tolerance, as in tensorly): to choose the rank by accuracy pass max_rel_error=",
                      UserWarning, stacklevel=2)
    budget = None
    if max_rel_error is not None:
        budget = check_tol(max_rel_error, name="max_rel_error") ** 2 * B.norm(x) ** 2
    given = _init_factors(init, x.ndim)
    if isinstance(init, str):
        check_choice("init", init, ("svd", "random"))
    ranks = _ranks(rank, x.shape, given, budget is not None)
    fixed = _fixed_modes(fixed_factors, x.ndim, given)
    if method != "hooi" and (not isinstance(init, str) or init != "svd" or mask is not None or fixed):
        raise ValueError(f"method={method!r} computes no iterations: init, mask and fixed_factors apply to "
                         f"method='hooi'")
    if mask is not None:
        mask = _check_mask(mask, x)
    if budget is not None and (given is not None or init == "random" or mask is not None):
        raise ValueError("max_rel_error chooses ranks from the SVD of the tensor: it cannot be combined with "
                         "a given or random init, or a mask; pass rank=")

    report = _Reporter(verbose, progress, n_iter_max if method == "hooi" else 0)
    info = None
    try:
        if mask is None and given is None and init == "svd":
            core, factors, info = K.truncate(x, ranks=ranks, budget=budget, method=method,
                                             n_iter_max=n_iter_max, tol=tol, on_sweep=report)
        else:
            core, factors, info = _iterate(x, ranks, init, given, fixed, mask, random_state,
                                           n_iter_max=n_iter_max, tol=tol, on_sweep=report)
    finally:
        report.close(info)
    out = TuckerTensor(core, factors, orthogonal=not fixed or None)
    out.info = info
    return (out, list(info["errors"])) if return_errors else out


def _init_factors(init: Any, d: int) -> list[Any] | None:
    """The factors of an init given as a Tucker tensor, a (core, factors) pair or a list; else None."""
    if isinstance(init, str):
        return None
    if hasattr(init, "core") and hasattr(init, "factors"):
        factors = list(init.factors)
    elif isinstance(init, tuple):
        if len(init) != 2 or isinstance(init[1], (str, bytes)):
            raise ValueError("an init given as a tuple must be (core, factors) with a list of factor matrices")
        factors = list(init[1])
    elif isinstance(init, (list, np.ndarray)) or B.is_torch(init):
        factors = list(init)
    else:
        raise TypeError(f"init must be 'svd', 'random', a TuckerTensor, a (core, factors) pair or a list of "
                        f"factors; got {type(init).__name__}")
    if len(factors) != d:
        raise ValueError(f"init holds {len(factors)} factors for a tensor of order {d}")
    return factors


def _ranks(rank: Any, shape: Sequence[int], given: list[Any] | None, by_accuracy: bool) -> list[int] | None:
    if by_accuracy:
        return None
    if rank is None:
        if given is not None:
            return [int(u.shape[1]) for u in given]
        return [int(n) for n in shape]
    if isinstance(rank, float) or isinstance(rank, str):
        rank = tucker_rank(shape, rank)
    ranks = per_mode_ranks(rank, shape)
    if given is not None:
        for m, (u, r) in enumerate(zip(given, ranks)):
            if tuple(u.shape) != (shape[m], r):
                raise ValueError(f"init factor {m} has shape {tuple(u.shape)}; rank {tuple(ranks)} of a "
                                 f"tensor of shape {tuple(shape)} needs {(shape[m], r)}")
    return ranks


def _fixed_modes(fixed_factors: Any, d: int, given: list[Any] | None) -> list[int]:
    if not fixed_factors:
        return []
    if given is None:
        raise ValueError(f"fixed_factors={list(fixed_factors)} keeps factors of the init: pass init as a "
                         f"TuckerTensor, a (core, factors) pair or a list of factors")
    modes = sorted({int(m) for m in fixed_factors})
    if modes[0] < 0 or modes[-1] >= d:
        raise ValueError(f"fixed_factors must be modes 0..{d - 1}; got {list(fixed_factors)}")
    return modes


def _zero_missing(tensor: Any, mask: Any) -> Any:
    """``tensor`` with its missing entries (``mask`` false) set to 0, of the tensor's kind."""
    known = np.asarray(B.to_numpy(mask)).astype(bool)
    if B.is_torch(tensor):
        if tuple(known.shape) != tuple(tensor.shape):
            return tensor  # reported by _check_mask
        return tensor.masked_fill(~B.like(known, tensor.real).bool(), 0)
    arr = np.asarray(tensor)
    if known.shape != arr.shape or arr.dtype == object:
        return tensor
    return np.where(known, arr, 0)


def _check_mask(mask: Any, x: Any) -> Any:
    m = B.to_numpy(mask)
    if m.shape != tuple(x.shape):
        raise ValueError(f"mask must have the tensor's shape {tuple(x.shape)}; got {m.shape}")
    if m.dtype != bool and not np.isin(m, (0, 1)).all():
        raise ValueError("mask must hold 1 (True) where an entry is known and 0 (False) where it is missing")
    m = m.astype(bool)
    if not m.any():
        raise ValueError("mask marks every entry as missing: nothing to decompose")
    if m.all():
        return None
    return B.like(m, x.real)


def _rng(random_state: Any):
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.RandomState,
                                                         np.random.Generator)):
        if random_state is None:
            return np.random.mtrand._rand
        if isinstance(random_state, numbers.Integral):
            return np.random.RandomState(int(random_state))
        return random_state
    raise TypeError(f"random_state must be None, an int, a numpy RandomState or Generator; got {random_state!r}")


def _iterate(x, ranks, init, given, fixed, mask, random_state, *, n_iter_max, tol, on_sweep):
    """HOOI from a random or given start, with fixed factors and missing entries."""
    d = x.ndim
    start = x
    if mask is not None:  # missing entries start at the mean of the known ones
        start = x * mask + ((x * mask).sum() / mask.sum()) * (1 - mask)
    if given is not None:
        given = [B.like(u, x) for u in given]
        factors = [given[m] if m in fixed else K.orthonormal_start(given[m]) for m in range(d)]
    elif init == "random":
        rng = _rng(random_state)
        draw = rng.random_sample if hasattr(rng, "random_sample") else rng.random
        factors = [K.orthonormal_start(B.like(draw((n, r)), x)) for n, r in zip(x.shape, ranks)]
    else:  # "svd" with a mask: from the mean-filled tensor
        _, factors, _, _ = K.sthosvd(start, ranks, None)
    transforms = {}
    for m in fixed:  # iterate with orthonormal bases of the fixed factors: U_m = Q_m R_m
        factors[m], transforms[m] = K.orthonormal_basis(factors[m])
    core, factors, n_iter, svals, errors = K.hooi(x, factors, n_iter_max=n_iter_max, tol=tol, fixed=fixed,
                                                  mask=mask, core=K.project(start, factors), on_sweep=on_sweep)
    if errors:
        rel = errors[-1]
    elif mask is not None:
        rel = B.norm((x - K.full(core, factors)) * mask) / B.norm(x * mask)
    else:
        norm2 = B.norm(x) ** 2
        rel = float(np.sqrt(max(norm2 - B.norm(core) ** 2, 0.0) / norm2)) if norm2 > 0 else 0.0
    for m, r in transforms.items():  # G ×_m Q_m = (G ×_m R_m^{-1}) ×_m U_m: the core for U_m as given
        core = B.mode_dot(core, B.like(np.linalg.inv(B.to_numpy(r)), x), m)
        factors[m] = given[m]
    info = {"method": "hooi", "n_iter": n_iter, "singular_values": svals, "rel_error": float(rel),
            "errors": errors}
    return core, factors, info


class _Reporter:
    """Sweep-by-sweep reports: printed when ``verbose`` (tensorly's meaning), and to a progress object."""

    def __init__(self, verbose: Any, progress: Any, total: int):
        self.verbose = bool(verbose)
        self.progress = None
        if progress is not None and progress is not False:
            self.progress = as_progress(progress)
            self.progress.start(int(total), "Tucker (HOOI sweeps)")
        self.prev: float | None = None

    def __call__(self, sweep: int, rel_error: float) -> None:
        if self.verbose:
            change = "" if self.prev is None else f", decrease={self.prev - rel_error:.3e}"
            print(f"Tucker HOOI sweep {sweep}: relative error={rel_error:.6e}{change}")
        self.prev = rel_error
        if self.progress is not None:
            self.progress.update(1, rel_error=f"{rel_error:.3e}")

    def close(self, info: dict | None) -> None:
        if self.verbose and info is not None:
            print(f"Tucker ({info['method']}): {info['n_iter']} sweeps, relative error {info['rel_error']:.6e}")
        if self.progress is not None:
            self.progress.close()


class Tucker:
    """The class face of :func:`tucker` (as tensorly's ``Tucker``): arguments once, then ``fit``.

    Takes every keyword of :func:`tucker`; ``fit_transform(tensor)`` returns the decomposition and
    keeps it as ``decomposition_`` (and the errors as ``errors_`` when ``return_errors``).

    Examples
    --------
    >>> import numpy as np
    >>> Tucker(rank=(1, 1)).fit_transform(np.ones((3, 4))).rank
    (1, 1)
    """

    def __init__(self, rank: Any = None, *, fixed_factors: Sequence[int] | None = None, n_iter_max: int = 100,
                 init: Any = "svd", return_errors: bool = False, tol: float | None = 1e-4, random_state: Any = None,
                 mask: Any = None, verbose: bool | int = False, max_rel_error: float | None = None,
                 method: str = "hooi", progress: Any = None):
        self.rank, self.fixed_factors, self.n_iter_max, self.init = rank, fixed_factors, n_iter_max, init
        self.return_errors, self.tol, self.random_state, self.mask = return_errors, tol, random_state, mask
        self.verbose, self.max_rel_error, self.method, self.progress = verbose, max_rel_error, method, progress

    def fit_transform(self, tensor: Any) -> TuckerTensor:
        """Decompose ``tensor``; return the TuckerTensor (as :func:`tucker` does)."""
        import sys

        decompose = sys.modules[__name__].tucker  # looked up at call time, as tensorly's class does
        result = decompose(tensor, rank=self.rank, fixed_factors=self.fixed_factors, n_iter_max=self.n_iter_max,
                           init=self.init, return_errors=self.return_errors, tol=self.tol,
                           random_state=self.random_state, mask=self.mask, verbose=self.verbose,
                           max_rel_error=self.max_rel_error, method=self.method, progress=self.progress)
        if self.return_errors:
            self.decomposition_, self.errors_ = result
        else:
            self.decomposition_ = result
        return self.decomposition_

    def fit(self, tensor: Any) -> "Tucker":
        """Decompose ``tensor`` and return this object (the result is ``decomposition_``)."""
        self.fit_transform(tensor)
        return self

    def __repr__(self) -> str:
        return f"Tucker(rank={self.rank!r}, method={self.method!r})"
