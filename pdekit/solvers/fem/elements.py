"""Lagrange P1 and P2 elements on the reference interval, triangle and tetrahedron.

Local numbering follows VTK / meshio (``line3``, ``triangle6``, ``tetra10``): the vertices
first, then one node per edge, in the order of :data:`REFERENCE_EDGES`. The basis is written
in barycentric coordinates ``lambda_0 = 1 - sum(x)``, ``lambda_i = x_(i-1)``:

* P1: ``phi_i = lambda_i``;
* P2: ``phi_i = lambda_i (2 lambda_i - 1)`` at vertices, ``phi_ij = 4 lambda_i lambda_j`` on
  the edge ``(i, j)``.

Examples
--------
>>> el = lagrange_element("triangle", 2)
>>> el.n_local, (el.values(el.nodes).round(12) + 0.0).tolist()[3]
(6, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from pdekit._validation import check_choice

__all__ = ["LagrangeElement", "lagrange_element", "REFERENCE_VERTICES", "REFERENCE_EDGES"]

#: vertices of the reference cells, ``(n_vertices, d)``
REFERENCE_VERTICES = {
    "line": np.array([[0.0], [1.0]]),
    "triangle": np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
    "tetra": np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
}
#: local edges (pairs of local vertices) carrying the P2 edge nodes, in VTK order
REFERENCE_EDGES = {
    "line": np.array([[0, 1]]),
    "triangle": np.array([[0, 1], [1, 2], [0, 2]]),
    "tetra": np.array([[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]]),
}
#: the cell type of the facets of each cell type
FACET_TYPE = {"triangle": "line", "tetra": "triangle"}


def _barycentric(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric coordinates ``(nq, d+1)`` at ``x (nq, d)`` and their gradients ``(d+1, d)``."""
    d = x.shape[1]
    lam = np.concatenate([1.0 - x.sum(axis=1, keepdims=True), x], axis=1)
    dlam = np.concatenate([-np.ones((1, d)), np.eye(d)], axis=0)
    return lam, dlam


@dataclasses.dataclass(frozen=True)
class LagrangeElement:
    """A scalar Lagrange element on a reference simplex.

    Attributes
    ----------
    cell_type : str
        ``"line"``, ``"triangle"`` or ``"tetra"``.
    degree : int
        1 or 2.
    """

    cell_type: str
    degree: int

    @property
    def dim(self) -> int:
        """Topological dimension ``d`` of the reference cell."""
        return REFERENCE_VERTICES[self.cell_type].shape[1]

    @property
    def n_vertices(self) -> int:
        """Vertices of the cell (``d + 1``)."""
        return self.dim + 1

    @property
    def n_local(self) -> int:
        """Number of local basis functions ``nloc``."""
        n = self.n_vertices
        return n if self.degree == 1 else n + len(REFERENCE_EDGES[self.cell_type])

    @property
    def nodes(self) -> np.ndarray:
        """Reference coordinates of the local nodes, ``(nloc, d)``."""
        v = REFERENCE_VERTICES[self.cell_type]
        if self.degree == 1:
            return v.copy()
        e = REFERENCE_EDGES[self.cell_type]
        return np.concatenate([v, 0.5 * (v[e[:, 0]] + v[e[:, 1]])], axis=0)

    def values(self, x: np.ndarray) -> np.ndarray:
        """Basis functions at reference points.

        Parameters
        ----------
        x : (nq, d) float array
            Reference coordinates.

        Returns
        -------
        (nq, nloc) float array
        """
        lam, _ = _barycentric(np.atleast_2d(np.asarray(x, dtype=np.float64)))
        if self.degree == 1:
            return lam
        e = REFERENCE_EDGES[self.cell_type]
        vert = lam * (2.0 * lam - 1.0)
        edge = 4.0 * lam[:, e[:, 0]] * lam[:, e[:, 1]]
        return np.concatenate([vert, edge], axis=1)

    def gradients(self, x: np.ndarray) -> np.ndarray:
        """Reference gradients of the basis functions.

        Parameters
        ----------
        x : (nq, d) float array
            Reference coordinates.

        Returns
        -------
        (nq, nloc, d) float array
        """
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        lam, dlam = _barycentric(x)
        nq = x.shape[0]
        if self.degree == 1:
            return np.broadcast_to(dlam, (nq,) + dlam.shape).copy()
        e = REFERENCE_EDGES[self.cell_type]
        vert = (4.0 * lam - 1.0)[:, :, None] * dlam[None, :, :]
        i, j = e[:, 0], e[:, 1]
        edge = 4.0 * (lam[:, j, None] * dlam[None, i, :] + lam[:, i, None] * dlam[None, j, :])
        return np.concatenate([vert, edge], axis=1)


@functools.lru_cache(maxsize=None)
def lagrange_element(cell_type: str, degree: int) -> LagrangeElement:
    """Return the Lagrange element of ``degree`` (1 or 2) on ``cell_type``."""
    check_choice("cell_type", cell_type, REFERENCE_VERTICES)
    if degree not in (1, 2):
        raise ValueError(f"Lagrange degree must be 1 or 2; got {degree!r}")
    return LagrangeElement(cell_type, int(degree))
