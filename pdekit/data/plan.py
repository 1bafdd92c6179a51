"""A generation request, checked: the problem, the file, its header, and whether a file matches.

:func:`plan_generation` checks everything a call of :func:`pdekit.data.generate` is given
(problem, parameters and their ranges, ``n``, resolution, seed, the output path) before
anything is written, and describes the dataset it makes (:class:`GenerationPlan`: the
header stored in the file and the run key the part files are bound to). :func:`adopt_target`
checks an existing file against a plan (a file of other settings is refused, listing the
differences) or creates it empty.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from pdekit._atomic import atomic_path, check_writable_dir
from pdekit.data.journal import describe_run
from pdekit.data.layout import FORMAT, DatasetHeader, write_dataset
from pdekit.data.problems import Problem, get_problem
from pdekit.data.reading import DatasetInfo, read_info

__all__ = ["GenerationPlan", "plan_generation", "adopt_target", "check_resume", "check_int", "environment",
           "MAX_SAMPLES"]

#: the most samples one dataset file holds (split larger sets into files of other seeds)
MAX_SAMPLES = 10_000_000

_ENVIRONMENT_PACKAGES = ("numpy", "scipy", "torch", "h5py")


@dataclasses.dataclass(frozen=True)
class GenerationPlan:
    """A checked request: the problem, the file, its header and the run key of its parts."""

    problem: Problem
    path: Path
    header: DatasetHeader
    run_key: str

    @property
    def n(self) -> int:
        return self.header.n


def environment() -> dict[str, str]:
    """Versions of what produces the samples: pdekit, Python, numpy, scipy, torch, h5py.

    Read from the installed packages' metadata (importing nothing), so it is cheap and the
    same on every run on the same installation.
    """
    from importlib import metadata

    from pdekit import __version__

    env = {"pdekit": __version__, "python": ".".join(map(str, sys.version_info[:3]))}
    for name in _ENVIRONMENT_PACKAGES:
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = "absent"
    return env


def check_int(name: str, value: Any, *, minimum: int, maximum: int | None = None,
               why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} = {value} is too large: at most {maximum:,}{why}")
    return int(value)


def _check_target(path: str | os.PathLike) -> Path:
    path = check_writable_dir(path)
    try:
        limit = os.pathconf(path.parent if str(path.parent) else ".", "PC_NAME_MAX")
    except (AttributeError, ValueError, OSError):
        limit = 255
    room = limit - len(".parts") - 16  # the parts folder and temporary files add to the name
    if len(os.fsencode(path.name)) > room:
        raise ValueError(f"output file name is {len(os.fsencode(path.name))} bytes long; at most {room} "
                         f"fit this file system with pdekit's parts folder and temporary files "
                         f"({path.name[:40]}...)")
    if path.is_dir():
        raise ValueError(f"output path {str(path)!r} is a folder; expected a file name like data.h5")
    return path


def plan_generation(pde: str | Problem, path: str | os.PathLike, *, n: int, resolution: int,
                    seed: int, **params: Any) -> GenerationPlan:
    """Check a generation request and describe it; raises before anything is written."""
    problem = pde if isinstance(pde, Problem) else get_problem(pde)
    n = check_int("n", n, minimum=1, maximum=MAX_SAMPLES,
                   why=" samples per dataset file; split larger sets into files of different seeds")
    resolution = check_int("resolution", resolution, minimum=1)
    seed = check_int("seed", seed, minimum=0, maximum=2**63 - 1)
    params = problem.resolve_params(params)
    try:
        json.dumps(params, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"parameters of {problem.name!r} must be JSON-serialisable: {exc}") from None
    problem.check_resolution(resolution, params)
    path = _check_target(path)
    from pdekit import __version__

    coords = {k: np.asarray(v) for k, v in problem.coordinates(resolution, **params).items()}
    env = environment()
    header = DatasetHeader(pde=problem.name, summary=problem.summary, params=params, seed=seed,
                           n=n, resolution=resolution, input_names=tuple(problem.input_names),
                           output_names=tuple(problem.output_names), coords=coords,
                           pdekit_version=__version__, domain=problem.describe_domain(coords),
                           boundary_conditions=dict(problem.boundary_conditions), environment=env)
    run_key = describe_run(format=FORMAT, pde=problem.name, params=header.params_json(), seed=seed,
                           resolution=resolution, pdekit_version=__version__,
                           environment=json.dumps(env, sort_keys=True))
    return GenerationPlan(problem=problem, path=path, header=header, run_key=run_key)


def check_resume(info: DatasetInfo, header: DatasetHeader, *, what: str = "resume") -> None:
    old = info.header
    diffs = []
    for field in ("pde", "seed", "resolution", "input_names", "output_names", "pdekit_version"):
        a, b = getattr(old, field), getattr(header, field)
        if a != b:
            diffs.append(f"{field}: file has {a!r}, this run asks {b!r}")
    if old.params_json() != header.params_json():
        for k in sorted(set(old.params) | set(header.params)):
            a, b = old.params.get(k, "<absent>"), header.params.get(k, "<absent>")
            if a != b:
                diffs.append(f"param {k}: file has {a!r}, this run asks {b!r}")
    if old.environment and dict(old.environment) != dict(header.environment):
        for k in sorted(set(old.environment) | set(header.environment)):
            a, b = old.environment.get(k, "<absent>"), header.environment.get(k, "<absent>")
            if a != b:
                diffs.append(f"{k} version: file made with {a}, this run has {b}")
    if header.n < old.n:
        diffs.append(f"n: file has {old.n} samples, this run asks for {header.n} (n may only grow)")
    if diffs:
        raise ValueError(
            f"refusing to {what} {str(info.path)!r}: it was generated with other settings "
            f"({'; '.join(diffs)}); rerun with the file's settings to complete it, or write to "
            f"another path (or delete the file and its .parts folder) to start a new dataset"
        )


def adopt_target(plan: GenerationPlan, *, what: str = "resume") -> np.ndarray:
    """Check the file at ``plan.path`` against the plan, or create it empty.

    Returns its completed mask extended to ``plan.n`` samples. Call it holding the setup lock.
    """
    done = np.zeros(plan.n, dtype=bool)
    if plan.path.exists():
        info = read_info(plan.path)
        check_resume(info, plan.header, what=what)
        done[: info.header.n] = info.completed
    else:
        with atomic_path(plan.path) as tmp:  # an empty but valid file from the start
            write_dataset(tmp, plan.header, completed=done, sample=lambda i: None)
    return done
