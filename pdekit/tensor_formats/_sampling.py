"""Sampling a callable on tensor Chebyshev grids, with checks and the adaptive choice of degrees."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import warnings

import numpy as np

from pdekit._warnings import ConvergenceWarning

from .chebyshev import chebyshev_points, chop_degree, values_to_coefficients

__all__ = ["sample_on_grid", "adaptive_coefficients", "mode_envelope", "warn_if_unconverged", "TAIL_SAFETY"]

#: the coefficient tail is chopped at ``tol / TAIL_SAFETY``, so that the sum of the many
#: discarded terms (in every mode) stays within ``tol``
TAIL_SAFETY = 20.0

#: points per call of the user's function
_CHUNK = 1 << 20


def sample_on_grid(f: Callable[[np.ndarray], Any], grids: Sequence[np.ndarray]) -> np.ndarray:
    """Values of ``f`` on the tensor grid ``grids[0] x ... x grids[d-1]``.

    ``f`` receives points of shape ``(n, d)`` (in chunks) and must return ``n`` finite values.

    Returns
    -------
    (len(grids[0]), ..., len(grids[d-1])) float64 array
    """
    shape = tuple(len(g) for g in grids)
    total = int(np.prod(shape))
    out = np.empty(total)
    d = len(grids)
    for start in range(0, total, _CHUNK):
        idx = np.unravel_index(np.arange(start, min(start + _CHUNK, total)), shape)
        pts = np.stack([np.asarray(grids[m])[idx[m]] for m in range(d)], axis=1)
        vals = f(pts)
        if np.iscomplexobj(vals):
            raise TypeError("the function returned complex values; Chebyshev approximations here "
                            "are of real functions: approximate the real and imaginary parts separately")
        try:
            vals = np.asarray(vals, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"the function must return an array of {len(pts)} real numbers for "
                            f"points of shape {pts.shape}; got {type(vals).__name__}") from None
        if vals.shape not in ((len(pts),), (len(pts), 1)):
            raise ValueError(f"the function must return shape ({len(pts)},) for points of shape "
                             f"{pts.shape} (one value per point); got shape {vals.shape}")
        vals = vals.reshape(-1)
        bad = ~np.isfinite(vals)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"the function returned {int(bad.sum())} non-finite values (NaN/inf), "
                             f"the first {vals[i]} at the point {pts[i].tolist()}; it must be "
                             f"finite everywhere in the box")
        out[start:start + len(vals)] = vals
    return out.reshape(shape)


def mode_envelope(coeffs: np.ndarray, mode: int) -> np.ndarray:
    """Largest |coefficient| of each degree in ``mode``, over all other indices."""
    axes = tuple(a for a in range(coeffs.ndim) if a != mode)
    return np.abs(coeffs).max(axis=axes) if axes else np.abs(coeffs)


def adaptive_coefficients(f: Callable, box: np.ndarray, *, tol: float, max_degree: Sequence[int],
                          min_degree: int = 16, degrees: Sequence[int] | None = None):
    """Chebyshev coefficient tensor of ``f`` on ``box``, degrees chosen per mode by tail decay.

    Each unresolved mode doubles its degree (the points are nested) until its coefficient
    envelope passes :func:`~pdekit.tensor_formats.chebyshev.chop_degree` or reaches
    ``max_degree``; then every mode is chopped to the degree its tail allows.

    Returns
    -------
    coeffs : (n_0 + 1, ..., n_{d-1} + 1) array
    converged : list of bool
    tails : list of float
        Relative size of the largest discarded coefficient per mode.
    """
    d = box.shape[0]
    if degrees is not None:
        grids = [chebyshev_points(int(n), box[m]) for m, n in enumerate(degrees)]
        c = values_to_coefficients_nd(sample_on_grid(f, grids))
        return c, [True] * d, [0.0] * d
    n = [min(min_degree, int(mx)) for mx in max_degree]
    while True:
        grids = [chebyshev_points(n[m], box[m]) for m in range(d)]
        c = values_to_coefficients_nd(sample_on_grid(f, grids))
        results = [chop_degree(mode_envelope(c, m), tol / TAIL_SAFETY) for m in range(d)]
        grow = [m for m in range(d) if not results[m][1] and n[m] < max_degree[m]]
        if not grow:
            break
        for m in grow:
            n[m] = min(2 * n[m], int(max_degree[m]))
    keep = tuple(slice(0, r[0] + 1) for r in results)
    return c[keep].copy(), [r[1] for r in results], [r[2] for r in results]


def warn_if_unconverged(what: str, converged: Sequence[bool], tails: Sequence[float], tol: float,
                        max_degree: Sequence[int]) -> None:
    """Warn (:class:`~pdekit._warnings.ConvergenceWarning`) when a mode's Chebyshev tail did not
    fall below the level ``tol`` asks for (the result is then less accurate than ``tol``)."""
    bad = [m for m, ok in enumerate(converged) if not ok]
    if not bad:
        return
    warnings.warn(ConvergenceWarning(
        f"{what} did not reach tol={tol:g}: the Chebyshev coefficients of mode(s) {bad} had not "
        f"decayed at max_degree {[int(max_degree[m]) for m in bad]} (their tail is "
        f"{', '.join(f'{tails[m]:.2g}' for m in bad)} of the largest coefficient, where below "
        f"{tol / TAIL_SAFETY:.1g} was needed), so the error can be of that order or larger. Raise "
        f"max_degree, shrink the box, or split off the unresolved part (a cusp or a steep layer); "
        f"`converged` and `tails` record this"
    ), stacklevel=3)


def values_to_coefficients_nd(values: np.ndarray) -> np.ndarray:
    """DCT-I along every axis: values on a tensor Chebyshev grid to the coefficient tensor."""
    c = values
    for m in range(values.ndim):
        c = values_to_coefficients(c, axis=m)
    return c
