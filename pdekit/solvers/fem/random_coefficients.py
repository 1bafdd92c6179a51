"""Random coefficients on unstructured meshes: Gaussian random fields by random Fourier features.

A stationary Gaussian field with covariance ``k(x - y)`` is approximated by
``g(x) = sigma sqrt(2 / K) sum_k xi_k cos(omega_k . x + b_k)`` with ``xi_k ~ N(0, 1)``,
``b_k ~ U(0, 2 pi)`` and frequencies ``omega_k`` drawn from the spectral density of ``k``
(Rahimi & Recht's random features). The draw is a function of ``x``, so the same field can be
evaluated at vertices, cell centroids or quadrature points of any mesh, at cost ``O(K n)``.

* ``kernel="gaussian"``: ``k(r) = exp(-r^2 / (2 l^2))``, ``omega ~ N(0, I / l^2)``;
* ``kernel="matern"``: Matérn of smoothness ``nu``, ``omega`` a multivariate Student-t with
  ``2 nu`` degrees of freedom scaled by ``1 / l``.

Examples
--------
>>> import numpy as np
>>> g = draw_random_field(np.random.default_rng(0), 2, length_scale=0.2)
>>> g(np.zeros((2, 5))).shape
(5,)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pdekit._validation import check_choice, check_positive

__all__ = ["draw_random_field", "coefficient_from_field", "COEFFICIENT_MAPS"]

#: names accepted by :func:`coefficient_from_field`
COEFFICIENT_MAPS = ("threshold", "lognormal")


def draw_random_field(rng: np.random.Generator, dim: int, *, length_scale: float = 0.1,
                      sigma: float = 1.0, n_features: int = 256, kernel: str = "gaussian",
                      nu: float = 1.5) -> Callable[[np.ndarray], np.ndarray]:
    """Draw one Gaussian random field, returned as a function of the coordinates.

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


def coefficient_from_field(values: np.ndarray, kind: str = "threshold", *, a_high: float = 12.0,
                           a_low: float = 3.0, scale: float = 1.0) -> np.ndarray:
    """Map field values to a positive coefficient.

    Parameters
    ----------
    values : (...) float array
    kind : {"threshold", "lognormal"}
        ``threshold``: ``a_high`` where the field is >= 0, ``a_low`` elsewhere (the FNO Darcy
        map with 12 / 3); ``lognormal``: ``exp(scale * field)``.
    a_high, a_low, scale : float

    Returns
    -------
    (...) float array, positive
    """
    check_choice("coefficient kind", kind, COEFFICIENT_MAPS)
    values = np.asarray(values, dtype=np.float64)
    if kind == "threshold":
        check_positive("a_high", a_high)
        check_positive("a_low", a_low)
        return np.where(values >= 0.0, float(a_high), float(a_low))
    return np.exp(float(scale) * values)
