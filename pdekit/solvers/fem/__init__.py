"""Finite elements: Lagrange P1/P2 on triangles and tetrahedra, quadrature, cached assembly, forms, boundary conditions, problems.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

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
    "error_norm": "errors",
    "poisson": "diffusion",
    "dirichlet_dofs": "diffusion",
    "darcy": "diffusion",
    "elasticity_matrix": "elasticity",
    "rigid_body_modes": "elasticity",
    "linear_elasticity": "elasticity",
    "lame_parameters": "elasticity",
    "Trajectory": "transient",
    "heat": "transient",
    "wave": "transient",
    "write_function": "output",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
