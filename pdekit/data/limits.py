"""Valid ranges of problem parameters, checked where the parameters enter: the problem registry.

A :class:`~pdekit.data.Problem` lists, for each parameter that has a valid range, a check
``check(name, value) -> value`` that raises ``ValueError`` naming the parameter, the value
and the range. ``pdekit generate PDE --help`` prints the ranges (``str(check)``).

Examples
--------
>>> positive("dt", 0.01)
0.01
>>> positive("dt", -0.01)
Traceback (most recent call last):
...
ValueError: parameter dt must be > 0; got -0.01
>>> str(between(0, 1)), str(at_least(1)), str(one_of("euler", "heun"))
('in [0, 1]', 'an integer >= 1', "one of ['euler', 'heun']")
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["Range", "OneOf", "positive", "non_negative", "at_least", "between", "one_of",
           "optional", "finite_list"]


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclasses.dataclass(frozen=True)
class Range:
    """A number in an interval: ``low < x`` (or ``<=``) and ``x < high`` (or ``<=``).

    ``integer=True`` also asks for an integer; ``allow_none=True`` lets ``None`` through
    (a parameter whose default is "decide for me").
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    allow_none: bool = False

    def __str__(self) -> str:
        kind = "an integer " if self.integer else ""
        if self.low is not None and self.high is not None:
            text = (f"in {'(' if self.low_open else '['}{_fmt(self.low)}, {_fmt(self.high)}"
                    f"{')' if self.high_open else ']'}")
        elif self.low is not None:
            text = f"{'>' if self.low_open else '>='} {_fmt(self.low)}"
        elif self.high is not None:
            text = f"{'<' if self.high_open else '<='} {_fmt(self.high)}"
        else:
            text = "finite"
        return f"{kind}{text}" + (" or none" if self.allow_none else "")

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (self.integer and not float(value).is_integer()):
            raise ValueError(f"parameter {name} must be {self}; got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"parameter {name} must be finite and {self}; got {value!r}")
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            raise ValueError(f"parameter {name} must be {self}; got {value!r}")
        return int(value) if self.integer else value


@dataclasses.dataclass(frozen=True)
class OneOf:
    """One of a few named choices (``allow_none``: or None)."""

    choices: tuple
    allow_none: bool = False

    def __str__(self) -> str:
        return f"one of {list(self.choices)}" + (" or none" if self.allow_none else "")

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return None
        if value not in self.choices or isinstance(value, bool) != any(isinstance(c, bool) for c in self.choices):
            raise ValueError(f"parameter {name} must be {self}; got {value!r}")
        return value


@dataclasses.dataclass(frozen=True)
class _FiniteList:
    length: int

    def __str__(self) -> str:
        return f"a list of {self.length} finite numbers"

    def __call__(self, name: str, value: Any) -> Any:
        ok = isinstance(value, (list, tuple)) and len(value) == self.length and all(
            not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) for v in value)
        if not ok:
            raise ValueError(f"parameter {name} must be {self}; got {value!r}")
        return [float(v) for v in value]


#: a finite number > 0
positive = Range(0.0, low_open=True)
#: a finite number >= 0
non_negative = Range(0.0)


def at_least(minimum: int, *, allow_none: bool = False) -> Range:
    """An integer >= ``minimum``."""
    return Range(minimum, integer=True, allow_none=allow_none)


def between(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Range:
    """A number in ``[low, high]`` (ends open on request)."""
    return Range(low, high, low_open=low_open, high_open=high_open)


def one_of(*choices: Any, allow_none: bool = False) -> OneOf:
    """One of ``choices``."""
    return OneOf(tuple(choices), allow_none=allow_none)


def optional(check: Range) -> Range:
    """``check``, or None."""
    return dataclasses.replace(check, allow_none=True)


def finite_list(length: int) -> _FiniteList:
    """A list of ``length`` finite numbers (e.g. a velocity)."""
    return _FiniteList(length)
