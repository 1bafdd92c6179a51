"""Lazy public names for pdekit's packages.

Each package ``__init__`` lists its public names in ``_EXPORTS`` (name -> submodule) and calls
:func:`attach`; a name is imported from its module on first use, so ``import pdekit.x`` stays
cheap (no torch import for the command line, for instance).
"""

from __future__ import annotations

import importlib
from typing import Callable


def attach(package: str, exports: dict[str, str]) -> tuple[Callable, Callable, list[str]]:
    """Return ``(__getattr__, __dir__, __all__)`` for ``package`` with lazy ``exports``.

    Parameters
    ----------
    package : str
        ``__name__`` of the package.
    exports : dict of str -> str
        Public name -> module, relative to the package, that defines it.
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str):
        if name in exports:
            value = getattr(importlib.import_module(f".{exports[name]}", package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__, sorted(exports)
