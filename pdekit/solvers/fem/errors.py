"""Error norms of finite-element functions against exact solutions.

``||u - u_h||_L2`` and ``||u - u_h||_H1`` (or the H1 seminorm) are integrated cell by cell
with a rule of degree ``2 p + 3`` by default, high enough that quadrature error is far below
discretisation error for smooth ``u``.

Examples
--------
>>> import numpy as np
>>> from pdekit.meshes import unit_square
>>> from pdekit.solvers.fem import function_space, interpolate
>>> uh = interpolate(function_space(unit_square(4), 1), lambda x: x[0] + 2 * x[1])
>>> float(error_norm(uh, lambda x: x[0] + 2 * x[1])) < 1e-14
True
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pdekit._validation import check_choice

from .function import FEFunction

__all__ = ["error_norm"]


def _eval(f: Callable, x: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    val = np.asarray(f(np.ascontiguousarray(x.T)), dtype=np.float64)
    n = x.shape[0]
    if val.ndim == 0:
        val = np.full(shape + (n,), float(val))
    if val.shape != shape + (n,):
        raise ValueError(f"{name}(x) must return shape {shape + (n,)} for x of shape {x.T.shape}; "
                         f"got {val.shape}")
    return np.moveaxis(val, -1, 0)


def error_norm(uh: FEFunction, exact: Callable[[np.ndarray], np.ndarray], norm: str = "L2", *,
               grad: Callable[[np.ndarray], np.ndarray] | None = None,
               quadrature_degree: int | None = None) -> float:
    """Norm of ``exact - uh`` over the mesh.

    Parameters
    ----------
    uh : FEFunction
    exact : callable
        ``exact(x)`` with ``x (d, n)`` returning ``(n,)`` (scalar) or ``(c, n)`` (vector).
    norm : {"L2", "H1", "H1-semi"}
        ``H1`` is the full norm ``sqrt(||e||_L2^2 + ||grad e||_L2^2)``.
    grad : callable, optional
        Gradient of ``exact``: ``(d, n)`` for scalars, ``(c, d, n)`` for vectors; required for
        the H1 norms.
    quadrature_degree : int, optional
        Default ``2 p + 3``.

    Returns
    -------
    float
    """
    check_choice("norm", norm, ("L2", "H1", "H1-semi"))
    space = uh.space
    if norm != "L2" and grad is None:
        raise ValueError(f"norm={norm!r} needs the gradient of the exact solution: pass grad=")
    rule = space.quadrature(quadrature_degree if quadrature_degree is not None else 2 * space.degree + 3)
    m, nq, d, c = space.n_cells, rule.n_points, space.dim, space.n_components
    x = space.quadrature_points(rule).reshape(-1, d)
    wdet = space.geometry.det[:, None] * rule.weights[None, :]
    comp = () if c == 1 else (c,)
    total = 0.0
    if norm in ("L2", "H1"):
        e = _eval(exact, x, comp, "exact").reshape((m, nq) + comp) - uh.at_quadrature(rule)
        sq = e**2 if c == 1 else (e**2).sum(-1)
        total += float((sq * wdet).sum())
    if norm in ("H1", "H1-semi"):
        ge = _eval(grad, x, comp + (d,), "grad").reshape((m, nq) + comp + (d,))
        ge = ge - uh.gradient_at_quadrature(rule)
        sq = (ge**2).reshape(m, nq, -1).sum(-1)
        total += float((sq * wdet).sum())
    return float(np.sqrt(total))
