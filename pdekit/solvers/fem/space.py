"""Function spaces: a mesh, a Lagrange element and everything assembly reuses.

A :class:`FunctionSpace` owns the dof map, the affine geometry of the cells, the sparsity
pattern with its scatter map, and the per-cell "unit" local matrices of the forms assembled
so far; all are computed on first use and kept. :func:`function_space` caches one space per
``(mesh, degree, n_components)``, so calling a solver thousands of times on the same mesh
(dataset generation) pays for the pattern once. Meshes are treated as immutable: build a new
mesh (e.g. ``mesh.with_points``) instead of editing ``mesh.points`` in place.

Examples
--------
>>> from pdekit.meshes import unit_square
>>> V = function_space(unit_square(4), 2)
>>> V.n_dofs, V is function_space(V.mesh, 2)
(81, True)
"""

from __future__ import annotations

import numpy as np

from .assembly import SparsityPattern
from .dofmap import DofMap
from .geometry import CellGeometry, cell_geometry
from .quadrature import QuadratureRule, quadrature_rule

__all__ = ["FunctionSpace", "function_space"]

#: attribute under which a mesh object carries its spaces (so they live and die with it)
_CACHE_ATTR = "_pdekit_fem_spaces"


class FunctionSpace:
    """Lagrange space of degree 1 or 2 on a triangle or tetrahedron mesh.

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
    degree : {1, 2}
    n_components : int
        1 (scalar) or the number of vector components (``mesh.dim`` for elasticity).

    Attributes
    ----------
    dofmap : DofMap
    element : LagrangeElement
        The scalar element (each component uses it).
    n_dofs : int
    """

    def __init__(self, mesh, degree: int = 1, *, n_components: int = 1) -> None:
        if getattr(mesh, "cell_type", None) not in ("triangle", "tetra"):
            raise ValueError(
                f"finite elements need a triangle or tetra mesh; got cell_type "
                f"{getattr(mesh, 'cell_type', None)!r}"
            )
        self.mesh = mesh
        self.dofmap = DofMap(mesh, degree, n_components=n_components)
        self.element = self.dofmap.element
        self.degree = self.dofmap.degree
        self.n_components = self.dofmap.n_components
        self.cache: dict = {}

    def __repr__(self) -> str:
        vec = f", n_components={self.n_components}" if self.n_components > 1 else ""
        return f"FunctionSpace(P{self.degree} on {self.mesh.cell_type}, n_dofs={self.n_dofs}{vec})"

    @property
    def dim(self) -> int:
        """Spatial dimension ``d``."""
        return int(self.mesh.points.shape[1])

    @property
    def n_dofs(self) -> int:
        """Global number of dofs."""
        return self.dofmap.n_dofs

    @property
    def n_cells(self) -> int:
        return int(self.mesh.cells.shape[0])

    @property
    def geometry(self) -> CellGeometry:
        """Affine maps of all cells (checked: no inverted or degenerate cell)."""
        if "geometry" not in self.cache:
            self.cache["geometry"] = cell_geometry(self.mesh.points, self.mesh.cells)
        return self.cache["geometry"]

    @property
    def pattern(self) -> SparsityPattern:
        """Sparsity pattern and scatter map of matrices on this space."""
        if "pattern" not in self.cache:
            self.cache["pattern"] = SparsityPattern(self.dofmap.cell_dofs, self.n_dofs)
        return self.cache["pattern"]

    def quadrature(self, degree: int) -> QuadratureRule:
        """Quadrature rule on this space's reference cell."""
        return quadrature_rule(self.mesh.cell_type, degree)

    def basis_values(self, rule: QuadratureRule) -> np.ndarray:
        """Scalar basis at the rule's points, ``(nq, nloc)``."""
        return self.element.values(rule.points)

    def gradients(self, rule: QuadratureRule | None = None) -> np.ndarray:
        """Physical gradients of the scalar basis, cell-last.

        Parameters
        ----------
        rule : QuadratureRule, optional
            Needed for P2 (gradients vary in the cell); ignored for P1.

        Returns
        -------
        (nq, nloc, d, m) float array
            ``nq = 1`` for P1, whose gradients are constant in each cell.
        """
        if self.degree == 1:
            key = ("grad", None)
            if key not in self.cache:
                inv_t = self.geometry.inv_t  # (d, d, m); grad lambda_(j+1) = column j of J^-T
                d, m = inv_t.shape[0], inv_t.shape[2]
                g = np.empty((1, self.element.n_local, d, m))
                g[0, 1:] = inv_t.transpose(1, 0, 2)
                g[0, 0] = -g[0, 1:].sum(axis=0)
                self.cache[key] = g
            return self.cache[key]
        if rule is None:
            raise ValueError("P2 gradients vary inside a cell; pass a quadrature rule")
        key = ("grad", rule.cell_type, rule.degree)
        if key not in self.cache:
            ref = self.element.gradients(rule.points)  # (nq, nloc, d)
            self.cache[key] = np.einsum("ijc,qaj->qaic", self.geometry.inv_t, ref, optimize=True)
        return self.cache[key]

    def quadrature_points(self, rule: QuadratureRule) -> np.ndarray:
        """Physical coordinates of the rule's points in every cell, ``(m, nq, d)``."""
        return self.geometry.map_points(rule.points)


def function_space(mesh, degree: int = 1, *, n_components: int = 1) -> FunctionSpace:
    """The cached :class:`FunctionSpace` of ``mesh`` (built on first request).

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
    degree : {1, 2}
    n_components : int

    Returns
    -------
    FunctionSpace
        The same object for the same mesh object and arguments, while the mesh lives.
    """
    store = getattr(mesh, "__dict__", None)
    if store is None:  # a mesh-like object without attributes: no caching
        return FunctionSpace(mesh, degree, n_components=n_components)
    per_mesh = store.setdefault(_CACHE_ATTR, {})
    key = (int(degree), int(n_components))
    if key not in per_mesh:
        per_mesh[key] = FunctionSpace(mesh, degree, n_components=n_components)
    return per_mesh[key]
