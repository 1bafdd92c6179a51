"""Affine cell geometry for assembly: Jacobians, their determinants and inverses, facet maps.

The affine map of cell ``e`` sends a reference point ``X`` to ``x = x0 + J X`` with column
``j`` of ``J`` equal to ``x_(j+1) - x_0``. Physical gradients of the basis are ``grad phi = J^-T Grad phi``.
Everything is computed for all cells at once, in closed form (no per-cell ``inv``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["CellGeometry", "cell_geometry", "facet_geometry", "DEGENERATE_RTOL"]

#: cells per block in :func:`cell_geometry`
_BLOCK = 8192

#: |det J| below this multiple of (largest |J| entry)^d counts as a degenerate cell
DEGENERATE_RTOL = 1e-12


@dataclasses.dataclass(frozen=True)
class CellGeometry:
    """Affine maps of all cells, stored cell-last so cell-wise arithmetic is contiguous.

    Attributes
    ----------
    origin : (d, m) float array
        Image ``x0`` of the reference origin.
    jacobian : (d, d, m) float array
        ``jacobian[i, j, e] = x_(j+1)[i] - x_0[i]`` in cell ``e``.
    det : (m,) float array
        ``det J`` (positive for positively oriented cells).
    inv_t : (d, d, m) float array
        ``J^-T``, mapping reference gradients to physical ones.
    """

    origin: np.ndarray
    jacobian: np.ndarray
    det: np.ndarray
    inv_t: np.ndarray

    def map_points(self, ref_points: np.ndarray) -> np.ndarray:
        """Physical coordinates ``(m, nq, d)`` of reference points ``(nq, d)`` in every cell."""
        x = self.origin[:, None, :] + np.einsum("ijc,qj->iqc", self.jacobian, ref_points)
        return np.ascontiguousarray(x.transpose(2, 1, 0))


def _det_inv_t(J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = J.shape[0]
    if d == 1:
        det = J[0, 0].copy()
        return det, (1.0 / det)[None, None, :]
    if d == 2:
        a, b, c, e = J[0, 0], J[0, 1], J[1, 0], J[1, 1]
        det = a * e - b * c
        inv_t = np.empty_like(J)
        inv_t[0, 0], inv_t[0, 1] = e, -c
        inv_t[1, 0], inv_t[1, 1] = -b, a
        inv_t /= det
        return det, inv_t
    # 3D: J^-T = cofactor(J) / det; the cofactor columns are cross products of J's columns
    c0, c1, c2 = J[:, 0], J[:, 1], J[:, 2]

    def cross(u, v):
        return np.stack([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]])

    cof = np.stack([cross(c1, c2), cross(c2, c0), cross(c0, c1)], axis=1)
    det = (c0 * cof[:, 0]).sum(axis=0)
    return det, cof / det


def check_cells(det: np.ndarray, J: np.ndarray) -> None:
    """Raise ``ValueError`` for inverted (``det J < 0``) or degenerate (``det J ~ 0``) cells.

    ``J`` is ``(d, d, m)``; a cell is degenerate when ``|det J| <= DEGENERATE_RTOL max|J|^d``.
    """
    d = J.shape[0]
    scale = np.abs(J).reshape(d * d, -1).max(axis=0) ** d
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


def _block_is_bad(det: np.ndarray, J: np.ndarray) -> bool:
    d = J.shape[0]
    scale = np.abs(J).reshape(d * d, -1).max(axis=0) ** d
    return bool(((np.abs(det) <= DEGENERATE_RTOL * scale) | (det < 0)).any())


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
    pts = np.asarray(points, dtype=np.float64)
    pts_t = np.ascontiguousarray(pts.T)  # (d, n): one contiguous take per coordinate
    d = pts.shape[1]
    cells = np.asarray(cells)
    m = cells.shape[0]
    x0, J = np.empty((d, m)), np.empty((d, d, m))
    det, inv_t = np.empty(m), np.empty((d, d, m))
    bad = False
    # block by block: every temporary stays in cache, only the results span all cells
    for c0 in range(0, m, _BLOCK):
        c1 = min(c0 + _BLOCK, m)
        verts = np.ascontiguousarray(cells[c0:c1, : d + 1].T)  # (d+1, b)
        Jb = J[:, :, c0:c1]
        for i in range(d):
            xi = pts_t[i].take(verts)
            x0[i, c0:c1] = xi[0]
            np.subtract(xi[1:], xi[:1], out=Jb[i])
        with np.errstate(divide="ignore", invalid="ignore"):
            det[c0:c1], inv_t[:, :, c0:c1] = _det_inv_t(Jb)
            bad = bad or _block_is_bad(det[c0:c1], Jb)
    if bad:
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
