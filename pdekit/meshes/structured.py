"""Structured simplicial meshes of intervals, rectangles and boxes, with named boundary tags.

Tags: ``interval`` -> left=1, right=2; ``rectangle`` -> left=1 (x = x0), right=2, bottom=3
(y = y0), top=4; ``box`` -> left=1 (x = x0), right=2, front=3 (y = y0), back=4,
bottom=5 (z = z0), top=6.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from .._validation import check_choice
from .mesh import Mesh

__all__ = ["interval", "rectangle", "unit_square", "box", "unit_cube", "DIAGONALS"]

#: diagonal patterns accepted by :func:`rectangle`
DIAGONALS = ("right", "left", "crossed", "alternating", "union-jack")

RECTANGLE_TAGS = {"left": 1, "right": 2, "bottom": 3, "top": 4}
BOX_TAGS = {"left": 1, "right": 2, "front": 3, "back": 4, "bottom": 5, "top": 6}


def _check_count(name: str, n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer number of cells; got {n!r}")
    return int(n)


def _check_range(name: str, r) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (start, stop); got {r!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise ValueError(f"{name} must be a finite pair with start < stop; got {r!r}")
    return a, b


def interval(n: int, *, x: tuple[float, float] = (0.0, 1.0)) -> Mesh:
    """Uniform mesh of an interval with ``n`` line cells.

    Parameters
    ----------
    n : int
        Number of cells (``n + 1`` points).
    x : (float, float)
        End points.

    Returns
    -------
    Mesh
        Tags ``left`` (1) and ``right`` (2).
    """
    n = _check_count("n", n)
    a, b = _check_range("x", x)
    points = np.linspace(a, b, n + 1)[:, None]
    cells = np.stack([np.arange(n), np.arange(1, n + 1)], axis=1)
    return Mesh(points, cells, "line", facets=np.array([[0], [n]]), facet_tags=np.array([1, 2]),
                tag_names={"left": 1, "right": 2})


def _grid_triangles(nx: int, ny: int, diagonal: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Triangles of an (nx, ny) grid of squares, points numbered j * (nx + 1) + i.

    Returns the (m, 3) cells and, for "crossed", the (nx*ny,) indices of the cell centres
    (numbered after the grid points); else None.
    """
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    i, j = i.ravel(), j.ravel()
    v00 = j * (nx + 1) + i
    v10, v01 = v00 + 1, v00 + nx + 1
    v11 = v01 + 1
    if diagonal == "crossed":
        c = (nx + 1) * (ny + 1) + np.arange(nx * ny)
        tris = np.stack([np.stack(t, axis=1) for t in
                         ((v00, v10, c), (v10, v11, c), (v11, v01, c), (v01, v00, c))], axis=1)
        return tris.reshape(-1, 3), c
    if diagonal == "right":
        slash = np.ones(i.shape, dtype=bool)
    elif diagonal == "left":
        slash = np.zeros(i.shape, dtype=bool)
    elif diagonal == "alternating":
        slash = j % 2 == 0
    else:  # union-jack
        slash = (i + j) % 2 == 0
    t1 = np.where(slash[:, None], np.stack([v00, v10, v11], 1), np.stack([v00, v10, v01], 1))
    t2 = np.where(slash[:, None], np.stack([v00, v11, v01], 1), np.stack([v10, v11, v01], 1))
    return np.stack([t1, t2], axis=1).reshape(-1, 3), None


def rectangle(nx: int, ny: int, *, x: tuple[float, float] = (0.0, 1.0),
              y: tuple[float, float] = (0.0, 1.0), diagonal: str = "right") -> Mesh:
    """Structured triangle mesh of a rectangle.

    Parameters
    ----------
    nx, ny : int
        Number of squares along x and y.
    x, y : (float, float)
        Extent of the rectangle.
    diagonal : {"right", "left", "crossed", "alternating", "union-jack"}
        How each square is split: "right" along the diagonal from its lower-left to its
        upper-right corner (``/``), "left" along the other one (``\\``), "crossed" into four
        triangles around an added centre point, "alternating" right and left in alternate
        rows, "union-jack" right and left in a checkerboard (vertices of degree 8 and 4).

    Returns
    -------
    Mesh
        ``2 nx ny`` triangles (``4 nx ny`` for "crossed") and ``(nx+1)(ny+1)`` points
        (plus ``nx ny`` centres for "crossed"); tags left=1, right=2, bottom=3, top=4.

    Examples
    --------
    >>> m = rectangle(2, 3)
    >>> m.n_points, m.n_cells, len(m.boundary_facets("top"))
    (12, 12, 2)
    """
    nx, ny = _check_count("nx", nx), _check_count("ny", ny)
    (x0, x1), (y0, y1) = _check_range("x", x), _check_range("y", y)
    check_choice("diagonal", diagonal, DIAGONALS)
    gx, gy = np.meshgrid(np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1), indexing="xy")
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    cells, centres = _grid_triangles(nx, ny, diagonal)
    if centres is not None:
        cx, cy = np.meshgrid((np.arange(nx) + 0.5) / nx, (np.arange(ny) + 0.5) / ny, indexing="xy")
        points = np.vstack([points, np.stack([x0 + (x1 - x0) * cx.ravel(),
                                              y0 + (y1 - y0) * cy.ravel()], axis=1)])
    ix, iy = np.arange(nx), np.arange(ny)
    bottom = np.stack([ix, ix + 1], axis=1)
    top = bottom[:, ::-1] + ny * (nx + 1)
    left = np.stack([(iy + 1) * (nx + 1), iy * (nx + 1)], axis=1)
    right = np.stack([iy * (nx + 1) + nx, (iy + 1) * (nx + 1) + nx], axis=1)
    facets = np.vstack([left, right, bottom, top])
    tags = np.repeat([1, 2, 3, 4], [ny, ny, nx, nx])
    return Mesh(points, cells, "triangle", facets=facets, facet_tags=tags,
                tag_names=dict(RECTANGLE_TAGS))


