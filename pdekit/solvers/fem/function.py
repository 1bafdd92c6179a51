"""Finite-element functions and coefficients evaluated at quadrature points.

A coefficient or right-hand side may be given as

* a number;
* a callable of the coordinates, ``f(x)`` with ``x`` of shape ``(d, n)``, returning ``(n,)``
  (or ``(c, n)`` for vector data);
* an array ``(m,)``: one value per cell;
* an array ``(m, nq)``: one value per cell and quadrature point of the form's rule;
* an array ``(n_nodes,)`` of nodal values in the space, or an :class:`FEFunction`.

:func:`at_quadrature` turns any of them into a number, ``(m,)`` or ``(m, nq)`` and rejects
wrong lengths and NaN with an error that says what was expected.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Union

import numpy as np

from pdekit._validation import check_finite

from .quadrature import QuadratureRule

__all__ = ["FEFunction", "interpolate", "at_quadrature", "Coefficient"]

Coefficient = Union[float, np.ndarray, Callable[[np.ndarray], np.ndarray], "FEFunction"]


@dataclasses.dataclass
class FEFunction:
    """A function of a finite-element space.

    Attributes
    ----------
    space : FunctionSpace
    values : (n_dofs,) float array
        Degrees of freedom: nodal values (interleaved components for vector spaces).
    info : object, optional
        What the solver that produced it reports (e.g. a ``SolveInfo``); None otherwise.
    """

    space: object
    values: np.ndarray
    info: object = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.shape != (self.space.n_dofs,):
            raise ValueError(f"values must have shape ({self.space.n_dofs},); got {self.values.shape}")

    @property
    def mesh(self):
        return self.space.mesh

    def nodal_values(self) -> np.ndarray:
        """Values at the scalar nodes: ``(n_nodes,)``, or ``(n_nodes, c)`` for vector spaces."""
        c = self.space.n_components
        return self.values if c == 1 else self.values.reshape(-1, c)

    def point_values(self) -> np.ndarray:
        """Values at the mesh vertices: ``(n_points,)`` or ``(n_points, c)``."""
        return self.nodal_values()[: self.space.dofmap.n_points]

    def _local(self) -> np.ndarray:
        """Local nodal values ``(m, nloc, c)``."""
        c = self.space.n_components
        return self.nodal_values().reshape(-1, c)[self.space.dofmap.cell_nodes]

    def at_quadrature(self, rule: QuadratureRule) -> np.ndarray:
        """Values at quadrature points: ``(m, nq)`` scalar, ``(m, nq, c)`` vector."""
        out = np.einsum("qa,cak->cqk", self.space.basis_values(rule), self._local())
        return out[..., 0] if self.space.n_components == 1 else out

    def gradient_at_quadrature(self, rule: QuadratureRule) -> np.ndarray:
        """Gradients at quadrature points: ``(m, nq, d)`` scalar, ``(m, nq, c, d)`` vector."""
        g = self.space.gradients(rule)  # (nq or 1, nloc, d, m)
        out = np.einsum("qaie,eak->eqki", g, self._local(), optimize=True)
        if out.shape[1] == 1 and rule.n_points > 1:
            out = np.broadcast_to(out, (out.shape[0], rule.n_points) + out.shape[2:])
        return out[:, :, 0, :] if self.space.n_components == 1 else out


def _call(f: Callable, x: np.ndarray, name: str, comps: int) -> np.ndarray:
    """Evaluate ``f`` at points ``x (N, d)``; returns ``(N,)`` or ``(N, comps)``."""
    val = np.asarray(f(np.ascontiguousarray(x.T)), dtype=np.float64)
    n = x.shape[0]
    if comps == 1:
        if val.ndim == 0:
            val = np.full(n, float(val))
        if val.shape != (n,):
            raise ValueError(f"{name}(x) must return shape ({n},) for x of shape {x.T.shape}; "
                             f"got {val.shape}")
    else:
        if val.shape != (comps, n):
            raise ValueError(f"{name}(x) must return shape ({comps}, {n}) for x of shape "
                             f"{x.T.shape}; got {val.shape}")
        val = val.T
    return check_finite(f"{name}(x)", val)


def interpolate(space, f: Coefficient, *, name: str = "f") -> FEFunction:
    """Nodal interpolant of ``f`` in ``space``.

    Parameters
    ----------
    space : FunctionSpace
    f : number, callable ``f(x)`` with ``x (d, n)``, or array ``(n_dofs,)``
        Vector spaces expect ``f(x)`` of shape ``(c, n)``, or a length-``c`` constant.

    Returns
    -------
    FEFunction
    """
    c = space.n_components
    if callable(f) and not isinstance(f, FEFunction):
        vals = _call(f, space.dofmap.node_coordinates, name, c)
        return FEFunction(space, vals.reshape(-1))
    if isinstance(f, FEFunction):
        if f.space is not space:
            raise ValueError(f"{name} lives on another space; interpolate its callable instead")
        return FEFunction(space, f.values.copy())
    arr = check_finite(name, np.asarray(f, dtype=np.float64))
    if arr.ndim == 0 or (c > 1 and arr.shape == (c,)):
        return FEFunction(space, np.tile(np.broadcast_to(arr, (c,)), space.dofmap.n_nodes))
    if arr.shape != (space.n_dofs,):
        raise ValueError(f"{name} must be a number, a callable or an array of shape "
                         f"({space.n_dofs},) (one value per dof); got shape {arr.shape}")
    return FEFunction(space, arr.copy())


def at_quadrature(space, f: Coefficient, rule: QuadratureRule, *, name: str = "coefficient",
                  positive: bool = False) -> float | np.ndarray:
    """Evaluate scalar data where a form needs it.

    Parameters
    ----------
    space : FunctionSpace
    f : number, callable, ``(m,)``, ``(m, nq)``, ``(n_nodes,)`` array or FEFunction
        See the module docstring. An array of length ``m`` is read as per-cell values.
    rule : QuadratureRule
    name : str
        Used in error messages.
    positive : bool
        Also require ``f > 0`` everywhere (diffusion coefficients, Lamé parameters).

    Returns
    -------
    float, (m,) or (m, nq) float array

    Raises
    ------
    ValueError
        Wrong shape, NaN / inf, or (with ``positive``) a non-positive value.
    """
    m, nq = space.n_cells, rule.n_points
    if isinstance(f, FEFunction):
        out = f.at_quadrature(rule)
    elif callable(f):
        x = space.quadrature_points(rule).reshape(-1, space.dim)
        out = _call(f, x, name, 1).reshape(m, nq)
    else:
        arr = np.asarray(f, dtype=np.float64)
        if arr.ndim == 0:
            out = float(arr)
        elif arr.shape == (m,) or arr.shape == (m, nq):
            out = arr
        elif arr.shape == (space.dofmap.n_nodes,):
            vals = check_finite(name, arr)
            out = np.einsum("qa,ca->cq", space.basis_values(rule), vals[space.dofmap.cell_nodes])
        else:
            raise ValueError(
                f"{name} has shape {arr.shape}; expected a number, ({m},) (one value per cell), "
                f"({m}, {nq}) (per cell and quadrature point), ({space.dofmap.n_nodes},) "
                "(nodal values) or a callable of x with shape (d, n)"
            )
    check_finite(name, out)
    if positive:
        bad = ~(np.asarray(out) > 0)
        if np.any(bad):
            raise ValueError(f"{name} must be positive everywhere; min({name}) = "
                             f"{float(np.min(out)):.6g} (found {int(np.sum(bad))} non-positive values)")
    return out
