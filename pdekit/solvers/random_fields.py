"""Gaussian random fields and the maps that turn them into PDE coefficients.

Two kinds of field, one set of coefficient maps (:func:`threshold_coefficient`,
:func:`lognormal_coefficient`, :func:`affine_coefficient`, or by name
:func:`coefficient_from_field`):

* on uniform grids (:func:`gaussian_random_field`), a draw from
  N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha)) on the unit interval, square or cube, written in
  the eigenfunctions of the Laplacian (below);
* anywhere (:func:`draw_random_field`): a stationary field with a Gaussian or Matérn
  covariance by random Fourier features, returned as a function of the coordinates, so it can
  be evaluated at the vertices, cell centroids or quadrature points of any mesh.

Grid fields are written in the eigenfunctions of the Laplacian:

* ``bc="periodic"``: Fourier modes exp(2 pi i k.x) on the torus [0, 1)^d, sampled at the
  points x_j = j / s (an FFT);
* ``bc="neumann"``: cosine modes prod_i sqrt(2) cos(pi k_i x_i), sampled at the cell centres
  x_j = (j + 1/2) / s (an inverse DCT-II), as in the FNO Darcy generator.

The constant mode is dropped (the field has mean zero), as in the FNO generators, and the
expansion is truncated at the grid's modes.

A random-feature field with covariance ``k(x - y)`` is
``g(x) = sigma sqrt(2 / K) sum_k xi_k cos(omega_k . x + b_k)`` with ``xi_k ~ N(0, 1)``,
``b_k ~ U(0, 2 pi)`` and frequencies ``omega_k`` drawn from the spectral density of ``k``
(Rahimi & Recht): ``kernel="gaussian"``, ``k(r) = exp(-r^2 / (2 l^2))``, ``omega ~ N(0, I / l^2)``;
``kernel="matern"``, Matérn of smoothness ``nu``, ``omega`` a multivariate Student-t with ``2 nu``
degrees of freedom scaled by ``1 / l``. Evaluating it at ``n`` points costs ``O(K n)``.

Every draw comes from a ``numpy.random.Generator``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> g = gaussian_random_field((64, 64), alpha=2.0, tau=3.0, bc="neumann", rng=rng)
>>> a = threshold_coefficient(g, high=12.0, low=3.0)
>>> sorted(np.unique(a).tolist())
[3.0, 12.0]
>>> field = draw_random_field(rng, 2, length_scale=0.2)
>>> field(np.zeros((2, 5))).shape
(5,)
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import numpy as np
import scipy.fft

from pdekit._validation import check_choice, check_finite, check_positive

__all__ = [
    "gaussian_random_field",
    "grf_sqrt_eigenvalues",
    "threshold_coefficient",
    "lognormal_coefficient",
    "affine_coefficient",
    "draw_random_field",
    "coefficient_from_field",
    "COEFFICIENT_MAPS",
]

#: names accepted by :func:`coefficient_from_field`
COEFFICIENT_MAPS = ("threshold", "lognormal")

_BCS = ("periodic", "neumann")


def _check_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    if not 1 <= len(shape) <= 3:
        raise ValueError(f"shape must have 1, 2 or 3 entries (1D, 2D or 3D grid); got {shape}")
    if min(shape) < 2:
        raise ValueError(f"every grid size must be >= 2; got shape {shape}")
    return shape


def _default_sigma(alpha: float, tau: float, dim: int) -> float:
    return float(tau ** (0.5 * (2.0 * alpha - dim)))


@functools.lru_cache(maxsize=16)
def _sqrt_eigenvalues(shape: tuple[int, ...], alpha: float, tau: float, sigma: float, bc: str):
    dim = len(shape)
    if bc == "periodic":
        # rfftn layout: full frequencies on every axis but the last, half on the last
        freqs = [np.fft.fftfreq(s, d=1.0 / s) for s in shape[:-1]]
        freqs.append(np.fft.rfftfreq(shape[-1], d=1.0 / shape[-1]))
        factor = 4.0 * math.pi**2
    else:
        freqs = [np.arange(s, dtype=float) for s in shape]
        factor = math.pi**2
    k2 = np.zeros([len(f) for f in freqs])
    for axis, f in enumerate(freqs):
        k2 = k2 + (f**2).reshape([-1 if i == axis else 1 for i in range(dim)])
    out = sigma * (factor * k2 + tau**2) ** (-alpha / 2.0)
    out[(0,) * dim] = 0.0  # mean-zero field
    out.setflags(write=False)
    return out


def grf_sqrt_eigenvalues(
    shape: int | Sequence[int], *, alpha: float, tau: float, sigma: float | None = None,
    bc: str = "periodic",
) -> np.ndarray:
    """Square roots of the covariance eigenvalues, sigma (lambda_k + tau^2)^(-alpha/2).

    Parameters
    ----------
    shape : int or tuple of int
        Grid shape (s,), (s1, s2) or (s1, s2, s3).
    alpha, tau, sigma, bc
        As in :func:`gaussian_random_field`.

    Returns
    -------
    (k1, ..., kd) array
        In ``rfftn`` layout for ``bc="periodic"``, in DCT layout (shape ``shape``) for
        ``bc="neumann"``; the constant mode is zero. Read-only (cached).
    """
    shape = _check_shape(shape)
    check_choice("bc", bc, _BCS)
    alpha = float(check_positive("alpha", alpha))
    tau = float(check_positive("tau", tau))
    sigma = _default_sigma(alpha, tau, len(shape)) if sigma is None else float(
        check_positive("sigma", sigma))
    return _sqrt_eigenvalues(shape, alpha, tau, sigma, bc)


def gaussian_random_field(
    shape: int | Sequence[int],
    *,
    alpha: float,
    tau: float,
    sigma: float | None = None,
    bc: str = "periodic",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Draw a Gaussian random field N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha)).

    Parameters
    ----------
    shape : int or tuple of int
        Grid shape (s,), (s1, s2) or (s1, s2, s3) on the unit interval, square or cube.
    alpha : float
        Smoothness exponent (> 0); samples are in H^t for t < alpha - d/2.
    tau : float
        Inverse length scale (> 0).
    sigma : float, optional
        Amplitude; default ``tau ** (0.5 * (2 * alpha - d))`` as in the FNO generators.
    bc : {"periodic", "neumann"}
        Fourier modes sampled at x_j = j/s, or cosine modes sampled at x_j = (j + 1/2)/s.
    rng : numpy.random.Generator, optional
        Source of randomness; ``numpy.random.default_rng()`` when omitted.

    Returns
    -------
    field : ndarray of shape ``shape``, float64
        One mean-zero sample.

    Notes
    -----
    With ``bc="neumann"``, d = 2, ``alpha=2``, ``tau=3`` this is the field of the FNO Darcy
    generator (``GRF.m``): KL coefficients ``s * sigma * (pi^2 |k|^2 + tau^2)^(-alpha/2) * xi``
    passed through an orthonormal inverse DCT. The periodic field is exact for the covariance
    above (real white noise filtered in Fourier space).
    """
    shape = _check_shape(shape)
    sqrt_eig = grf_sqrt_eigenvalues(shape, alpha=alpha, tau=tau, sigma=sigma, bc=bc)
    if rng is None:
        rng = np.random.default_rng()
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    xi = rng.standard_normal(shape)
    scale = math.sqrt(math.prod(shape))
    if bc == "periodic":
        # real white noise has E|rfft(xi)_k|^2 = N; sqrt(N) restores unit-variance modes
        return scipy.fft.irfftn(scipy.fft.rfftn(xi) * (scale * sqrt_eig), s=shape)
    return scipy.fft.idctn(xi * (scale * sqrt_eig), type=2, norm="ortho")


