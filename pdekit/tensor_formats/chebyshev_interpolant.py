"""Tensor-product Chebyshev interpolation of a function on a box, in any dimension."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .._validation import check_finite
from ._checks import check_tol
from ._sampling import adaptive_coefficients, values_to_coefficients_nd, warn_if_unconverged
from .chebyshev import (chebyshev_points, check_box, clenshaw, derivative_coefficients,
                        integral_weights, to_unit, vandermonde)

__all__ = ["ChebyshevInterpolant", "check_points", "max_degrees"]


def check_points(points: Any, box: np.ndarray) -> np.ndarray:
    """Points as an ``(n, d)`` float array inside ``box`` (up to round-off)."""
    p = check_finite("points", np.asarray(points, dtype=np.float64))
    d = box.shape[0]
    if p.ndim == 1 and d == 1:
        p = p[:, None]
    if p.ndim != 2 or p.shape[1] != d:
        raise ValueError(f"points must have shape (n, {d}) for a {d}-dimensional box; got {p.shape}")
    slack = 1e-12 * (box[:, 1] - box[:, 0])
    outside = (p < box[:, 0] - slack) | (p > box[:, 1] + slack)
    if outside.any():
        i, m = np.argwhere(outside)[0]
        raise ValueError(f"point {i} = {p[i].tolist()} lies outside the box on side {m} "
                         f"[{box[m, 0]}, {box[m, 1]}]")
    return p


def max_degrees(max_degree: Any, d: int) -> list[int]:
    """One maximal degree per mode, each >= 1."""
    md = [int(max_degree)] * d if np.ndim(max_degree) == 0 else [int(m) for m in max_degree]
    if len(md) != d or min(md) < 1:
        raise ValueError(f"max_degree must be an int >= 1 or {d} of them; got {max_degree!r}")
    return md


class ChebyshevInterpolant:
    """``f(x) ~ sum_k C[k_0, ..., k_{d-1}] T_{k_0}(t_0) ... T_{k_{d-1}}(t_{d-1})`` on a box.

    ``t_m`` is ``x_m`` mapped affinely from ``[low_m, high_m]`` onto ``[-1, 1]``.

    Parameters
    ----------
    coefficients : (n_0 + 1, ..., n_{d-1} + 1) array
    box : (d, 2) array of (low, high)

    Attributes
    ----------
    coefficients, box
    converged : list of bool
        Per mode, whether the coefficient tail fell below the tolerance (adaptive build).
    tails : list of float
        Per mode, relative size of the largest discarded coefficient.
    """

    def __init__(self, coefficients: np.ndarray, box: Any) -> None:
        self.box = check_box(box)
        c = np.asarray(coefficients, dtype=np.float64)
        if c.ndim != self.box.shape[0]:
            raise ValueError(f"a {self.box.shape[0]}-dimensional box needs a coefficient tensor with "
                             f"{self.box.shape[0]} modes; got shape {c.shape}")
        self.coefficients = c
        self.converged = [True] * c.ndim
        self.tails = [0.0] * c.ndim

    @classmethod
    def from_function(cls, f: Callable[[np.ndarray], Any], box: Any, *, tol: float = 1e-10,
                      max_degree: Any = 256, degrees: Sequence[int] | None = None
                      ) -> "ChebyshevInterpolant":
        """Interpolate ``f`` at tensor Chebyshev points, choosing the degree per mode adaptively.

        Parameters
        ----------
        f : callable
            ``f(points)`` with points of shape ``(n, d)`` returns ``n`` finite values.
        box : sequence of d (low, high) pairs
        tol : float in (0, 1)
            Relative accuracy: the coefficient tail of every mode must fall below ``tol / 20``
            times the largest coefficient (so that the many discarded terms add up to about
            ``tol``).
        max_degree : int or sequence of d ints
            Largest degree tried per mode; a mode still unresolved there is flagged in
            ``converged``.
        degrees : sequence of d ints, optional
            Fixed degrees (no adaptivity).
        """
        box = check_box(box)
        tol = check_tol(tol)
        c, conv, tails = adaptive_coefficients(f, box, tol=tol, degrees=degrees,
                                               max_degree=max_degrees(max_degree, box.shape[0]))
        out = cls(c, box)
        out.converged, out.tails = conv, tails
        warn_if_unconverged("Chebyshev interpolation", conv, tails, tol,
                            max_degrees(max_degree, box.shape[0]))
        return out

    @classmethod
    def from_values(cls, values: np.ndarray, box: Any) -> "ChebyshevInterpolant":
        """Interpolant through values given at the tensor Chebyshev points of ``box``."""
        values = check_finite("values", np.asarray(values, dtype=np.float64))
        return cls(values_to_coefficients_nd(values), box)

    @property
    def ndim(self) -> int:
        return self.coefficients.ndim

    @property
    def degrees(self) -> tuple[int, ...]:
        """Polynomial degree per mode."""
        return tuple(n - 1 for n in self.coefficients.shape)

    def __repr__(self) -> str:
        return (f"ChebyshevInterpolant(box={self.box.tolist()}, degrees={self.degrees}, "
                f"converged={all(self.converged)})")

    def points(self) -> list[np.ndarray]:
        """The Chebyshev points of each mode, in box coordinates."""
        return [chebyshev_points(n, self.box[m]) for m, n in enumerate(self.degrees)]

    def evaluate(self, points: Any) -> np.ndarray:
        """Values at arbitrary points, shape (n, d) -> (n,), by Clenshaw mode after mode."""
        p = check_points(points, self.box)
        t = [to_unit(p[:, m], *self.box[m]) for m in range(self.ndim)]
        out = np.empty(len(p))
        chunk = max(1, (1 << 22) // max(1, self.coefficients.size // self.coefficients.shape[0]))
        for s in range(0, len(p), chunk):
            sl = slice(s, s + chunk)
            # last mode with coefficients shared by all points -> (b, n_0, ..., n_{d-2}),
            # then each earlier mode with per-point coefficients
            c = clenshaw(self.coefficients, t[-1][sl].reshape((-1,) + (1,) * (self.ndim - 1)),
                         axis=self.ndim - 1)
            for m in range(self.ndim - 2, -1, -1):
                c = clenshaw(c, t[m][sl].reshape((-1,) + (1,) * m), axis=m + 1)
            out[sl] = c
        return out

    def on_grid(self, grids: Sequence[np.ndarray]) -> np.ndarray:
        """Values on the tensor grid ``grids[0] x ... x grids[d-1]`` by mode products."""
        if len(grids) != self.ndim:
            raise ValueError(f"give one grid per mode ({self.ndim}); got {len(grids)}")
        out = self.coefficients
        for m, g in enumerate(grids):
            v = vandermonde(to_unit(check_points(np.asarray(g)[:, None], self.box[m:m + 1])[:, 0],
                                    *self.box[m]), self.degrees[m])
            out = np.moveaxis(np.tensordot(v, out, axes=(1, m)), 0, m)
        return out

    def derivative(self, axis: int, order: int = 1) -> "ChebyshevInterpolant":
        """The interpolant of the partial derivative of order ``order`` along ``axis``."""
        if not 0 <= axis < self.ndim:
            raise ValueError(f"axis must be in [0, {self.ndim}); got {axis}")
        c = self.coefficients
        scale = 2.0 / (self.box[axis, 1] - self.box[axis, 0])
        for _ in range(int(order)):
            c = derivative_coefficients(c, axis=axis) * scale
        return ChebyshevInterpolant(c, self.box)

    def integrate(self) -> float:
        """Integral over the box."""
        out = self.coefficients
        for m in range(self.ndim - 1, -1, -1):
            w = integral_weights(self.degrees[m]) * 0.5 * (self.box[m, 1] - self.box[m, 0])
            out = np.tensordot(out, w, axes=(m, 0))
        return float(out)

