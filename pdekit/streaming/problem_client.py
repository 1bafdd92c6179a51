"""pdekit's own time-dependent problems as streaming clients (``pdekit stream --pde NAME``).

``python -m pdekit.streaming.problem_client`` is the command the coordinator launches for
``--pde``: it reads the problem from ``PDEKIT_STREAM_PROBLEM`` (JSON: pde, resolution, steps),
the drawn parameters from the client environment (:mod:`pdekit.streaming.client`), solves one
instance of the registered problem (:mod:`pdekit.data.problems`) and sends each stored frame
as it is computed, through the solver's ``on_step`` callback. The frames are exactly the
sample that ``pdekit generate`` would store for the same seed (``outputs[j]``), so an online
and an offline run see the same data.

Parameters drawn by ``--parameter NAME=LOW:HIGH`` override the problem's parameters of that
name; the draw also carries an integer ``seed`` for the problem's random inputs (the initial
state). Fields are named after the problem's outputs (``u`` for heat, ``w`` for Navier-Stokes).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["STREAMABLE", "check_problem", "problem_settings", "simulate", "main"]

#: problems with stored time steps (their solve accepts ``on_record``)
STREAMABLE = ("heat", "advection-diffusion", "wave", "navier-stokes")


def _problem(pde: str):
    from pdekit.data.problems import get_problem

    problem = get_problem(pde)
    if "on_record" not in inspect.signature(problem.solve).parameters:
        raise ValueError(f"--pde {pde} has no time steps to stream; expected one of {list(STREAMABLE)} "
                         f"(or --command for another solver)")
    return problem


def problem_settings(pde: str, steps: int, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The problem's parameters with ``steps`` stored frames and ``parameters`` applied."""
    problem = _problem(pde)
    params = problem.resolve_params(dict(parameters))
    if "n_records" in params:
        params["n_records"] = int(steps)
    elif "record_every" in params:  # navier-stokes: frames every record_every steps of dt
        params["t_final"] = int(steps) * int(params["record_every"]) * float(params["dt"])
    return params


def check_problem(pde: str, resolution: int, steps: int, bounds: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``pde`` streams and every ``--parameter`` is a numeric parameter of it."""
    problem = _problem(pde)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 4:
        raise ValueError(f"--resolution must be an integer >= 4; got {resolution!r}")
    for name in bounds:
        if name not in problem.defaults:
            raise ValueError(f"--parameter {name}: problem {pde!r} has no parameter {name!r}; "
                             f"expected some of {sorted(problem.defaults)}")
        default = problem.defaults[name]
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            raise ValueError(f"--parameter {name}: the {pde} parameter {name!r} is not a number "
                             f"(default {default!r}); only numeric parameters can be drawn")


def simulate(pde: str, resolution: int, steps: int, parameters: Mapping[str, Any],
             on_frame: Callable[[int, dict[str, np.ndarray]], None]) -> None:
    """Solve one instance and call ``on_frame(step, fields)`` for each of its ``steps`` frames.

    ``parameters`` holds the drawn values and ``seed`` (the random inputs). ``fields`` maps
    each output name to its array (spatial shape; several channels of one name become a
    leading channel axis).
    """
    problem = _problem(pde)
    params = dict(parameters)
    seed = int(params.pop("seed"))
    names = problem.output_names

    def on_record(j: int, t: float, frame: np.ndarray) -> None:
        if len(names) == frame.shape[-1]:
            fields = {n: frame[..., i] for i, n in enumerate(names)}
        else:
            fields = {names[0]: np.moveaxis(frame, -1, 0)}
        on_frame(j, fields)

    problem.solve(np.random.default_rng(seed), int(resolution), **problem_settings(pde, steps, params),
                  on_record=on_record)


def main() -> int:
    """Entry point of ``python -m pdekit.streaming.problem_client`` (a launched simulation)."""
    from pdekit.streaming.client import StreamClient

    spec = json.loads(os.environ["PDEKIT_STREAM_PROBLEM"])
    with StreamClient() as client:
        simulate(spec["pde"], spec["resolution"], spec["steps"], client.parameters,
                 lambda step, fields: client.send(step, **fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
