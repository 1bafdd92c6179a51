"""Degree-of-freedom maps for Lagrange P1 / P2 spaces, scalar or vector-valued.

Scalar *nodes* are numbered vertices first (``0 .. n_points-1``, the mesh's point numbers),
then, for P2, one node per unique edge (``n_points + edge index``). A vector-valued space with
``n_components = c`` interleaves the components: the dof of component ``k`` at node ``i`` is
``c * i + k``, and local dof ``c * a + k`` belongs to local node ``a``.

Examples
--------
>>> from pdekit.meshes import unit_square
>>> dm = DofMap(unit_square(2), 2)
>>> dm.n_points, len(dm.edges), dm.n_dofs, dm.cell_dofs.shape
(9, 16, 25, (8, 6))
"""

from __future__ import annotations

import numpy as np

from .assembly import unique_pairs
from .elements import FACET_TYPE, REFERENCE_EDGES, lagrange_element

__all__ = ["DofMap"]


def _edge_keys(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(a, b) * n + np.maximum(a, b)


class DofMap:
    """Global numbering of the dofs of a Lagrange space on a mesh.

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
        Triangle or tetrahedron mesh (or a line mesh).
    degree : {1, 2}
    n_components : int
        1 for scalar fields, ``d`` for vector fields (elasticity).

    Attributes
    ----------
    element : LagrangeElement
        The scalar element on the mesh's cell type.
    cell_nodes : (m, nloc) int64
        Scalar node of each local basis function.
    cell_dofs : (m, nloc * n_components) int64
        Global dof of each local dof (interleaved components).
    edges : (E, 2) int64 or None
        Unique edges (``edges[:, 0] < edges[:, 1]``) carrying P2 nodes; None for P1.
    n_nodes, n_dofs : int
    """

    def __init__(self, mesh, degree: int, *, n_components: int = 1) -> None:
        self.mesh = mesh
        self.element = lagrange_element(mesh.cell_type, degree)
        if not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise ValueError(f"n_components must be a positive integer; got {n_components!r}")
        self.n_components = int(n_components)
        self.degree = int(degree)
        cells = np.asarray(mesh.cells, dtype=np.int64)
        self.n_points = int(mesh.n_points)
        if self.degree == 1:
            self.edges = None
            self._edge_keys = None
            self.cell_nodes = cells
        else:
            local = REFERENCE_EDGES[mesh.cell_type]
            # distinct edges by two O(N) counting sorts (no sort of all the cell edges)
            self.edges, inverse = unique_pairs(cells[:, local[:, 0]].reshape(-1),
                                               cells[:, local[:, 1]].reshape(-1), self.n_points)
            self._edge_keys = _edge_keys(self.edges[:, 0], self.edges[:, 1], self.n_points)
            edge_nodes = self.n_points + inverse.reshape(len(cells), len(local))
            self.cell_nodes = np.concatenate([cells, edge_nodes], axis=1)
        self.n_nodes = self.n_points + (0 if self.edges is None else len(self.edges))
        self.n_dofs = self.n_nodes * self.n_components
        c = self.n_components
        if c == 1:
            self.cell_dofs = self.cell_nodes
        else:
            self.cell_dofs = (c * self.cell_nodes[:, :, None] + np.arange(c)).reshape(len(cells), -1)

    @property
    def node_coordinates(self) -> np.ndarray:
        """Coordinates of the scalar nodes, ``(n_nodes, d)`` (edge midpoints after the vertices)."""
        pts = np.asarray(self.mesh.points, dtype=np.float64)
        if self.edges is None:
            return pts
        return np.concatenate([pts, 0.5 * (pts[self.edges[:, 0]] + pts[self.edges[:, 1]])])

    def facet_nodes(self, facets: np.ndarray) -> np.ndarray:
        """Scalar nodes of facets, in the local order of the facet element.

        Parameters
        ----------
        facets : (f, d) int array
            Facets as vertex indices.

        Returns
        -------
        (f, nloc_facet) int64
            Vertices, then (P2) the facet's edge nodes in :data:`REFERENCE_EDGES` order.
        """
        facets = np.asarray(facets, dtype=np.int64)
        if self.edges is None:
            return facets
        if len(facets) == 0:
            n_loc = lagrange_element(FACET_TYPE[self.mesh.cell_type], 2).n_local
            return np.zeros((0, n_loc), dtype=np.int64)
        local = REFERENCE_EDGES[FACET_TYPE[self.mesh.cell_type]]
        keys = _edge_keys(facets[:, local[:, 0]], facets[:, local[:, 1]], self.n_points)
        idx = np.searchsorted(self._edge_keys, keys)
        idx = np.minimum(idx, len(self._edge_keys) - 1)
        if not np.all(self._edge_keys[idx] == keys):
            raise ValueError("facets contain an edge that is not an edge of the mesh")
        return np.concatenate([facets, self.n_points + idx], axis=1)

    def facet_dofs(self, facets: np.ndarray) -> np.ndarray:
        """Global dofs of facets, ``(f, nloc_facet * n_components)`` (interleaved components)."""
        nodes = self.facet_nodes(facets)
        c = self.n_components
        if c == 1:
            return nodes
        return (c * nodes[:, :, None] + np.arange(c)).reshape(len(nodes), -1)

    def boundary_nodes(self, tag=None) -> np.ndarray:
        """Sorted scalar nodes on the boundary (or on boundary tag(s) ``tag``); ``(p,)`` int64.

        Raises
        ------
        KeyError / ValueError
            ``tag`` is unknown to the mesh (the mesh's error lists the known tags).
        """
        facets = self.mesh.boundary_facets(tag)
        return np.unique(self.facet_nodes(facets))

    def boundary_dofs(self, tag=None, *, component: int | None = None) -> np.ndarray:
        """Sorted global dofs on the boundary (or ``tag``), all components or only ``component``."""
        nodes = self.boundary_nodes(tag)
        c = self.n_components
        if component is None:
            return (c * nodes[:, None] + np.arange(c)).ravel()
        if not 0 <= int(component) < c:
            raise ValueError(f"component must be in [0, {c}); got {component}")
        return c * nodes + int(component)
