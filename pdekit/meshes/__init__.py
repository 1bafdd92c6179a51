"""Meshes: the Mesh dataclass, generators, refinement, quality measures, meshio read/write.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "Mesh": "mesh",
    "UnknownTagError": "mesh",
    "interval": "structured",
    "rectangle": "structured",
    "unit_square": "structured",
    "box": "structured",
    "unit_cube": "structured",
    "l_shape": "shapes",
    "disk": "shapes",
    "annulus": "shapes",
    "mark_boundary": "shapes",
    "refine": "refine",
    "radius_ratio": "quality",
    "aspect_ratio": "quality",
    "min_angles": "quality",
    "inradius": "quality",
    "circumradius": "quality",
    "quality_summary": "quality",
    "cell_volumes": "geometry",
    "vertex_volumes": "geometry",
    "signed_volumes": "geometry",
    "facet_measures": "geometry",
    "cell_centroids": "geometry",
    "unique_facets": "topology",
    "facet_to_cells": "topology",
    "cell_neighbors": "topology",
    "edges": "topology",
    "locate_facets": "topology",
    "perturb": "unstructured",
    "retriangulate": "unstructured",
    "unstructured_rectangle": "unstructured",
    "unstructured_box": "unstructured",
    "unstructured_square": "unstructured",
    "unstructured_cube": "unstructured",
    "read": "io",
    "write": "io",
    "to_meshio": "io",
    "from_meshio": "io",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