def unit_square(n: int, *, diagonal: str = "right") -> Mesh:
    """Triangle mesh of the unit square with ``n`` squares per side; see :func:`rectangle`."""
    return rectangle(n, n, diagonal=diagonal)


#: the six Kuhn tetrahedra of the unit cube: vertex paths 000 -> 111 along permuted axes
def _kuhn_offsets() -> tuple[np.ndarray, np.ndarray]:
    paths, signs = [], []
    for perm in permutations(range(3)):
        v = np.zeros(3, dtype=np.int64)
        path = [v.copy()]
        for axis in perm:
            v[axis] += 1
            path.append(v.copy())
        paths.append(path)
        # sign of the permutation (number of inversions)
        inv = sum(perm[a] > perm[b] for a in range(3) for b in range(a + 1, 3))
        signs.append(1 if inv % 2 == 0 else -1)
    return np.array(paths), np.array(signs)


def box(nx: int, ny: int, nz: int, *, x: tuple[float, float] = (0.0, 1.0),
        y: tuple[float, float] = (0.0, 1.0), z: tuple[float, float] = (0.0, 1.0)) -> Mesh:
    """Structured tetrahedral mesh of a box: each of the ``nx ny nz`` cubes in six tetrahedra.

    The cubes are split along their main diagonal (Kuhn / Freudenthal triangulation), the
    same way in every cube, so the mesh is conforming and every boundary face square is split
    along the diagonal from its lower to its upper corner.

    Parameters
    ----------
    nx, ny, nz : int
        Number of cubes along each axis.
    x, y, z : (float, float)
        Extent of the box.

    Returns
    -------
    Mesh
        ``6 nx ny nz`` tetrahedra, ``(nx+1)(ny+1)(nz+1)`` points; tags left=1 (x = x0),
        right=2, front=3 (y = y0), back=4, bottom=5 (z = z0), top=6.
    """
    n = np.array([_check_count("nx", nx), _check_count("ny", ny), _check_count("nz", nz)])
    ranges = [_check_range("x", x), _check_range("y", y), _check_range("z", z)]
    axes = [np.linspace(a, b, k + 1) for (a, b), k in zip(ranges, n)]
    gx, gy, gz = np.meshgrid(*axes, indexing="ij")
    points = np.stack([gx.ravel(order="F"), gy.ravel(order="F"), gz.ravel(order="F")], axis=1)

    def index(i, j, k):
        return (k * (n[1] + 1) + j) * (n[0] + 1) + i

    # cubes numbered like the points (x fastest), so neighbouring cells share nearby points;
    # each Kuhn tetrahedron is the cube's lowest corner plus fixed index offsets
    sx, sy = n[0] + 1, (n[0] + 1) * (n[1] + 1)
    corner = (np.arange(n[2], dtype=np.int64)[:, None, None] * sy
              + np.arange(n[1], dtype=np.int64)[None, :, None] * sx
              + np.arange(n[0], dtype=np.int64)[None, None, :]).reshape(-1)
    paths, signs = _kuhn_offsets()
    offsets = paths @ np.array([1, sx, sy], dtype=np.int64)  # (6, 4)
    odd = signs < 0
    offsets[odd, 2], offsets[odd, 3] = offsets[odd, 3], offsets[odd, 2].copy()
    tets = corner[:, None, None] + offsets[None]
    cells = tets.reshape(-1, 4)

    facets, tags = [], []
    for axis in range(3):
        a, b = [ax for ax in range(3) if ax != axis]
        ua, ub = np.meshgrid(np.arange(n[a]), np.arange(n[b]), indexing="ij")
        ua, ub = ua.ravel(), ub.ravel()
        for side, tag in ((0, 2 * axis + 1), (n[axis], 2 * axis + 2)):
            def at(da, db):
                idx = [None, None, None]
                idx[axis], idx[a], idx[b] = np.full(ua.shape, side), ua + da, ub + db
                return index(*idx)
            p00, p10, p01, p11 = at(0, 0), at(1, 0), at(0, 1), at(1, 1)
            facets += [np.stack([p00, p10, p11], 1), np.stack([p00, p11, p01], 1)]
            tags += [np.full(len(ua), tag), np.full(len(ua), tag)]
    return Mesh(points, cells, "tetra", facets=np.vstack(facets), facet_tags=np.concatenate(tags),
                tag_names=dict(BOX_TAGS))


def unit_cube(n: int) -> Mesh:
    """Tetrahedral mesh of the unit cube with ``n`` cubes per side (``6 n^3`` tetrahedra)."""
    return box(n, n, n)
