"""Cell geometry: affine maps, signed and unsigned cell volumes, facet measures, domain measure."""

from __future__ import annotations

from math import factorial

import numpy as np

__all__ = ["jacobians", "signed_volumes", "cell_volumes", "vertex_volumes", "facet_measures", "cell_centroids"]


def jacobians(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Jacobians of the affine maps from the reference simplex.

    Parameters
    ----------
    points : (n, d) float array
    cells : (m, d+1) int array

    Returns
    -------
    J : (m, d, d) float64
        ``J[c, :, j] = x[c, j+1] - x[c, 0]``: column ``j`` is the image of reference axis ``j``.
    """
    points = np.asarray(points, dtype=np.float64)
    cells = np.asarray(cells, dtype=np.int64)
    x0 = points[cells[:, 0]]
    return np.stack([points[cells[:, j]] - x0 for j in range(1, cells.shape[1])], axis=2)


def signed_volumes(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Signed measure of each simplex: ``det(J) / d!`` (positive for positive orientation).

    Parameters
    ----------
    points : (n, d) float array
    cells : (m, d+1) int array, a d-simplex per row (same d as the points)

    Returns
    -------
    volumes : (m,) float64
    """
    points = np.asarray(points, dtype=np.float64)
    d = points.shape[1]
    J = jacobians(points, cells)
    if d == 1:
        det = J[:, 0, 0]
    elif d == 2:
        det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
    else:
        det = (J[:, 0, 0] * (J[:, 1, 1] * J[:, 2, 2] - J[:, 1, 2] * J[:, 2, 1])
               - J[:, 0, 1] * (J[:, 1, 0] * J[:, 2, 2] - J[:, 1, 2] * J[:, 2, 0])
               + J[:, 0, 2] * (J[:, 1, 0] * J[:, 2, 1] - J[:, 1, 1] * J[:, 2, 0]))
    return det / factorial(d)


def cell_volumes(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Measure (length, area, volume) of each cell, ``|signed_volumes|``; shape (m,)."""
    return np.abs(signed_volumes(points, cells))


def vertex_volumes(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Measure of each vertex's barycentric dual cell: its share ``|K| / (d+1)`` of every cell K.

    These are the nodal quadrature weights of the mesh (the diagonal of the lumped P1 mass
    matrix): ``vertex_volumes(p, c) @ f`` integrates a function given at the vertices, exactly
    for affine functions, and the weights sum to the measure of the domain.

    Parameters
    ----------
    points : (n, d) float array
    cells : (m, d+1) int array, a d-simplex per row; at least one

    Returns
    -------
    weights : (n,) float64
        Zero at points that no cell uses.

    Raises
    ------
    ValueError
        No cells (a point cloud has no measure), or cells that are not d-simplices of the points.

    Examples
    --------
    >>> p = np.array([[0., 0.], [1., 0.], [0., 1.], [1., 1.]])
    >>> vertex_volumes(p, np.array([[0, 1, 2], [1, 3, 2]])).tolist()
    [0.16666666666666666, 0.3333333333333333, 0.3333333333333333, 0.16666666666666666]
    """
    points = np.asarray(points, dtype=np.float64)
    cells = np.asarray(cells)
    if points.ndim != 2 or not 1 <= points.shape[1] <= 3:
        raise ValueError(f"points must have shape (n, d) with d = 1, 2 or 3; got {points.shape}")
    d = points.shape[1]
    if cells.ndim != 2 or cells.shape[0] == 0:
        raise ValueError(f"vertex weights need the mesh's cells, an (m, {d + 1}) array with m >= 1; got "
                         f"shape {cells.shape}: a point cloud without cells has no quadrature weights")
    if cells.shape[1] != d + 1 or cells.dtype.kind not in "iu":
        raise ValueError(f"cells must be an integer (m, {d + 1}) array of {d}-simplices for {d}-D points; "
                         f"got dtype {cells.dtype}, shape {cells.shape}")
    if cells.min() < 0 or cells.max() >= len(points):
        raise ValueError(f"cells index points 0..{len(points) - 1}; found index "
                         f"{int(cells.min()) if cells.min() < 0 else int(cells.max())}")
    share = np.repeat(cell_volumes(points, cells) / (d + 1), d + 1)
    return np.bincount(cells.ravel(), weights=share, minlength=len(points))


def facet_measures(points: np.ndarray, facets: np.ndarray) -> np.ndarray:
    """Measure of each facet (1 for a point, length of an edge, area of a triangle).

    Parameters
    ----------
    points : (n, d) float array
    facets : (f, d) int array

    Returns
    -------
    measures : (f,) float64
    """
    points = np.asarray(points, dtype=np.float64)
    facets = np.asarray(facets, dtype=np.int64)
    if facets.shape[1] == 1:
        return np.ones(len(facets))
    x = points[facets]
    if facets.shape[1] == 2:
        return np.linalg.norm(x[:, 1] - x[:, 0], axis=1)
    if facets.shape[1] == 3:
        return 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1)
    raise ValueError(f"facets must have 1, 2 or 3 vertices; got shape {facets.shape}")


def cell_centroids(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Barycentre of each cell.

    Parameters
    ----------
    points : (n, d) float array
    cells : (m, k) int array

    Returns
    -------
    centroids : (m, d) float64
        Transpose it for the ``x (d, m)`` layout that coefficient callables receive.
    """
    return np.asarray(points, dtype=np.float64)[np.asarray(cells, dtype=np.int64)].mean(axis=1)


#: cells per block in the validation pass (keeps the block's temporaries in cache)
_BLOCK = 16384


def _volumes_sizes_repeats(points: np.ndarray, cells: np.ndarray,
                           local_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signed volume, longest edge and "has a repeated vertex" of every cell, block by block.

    Returns ``(m,)`` float64, ``(m,)`` float64 and ``(m,)`` bool, computed in blocks of
    :data:`_BLOCK` cells (one contiguous gather per coordinate), so no ``(m, ...)``
    temporaries beyond the results are allocated.
    """
    m, k = cells.shape
    d = points.shape[1]
    pts_t = np.ascontiguousarray(points.T)  # (d, n)
    vol, h, rep = np.empty(m), np.empty(m), np.zeros(m, dtype=bool)
    x = np.empty((d, k, _BLOCK))
    for c0 in range(0, m, _BLOCK):
        c1 = min(c0 + _BLOCK, m)
        verts = np.ascontiguousarray(cells[c0:c1].T)  # (k, b)
        xb = x[:, :, : c1 - c0]
        for i in range(d):
            pts_t[i].take(verts, out=xb[i])
        hb, rb = h[c0:c1], rep[c0:c1]
        hb[:] = 0.0
        for a, b in local_edges:
            rb |= verts[a] == verts[b]
            diff = xb[:, a] - xb[:, b]  # (d, b)
            np.maximum(hb, np.einsum("ib,ib->b", diff, diff), out=hb)
        np.sqrt(hb, out=hb)
        J = xb[:, 1:] - xb[:, :1]  # J[i, j] = x_(j+1)[i] - x_0[i]
        if d == 1:
            det = J[0, 0]
        elif d == 2:
            det = J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]
        else:
            det = (J[0, 0] * (J[1, 1] * J[2, 2] - J[1, 2] * J[2, 1])
                   - J[0, 1] * (J[1, 0] * J[2, 2] - J[1, 2] * J[2, 0])
                   + J[0, 2] * (J[1, 0] * J[2, 1] - J[1, 1] * J[2, 0]))
        np.divide(det, factorial(d), out=vol[c0:c1])
    return vol, h, rep
