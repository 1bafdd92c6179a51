"""Argument checks shared by the decompositions, with errors that say what was expected."""

from __future__ import annotations

import math
from typing import Any, Sequence

from . import _backend as B

__all__ = ["check_tensor", "check_tol", "per_mode_ranks", "check_rank_or_tol"]


def check_tensor(tensor: Any, *, min_ndim: int = 1, name: str = "tensor") -> Any:
    """Return ``tensor`` as a floating array of its kind after checking its shape and values."""
    if not B.is_torch(tensor):
        import numpy as np

        tensor = np.asarray(tensor)
        if tensor.dtype == object:
            raise TypeError(f"{name} must be a numeric numpy array or torch tensor; got objects")
    tensor = B.asfloat(tensor)
    if tensor.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s); got shape "
                         f"{tuple(tensor.shape)}")
    if any(n == 0 for n in tensor.shape):
        raise ValueError(f"{name} must not be empty; got shape {tuple(tensor.shape)}")
    total = B.norm(tensor)
    if not math.isfinite(total):
        raise ValueError(f"{name} must be finite everywhere; it holds NaN or inf entries")
    return tensor


def check_tol(tol: Any, *, name: str = "tol") -> float:
    """A relative tolerance, strictly between 0 and 1."""
    try:
        t = float(tol)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in (0, 1); got {tol!r}") from None
    if not (0.0 < t < 1.0):
        raise ValueError(f"{name} must be a relative error in (0, 1), e.g. 1e-6; got {tol!r}")
    return t


def per_mode_ranks(rank: Any, shape: Sequence[int], *, bounded: bool = True) -> list[int]:
    """Expand an int or a sequence into one positive rank per mode, each at most the mode size."""
    d = len(shape)
    if isinstance(rank, (int,)) and not isinstance(rank, bool):
        ranks = [int(rank)] * d
    else:
        try:
            ranks = [int(r) for r in rank]
        except TypeError:
            raise TypeError(f"rank must be an int or a sequence of {d} ints; got {rank!r}") from None
        if len(ranks) != d:
            raise ValueError(f"rank must give one value per mode: expected {d} values for a tensor "
                             f"of shape {tuple(shape)}; got {list(ranks)}")
    for m, (r, n) in enumerate(zip(ranks, shape)):
        if r < 1:
            raise ValueError(f"rank of mode {m} must be >= 1; got {r}")
        if bounded and r > n:
            raise ValueError(f"rank of mode {m} is {r}, larger than the mode size {n} of a tensor "
                             f"of shape {tuple(shape)}; expected 1 <= rank <= {n}")
    return ranks


def check_rank_or_tol(rank: Any, tol: Any) -> None:
    """Exactly one of ``rank`` and ``tol`` must be given."""
    if rank is None and tol is None:
        raise ValueError("give the rank (per mode or one int) or a relative error tolerance tol")
    if rank is not None and tol is not None:
        raise ValueError(f"give either rank or tol, not both; got rank={rank!r}, tol={tol!r}")
