"""Test functions of the Chebyshev–Tucker paper: range-separated electrostatic potentials and friends.

The Newton kernel ``1/r`` splits into a short-range part ``erfc(r / r_c) / r`` (a cusp at every
particle) and a smooth long-range part ``erf(r / r_c) / r``. For a multi-particle system the
long-range potential ``sum_k q_k erf(|x - x_k| / r_c) / |x - x_k|`` is smooth and of low
Tucker rank. With

    erf(r / r_c) / r = 2 / sqrt(pi) * integral_0^{1 / r_c} exp(-t^2 r^2) dt

and a quadrature in ``t`` (Gauss–Legendre on ``[0, t_0]`` and after ``t = e^u / r_c`` above it,
exponentially convergent),
each particle is a sum of separable Gaussians: a CP representation whose rank is
``particles x nodes``, the input of :meth:`ChebyshevTucker.from_cp`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import erf

__all__ = ["long_range_potential", "erf_kernel_quadrature", "long_range_cp", "random_cluster",
           "ion_lattice", "gaussian", "slater"]

_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)


def _erf_over_r(r: np.ndarray, r_cut: float) -> np.ndarray:
    small = r < 1e-8 * r_cut
    out = np.empty_like(r)
    out[small] = _TWO_OVER_SQRT_PI / r_cut
    out[~small] = erf(r[~small] / r_cut) / r[~small]
    return out


def long_range_potential(points: np.ndarray, positions: np.ndarray, charges: np.ndarray, *,
                         r_cut: float = 1.0) -> np.ndarray:
    """``sum_k q_k erf(|x - x_k| / r_cut) / |x - x_k|`` at the points, by direct summation.

    Parameters
    ----------
    points : (n, d) array
    positions : (K, d) array
        Particle positions.
    charges : (K,) array
    r_cut : float
        Range-separation length (the potential is smooth on scales above it).

    Returns
    -------
    (n,) array
    """
    points = np.asarray(points, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    charges = np.asarray(charges, dtype=np.float64)
    out = np.zeros(len(points))
    block = max(1, (1 << 22) // max(1, len(points)))
    for s in range(0, len(positions), block):
        diff = points[:, None, :] - positions[None, s:s + block, :]
        r = np.sqrt((diff * diff).sum(axis=2))
        out += _erf_over_r(r, r_cut) @ charges[s:s + block]
    return out


def erf_kernel_quadrature(r_cut: float, r_max: float, *, tol: float = 1e-10,
                          max_nodes: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with ``erf(r / r_cut) / r ~ sum_q w_q exp(-t_q^2 r^2)`` on ``[0, r_max]``.

    The error is below ``tol`` times the kernel's maximum ``2 / (sqrt(pi) r_cut)`` (checked on
    a fine sample of ``r``; the node count doubles until it is).

    Returns
    -------
    t : (Q,) array
    w : (Q,) array
    """
    if not (r_cut > 0 and r_max > 0):
        raise ValueError(f"r_cut and r_max must be positive; got {r_cut}, {r_max}")
    # [0, t0] with t0 r_max <= 1/2: the integrand is a wide Gaussian, plain Gauss-Legendre;
    # [t0, 1 / r_cut] after t = e^u / r_cut: analytic in u, Gauss-Legendre converges fast
    t_top = 1.0 / r_cut
    t0 = min(0.5 / r_max, 0.5 * t_top)
    u_min = np.log(t0 * r_cut)
    r = np.concatenate([[0.0], np.geomspace(1e-3 * r_cut, r_max, 400)])
    exact = _erf_over_r(r, r_cut)
    q = 16
    while True:
        x, wx = np.polynomial.legendre.leggauss(q)
        u = 0.5 * u_min * (1.0 - x)  # [-1, 1] -> [u_min, 0]
        t_log = np.exp(u) / r_cut
        w_log = 0.5 * (-u_min) * wx * t_log
        x0, w0 = np.polynomial.legendre.leggauss(max(6, q // 4))
        t = np.concatenate([0.5 * t0 * (x0 + 1.0), t_log])
        w = _TWO_OVER_SQRT_PI * np.concatenate([0.5 * t0 * w0, w_log])
        approx = np.exp(-np.outer(r * r, t * t)) @ w
        err = np.abs(approx - exact).max() * r_cut / _TWO_OVER_SQRT_PI
        if err <= tol or q >= max_nodes:
            if err > tol:
                raise RuntimeError(f"erf kernel quadrature reached only {err:.2e} with {q} nodes; "
                                   f"asked {tol:.1e}")
            return t, w
        q = int(q * 1.5)


def long_range_cp(positions: np.ndarray, charges: np.ndarray, *, r_cut: float = 1.0,
                  r_max: float, tol: float = 1e-10
                  ) -> tuple[np.ndarray, list[Callable[[np.ndarray], np.ndarray]]]:
    """The long-range potential as a CP sum of separable Gaussians (one per particle and node).

    Returns
    -------
    weights : (K * Q,) array
        ``q_k w_q``.
    factor_functions : d callables
        ``factor_functions[m](x, columns=slice(None))``, ``x`` of shape (n,), gives the
        ``(n, len(columns))`` values ``exp(-t_q^2 (x - x_{k, m})^2)`` of the terms
        ``columns`` (term ``r = k Q + q``: particle-major).
    """
    positions = np.asarray(positions, dtype=np.float64)
    charges = np.asarray(charges, dtype=np.float64)
    t, w = erf_kernel_quadrature(r_cut, r_max, tol=tol)
    weights = np.outer(charges, w).ravel()
    t2 = np.tile(t * t, len(positions))  # term r = k Q + q: particle k, node q

    def factor(m: int) -> Callable[[np.ndarray, slice], np.ndarray]:
        centers = np.repeat(positions[:, m], t.size)

        def g(x: np.ndarray, columns: slice = slice(None)) -> np.ndarray:
            dx = np.asarray(x, dtype=np.float64)[:, None] - centers[None, columns]
            return np.exp(-(dx * dx) * t2[None, columns])
        return g

    return weights, [factor(m) for m in range(positions.shape[1])]


def random_cluster(n: int, *, radius: float = 6.0, min_distance: float = 1.0, seed: int = 0,
                   d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A bio-molecule-like cluster: ``n`` particles in a ball, at least ``min_distance`` apart.

    Charges are partial charges in [-1, 1] with total charge near zero.

    Returns
    -------
    positions : (n, d) array
    charges : (n,) array
    """
    rng = np.random.default_rng(seed)
    pts: list[np.ndarray] = []
    tries = 0
    while len(pts) < n:
        tries += 1
        if tries > 200 * n:
            raise ValueError(f"cannot place {n} particles {min_distance} apart in a ball of "
                             f"radius {radius}; enlarge the radius")
        p = rng.uniform(-radius, radius, d)
        if p @ p > radius * radius:
            continue
        if pts and np.min(np.linalg.norm(np.asarray(pts) - p, axis=1)) < min_distance:
            continue
        pts.append(p)
    q = rng.uniform(-1.0, 1.0, n)
    q -= q.mean() * 0.9
    return np.asarray(pts), q


def ion_lattice(n_per_side: int, *, spacing: float = 1.0, d: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A centered cubic lattice of ``n_per_side^d`` ions with alternating charges +-1 (rock salt)."""
    axis = (np.arange(n_per_side) - (n_per_side - 1) / 2.0) * spacing
    grid = np.stack(np.meshgrid(*([axis] * d), indexing="ij"), axis=-1).reshape(-1, d)
    idx = np.stack(np.meshgrid(*([np.arange(n_per_side)] * d), indexing="ij"), -1).reshape(-1, d)
    return grid, np.where(idx.sum(axis=1) % 2 == 0, 1.0, -1.0)


def gaussian(points: np.ndarray, *, center=0.0, width: float = 1.0) -> np.ndarray:
    """``exp(-|x - center|^2 / (2 width^2))`` at points (n, d)."""
    diff = np.asarray(points, dtype=np.float64) - center
    return np.exp(-(diff * diff).sum(axis=1) / (2.0 * width * width))


def slater(points: np.ndarray, *, center=0.0, alpha: float = 1.0) -> np.ndarray:
    """``exp(-alpha |x - center|)`` at points (n, d): a cusp no smooth format resolves fast."""
    diff = np.asarray(points, dtype=np.float64) - center
    return np.exp(-alpha * np.sqrt((diff * diff).sum(axis=1)))
