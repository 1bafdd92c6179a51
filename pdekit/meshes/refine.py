"""Uniform (red) refinement: lines in 2, triangles in 4, tetrahedra in 8 children.

Every edge gets its midpoint as a new point (numbered after the old points, in the order of
:func:`~pdekit.meshes.topology.edges`), so a refined mesh has ``n + e`` points. Triangles and
the corner children of a tetrahedron are scaled copies of their parent. The octahedron left in
the middle of a tetrahedron is cut along its *shortest* diagonal, which keeps the shape quality
bounded under repeated refinement (Zhang 1995; for the Kuhn cubes of :func:`box` all children
stay congruent to the six Kuhn tetrahedra). Facet tags pass to the child facets, subdomain tags
to the child cells.
"""

from __future__ import annotations

import numpy as np

from .mesh import Mesh
from .topology import edges as mesh_edges, sorted_keys

__all__ = ["refine"]


def _edge_lookup(edge_list: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Index in ``edge_list`` (sorted rows, as from ``edges``) of each vertex pair; (p,)."""
    keys, _ = sorted_keys(np.vstack([edge_list, pairs]))
    ekeys, pkeys = keys[: len(edge_list)], keys[len(edge_list):]
    order = np.argsort(ekeys)
    pos = np.minimum(np.searchsorted(ekeys[order], pkeys), len(ekeys) - 1)
    found = order[pos]
    if not np.all(ekeys[found] == pkeys):
        raise ValueError("a facet edge is not an edge of the mesh")
    return found


def _split_triangles(tri: np.ndarray, mid: np.ndarray) -> np.ndarray:
    """Children of triangles ``(t, 3)`` given the midpoint ``mid[:, i]`` of the edge opposite i."""
    v0, v1, v2 = tri.T
    m0, m1, m2 = mid.T
    kids = [(v0, m2, m1), (m2, v1, m0), (m1, m0, v2), (m0, m1, m2)]
    return np.stack([np.stack(k, axis=1) for k in kids], axis=1).reshape(-1, 3)


def _refine_once(mesh: Mesh) -> tuple[Mesh, np.ndarray]:
    n = mesh.n_points
    edge_list, c2e = mesh_edges(mesh.cells, mesh.cell_type)
    mids = 0.5 * (mesh.points[edge_list[:, 0]] + mesh.points[edge_list[:, 1]])
    points = np.vstack([mesh.points, mids])
    m_of = c2e + n  # midpoint point index of each local edge
    c = mesh.cells
    if mesh.cell_type == "line":
        cells = np.stack([np.stack([c[:, 0], m_of[:, 0]], 1), np.stack([m_of[:, 0], c[:, 1]], 1)],
                         axis=1).reshape(-1, 2)
        facets = mesh.facets
        facet_tags = mesh.facet_tags
    elif mesh.cell_type == "triangle":
        cells = _split_triangles(c, m_of)  # LOCAL_EDGES["triangle"][i] is opposite vertex i
        f = mesh.facets
        fm = n + _edge_lookup(edge_list, f) if len(f) else np.zeros(0, dtype=np.int64)
        facets = np.stack([np.stack([f[:, 0], fm], 1), np.stack([fm, f[:, 1]], 1)], axis=1).reshape(-1, 2)
        facet_tags = np.repeat(mesh.facet_tags, 2)
    else:
        cells = _split_tetra(points, c, m_of)
        f = mesh.facets
        if len(f):
            # midpoints opposite each facet vertex: edges (1,2), (2,0), (0,1)
            pairs = np.stack([f[:, [1, 2]], f[:, [2, 0]], f[:, [0, 1]]], axis=1).reshape(-1, 2)
            fm = (n + _edge_lookup(edge_list, pairs)).reshape(-1, 3)
            facets = _split_triangles(f, fm)
        else:
            facets = np.zeros((0, 3), dtype=np.int64)
        facet_tags = np.repeat(mesh.facet_tags, 4)
    children = len(cells) // mesh.n_cells
    parents = np.repeat(np.arange(mesh.n_cells), children)
    fine = Mesh.from_arrays(points, cells, mesh.cell_type, facets=facets, facet_tags=facet_tags,
                            subdomains=mesh.subdomains[parents], tag_names=mesh.tag_names,
                            subdomain_names=mesh.subdomain_names, orient=True)
    return fine, parents


def _split_tetra(points: np.ndarray, c: np.ndarray, m_of: np.ndarray) -> np.ndarray:
    """Eight children per tetrahedron; octahedra cut along their shortest diagonal."""
    v0, v1, v2, v3 = c.T
    m01, m02, m03, m12, m13, m23 = m_of.T  # order of LOCAL_EDGES["tetra"]
    corners = [(v0, m01, m02, m03), (m01, v1, m12, m13), (m02, m12, v2, m23), (m03, m13, m23, v3)]
    # diagonal (p, q) and the equator cycle around it
    options = [
        ((m02, m13), (m01, m12, m23, m03)),
        ((m01, m23), (m02, m03, m13, m12)),
        ((m03, m12), (m01, m02, m23, m13)),
    ]
    lengths = np.stack([np.linalg.norm(points[p] - points[q], axis=1) for (p, q), _ in options], 1)
    # Ties (common on structured meshes) go to the diagonal whose two parent edges are the
    # shorter pair: an ordering-independent rule that picks Bey's diagonal on Kuhn tetrahedra,
    # so their children stay congruent to them.
    opposite = [(0, 2, 1, 3), (0, 1, 2, 3), (0, 3, 1, 2)]
    parent_len = np.stack([np.maximum(np.linalg.norm(points[c[:, a]] - points[c[:, b]], axis=1),
                                      np.linalg.norm(points[c[:, e]] - points[c[:, f]], axis=1))
                           for a, b, e, f in opposite], axis=1)
    tied = lengths <= lengths.min(axis=1, keepdims=True) * (1.0 + 1e-8)
    choice = np.argmin(np.where(tied, parent_len, np.inf), axis=1)
    inner = np.zeros((len(c), 4, 4), dtype=np.int64)
    for o, ((p, q), ring) in enumerate(options):
        sel = choice == o
        for s in range(4):
            a, b = ring[s], ring[(s + 1) % 4]
            inner[sel, s] = np.stack([p[sel], q[sel], a[sel], b[sel]], axis=1)
    outer = np.stack([np.stack(k, axis=1) for k in corners], axis=1)
    return np.concatenate([outer, inner], axis=1).reshape(-1, 4)


def refine(mesh: Mesh, times: int = 1, *, return_parents: bool = False):
    """Refine a mesh uniformly ``times`` times.

    Parameters
    ----------
    mesh : Mesh
    times : int
        Number of refinement rounds (0 returns the mesh unchanged).
    return_parents : bool
        Also return, for each fine cell, the index of its ancestor cell in ``mesh``.

    Returns
    -------
    fine : Mesh
        ``2^times``, ``4^times`` or ``8^times`` children per line, triangle or tetrahedron.
        One round adds one point per edge: ``n' = n + e``.
    parents : (m',) int64
        Only with ``return_parents``.

    Examples
    --------
    >>> from pdekit.meshes import unit_square
    >>> fine = refine(unit_square(2))
    >>> fine.n_cells, fine.n_points, len(fine.boundary_facets("left"))
    (32, 25, 4)
    """
    if isinstance(times, bool) or not isinstance(times, (int, np.integer)) or times < 0:
        raise ValueError(f"times must be a non-negative integer; got {times!r}")
    parents = np.arange(mesh.n_cells)
    for _ in range(int(times)):
        mesh, p = _refine_once(mesh)
        parents = parents[p]
    return (mesh, parents) if return_parents else mesh
