"""What the surrogate learns from the stream: training samples made from accepted time steps.

* :class:`Autoregressive` (default): the map from the fields at step t to the same fields at
  step t + 1 (as for Navier-Stokes). A sample needs two consecutive steps of one simulation
  draw, so the last accepted step of each running simulation is kept until the next arrives.
  A relaunched simulation re-sends from step 0; those duplicates are dropped, but the re-sent
  copy of the last accepted step refills that cache, so no pair is lost across a relaunch or
  a trainer restart.
* :class:`ParameterTarget`: the map (parameters, t) -> fields, as in Melissa's heat study;
  every step is a sample, its input the parameter vector and t = step / (steps - 1).

Memory accounting is conservative: a sample counts the bytes of its input and its target even
when two samples share an array, and the cache counts its step too. ``factor`` is the most
that receiving one step of ``n`` bytes can add to the accounted bytes (``factor * n``); the
receiver reserves that much budget per byte of credit it grants.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pdekit.streaming.buffers import Item

__all__ = ["Autoregressive", "ParameterTarget", "TARGETS", "make_target"]


def _nbytes(arrays: Sequence[np.ndarray]) -> int:
    return sum(a.nbytes for a in arrays)


class Autoregressive:
    """Pairs (step t, step t + 1) of one simulation draw."""

    name = "autoregressive"
    factor = 2

    def __init__(self, *, steps: int, parameter_names: Sequence[str] = ()) -> None:
        self.steps = int(steps)
        self.parameter_names = tuple(parameter_names)
        self._last: dict[int, tuple[int, int, tuple[np.ndarray, ...]]] = {}  # sim -> (draw, step, arrays)
        self.cache_bytes = 0

    def samples_per_simulation(self) -> int:
        return self.steps - 1

    def minimum_budget(self, step_bytes: int, min_samples: int) -> int:
        """Bytes a rank needs: ``min_samples`` pairs, the cached step, and one step in flight."""
        return self.factor * step_bytes * (int(min_samples) + 1) + step_bytes

    def _remember(self, sim: int, draw: int, step: int, arrays: tuple[np.ndarray, ...]) -> None:
        old = self._last.get(sim)
        if old is not None:
            self.cache_bytes -= _nbytes(old[2])
        self._last[sim] = (draw, step, arrays)
        self.cache_bytes += _nbytes(arrays)

    def samples(self, sim: int, draw: int, step: int, arrays: tuple[np.ndarray, ...],
                params: np.ndarray | None) -> list[Item]:
        """The samples an accepted step completes (0 or 1) - the step is remembered."""
        prev = self._last.get(sim)
        out = []
        if prev is not None and prev[0] == draw and prev[1] == step - 1:
            out.append(Item((sim, draw, step), prev[2], arrays, _nbytes(prev[2]) + _nbytes(arrays), params))
        if step < self.steps - 1:
            self._remember(sim, draw, step, arrays)
        else:
            self.forget(sim)
        return out

    def duplicate(self, sim: int, draw: int, step: int, arrays: tuple[np.ndarray, ...],
                  next_needed: bool) -> None:
        """A re-sent step: refill the cache when the next step is still to come."""
        prev = self._last.get(sim)
        if next_needed and (prev is None or prev[0] != draw or prev[1] < step):
            self._remember(sim, draw, step, arrays)

    def forget(self, sim: int) -> None:
        old = self._last.pop(sim, None)
        if old is not None:
            self.cache_bytes -= _nbytes(old[2])


class ParameterTarget:
    """Samples (parameters, t) -> fields, one per step."""

    name = "parameters"
    factor = 1
    cache_bytes = 0

    def __init__(self, *, steps: int, parameter_names: Sequence[str]) -> None:
        if not parameter_names:
            raise ValueError("--target parameters learns (parameters, t) -> fields; give at least one "
                             "--parameter NAME=LOW:HIGH")
        self.steps = int(steps)
        self.parameter_names = tuple(parameter_names)

    def samples_per_simulation(self) -> int:
        return self.steps

    def minimum_budget(self, step_bytes: int, min_samples: int) -> int:
        """Bytes a rank needs: ``min_samples`` samples and one step in flight."""
        return self.factor * step_bytes * (int(min_samples) + 1)

    def inputs(self, params: np.ndarray, step: int) -> np.ndarray:
        x = np.empty(len(params) + 1)
        x[:-1] = params
        x[-1] = step / max(self.steps - 1, 1)
        return x

    def samples(self, sim: int, draw: int, step: int, arrays: tuple[np.ndarray, ...],
                params: np.ndarray | None) -> list[Item]:
        x = self.inputs(params, step)
        return [Item((sim, draw, step), x, arrays, x.nbytes + _nbytes(arrays), params)]

    def duplicate(self, *args: Any, **kw: Any) -> None:
        pass

    def forget(self, sim: int) -> None:
        pass


TARGETS = {"autoregressive": Autoregressive, "parameters": ParameterTarget}


def make_target(name: str, *, steps: int, parameter_names: Sequence[str] = ()):
    """The sample maker for ``--target`` ``name``."""
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; expected one of {sorted(TARGETS)}")
    if name == "autoregressive" and int(steps) < 2:
        raise ValueError(f"the autoregressive target pairs consecutive steps; --steps must be >= 2, got {steps}")
    return TARGETS[name](steps=steps, parameter_names=parameter_names)
