"""Quadrature rules on the reference simplices (interval, triangle, tetrahedron).

Reference cells: the interval ``[0, 1]``, the triangle with vertices ``(0,0), (1,0), (0,1)``
and the tetrahedron with vertices ``(0,0,0), (1,0,0), (0,1,0), (0,0,1)``. Weights sum to the
measure of the reference cell (1, 1/2, 1/6).

Low degrees use symmetric rules with positive weights and interior points: the centroid
(degree 1), the 3-point rule (degree 2) and Radon's 7-point rule (degree 5) on triangles, the
4-point rule (degree 2) on tetrahedra. Any other degree uses a collapsed (Duffy) product of
Gauss–Jacobi rules, exact for every polynomial of total degree ``<= degree``.

Examples
--------
>>> q = quadrature_rule("triangle", 2)
>>> q.points.shape, round(float(q.weights.sum()), 12)
((3, 2), 0.5)
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy.special import roots_jacobi

from pdekit._validation import check_choice

__all__ = ["QuadratureRule", "quadrature_rule", "REFERENCE_MEASURE"]

#: measure of each reference cell
REFERENCE_MEASURE = {"line": 1.0, "triangle": 0.5, "tetra": 1.0 / 6.0}
_DIM = {"line": 1, "triangle": 2, "tetra": 3}


@dataclasses.dataclass(frozen=True)
class QuadratureRule:
    """Points and weights of a rule on a reference cell.

    Attributes
    ----------
    cell_type : str
        ``"line"``, ``"triangle"`` or ``"tetra"``.
    degree : int
        Every polynomial of total degree ``<= degree`` is integrated exactly.
    points : (nq, d) float array
        Points in reference coordinates.
    weights : (nq,) float array
        Weights, summing to the measure of the reference cell.
    """

    cell_type: str
    degree: int
    points: np.ndarray
    weights: np.ndarray

    @property
    def n_points(self) -> int:
        """Number of points ``nq``."""
        return self.weights.shape[0]


def _gauss_jacobi01(n: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """n-point Gauss–Jacobi rule on [0, 1] for the weight (1 - u)^alpha."""
    t, w = roots_jacobi(n, alpha, 0.0)
    return (1.0 + t) / 2.0, w / 2.0 ** (alpha + 1.0)


def _collapsed(dim: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Collapsed Gauss–Jacobi product rule on the reference simplex of dimension ``dim``."""
    n = max(1, math.ceil((degree + 1) / 2))
    if dim == 1:
        u, w = _gauss_jacobi01(n, 0.0)
        return u[:, None], w
    if dim == 2:
        # x = u, y = v (1 - u), dx dy = (1 - u) du dv
        u, wu = _gauss_jacobi01(n, 1.0)
        v, wv = _gauss_jacobi01(n, 0.0)
        U, V = np.meshgrid(u, v, indexing="ij")
        W = np.outer(wu, wv)
        pts = np.stack([U, V * (1.0 - U)], axis=-1).reshape(-1, 2)
        return pts, W.ravel()
    # x = u, y = v (1 - u), z = w (1 - u)(1 - v), dx dy dz = (1 - u)^2 (1 - v) du dv dw
    u, wu = _gauss_jacobi01(n, 2.0)
    v, wv = _gauss_jacobi01(n, 1.0)
    s, ws = _gauss_jacobi01(n, 0.0)
    U, V, S = np.meshgrid(u, v, s, indexing="ij")
    W = wu[:, None, None] * wv[None, :, None] * ws[None, None, :]
    pts = np.stack([U, V * (1.0 - U), S * (1.0 - U) * (1.0 - V)], axis=-1).reshape(-1, 3)
    return pts, W.ravel()


def _triangle_symmetric(degree: int) -> tuple[np.ndarray, np.ndarray] | None:
    if degree <= 1:
        return np.array([[1.0 / 3.0, 1.0 / 3.0]]), np.array([0.5])
    if degree == 2:
        pts = np.array([[1 / 6, 1 / 6], [2 / 3, 1 / 6], [1 / 6, 2 / 3]])
        return pts, np.full(3, 1.0 / 6.0)
    if degree in (4, 5):
        # Radon's 7-point rule (degree 5), closed form.
        r15 = math.sqrt(15.0)
        a, b = (6.0 - r15) / 21.0, (6.0 + r15) / 21.0
        wa, wb = (155.0 - r15) / 1200.0, (155.0 + r15) / 1200.0
        pts = [[1 / 3, 1 / 3]]
        for c in (a, b):
            pts += [[c, c], [1 - 2 * c, c], [c, 1 - 2 * c]]
        w = [9.0 / 40.0] + [wa] * 3 + [wb] * 3
        return np.array(pts), 0.5 * np.array(w)
    return None


def _tetra_symmetric(degree: int) -> tuple[np.ndarray, np.ndarray] | None:
    if degree <= 1:
        return np.array([[0.25, 0.25, 0.25]]), np.array([1.0 / 6.0])
    if degree == 2:
        a = (5.0 - math.sqrt(5.0)) / 20.0
        b = 1.0 - 3.0 * a
        pts = np.array([[a, a, a], [b, a, a], [a, b, a], [a, a, b]])
        return pts, np.full(4, 1.0 / 24.0)
    return None


@functools.lru_cache(maxsize=None)
def quadrature_rule(cell_type: str, degree: int) -> QuadratureRule:
    """Return a rule on the reference ``cell_type`` exact for total degree ``<= degree``.

    Parameters
    ----------
    cell_type : {"line", "triangle", "tetra"}
        Reference cell.
    degree : int
        Polynomial degree to integrate exactly (``>= 0``).

    Returns
    -------
    QuadratureRule
        Read-only points ``(nq, d)`` and weights ``(nq,)``.
    """
    check_choice("cell_type", cell_type, _DIM)
    if not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ValueError(f"quadrature degree must be an integer >= 0; got {degree!r}")
    degree = int(degree)
    rule = None
    if cell_type == "triangle":
        rule = _triangle_symmetric(degree)
    elif cell_type == "tetra":
        rule = _tetra_symmetric(degree)
    if rule is None:
        rule = _collapsed(_DIM[cell_type], degree)
    pts, w = (np.ascontiguousarray(a, dtype=np.float64) for a in rule)
    pts.flags.writeable = False
    w.flags.writeable = False
    return QuadratureRule(cell_type, degree, pts, w)
