"""One-dimensional Chebyshev tools: points, DCT-I coefficients, Clenshaw, calculus, degree choice.

A degree-``n`` interpolant uses the ``n + 1`` Chebyshev points of the second kind
``x_j = -cos(pi j / n)`` (ascending, endpoints included; nested when ``n`` doubles). Its
coefficients in ``f(x) = sum_k c_k T_k(x)`` come from the values by one DCT-I. All
functions act along one axis of an array, so a whole coefficient tensor is handled at once.
Boxes ``[low, high]`` map affinely onto ``[-1, 1]``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.fft

__all__ = ["chebyshev_points", "values_to_coefficients", "coefficients_to_values", "clenshaw",
           "vandermonde", "derivative_coefficients", "integral_weights", "chop_degree",
           "check_box", "to_unit", "from_unit"]

_EPS = np.finfo(np.float64).eps


def chebyshev_points(n: int, interval: Sequence[float] = (-1.0, 1.0)) -> np.ndarray:
    """The ``n + 1`` Chebyshev points of the second kind on ``interval``, ascending.

    Examples
    --------
    >>> chebyshev_points(2)
    array([-1.,  0.,  1.])
    """
    if int(n) < 0:
        raise ValueError(f"degree must be >= 0; got {n}")
    n = int(n)
    x = np.zeros(1) if n == 0 else -np.cos(np.pi * np.arange(n + 1) / n)
    if n > 0:  # exact symmetry and zeros
        x = (x - x[::-1]) / 2
    return from_unit(x, *interval)


def values_to_coefficients(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Chebyshev coefficients from values at the points of :func:`chebyshev_points` (DCT-I).

    Parameters
    ----------
    values : (..., n + 1, ...) array
        Values along ``axis`` at the ``n + 1`` ascending Chebyshev points.

    Returns
    -------
    (..., n + 1, ...) array
        ``c_k`` along ``axis``.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[axis] - 1
    if n == 0:
        return values.copy()
    c = scipy.fft.dct(values, type=1, axis=axis) / n
    shape = [1] * values.ndim
    shape[axis] = n + 1
    scale = np.where(np.arange(n + 1) % 2 == 0, 1.0, -1.0)  # ascending points: (-1)^k
    scale[0] *= 0.5
    scale[-1] *= 0.5
    return c * scale.reshape(shape)


def coefficients_to_values(coeffs: np.ndarray, axis: int = 0) -> np.ndarray:
    """Inverse of :func:`values_to_coefficients`: values at the ascending Chebyshev points."""
    coeffs = np.asarray(coeffs, dtype=np.float64)
    n = coeffs.shape[axis] - 1
    if n == 0:
        return coeffs.copy()
    shape = [1] * coeffs.ndim
    shape[axis] = n + 1
    scale = np.where(np.arange(n + 1) % 2 == 0, 0.5, -0.5)
    scale[0] *= 2.0
    scale[-1] *= 2.0
    return scipy.fft.dct(coeffs * scale.reshape(shape), type=1, axis=axis)


def clenshaw(coeffs: np.ndarray, x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Evaluate ``sum_k c_k T_k(x)`` by Clenshaw's recurrence.

    Parameters
    ----------
    coeffs : array with the degree along ``axis``
    x : array broadcastable against ``coeffs`` with ``axis`` removed (points in [-1, 1])

    Returns
    -------
    array of the broadcast shape

    Examples
    --------
    >>> float(clenshaw(np.array([0.0, 0.0, 1.0]), np.array(0.5)))  # T_2(0.5) = 2 * 0.25 - 1
    -0.5
    """
    c = np.moveaxis(np.asarray(coeffs, dtype=np.float64), axis, 0)
    x = np.asarray(x, dtype=np.float64)
    b1 = np.zeros(np.broadcast_shapes(c.shape[1:], x.shape))
    b2 = np.zeros_like(b1)
    two_x = 2.0 * x
    for k in range(c.shape[0] - 1, 0, -1):
        b1, b2 = c[k] + two_x * b1 - b2, b1
    return c[0] + x * b1 - b2


def vandermonde(x: np.ndarray, n: int) -> np.ndarray:
    """``T_k(x_i)`` for ``k = 0..n``, shape ``(len(x), n + 1)``, by the three-term recurrence."""
    x = np.asarray(x, dtype=np.float64).ravel()
    v = np.empty((x.size, n + 1))
    v[:, 0] = 1.0
    if n >= 1:
        v[:, 1] = x
    for k in range(2, n + 1):
        v[:, k] = 2.0 * x * v[:, k - 1] - v[:, k - 2]
    return v


