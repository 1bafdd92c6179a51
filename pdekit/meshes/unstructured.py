"""Unstructured meshes: random node perturbation and Delaunay retriangulation keeping tags.

:func:`perturb` moves interior points of a mesh at random (topology and tags unchanged);
:func:`retriangulate` replaces the cells by the Delaunay triangulation of the points
(convex domains only) and carries boundary tags over; :func:`unstructured_rectangle` and
:func:`unstructured_box` combine the two into irregular meshes of a rectangle or a box.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay

from .geometry import signed_volumes
from .mesh import Mesh
from .structured import box, rectangle
from .topology import LOCAL_EDGES

__all__ = ["perturb", "retriangulate", "unstructured_rectangle", "unstructured_box",
           "unstructured_square", "unstructured_cube"]


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _shortest_edge_at_points(mesh: Mesh) -> np.ndarray:
    e = mesh.cells[:, LOCAL_EDGES[mesh.cell_type]].reshape(-1, 2)
    length = np.linalg.norm(mesh.points[e[:, 0]] - mesh.points[e[:, 1]], axis=1)
    h = np.full(mesh.n_points, np.inf)
    np.minimum.at(h, e[:, 0], length)
    np.minimum.at(h, e[:, 1], length)
    return h


def _slide_moves(mesh: Mesh, move: np.ndarray) -> None:
    """Project the moves of boundary points onto their flat boundary part (in place).

    A point whose boundary facets share one normal direction slides in that plane (line in
    2D); in 3D a point on the meeting line of two flat parts slides along that line; any
    other boundary point (corners, curved boundaries) stays fixed.
    """
    facets = mesh.boundary_facets()
    x = mesh.points[facets]
    if mesh.dim == 2:
        t = x[:, 1] - x[:, 0]
        normals = np.stack([t[:, 1], -t[:, 0]], axis=1)
    else:
        normals = np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    order = np.argsort(facets.ravel(), kind="stable")
    owner = facets.ravel()[order]
    normal_of = np.repeat(normals, facets.shape[1], axis=0)[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(owner)]):
        p = owner[a]
        dirs: list[np.ndarray] = []
        for nrm in normal_of[a:b]:
            if all(abs(float(nrm @ q)) < 1.0 - 1e-10 for q in dirs):
                dirs.append(nrm)
        if len(dirs) == 1:
            move[p] -= (move[p] @ dirs[0]) * dirs[0]
        elif len(dirs) == 2 and mesh.dim == 3:
            t = np.cross(dirs[0], dirs[1])
            t /= np.linalg.norm(t)
            move[p] = (move[p] @ t) * t
        else:
            move[p] = 0.0


def perturb(mesh: Mesh, amount: float = 0.25, *, rng=None, boundary: str = "fixed",
            max_halvings: int = 30) -> Mesh:
    """Move points at random, keeping topology and tags.

    Each point moves by a vector uniform in the ball of radius
    ``amount * (shortest edge at that point)``. Where a move would invert a cell, the moves
    of that cell's points are halved until no cell is inverted.

    Parameters
    ----------
    mesh : Mesh
    amount : float
        Relative size of the moves, in ``[0, 0.5]``.
    rng : numpy Generator or seed, optional
    boundary : {"fixed", "slide"}
        "fixed" keeps boundary points in place; "slide" moves them within flat boundary
        parts (faces, edges between two faces; corners and curved parts stay fixed), which
        keeps the domain and the tagged parts the same.
    max_halvings : int
        How many times moves may be halved before giving up.

    Returns
    -------
    Mesh
        Same cells, facets and tags; moved points.
    """
    if not (np.isfinite(amount) and 0.0 <= amount <= 0.5):
        raise ValueError(f"amount must lie in [0, 0.5] (a fraction of the local edge length); got {amount!r}")
    gen = _rng(rng)
    d = mesh.dim
    direction = gen.normal(size=(mesh.n_points, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = gen.random(mesh.n_points) ** (1.0 / d)
    move = amount * _shortest_edge_at_points(mesh)[:, None] * radius[:, None] * direction
    if boundary == "fixed":
        move[mesh.boundary_nodes()] = 0.0
    elif boundary == "slide":
        _slide_moves(mesh, move)
    else:
        raise ValueError(f"unknown boundary {boundary!r}; expected 'fixed' or 'slide'")
    for _ in range(max_halvings + 1):
        points = mesh.points + move
        vol = signed_volumes(points, mesh.cells)
        ref = signed_volumes(mesh.points, mesh.cells)
        bad = vol <= 1e-3 * ref
        if not bad.any():
            return mesh.with_points(points)
        move[np.unique(mesh.cells[bad])] *= 0.5
    raise ValueError(f"could not perturb the points without inverting cells after {max_halvings} "
                     "halvings; use a smaller amount")


def retriangulate(mesh: Mesh, *, rtol: float = 1e-10) -> Mesh:
    """Delaunay triangulation of the mesh points, with the boundary tags carried over.

    The domain must be convex: the triangulation covers the convex hull of the points.
    Zero-volume simplices that the Delaunay algorithm leaves on flat boundary parts are
    dropped. A new boundary facet takes the tag whose tagged points contain all its vertices.
    Subdomain tags are not kept (all cells get 0).

    Parameters
    ----------
    mesh : Mesh
        A triangle or tetrahedron mesh of a convex domain.
    rtol : float
        Simplices with volume below ``rtol * (domain volume / number of cells)`` are dropped.

    Returns
    -------
    Mesh

    Raises
    ------
    ValueError
        The mesh is 1D, or the domain is not convex (the hull's volume differs from the
        mesh's), or a new boundary facet matches no tag.
    """
    if mesh.cell_type not in ("triangle", "tetra"):
        raise ValueError(f"retriangulate needs triangle or tetra cells; got {mesh.cell_type!r}")
    tri = Delaunay(mesh.points)
    cells = tri.simplices.astype(np.int64)
    vol = signed_volumes(mesh.points, cells)
    keep = np.abs(vol) > rtol * mesh.volume / len(cells)
    cells = cells[keep]
    hull_volume = np.abs(vol[keep]).sum()
    if not np.isclose(hull_volume, mesh.volume, rtol=1e-9, atol=0.0):
        raise ValueError(f"retriangulate needs a convex domain: the convex hull has measure "
                         f"{hull_volume:.12g} but the mesh has {mesh.volume:.12g}")
    new = Mesh.from_arrays(mesh.points, cells, mesh.cell_type, orient=True, remove_unused=False)
    facets = new.boundary_facets()
    tags = np.zeros(len(facets), dtype=np.int64)
    for tag in sorted(set(mesh.facet_tags.tolist())):
        on = np.zeros(mesh.n_points, dtype=bool)
        on[mesh.facets[mesh.facet_tags == tag].ravel()] = True
        tags[(tags == 0) & on[facets].all(axis=1)] = tag
    keep_f = tags != 0
    fully_tagged = len(mesh.facets) > 0 and len(mesh.boundary_facets()) == len(
        mesh.facets[np.isin(mesh.facets, mesh.boundary_nodes()).all(axis=1)])
    if fully_tagged and not keep_f.all():
        i = int(np.argmax(~keep_f))
        raise ValueError(f"new boundary facet {facets[i].tolist()} lies on no tagged boundary part")
    return Mesh(mesh.points, new.cells, mesh.cell_type, facets=facets[keep_f], facet_tags=tags[keep_f],
                tag_names=mesh.tag_names)


def _finish(base: Mesh, amount: float, rng, method: str) -> Mesh:
    if method not in ("delaunay", "perturb"):
        raise ValueError(f"unknown method {method!r}; expected 'delaunay' or 'perturb'")
    moved = perturb(base, amount, rng=rng, boundary="slide")
    return retriangulate(moved) if method == "delaunay" else moved


def unstructured_rectangle(nx: int, ny: int, *, x=(0.0, 1.0), y=(0.0, 1.0), amount: float = 0.35,
                           rng=None, method: str = "delaunay") -> Mesh:
    """Irregular triangle mesh of a rectangle: jittered grid points, Delaunay cells.

    Boundary points slide along their side (corners stay), so the tags left/right/bottom/top
    (1-4) and the boundary facet counts are those of :func:`~pdekit.meshes.rectangle`.

    Parameters
    ----------
    nx, ny : int
        Grid intervals along x and y (``(nx+1)(ny+1)`` points, about ``2 nx ny`` triangles).
    x, y : (float, float)
    amount : float
        Jitter, a fraction of the local edge length (see :func:`perturb`).
    rng : numpy Generator or seed, optional
    method : {"delaunay", "perturb"}
        "delaunay" retriangulates the jittered points (irregular connectivity);
        "perturb" keeps the structured connectivity with moved points.
    """
    return _finish(rectangle(nx, ny, x=x, y=y), amount, rng, method)


def unstructured_box(nx: int, ny: int, nz: int, *, x=(0.0, 1.0), y=(0.0, 1.0), z=(0.0, 1.0),
                     amount: float = 0.35, rng=None, method: str = "delaunay") -> Mesh:
    """Irregular tetrahedral mesh of a box: jittered grid points, Delaunay cells.

    Boundary points slide within their face or edge (corners stay), which avoids the
    degenerate (cospherical) configurations of grid points. Tags as in
    :func:`~pdekit.meshes.box` (left/right/front/back/bottom/top = 1-6).

    Notes
    -----
    3D Delaunay meshes of jittered points contain slivers (flat tetrahedra with a tiny
    radius ratio, e.g. 0.004 at 8^3). Where shape quality matters more than irregular
    connectivity, use ``method="perturb"`` (Kuhn connectivity, moved points).
    """
    return _finish(box(nx, ny, nz, x=x, y=y, z=z), amount, rng, method)


def unstructured_square(n: int, *, amount: float = 0.35, rng=None, method: str = "delaunay") -> Mesh:
    """:func:`unstructured_rectangle` of the unit square with ``n`` intervals per side."""
    return unstructured_rectangle(n, n, amount=amount, rng=rng, method=method)


def unstructured_cube(n: int, *, amount: float = 0.35, rng=None, method: str = "delaunay") -> Mesh:
    """:func:`unstructured_box` of the unit cube with ``n`` intervals per side."""
    return unstructured_box(n, n, n, amount=amount, rng=rng, method=method)