def threshold_coefficient(
    field: np.ndarray, *, high: float = 12.0, low: float = 3.0, level: float = 0.0
) -> np.ndarray:
    """Piecewise-constant coefficient: ``high`` where ``field >= level``, ``low`` elsewhere.

    The FNO Darcy map is ``high=12, low=3, level=0``.

    Parameters
    ----------
    field : (...) array
        Finite values.
    high, low : float
        Positive coefficient values.
    level : float
        Threshold.

    Returns
    -------
    (...) float64 array
    """
    field = check_finite("field", np.asarray(field, dtype=float))
    high = float(check_positive("high", high))
    low = float(check_positive("low", low))
    return np.where(field >= level, high, low)


def lognormal_coefficient(field: np.ndarray, *, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """Lognormal coefficient ``exp(shift + scale * field)`` (positive everywhere).

    Parameters
    ----------
    field : (...) array
    scale, shift : float

    Returns
    -------
    (...) float64 array
    """
    field = check_finite("field", np.asarray(field, dtype=float))
    check_finite("scale", float(scale))
    check_finite("shift", float(shift))
    return np.exp(shift + scale * field)


def affine_coefficient(field: np.ndarray, *, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """Affine coefficient ``shift + scale * field``; raises if any value is not positive.

    Parameters
    ----------
    field : (...) array
    scale, shift : float

    Returns
    -------
    (...) float64 array, positive everywhere
    """
    field = check_finite("field", np.asarray(field, dtype=float))
    check_finite("scale", float(scale))
    check_finite("shift", float(shift))
    out = shift + scale * field
    bad = out <= 0
    if bad.any():
        raise ValueError(
            f"affine coefficient shift + scale * field must be positive; min = {out.min():.6g} "
            f"at index {tuple(int(i) for i in np.argwhere(bad)[0])} (raise shift or lower scale)"
        )
    return out


def coefficient_from_field(values: np.ndarray, kind: str = "threshold", *, a_high: float = 12.0,
                           a_low: float = 3.0, scale: float = 1.0) -> np.ndarray:
    """Map field values to a positive coefficient by name (one of :data:`COEFFICIENT_MAPS`).

    Parameters
    ----------
    values : (...) float array
    kind : {"threshold", "lognormal"}
        ``threshold``: ``a_high`` where the field is >= 0, ``a_low`` elsewhere
        (:func:`threshold_coefficient`, the FNO Darcy map with 12 / 3); ``lognormal``:
        ``exp(scale * field)`` (:func:`lognormal_coefficient`).
    a_high, a_low, scale : float

    Returns
    -------
    (...) float array, positive
    """
    check_choice("coefficient kind", kind, COEFFICIENT_MAPS)
    if kind == "threshold":
        return threshold_coefficient(values, high=a_high, low=a_low)
    return lognormal_coefficient(values, scale=scale)


def draw_random_field(rng: np.random.Generator, dim: int, *, length_scale: float = 0.1,
                      sigma: float = 1.0, n_features: int = 256, kernel: str = "gaussian",
                      nu: float = 1.5) -> Callable[[np.ndarray], np.ndarray]:
    """Draw one stationary Gaussian random field (random Fourier features) as a function of x.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of all randomness.
    dim : int
        Spatial dimension ``d``.
    length_scale : float
        Correlation length ``l`` (> 0).
    sigma : float
        Standard deviation of the field.
    n_features : int
        Number ``K`` of random Fourier features.
    kernel : {"gaussian", "matern"}
    nu : float
        Matérn smoothness (``kernel="matern"`` only).

    Returns
    -------
    callable
        ``g(x)`` with ``x (d, n)`` returning ``(n,)``.
    """
    check_choice("kernel", kernel, ("gaussian", "matern"))
    check_positive("length_scale", length_scale)
    check_positive("sigma", sigma)
    check_positive("nu", nu)
    if not isinstance(n_features, (int, np.integer)) or n_features < 1:
        raise ValueError(f"n_features must be a positive integer; got {n_features!r}")
    omega = rng.standard_normal((int(n_features), int(dim))) / float(length_scale)
    if kernel == "matern":
        chi2 = rng.chisquare(2.0 * nu, size=(int(n_features), 1))
        omega *= np.sqrt(2.0 * nu / chi2)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=int(n_features))
    weights = rng.standard_normal(int(n_features)) * (float(sigma) * np.sqrt(2.0 / n_features))

    def field(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != dim:
            raise ValueError(f"x must have shape ({dim}, n); got {x.shape}")
        return weights @ np.cos(omega @ x + phase[:, None])

    return field
