"""The CP route into the Chebyshev–Tucker format: reduced HOSVD in chunks of CP terms.

``f(x) = sum_r w_r g_{0,r}(x_0) ... g_{d-1,r}(x_{d-1})`` with R terms (for a potential of K
particles and Q quadrature nodes, R = K Q can be 10^5). Per mode, the univariate functions are
interpolated at Chebyshev points (degree chosen by the tail of all of them); the coefficient
matrices ``A_m`` of shape ``(n_m + 1, R)`` are never held whole:

1. degree: the coefficient envelope over all terms, chunk by chunk, doubling the degree;
   the same pass keeps the column norms of every ``A_m`` (R numbers per mode);
2. each term's size ``|w_r| prod_m ||a_{m,r}||`` is shared evenly between the modes;
3. the leading left singular vectors of the scaled ``A_m`` from a chunked (TSQR) QR of its
   transpose, so the singular values are true ones; kept down to ``tol / 100`` of the largest;
4. the small core ``sum_r w_r (U_0^T a_{0,r}) ⊗ ... ⊗ (U_{d-1}^T a_{d-1,r})``, chunk by chunk;
5. a Tucker recompression of that core to ``tol``.

Memory stays at a few chunks of ``(n + 1) x chunk`` numbers plus the core (a few MiB for
thousands of particles).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .chebyshev import chebyshev_points, chop_degree, values_to_coefficients

__all__ = ["cp_reduced_hosvd"]


def _coefficients(g: Callable, x: np.ndarray, columns: slice, width: int) -> np.ndarray:
    """Chebyshev coefficients of the terms ``columns``, transposed: ``(width, len(x))``."""
    vals = np.asarray(g(x, columns), dtype=np.float64)
    if vals.shape != (x.size, width):
        raise ValueError(f"a factor function must return shape ({x.size}, {width}) for {x.size} "
                         f"points and the {width} terms {columns.start}..{columns.stop - 1}; got "
                         f"{vals.shape}")
    if not np.isfinite(vals).all():
        raise ValueError("a factor function returned NaN or inf values")
    return values_to_coefficients(np.ascontiguousarray(vals.T), axis=1)


def _chunks(n_terms: int, chunk: int):
    for s in range(0, n_terms, chunk):
        yield slice(s, min(s + chunk, n_terms))


def _degree(g: Callable, side: np.ndarray, n_terms: int, level: float, max_degree: int, chunk: int):
    """Trial degree, chopped degree, converged, tail, and the column norms of the coefficients."""
    n = min(16, max_degree)
    while True:
        x = chebyshev_points(n, side)
        env = np.zeros(n + 1)
        norms = np.empty(n_terms)
        for sl in _chunks(n_terms, chunk):
            a = np.abs(_coefficients(g, x, sl, sl.stop - sl.start))  # (terms, n + 1)
            norms[sl] = np.linalg.norm(a, axis=1)
            top = a.max(axis=1, keepdims=True)
            env = np.maximum(env, (a / np.where(top > 0, top, 1.0)).max(axis=0))
        degree, ok, tail = chop_degree(env, level)
        if ok or n >= max_degree:
            return n, degree, ok, tail, norms
        n = min(2 * n, max_degree)


def cp_reduced_hosvd(weights: np.ndarray, factor_functions: Sequence[Callable], box: np.ndarray, *,
                     tol: float, level: float, max_degrees: Sequence[int], chunk: int = 512):
    """Coefficient-space Tucker pieces of a CP sum of univariate functions.

    Parameters
    ----------
    weights : (R,) array
    factor_functions : d callables ``g(x, columns) -> (len(x), len(columns))``
        Values of the terms ``columns`` (a slice of ``range(R)``) of mode ``m`` at ``x``.
    box : (d, 2) array
    tol : float
        Relative accuracy of the final result (the basis is kept to ``tol / 100``).
    level : float
        Coefficient-tail level for the choice of the degrees.
    max_degrees : d ints

    Returns
    -------
    core : (k_0, ..., k_{d-1}) array
    bases : list of (n_m + 1, k_m) arrays with orthonormal columns
    converged, tails : per-mode degree diagnostics
    """
    d, n_terms = box.shape[0], weights.size
    trial, degrees, converged, tails = [], [], [], []
    norms = np.ones((d, n_terms))  # column norms (before the chop: it changes them by ~level)
    for m in range(d):
        n, deg, ok, tail, norms[m] = _degree(factor_functions[m], box[m], n_terms, level,
                                             max_degrees[m], chunk)
        trial.append(n)
        degrees.append(deg)
        converged.append(ok)
        tails.append(tail)
    xs = [chebyshev_points(n, box[m]) for m, n in enumerate(trial)]  # truncated to `degrees`
    # each term's size shared evenly between modes
    safe = np.where(norms > 0, norms, 1.0)
    share = (np.abs(weights) * np.prod(norms, axis=0)) ** (1.0 / d)
    bases = []
    for m in range(d):
        r_acc = np.zeros((0, degrees[m] + 1))
        for sl in _chunks(n_terms, chunk):  # TSQR of the scaled side matrix's transpose
            a = _coefficients(factor_functions[m], xs[m], sl, sl.stop - sl.start)[:, :degrees[m] + 1]
            side_t = a * (share[sl] / safe[m, sl])[:, None]
            r_acc = np.linalg.qr(np.vstack([r_acc, side_t]), mode="r")
        u, s, _ = np.linalg.svd(r_acc.T)
        keep = max(1, int(np.count_nonzero(s > 1e-2 * tol * s[0])))
        bases.append(u[:, :keep])
    ranks = [b.shape[1] for b in bases]
    core = np.zeros(ranks)
    flat = core.reshape(ranks[0], -1)
    inner = max(1, int(np.prod(ranks[1:])))
    step = max(16, min(chunk, (1 << 18) // inner))
    for sl in _chunks(n_terms, step):
        proj = [_coefficients(factor_functions[m], xs[m], sl, sl.stop - sl.start)[:, :degrees[m] + 1]
                @ bases[m] for m in range(d)]  # (terms, k_m)
        kr = proj[-1] if d > 1 else np.ones((sl.stop - sl.start, 1))
        for p in proj[-2:0:-1]:
            kr = (p[:, :, None] * kr[:, None, :]).reshape(kr.shape[0], -1)
        flat += (proj[0] * weights[sl, None]).T @ kr
    return core, bases, converged, tails
