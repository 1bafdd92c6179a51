"""Shape quality of simplices: radius ratio, aspect ratio, minimum angles, a summary.

All measures are scale invariant. The radius ratio ``d r_in / R_circ`` is 1 for the regular
simplex and tends to 0 as a cell degenerates; the aspect ratio ``h_max / r_in``, divided by its
value for the regular simplex, is 1 at best and grows without bound.
"""

from __future__ import annotations

import numpy as np

from .geometry import cell_volumes, jacobians
from .mesh import Mesh
from .topology import LOCAL_EDGES, LOCAL_FACETS

__all__ = ["inradius", "circumradius", "radius_ratio", "aspect_ratio", "min_angles", "quality_summary"]

#: h_max / r_in of the regular simplex in 1, 2, 3 dimensions
_REGULAR_ASPECT = {1: 2.0, 2: 2.0 * np.sqrt(3.0), 3: 2.0 * np.sqrt(6.0)}


def _facet_measure_sum(mesh: Mesh) -> np.ndarray:
    x = mesh.points[mesh.cells[:, LOCAL_FACETS[mesh.cell_type]]]  # (m, k, k-1, d)
    if mesh.dim == 1:
        return np.full(mesh.n_cells, 2.0)
    if mesh.dim == 2:
        return np.linalg.norm(x[:, :, 1] - x[:, :, 0], axis=-1).sum(axis=1)
    cr = np.cross(x[:, :, 1] - x[:, :, 0], x[:, :, 2] - x[:, :, 0])
    return 0.5 * np.linalg.norm(cr, axis=-1).sum(axis=1)


def inradius(mesh: Mesh) -> np.ndarray:
    """Radius of the inscribed ball of each cell, ``d |K| / |dK|``; shape (m,)."""
    return mesh.dim * cell_volumes(mesh.points, mesh.cells) / _facet_measure_sum(mesh)


def circumradius(mesh: Mesh) -> np.ndarray:
    """Radius of the circumscribed ball of each cell; shape (m,).

    The centre ``c`` solves ``2 J^T (c - x_0) = (|x_i - x_0|^2)_i``.
    """
    J = jacobians(mesh.points, mesh.cells)  # columns x_i - x_0
    rhs = 0.5 * np.einsum("mdi,mdi->mi", J, J)
    y = np.linalg.solve(np.swapaxes(J, 1, 2), rhs[..., None])[..., 0]
    return np.linalg.norm(y, axis=1)


def radius_ratio(mesh: Mesh) -> np.ndarray:
    """Normalised radius ratio ``d r_in / R_circ`` of each cell, in (0, 1]; shape (m,)."""
    if mesh.dim == 1:
        return np.ones(mesh.n_cells)
    return mesh.dim * inradius(mesh) / circumradius(mesh)


def _longest_edge(mesh: Mesh) -> np.ndarray:
    e = mesh.cells[:, LOCAL_EDGES[mesh.cell_type]]
    return np.linalg.norm(mesh.points[e[..., 1]] - mesh.points[e[..., 0]], axis=-1).max(axis=1)


def aspect_ratio(mesh: Mesh) -> np.ndarray:
    """Normalised aspect ratio ``h_max / r_in`` (1 for the regular simplex, >= 1); shape (m,)."""
    return _longest_edge(mesh) / inradius(mesh) / _REGULAR_ASPECT[mesh.dim]


def min_angles(mesh: Mesh) -> np.ndarray:
    """Smallest angle of each cell in degrees; shape (m,).

    Interior angles for triangles, dihedral angles for tetrahedra; 180 for lines.
    """
    if mesh.dim == 1:
        return np.full(mesh.n_cells, 180.0)
    # gradients of the barycentric coordinates: rows of J^{-1}, prepended by minus their sum
    Jinv = np.linalg.inv(jacobians(mesh.points, mesh.cells))
    grads = np.concatenate([-Jinv.sum(axis=1, keepdims=True), Jinv], axis=1)  # (m, k, d)
    g = grads / np.linalg.norm(grads, axis=-1, keepdims=True)
    # grad(lambda_i) is the inward normal of facet i; the angle between facets i and j is
    # pi - angle(normal_i, normal_j). In 2D the facets are edges and this is the angle at the
    # vertex opposite both; in 3D it is the dihedral angle along their common edge.
    k = mesh.cells.shape[1]
    i, j = np.triu_indices(k, 1)
    cosines = -np.einsum("mpd,mpd->mp", g[:, i], g[:, j])
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0))).min(axis=1)


def quality_summary(mesh: Mesh) -> dict[str, float]:
    """Worst and mean values of the quality measures.

    Returns
    -------
    dict
        ``min_radius_ratio``, ``mean_radius_ratio``, ``max_aspect_ratio``, ``min_angle``
        (degrees), ``min_volume``, ``max_volume``.
    """
    rr = radius_ratio(mesh)
    vol = cell_volumes(mesh.points, mesh.cells)
    return {
        "min_radius_ratio": float(rr.min()),
        "mean_radius_ratio": float(rr.mean()),
        "max_aspect_ratio": float(aspect_ratio(mesh).max()),
        "min_angle": float(min_angles(mesh).min()),
        "min_volume": float(vol.min()),
        "max_volume": float(vol.max()),
    }
