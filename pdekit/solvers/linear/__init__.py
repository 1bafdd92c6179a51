"""Krylov solvers (CG, PCG, flexible CG, deep conjugate directions) and classical preconditioners.

Public names are imported from their modules on first use (see ``_EXPORTS``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "cg": "krylov",
    "pcg": "krylov",
    "fcg": "krylov",
    "dcdm": "conjugate_directions",
    "SolveInfo": "_common",
    "ConvergenceWarning": "_common",
    "Preconditioner": "preconditioners",
    "JacobiPreconditioner": "preconditioners",
    "AMGPreconditioner": "preconditioners",
    "jacobi": "preconditioners",
    "amg": "preconditioners",
    "make_preconditioner": "preconditioners",
    "IncompleteCholesky": "ichol",
    "ic0": "ichol",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