def derivative_coefficients(coeffs: np.ndarray, axis: int = 0) -> np.ndarray:
    """Coefficients of the derivative on [-1, 1] (one degree lower; degree 0 gives a zero constant)."""
    c = np.moveaxis(np.asarray(coeffs, dtype=np.float64), axis, 0)
    n = c.shape[0] - 1
    if n == 0:
        return np.moveaxis(np.zeros_like(c), 0, axis)
    d = np.zeros((n + 1,) + c.shape[1:])
    for k in range(n, 0, -1):  # d_{k-1} = d_{k+1} + 2 k c_k
        d[k - 1] = d[k + 1] + 2.0 * k * c[k] if k + 1 <= n else 2.0 * k * c[k]
    d[0] *= 0.5
    return np.moveaxis(d[:n], 0, axis)


def integral_weights(n: int) -> np.ndarray:
    """``w_k = integral of T_k over [-1, 1]``: ``2 / (1 - k^2)`` for even ``k``, 0 for odd."""
    k = np.arange(n + 1, dtype=np.float64)
    w = np.zeros(n + 1)
    even = k % 2 == 0
    w[even] = 2.0 / (1.0 - k[even] ** 2)
    return w


def chop_degree(envelope: np.ndarray, tol: float) -> tuple[int, bool, float]:
    """Degree at which a coefficient envelope has decayed below ``tol`` (the plateau test).

    Parameters
    ----------
    envelope : (n + 1,) array
        Largest magnitude of the coefficients of each degree, any scale.
    tol : float
        Relative level (to the largest coefficient) the tail must fall below.

    Returns
    -------
    degree : int
        Smallest degree whose discarded tail (all higher coefficients) is below the level.
    converged : bool
        True when the last eighth (at least 2) of the coefficients are all below ``tol``,
        or when they have flattened into a round-off plateau (a requested ``tol`` below
        what double precision resolves then counts as met at the plateau).
    tail : float
        Relative size of the largest coefficient beyond ``degree``.
    """
    e = np.abs(np.asarray(envelope, dtype=np.float64))
    top = e.max(initial=0.0)
    if top == 0.0:
        return 0, True, 0.0
    e = e / top
    n = e.size - 1
    tail_len = max(2, (n + 1) // 8)
    cmax = np.maximum.accumulate(e[::-1])[::-1]  # cmax[k] = max(e[k:])
    floor = cmax[n + 1 - tail_len]
    level = tol
    converged = n >= 2 and floor <= tol
    if not converged and n >= 16 and floor <= 1e3 * _EPS:
        # plateau: the tail no longer decays over the last two windows
        before = cmax[max(n + 1 - 2 * tail_len, 0)]
        if before <= 10.0 * floor:
            converged, level = True, 2.0 * floor
    if not converged:
        return n, False, float(floor)
    above = np.flatnonzero(cmax > level)
    degree = int(above[-1]) if above.size else 0
    return degree, True, float(cmax[degree + 1]) if degree + 1 <= n else 0.0


def check_box(box: Any) -> np.ndarray:
    """A box as a ``(d, 2)`` float array of (low, high) rows with high > low."""
    try:
        b = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"box must be a sequence of (low, high) pairs; got {box!r}") from None
    if b.ndim != 2 or b.shape[1] != 2 or b.shape[0] < 1:
        raise ValueError(f"box must be a sequence of d >= 1 (low, high) pairs, shape (d, 2); got "
                         f"shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError(f"box must be finite; got {b.tolist()}")
    width = b[:, 1] - b[:, 0]
    bad = np.flatnonzero(~(width > 0))
    if bad.size:
        m = int(bad[0])
        raise ValueError(f"box side {m} is [{b[m, 0]}, {b[m, 1]}], of width {width[m]}; every side "
                         f"needs high > low (non-zero width)")
    return b


def to_unit(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``[low, high]`` onto ``[-1, 1]``."""
    return (2.0 * np.asarray(x, dtype=np.float64) - (low + high)) / (high - low)


def from_unit(t: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``[-1, 1]`` onto ``[low, high]``."""
    return 0.5 * (low + high) + 0.5 * (high - low) * np.asarray(t, dtype=np.float64)
