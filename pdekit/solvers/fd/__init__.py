"""Finite differences on uniform grids: Darcy/Poisson, heat, advection-diffusion, Burgers, Navier-Stokes, wave.

Public names are imported from their modules on first use (see ``_EXPORTS``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "GridSystem": "poisson",
    "poisson_system": "poisson",
    "side_names": "poisson",
    "darcy": "_darcy",
    "solve_spd": "_darcy",
    "laplacian": "operators",
    "first_derivative": "operators",
    "grid_coordinates": "operators",
    "grid_spacing": "operators",
    "heat": "_heat",
    "advection_diffusion": "_advection_diffusion",
    "burgers": "_burgers",
    "navier_stokes": "_navier_stokes",
    "fno_forcing": "_navier_stokes",
    "wave": "_wave",
    "wave_energy": "_wave",
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
