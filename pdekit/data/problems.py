"""The registry of PDE problems that :func:`pdekit.data.generate` can turn into datasets.

A problem is a name, its parameters with their defaults, a function that solves one
random instance, and a function that gives the coordinates of the grid or mesh the
samples live on. Finite-difference problems are registered in
:mod:`pdekit.data.fd_problems`, finite-element ones in :mod:`pdekit.data.fem_problems`.

Array layout of one sample (without the leading sample axis of the file):
``(X, C)``, ``(X, Y, C)`` or ``(X, Y, Z, C)`` for steady problems,
``(T, X, ..., C)`` for time-dependent ones, and ``(n_nodes, C)`` for mesh data.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["Problem", "Sample", "register_problem", "get_problem", "list_problems", "resolve_preconditioner"]


@dataclasses.dataclass(frozen=True)
class Sample:
    """One solved instance.

    Attributes
    ----------
    inputs : (..., C_in) float array
        What a surrogate sees (coefficient, initial condition, forcing ...).
    outputs : (..., C_out) float array
        What it must predict (the solution, or its trajectory).
    """

    inputs: np.ndarray
    outputs: np.ndarray


@dataclasses.dataclass(frozen=True)
class Problem:
    """A PDE problem a dataset can be generated from.

    Attributes
    ----------
    name : str
        Registry key, as typed on the command line (``darcy``, ``navier-stokes``, ...).
    summary : str
        One line for ``pdekit generate --help`` and ``pdekit info``.
    defaults : Mapping[str, Any]
        Every generator parameter with its default; JSON-serialisable values only.
        Parameters not listed here are rejected.
    solve : callable
        ``solve(rng, resolution, **params) -> Sample`` for one instance, drawing all its
        randomness from ``rng`` (a ``numpy.random.Generator``).
    coordinates : callable
        ``coordinates(resolution, **params) -> dict[str, ndarray]`` (``x``, ``y``, ``t``, or
        ``points`` and ``cells`` for meshes), stored beside the samples.
    input_names, output_names : tuple of str
        Names of the channels, stored as attributes.
    limits : Mapping[str, callable]
        Valid ranges: parameter name -> ``check(name, value) -> value`` raising ValueError
        out of range (see :mod:`pdekit.data.limits`).
    resolution_range : (int, int)
        Smallest and largest valid resolution.
    check : callable, optional
        ``check(resolution, **params)`` raising ValueError for an invalid combination
        (e.g. a solve resolution that does not stride down to the resolution).
    domain : Mapping, optional
        The physical domain, stored with the dataset, e.g. ``{"x": (0, 1), "y": (0, 1)}``;
        None for meshes (their bounding box is stored).
    boundary_conditions : Mapping[str, str]
        The boundary conditions, stored with the dataset, e.g. ``{"x": "periodic"}``.
    """

    name: str
    summary: str
    defaults: Mapping[str, Any]
    solve: Callable[..., Sample]
    coordinates: Callable[..., dict]
    input_names: tuple[str, ...] = ("input",)
    output_names: tuple[str, ...] = ("output",)
    limits: Mapping[str, Callable[[str, Any], Any]] = dataclasses.field(default_factory=dict)
    resolution_range: tuple[int, int] = (1, 1 << 20)
    check: Callable[..., None] | None = None
    domain: Mapping[str, Any] | None = None
    boundary_conditions: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def resolve_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return the defaults updated by ``params``, each checked.

        Raises
        ------
        ValueError, TypeError
            An unknown name, a value of another type than its default, or a value outside
            its valid range (:attr:`limits`); the message names the parameter and the range.
        """
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for problem {self.name!r}; "
                f"expected some of {sorted(self.defaults)}"
            )
        out = dict(self.defaults)
        for name, value in params.items():
            out[name] = _check_type(self.name, name, value, self.defaults[name])
        for name, limit in self.limits.items():
            if name in out:
                out[name] = limit(name, out[name])
        return out

    def check_resolution(self, resolution: int, params: Mapping[str, Any]) -> None:
        """Raise ValueError unless ``resolution`` (and the parameters together) are valid."""
        low, high = self.resolution_range
        if not low <= resolution <= high:
            raise ValueError(f"resolution {resolution} is out of range for {self.name!r}: expected "
                             f"{low} <= resolution <= {high}")
        if self.check is not None:
            self.check(resolution, **params)

    def describe_domain(self, coords: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """The physical domain stored with a dataset: :attr:`domain`, or the bounding box of
        the mesh ``points`` among ``coords``."""
        if self.domain is not None:
            return {k: list(v) if isinstance(v, tuple) else v for k, v in self.domain.items()}
        pts = coords.get("points")
        if pts is None:
            return {}
        pts = np.asarray(pts, dtype=float)
        box = {axis: [float(pts[:, k].min()), float(pts[:, k].max())]
               for k, axis in enumerate("xyz"[: pts.shape[1]])}
        return {**box, "geometry": "mesh"}


def _check_type(problem: str, name: str, value: Any, default: Any) -> Any:
    """``value`` of parameter ``name`` in the type family of its default (ints become floats
    where the default is a float, so 1 and 1.0 are the same setting)."""
    def fail(expected: str) -> TypeError:
        return TypeError(f"parameter {name} of {problem!r} must be {expected} (default {default!r}); "
                         f"got {value!r}")

    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise fail("true or false")
        return bool(value)
    if isinstance(default, int):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise fail("an integer")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise fail("a number")
        if np.iscomplexobj(value):
            raise fail("a real number")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"parameter {name} of {problem!r} must be finite; got {value}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise fail("a string")
        return value
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise fail("a list")
        return list(value)
    return value  # None defaults: the limits decide


_REGISTRY: dict[str, Problem] = {}
_BUILTIN_MODULES = ("pdekit.data.fd_problems", "pdekit.data.fem_problems")


def register_problem(problem: Problem, *, replace: bool = False) -> Problem:
    """Add ``problem`` to the registry (``replace=True`` to overwrite a name)."""
    if problem.name in _REGISTRY and not replace:
        raise ValueError(f"a problem named {problem.name!r} is already registered")
    _REGISTRY[problem.name] = problem
    return problem


def _load_builtins() -> None:
    import importlib

    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def list_problems() -> list[str]:
    """Names of all registered problems, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_problem(name: str) -> Problem:
    """Return the registered problem called ``name``."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown PDE {name!r}; expected one of {sorted(_REGISTRY)}") from None


