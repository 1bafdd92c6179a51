"""Finite differences on uniform grids: Darcy/Poisson, heat, advection-diffusion, Burgers, Navier-Stokes, wave.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "GridSystem": "poisson",
    "poisson_system": "poisson",
    "side_names": "poisson",
    "darcy": "_darcy",
    "laplacian": "stencils",
    "first_derivative": "stencils",
    "grid_coordinates": "stencils",
    "grid_spacing": "stencils",
    "heat": "_heat",
    "advection_diffusion": "_advection_diffusion",
    "burgers": "_burgers",
    "navier_stokes": "_navier_stokes",
    "fno_forcing": "_navier_stokes",
    "wave": "_wave",
    "wave_energy": "_wave",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
