"""The coordinator's seeded parameter sampler: uniform draws per ``--parameter NAME=LOW:HIGH``.

Draw ``d`` of simulation ``s`` depends only on ``(seed, role, s, d)`` (a ``SeedSequence`` with
that spawn key), not on the order of launches, the number of clients or restarts, so a
resumed run and a direct re-computation see the same parameters. Validation simulations
draw from their own stream (``role = 1``), so the held-out ensemble does not depend on the
number of training simulations.
"""

from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import numpy as np

__all__ = ["ParameterSpace", "parse_parameter"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ROLES = {"train": 0, "validation": 1}


def parse_parameter(text: str) -> tuple[str, float, float]:
    """``"alpha=0.5:2.0"`` -> ``("alpha", 0.5, 2.0)``.

    Raises
    ------
    ValueError
        The text is not ``NAME=LOW:HIGH`` with a Python-style name and finite numbers,
        ``LOW <= HIGH``.
    """
    name, sep, rng = str(text).partition("=")
    low, sep2, high = rng.partition(":")
    name = name.strip()
    if not sep or not sep2 or not _NAME.match(name):
        raise ValueError(f"--parameter {text!r} does not parse; expected NAME=LOW:HIGH, "
                         f"e.g. alpha=0.5:2.0")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        raise ValueError(f"--parameter {text!r}: LOW and HIGH must be numbers; got {low!r} and {high!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"--parameter {text!r}: expected finite LOW <= HIGH; got {lo} and {hi}")
    return name, lo, hi


class ParameterSpace:
    """Independent uniform distributions, one per named parameter.

    Parameters
    ----------
    bounds : mapping name -> (low, high) or sequence of ``"NAME=LOW:HIGH"`` strings
    seed : int
    draw_seed : bool
        Also draw an integer ``"seed"`` for the random inputs of pdekit's own problems
        (initial conditions); it is not a learnable parameter.
    """

    def __init__(self, bounds: Mapping[str, Sequence[float]] | Sequence[str] = (), *, seed: int = 0,
                 draw_seed: bool = False) -> None:
        if isinstance(bounds, Mapping):
            items = [(str(k), float(v[0]), float(v[1])) for k, v in bounds.items()]
        else:
            items = [parse_parameter(t) for t in bounds]
        names = [n for n, _, _ in items]
        if len(set(names)) != len(names):
            raise ValueError(f"each --parameter may be given once; got {names}")
        if draw_seed and "seed" in names:
            raise ValueError("'seed' is reserved for the random inputs of pdekit's problems; rename the parameter")
        self.bounds = {n: (lo, hi) for n, lo, hi in items}
        self.seed, self.draw_seed = int(seed), bool(draw_seed)

    @property
    def names(self) -> tuple[str, ...]:
        """Learnable parameter names, in order."""
        return tuple(self.bounds)

    def draw(self, simulation: int, draw: int = 0, *, role: str = "train") -> dict[str, float | int]:
        """The parameters of draw ``draw`` of simulation ``simulation``."""
        key = (_ROLES[role], int(simulation), int(draw))
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))
        out: dict[str, float | int] = {n: float(rng.uniform(lo, hi)) if hi > lo else lo
                                       for n, (lo, hi) in self.bounds.items()}
        if self.draw_seed:
            out["seed"] = int(rng.integers(2**31 - 1))
        return out

    def as_json(self) -> dict[str, list[float]]:
        return {n: [lo, hi] for n, (lo, hi) in self.bounds.items()}
