"""Tiny deterministic problems registered for the data tests (cheap to solve, exact to check).

``toy-2d``: input ``a ~ scale * N(0, 1)`` on an ``(r, r)`` grid; outputs ``(cumsum_x a, a**2)``.
``toy-time``: input ``a`` on ``r`` points; output ``a * (k + 1)`` for steps ``k = 0 .. steps-1``.
``toy-2d-time``: input ``w0`` on ``(r, r)``; output ``w0 / 2**k`` for ``k = 1 .. steps``.
``toy-2d`` and ``toy-time`` sleep ``delay`` seconds per sample (to catch a run mid-way) and raise when ``fail`` is set;
``toy-2d`` also waits for the file named by ``$PDEKIT_TOY_GATE``, if set (to make runs overlap), and
sleeps ``$PDEKIT_TOY_PAUSE`` more seconds per sample (to widen a window): neither changes the data.
"""

from __future__ import annotations

import os
import time

import numpy as np

from pdekit.data.problems import Problem, Sample, register_problem


def _wait_for_gate() -> None:
    """Hold the solve until the file named by $PDEKIT_TOY_GATE exists (tests that need runs
    to overlap in time set it; it changes no data)."""
    gate = os.environ.get("PDEKIT_TOY_GATE")
    deadline = time.monotonic() + 120
    while gate and not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(float(os.environ.get("PDEKIT_TOY_PAUSE", "0")))  # extra seconds per sample


def _toy2d_solve(rng: np.random.Generator, resolution: int, *, scale: float, delay: float,
                 fail: bool) -> Sample:
    if fail:
        raise ArithmeticError("toy failure requested")
    _wait_for_gate()
    if delay:
        time.sleep(delay)
    a = scale * rng.standard_normal((resolution, resolution))
    out = np.stack([np.cumsum(a, axis=0), a**2], axis=-1)
    return Sample(inputs=a[..., None], outputs=out)


def _grid2d(resolution: int, **params) -> dict:
    x = np.linspace(0.0, 1.0, resolution)
    return {"x": x, "y": x.copy()}


def _toytime_solve(rng: np.random.Generator, resolution: int, *, steps: int, delay: float,
                   fail: bool) -> Sample:
    if fail:
        raise ArithmeticError("toy failure requested")
    if delay:
        time.sleep(delay)
    a = rng.standard_normal(resolution)
    out = np.stack([a * (k + 1) for k in range(steps)])[..., None]
    return Sample(inputs=a[:, None], outputs=out)


def _grid_time(resolution: int, *, steps: int, **params) -> dict:
    return {"x": np.linspace(0.0, 1.0, resolution), "t": np.arange(1.0, steps + 1.0)}


TOY_2D = register_problem(Problem(
    name="toy-2d", summary="random field and its running sum (test problem)",
    defaults={"scale": 1.0, "delay": 0.0, "fail": False},
    solve=_toy2d_solve, coordinates=_grid2d, input_names=("a",), output_names=("cumsum", "square"),
), replace=True)

TOY_TIME = register_problem(Problem(
    name="toy-time", summary="random 1D profile scaled in time (test problem)",
    defaults={"steps": 3, "delay": 0.0, "fail": False},
    solve=_toytime_solve, coordinates=_grid_time, input_names=("a",), output_names=("u",),
), replace=True)


def _toy2dtime_solve(rng: np.random.Generator, resolution: int, *, steps: int) -> Sample:
    w0 = rng.standard_normal((resolution, resolution))
    traj = np.stack([w0 * 0.5**k for k in range(1, steps + 1)])[..., None]
    return Sample(inputs=w0[..., None], outputs=traj)


def _grid2d_time(resolution: int, *, steps: int) -> dict:
    return {**_grid2d(resolution), "t": np.arange(1.0, steps + 1.0)}


TOY_2D_TIME = register_problem(Problem(
    name="toy-2d-time", summary="random 2D field halved at each step (test problem)",
    defaults={"steps": 3}, solve=_toy2dtime_solve, coordinates=_grid2d_time,
    input_names=("w0",), output_names=("w",),
), replace=True)
