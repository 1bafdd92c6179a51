"""Finite elements: Lagrange P1/P2 on triangles and tetrahedra, quadrature, cached assembly, forms, boundary conditions, problems.

Public names are imported from their modules on first use (see ``_EXPORTS``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "QuadratureRule": "quadrature",
    "quadrature_rule": "quadrature",
    "LagrangeElement": "elements",
    "lagrange_element": "elements",
    "DofMap": "dofmap",
    "SparsityPattern": "assembly",
    "FunctionSpace": "space",
    "function_space": "space",
    "FEFunction": "function",
    "interpolate": "function",
    "stiffness_matrix": "forms",
    "mass_matrix": "forms",
    "load_vector": "forms",
    "facet_load_vector": "facets",
    "facet_mass_matrix": "facets",
    "condense": "boundary",
    "lift": "boundary",
    "dirichlet_values": "boundary",
    "solve_linear": "boundary",
    "SolveInfo": "boundary",
    "error_norm": "errors",
    "poisson": "diffusion",
    "dirichlet_dofs": "diffusion",
    "darcy": "diffusion",
    "cell_centroids": "diffusion",
    "draw_random_field": "random_coefficients",
    "coefficient_from_field": "random_coefficients",
    "elasticity_matrix": "elasticity",
    "rigid_body_modes": "elasticity",
    "linear_elasticity": "elasticity",
    "lame_parameters": "elasticity",
    "Trajectory": "transient",
    "heat": "transient",
    "wave": "transient",
    "write_function": "output",
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