_NETWORKS: dict = {}


def resolve_preconditioner(name: str | None):
    """The ``preconditioner`` parameter of a problem as :func:`pdekit.solvers.linear.solve` takes it.

    Parameters are recorded in the dataset file, so they are names: ``""`` (or None) for the
    solver's default, a classical preconditioner (``"jacobi"``, ``"ic0"``, ``"amg"``, ...) as is,
    or the name of a shipped network (:func:`pdekit.operators.list_pretrained`), loaded once per
    process.

    Raises
    ------
    ValueError
        A name that is neither.
    """
    from pdekit.solvers.linear.preconditioners import PRECONDITIONERS

    if name is None or name == "":
        return None
    if not isinstance(name, str):
        raise TypeError(f"preconditioner must be a name; got {type(name).__name__}")
    if name in PRECONDITIONERS:
        return name
    if name not in _NETWORKS:
        from pdekit.operators import list_pretrained, pretrained

        if name not in list_pretrained():
            raise ValueError(f"unknown preconditioner {name!r}; expected one of {sorted(PRECONDITIONERS)} "
                             f"or a shipped network {sorted(list_pretrained())}")
        _NETWORKS[name] = pretrained(name)
    return _NETWORKS[name]


class _PreconditionerName:
    """Limit of a problem's ``preconditioner`` parameter: empty, a classical preconditioner of
    :mod:`pdekit.solvers.linear`, or the name of a shipped network (checked without loading it)."""

    def __call__(self, name: str, value: Any) -> Any:
        if value is None or value == "":
            return value
        from pdekit.operators.pretrained_networks import CATALOG
        from pdekit.solvers.linear.preconditioners import PRECONDITIONERS

        if not isinstance(value, str) or (value not in PRECONDITIONERS and value not in CATALOG):
            raise ValueError(f"unknown preconditioner {value!r} (parameter {name}); expected empty, one of "
                             f"{sorted(PRECONDITIONERS)} or a shipped network {sorted(CATALOG)}")
        return value

    def __str__(self) -> str:
        return "empty, a preconditioner name or a shipped network"


#: the ``preconditioner`` limit shared by the problems that solve an SPD system
preconditioner_name = _PreconditionerName()
