"""Ranks of Tucker, TT and CP tensors from a fraction of the dense parameter count, as tensorly chooses them.

A rank given as a float ``f`` (or ``"same"``, i.e. ``1.0``) asks for a factorization with about
``f`` times the parameters of the full tensor; an int or a sequence gives the ranks directly.
The rules (and their rounding) are those of tensorly's ``validate_tucker_rank``,
``validate_tt_rank`` and ``validate_cp_rank``, so that a factorized network built with the same
arguments has the same number of parameters in pdekit, tensorly-torch and neuraloperator.
Ranks from a fraction may exceed what a decomposition can use (an over-parametrized
factorization, allowed as in tensorly); the decompositions check their own bounds.

Examples
--------
>>> tucker_rank((32, 32, 16, 9), 0.1)
[18, 18, 9, 5]
>>> tt_rank((15, 15, 5, 3), 0.2)
[1, 7, 5, 2, 1]
>>> cp_rank((4, 4, 6, 4), 0.5)
11
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

__all__ = ["tucker_rank", "tt_rank", "cp_rank"]


def _fraction(rank: Any) -> float | None:
    """The fraction of parameters asked for, or None when ``rank`` gives the ranks directly."""
    if isinstance(rank, str):
        if rank != "same":
            raise ValueError(f"a rank given as a string must be 'same' (as many parameters as the full "
                             f"tensor); got {rank!r}")
        return 1.0
    if isinstance(rank, bool):
        raise TypeError(f"rank must be a fraction (float), an int or a sequence of ints; got {rank!r}")
    if isinstance(rank, numbers.Real) and not isinstance(rank, numbers.Integral):
        f = float(rank)
        if not (math.isfinite(f) and f > 0.0):
            raise ValueError(f"rank given as a fraction of the dense parameter count must be > 0; got {rank}")
        return f
    return None


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int; got {value!r}")
    if int(value) < 1:
        raise ValueError(f"{what} must be >= 1; got {value}")
    return int(value)


def _bisect(fun, lo: float, hi: float) -> float:
    """Root of an increasing function on [lo, hi] (fun(lo) < 0 < fun(hi)), to round-off."""
    from scipy.optimize import brentq

    return float(brentq(fun, lo, hi))


def tucker_rank(shape: Sequence[int], rank: Any, *, fixed_modes: Sequence[int] | None = None) -> list[int]:
    """Tucker ranks, one per mode.

    Parameters
    ----------
    shape : sequence of int
    rank : float, "same", int or sequence of int
        A fraction: ranks ``r_m = round(c n_m)`` (at least 1) with ``c`` such that core and factors
        hold ``rank * prod(shape)`` numbers; the modes in ``fixed_modes`` keep their full size.
        An int: that rank for every mode (fixed modes keep their size). A sequence: as given.
    fixed_modes : sequence of int, optional
        Modes that are not compressed.
    """
    shape = [int(s) for s in shape]
    fixed = sorted({int(m) for m in fixed_modes}) if fixed_modes else []
    for m in fixed:
        if not 0 <= m < len(shape):
            raise ValueError(f"fixed mode {m} out of range for a tensor of order {len(shape)}")
    fraction = _fraction(rank)
    if fraction is not None:
        free = [s for m, s in enumerate(shape) if m not in fixed]
        total = float(np.prod(shape, dtype=np.float64))
        squares = float(sum(s * s for s in free)) + float(sum(shape[m] ** 2 for m in fixed))
        k = len(free)

        def excess(c: float) -> float:
            return total * c ** k + squares * c - fraction * total

        c = _bisect(excess, 0.0, max(fraction, 1.0))
        ranks = iter(max(int(np.round(s * c)), 1) for s in free)
        return [shape[m] if m in fixed else next(ranks) for m in range(len(shape))]
    if isinstance(rank, numbers.Integral):
        r = _int(rank, "Tucker rank")
        return [shape[m] if m in fixed else r for m in range(len(shape))]
    ranks = [_int(r, "every Tucker rank") for r in rank]
    if len(ranks) != len(shape):
        raise ValueError(f"Tucker ranks for a tensor of shape {tuple(shape)} must be {len(shape)} positive "
                         f"ints (one per mode); got {tuple(ranks)}")
    return ranks


def tt_rank(shape: Sequence[int], rank: Any) -> list[int]:
    """TT ranks ``[1, r_1, ..., r_{d-1}, 1]``.

    A fraction: ``r_k = round(c (n_{k-1} + n_k) / 2)`` (at least 1), ``c`` chosen for ``rank *
    prod(shape)`` parameters (tensorly's rule with ranks proportional to the neighbouring mode
    sizes). An int: that rank at every bond. A sequence: as given, ``d + 1`` values from 1 to 1.
    """
    shape = [int(s) for s in shape]
    d = len(shape)
    fraction = _fraction(rank)
    if fraction is not None:
        if d < 2:
            return [1, 1]
        avg = [(shape[i] + shape[i + 1]) / 2 for i in range(d - 1)]
        if len(avg) > 1:
            a = sum(avg[i - 1] * shape[i] * avg[i] for i in range(1, d - 1))
        else:
            a = avg[0] ** 2 * shape[0]
        b = shape[0] * avg[0] + shape[-1] * avg[-1]
        c = -float(np.prod(shape, dtype=np.float64)) * fraction
        t = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
        return [1] + [max(int(np.round(m * t)), 1) for m in avg] + [1]
    if isinstance(rank, numbers.Integral):
        r = _int(rank, "TT rank")
        return [1] + [r] * (d - 1) + [1]
    ranks = [_int(r, "every TT rank") for r in rank]
    if len(ranks) != d + 1:
        raise ValueError(f"TT ranks for a tensor of shape {tuple(shape)} must be {d + 1} positive ints "
                         f"(one per bond, with 1 at both ends); got {tuple(ranks)}")
    if ranks[0] != 1 or ranks[-1] != 1:
        raise ValueError(f"TT ranks must start and end with 1; got {tuple(ranks)}")
    return ranks


def cp_rank(shape: Sequence[int], rank: Any) -> int:
    """CP rank: a fraction gives ``round(rank * prod(shape) / sum(shape))`` terms; an int is kept."""
    fraction = _fraction(rank)
    if fraction is not None:
        shape = [int(s) for s in shape]
        return max(1, int(np.round(float(np.prod(shape, dtype=np.float64)) * fraction / sum(shape))))
    if isinstance(rank, numbers.Integral):
        return _int(rank, "CP rank")
    raise TypeError(f"CP rank must be a fraction (float) or an int (number of terms); got {rank!r}")
