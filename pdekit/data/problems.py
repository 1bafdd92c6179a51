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
    """

    name: str
    summary: str
    defaults: Mapping[str, Any]
    solve: Callable[..., Sample]
    coordinates: Callable[..., dict]
    input_names: tuple[str, ...] = ("input",)
    output_names: tuple[str, ...] = ("output",)

    def resolve_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return the defaults updated by ``params``; unknown names raise ``ValueError``."""
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for problem {self.name!r}; "
                f"expected some of {sorted(self.defaults)}"
            )
        out = dict(self.defaults)
        out.update(params)
        return out


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
