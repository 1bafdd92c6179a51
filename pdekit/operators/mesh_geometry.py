"""The discretised domain a mesh operator reads: points, quadrature weights, cached neighbourhoods.

A graph neural operator approximates integrals ``int k(x, y) f(y) dy`` by sums over the mesh
points ``y_j`` with quadrature weights ``w_j``; with the weights of the mesh (the measure of
each vertex's dual cell, :func:`pdekit.meshes.vertex_volumes`) the sums converge to the
integral as the mesh is refined, so a model does not depend on how densely a mesh samples
the domain. :class:`MeshGeometry` holds the points and weights of one mesh, and caches what
models compute from them once (neighbourhood lists, kernel inputs, tensors on each device),
so a model re-bound to a mesh it has seen does no search again.

Examples
--------
>>> from pdekit import meshes
>>> g = MeshGeometry.from_mesh(meshes.unit_square(4))
>>> g.n_points, g.dim, round(float(g.weights.sum()), 12)
(25, 2, 1.0)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import torch
from scipy.spatial import cKDTree

from pdekit.operators.neighborhoods import _as_points

__all__ = ["MeshGeometry", "as_geometry"]


class MeshGeometry:
    """Points of a discretised domain with their quadrature weights, and a cache of derived data.

    Parameters
    ----------
    points : (n, d) array
        Coordinates, ``d`` = 1, 2 or 3.
    weights : (n,) array
        Non-negative quadrature weight of every point (for mesh vertices: the measure of
        their dual cells, see :meth:`from_mesh`).

    Attributes
    ----------
    points : (n, d) float64, read-only
    weights : (n,) float64, read-only
    key : str
        A digest of points and weights: two geometries with the same key are the same.
    """

    def __init__(self, points, weights) -> None:
        points = _as_points("points", points).copy()
        if isinstance(weights, torch.Tensor):
            weights = weights.detach().cpu().numpy()
        weights = np.array(weights, dtype=np.float64)
        if weights.shape != (len(points),):
            raise ValueError(f"weights must have shape ({len(points)},), one per point; got {weights.shape}")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError("quadrature weights must be finite and non-negative")
        if len(points) == 0:
            raise ValueError("a geometry needs at least one point; got 0")
        points.flags.writeable = False
        weights.flags.writeable = False
        self.points, self.weights = points, weights
        digest = hashlib.blake2b(digest_size=16)
        digest.update(np.asarray(points.shape, dtype=np.int64).tobytes())
        digest.update(points.tobytes())
        digest.update(weights.tobytes())
        self.key = digest.hexdigest()
        self._cache: dict[Any, Any] = {}

    @classmethod
    def from_mesh(cls, mesh=None, *, points=None, cells=None) -> "MeshGeometry":
        """The vertices of a simplicial mesh, weighted by their dual-cell measures.

        Parameters
        ----------
        mesh : pdekit.meshes.Mesh or anything with ``points`` and ``cells``, optional
        points : (n, d) array, optional
            With ``cells``, instead of ``mesh``.
        cells : (m, d+1) int array, optional

        Raises
        ------
        ValueError
            A mesh without cells (its points have no quadrature weights), or cells that are
            not simplices of the points.
        """
        from pdekit.meshes.geometry import vertex_volumes

        if mesh is not None:
            if points is not None or cells is not None:
                raise TypeError("give a mesh, or points and cells, not both")
            if not (hasattr(mesh, "points") and hasattr(mesh, "cells")):
                raise TypeError(f"expected a mesh with points and cells; got {type(mesh).__name__}")
            points, cells = mesh.points, mesh.cells
        if points is None or cells is None:
            raise ValueError("a mesh geometry needs the mesh's points and cells")
        points = _as_points("mesh points", points)
        return cls(points, vertex_volumes(points, np.asarray(cells)))

    # ------------------------------------------------------------------ basics
    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    @property
    def measure(self) -> float:
        """Sum of the weights: the measure of the domain."""
        return float(self.weights.sum())

    def __repr__(self) -> str:
        return f"MeshGeometry(n_points={self.n_points}, dim={self.dim}, measure={self.measure:.6g})"

    # ------------------------------------------------------------------ cache
    @property
    def tree(self) -> cKDTree:
        """A k-d tree over the points (built on first use)."""
        return self.cached("tree", lambda: cKDTree(self.points))

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """``build()`` the first time ``key`` is asked for; the stored value afterwards."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def tensor(self, name: str, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
        """``points`` or ``weights`` as a tensor on ``device`` (cached)."""
        if name not in ("points", "weights"):
            raise ValueError(f"unknown geometry array {name!r}; expected 'points' or 'weights'")
        return self.cached((name, torch.device(device), dtype),
                           lambda: torch.tensor(getattr(self, name), dtype=dtype, device=device))


def as_geometry(points, weights=None, *, cache: "OrderedDict[str, MeshGeometry] | None" = None,
                max_cached: int = 8) -> MeshGeometry:
    """A :class:`MeshGeometry` from a geometry, a mesh, or points with weights.

    Parameters
    ----------
    points : MeshGeometry, Mesh (anything with ``points`` and ``cells``), or (n, d) array
    weights : (n,) array, optional
        Required with raw points (for mesh vertices, :func:`pdekit.meshes.vertex_volumes`).
    cache : OrderedDict, optional
        Geometries made before, by key: a geometry equal to one of them is taken from there
        (with its neighbourhoods), and the least recently used beyond ``max_cached`` is dropped.
    """
    if isinstance(points, MeshGeometry):
        if weights is not None:
            raise TypeError("a MeshGeometry carries its weights; do not pass weights with it")
        geometry = points
    elif hasattr(points, "points") and hasattr(points, "cells"):
        if weights is not None:
            raise TypeError("a mesh's weights come from its cells; do not pass weights with a mesh")
        geometry = MeshGeometry.from_mesh(points)
    else:
        if weights is None:
            raise ValueError("points need their quadrature weights: pass weights=(n,) (for mesh vertices "
                             "pdekit.meshes.vertex_volumes(points, cells)), a Mesh or a MeshGeometry")
        geometry = MeshGeometry(points, weights)
    if cache is None:
        return geometry
    if geometry.key in cache:
        cache.move_to_end(geometry.key)
        return cache[geometry.key]
    cache[geometry.key] = geometry
    while len(cache) > max_cached:
        cache.popitem(last=False)
    return geometry
