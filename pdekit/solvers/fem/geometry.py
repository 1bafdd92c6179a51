"""Affine cell geometry for assembly: Jacobians, their determinants and inverses, facet maps.

The affine map of cell ``c`` sends a reference point ``X`` to ``x = x0 + J X`` with
``J[c, :, j] = x_(j+1) - x_0``. Physical gradients of the basis are ``grad phi = J^-T Grad phi``.
Everything is computed for all cells at once, in closed form (no per-cell ``inv``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["CellGeometry", "cell_geometry", "facet_geometry", "DEGENERATE_RTOL"]

#: |det J| below this multiple of (largest |J| entry)^d counts as a degenerate cell
DEGENERATE_RTOL = 1e-12


@dataclasses.dataclass(frozen=True)
class CellGeometry:
    """Affine maps of all cells.

    Attributes
    ----------
    origin : (m, d) float array
        Image ``x0`` of the reference origin.
    jacobian : (m, d, d) float array
    det : (m,) float array
        ``det J`` (positive for positively oriented cells).
    inv_t : (m, d, d) float array
        ``J^-T``, mapping reference gradients to physical ones.
    """

    origin: np.ndarray
    jacobian: np.ndarray
    det: np.ndarray
    inv_t: np.ndarray

    def map_points(self, ref_points: np.ndarray) -> np.ndarray:
        """Physical coordinates ``(m, nq, d)`` of reference points ``(nq, d)`` in every cell."""
        return self.origin[:, None, :] + np.einsum("cij,qj->cqi", self.jacobian, ref_points)


def _det_inv_t(J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = J.shape[1]
    if d == 1:
        det = J[:, 0, 0].copy()
        return det, (1.0 / det)[:, None, None]
    if d == 2:
        a, b, c, e = J[:, 0, 0], J[:, 0, 1], J[:, 1, 0], J[:, 1, 1]
        det = a * e - b * c
        inv_t = np.empty_like(J)
        inv_t[:, 0, 0], inv_t[:, 0, 1] = e, -c
        inv_t[:, 1, 0], inv_t[:, 1, 1] = -b, a
        inv_t /= det[:, None, None]
        return det, inv_t
    # 3D: J^-T = cofactor(J) / det
    c0, c1, c2 = J[:, :, 0], J[:, :, 1], J[:, :, 2]
    cof = np.stack([np.cross(c1, c2), np.cross(c2, c0), np.cross(c0, c1)], axis=2)
    det = np.einsum("ci,ci->c", c0, cof[:, :, 0])
    return det, cof / det[:, None, None]


def check_cells(det: np.ndarray, J: np.ndarray) -> None:
    """Raise ``ValueError`` for inverted (``det J < 0``) or degenerate (``det J ~ 0``) cells."""
    d = J.shape[1]
    scale = np.abs(J).reshape(len(J), -1).max(axis=1) ** d
    degenerate = np.abs(det) <= DEGENERATE_RTOL * scale
    if degenerate.any():
        c = int(np.argmax(degenerate))
        raise ValueError(
            f"{int(degenerate.sum())} cells are degenerate (zero measure), the first is cell {c} "
            f"with det J = {det[c]:.3g}; remove or repair them before assembling"
        )
    inverted = det < 0
    if inverted.any():
        c = int(np.argmax(inverted))
        raise ValueError(
            f"{int(inverted.sum())} cells are inverted (det J < 0), the first is cell {c} with "
            f"det J = {det[c]:.3g}; expected positively oriented cells "
            "(Mesh.from_arrays(..., orient=True) reorients them)"
        )


def cell_geometry(points: np.ndarray, cells: np.ndarray) -> CellGeometry:
    """Affine geometry of every cell, after checking no cell is inverted or degenerate.

    Parameters
    ----------
    points : (n, d) float array
    cells : (m, d+1) int array
        Vertex indices; the first ``d + 1`` columns are the vertices.

    Returns
    -------
    CellGeometry

    Raises
    ------
    ValueError
        Some cell has ``det J <= 0`` (inverted or degenerate).
    """
    points = np.asarray(points, dtype=np.float64)
    d = points.shape[1]
    x0 = points[cells[:, 0]]
    J = np.empty((len(cells), d, d))
    for j in range(d):
        J[:, :, j] = points[cells[:, j + 1]] - x0
    det, inv_t = _det_inv_t(J)
    check_cells(det, J)
    return CellGeometry(x0, J, det, inv_t)


def facet_geometry(points: np.ndarray, facets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine maps of facets (edges in 2D, triangles in 3D) embedded in ``d`` dimensions.

    Parameters
    ----------
    points : (n, d) float array
    facets : (f, d) int array

    Returns
    -------
    origin : (f, d) float array
    jacobian : (f, d, d-1) float array
    measure_factor : (f,) float array
        Surface element ``|ds| / |dS|`` (length of the edge in 2D, twice the area in 3D).
    """
    points = np.asarray(points, dtype=np.float64)
    x = points[facets]
    J = np.swapaxes(x[:, 1:, :] - x[:, :1, :], 1, 2)
    if J.shape[2] == 1:
        factor = np.linalg.norm(J[:, :, 0], axis=1)
    elif J.shape[2] == 2:
        factor = np.linalg.norm(np.cross(J[:, :, 0], J[:, :, 1]), axis=1)
    else:  # points in 1D: facets are points
        factor = np.ones(len(facets))
    return x[:, 0, :], J, factor
