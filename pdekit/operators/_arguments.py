"""Checks of the constructor arguments of the neural operators, where they enter.

Each returns the argument in canonical form or raises a ValueError / TypeError that names the
argument, what it got and what it expects (``FNO(n_modes="16")`` must not build modes (1, 6)).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

__all__ = ["positive_int", "n_modes", "number", "fraction", "scaling_factors", "padding_fractions",
           "choice"]


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1 (ints only: 3.0 or "3" are refused)."""
    if not _is_int(value):
        raise TypeError(f"{name} must be a positive int; got {value!r} of type {type(value).__name__}")
    if int(value) < 1:
        raise ValueError(f"{name} must be a positive int; got {value}")
    return int(value)


def n_modes(value: Any, *, name: str = "n_modes") -> tuple[int, ...]:
    """Fourier modes per spatial dimension: a positive int (1-D) or a sequence of positive ints."""
    if _is_int(value):
        return (positive_int(name, value),)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) and not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of positive ints, one per spatial dimension (e.g. (16, 16)); "
                        f"got {value!r} of type {type(value).__name__}")
    modes = tuple(value)
    if not modes:
        raise ValueError(f"{name} must hold one positive int per spatial dimension; got an empty sequence")
    for j, m in enumerate(modes):
        if not _is_int(m):
            raise TypeError(f"{name}[{j}] must be a positive int; got {m!r} of type {type(m).__name__} in {value!r}")
        if int(m) < 1:
            raise ValueError(f"{name}[{j}] must be a positive int; got {m} in {tuple(value)}")
    return tuple(int(m) for m in modes)


def number(name: str, value: Any, *, minimum: float | None = None, strict: bool = False,
           maximum: float | None = None, maximum_strict: bool = False) -> float:
    """A finite real number within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise TypeError(f"{name} must be a finite number; got {value!r}")
    v = float(value)
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum:g}; got {value!r}")
    if maximum is not None and (v >= maximum if maximum_strict else v > maximum):
        raise ValueError(f"{name} must be {'<' if maximum_strict else '<='} {maximum:g}; got {value!r}")
    return v


def fraction(name: str, value: Any) -> float:
    """A fraction in [0, 1)."""
    return number(name, value, minimum=0.0, maximum=1.0, maximum_strict=True)


def padding_fractions(value: Any, n_dim: int) -> tuple[float, ...] | None:
    """``domain_padding``: None, a fraction in [0, 1), or one fraction per dimension.

    Returns None when there is no padding at all.
    """
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) != n_dim:
            raise ValueError(f"domain_padding has {len(value)} entries for {n_dim} spatial dimensions; give "
                             f"one fraction or one per dimension")
        fr = tuple(fraction(f"domain_padding[{j}]", v) for j, v in enumerate(value))
    else:
        try:
            fr = (fraction("domain_padding", value),) * n_dim
        except (TypeError, ValueError) as err:
            raise type(err)(f"{err} (domain_padding is a fraction of the domain, e.g. 0.125)") from None
    return fr if any(f > 0 for f in fr) else None


def scaling_factors(value: Any, n_dim: int, n_layers: int | None) -> Any:
    """``resolution_scaling_factor`` in neuraloperator's forms, as per-layer, per-dimension factors.

    ``None``; a number (every layer, every dimension); a list of numbers (one per layer, or, with
    ``n_layers=None``, one per dimension); or a list of per-dimension lists (one per layer).
    Returns None, a list of ``n_dim`` floats (``n_layers`` None) or ``n_layers`` such lists.
    """
    if value is None:
        return None

    def factor(v, where):
        return number(f"resolution_scaling_factor{where}", v, minimum=0.0, strict=True)

    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        f = factor(value, "")
        return [f] * n_dim if n_layers is None else [[f] * n_dim for _ in range(n_layers)]
    if not isinstance(value, (list, tuple)) or not value:
        raise TypeError(f"resolution_scaling_factor must be a number, a list of numbers or a list of lists; "
                        f"got {value!r}")
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
        if n_layers is None:
            if len(value) != n_dim:
                raise ValueError(f"resolution_scaling_factor needs {n_dim} factors (one per dimension); got {value!r}")
            return [factor(v, f"[{j}]") for j, v in enumerate(value)]
        if len(value) != n_layers:
            raise ValueError(f"resolution_scaling_factor as a list gives one factor per layer: {n_layers} "
                             f"expected, got {len(value)} in {value!r}")
        return [[factor(v, f"[{j}]")] * n_dim for j, v in enumerate(value)]
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, (list, tuple)) or len(row) != n_dim:
            raise ValueError(f"resolution_scaling_factor[{i}] must list {n_dim} factors (one per dimension); "
                             f"got {row!r}")
        rows.append([factor(v, f"[{i}][{j}]") for j, v in enumerate(row)])
    if n_layers is None:
        raise ValueError("a list of per-layer factors is not accepted here: give one factor per dimension")
    if len(rows) != n_layers:
        raise ValueError(f"resolution_scaling_factor lists {len(rows)} layers; the model has {n_layers}")
    return rows


def choice(name: str, value: Any, choices: Sequence[Any], *, case_insensitive: bool = False) -> Any:
    """``value`` if it is one of ``choices`` (strings compared without case if asked)."""
    if case_insensitive and isinstance(value, str):
        for c in choices:
            if isinstance(c, str) and c.lower() == value.lower():
                return c
    elif value in choices:
        return value
    raise ValueError(f"unknown {name} {value!r}; expected one of {[c for c in choices]}")
