"""Solvers: finite differences (:mod:`.fd`), finite elements (:mod:`.fem`), linear solves,
Krylov methods and preconditioners (:mod:`.linear`), and random inputs (:mod:`.random_fields`).

The subpackages are imported on first use, so ``import pdekit; pdekit.solvers.fd`` works and
``import pdekit.solvers`` stays cheap.
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("fd", "fem", "linear", "random_fields")

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
