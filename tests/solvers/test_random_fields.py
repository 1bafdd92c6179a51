import math

import numpy as np
import pytest

from pdekit.solvers.random_fields import (
    affine_coefficient,
    coefficient_from_field,
    draw_random_field,
    gaussian_random_field,
    grf_sqrt_eigenvalues,
    lognormal_coefficient,
    threshold_coefficient,
)


def _expected_mean_square(shape, alpha, tau, sigma, bc):
    """Sum of the covariance eigenvalues over the grid's modes, computed independently."""
    if bc == "periodic":
        ks = np.meshgrid(*[np.fft.fftfreq(s, 1.0 / s) for s in shape], indexing="ij")
        lam = 4 * math.pi**2 * sum(k**2 for k in ks)
    else:
        ks = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
        lam = math.pi**2 * sum(k**2 for k in ks)
    eig = sigma**2 * (lam + tau**2) ** (-alpha)
    eig.flat[0] = 0.0
    return eig.sum()


@pytest.mark.parametrize("bc", ["periodic", "neumann"])
@pytest.mark.parametrize("shape", [(64,), (24, 20), (10, 12, 8)])
def test_grid_average_variance_matches_covariance(shape, bc):
    alpha, tau = 2.0, 3.0
    sigma = tau ** (0.5 * (2 * alpha - len(shape)))
    rng = np.random.default_rng(1)
    ms = [np.mean(gaussian_random_field(shape, alpha=alpha, tau=tau, bc=bc, rng=rng) ** 2)
          for _ in range(300)]
    expected = _expected_mean_square(shape, alpha, tau, sigma, bc)
    assert np.mean(ms) == pytest.approx(expected, rel=0.15)


@pytest.mark.parametrize("bc", ["periodic", "neumann"])
def test_mean_zero_real_and_seeded(bc):
    f1 = gaussian_random_field((32, 32), alpha=2.5, tau=7.0, bc=bc, rng=np.random.default_rng(5))
    f2 = gaussian_random_field((32, 32), alpha=2.5, tau=7.0, bc=bc, rng=np.random.default_rng(5))
    f3 = gaussian_random_field((32, 32), alpha=2.5, tau=7.0, bc=bc, rng=np.random.default_rng(6))
    assert f1.shape == (32, 32) and f1.dtype == np.float64
    np.testing.assert_array_equal(f1, f2)
    assert not np.allclose(f1, f3)
    assert abs(f1.mean()) < 1e-12 * np.abs(f1).max()


def test_periodic_spectrum_follows_eigenvalues():
    # mode amplitudes |u_k|^2 averaged over draws are proportional to (4 pi^2 k^2 + tau^2)^-alpha
    rng = np.random.default_rng(2)
    s, alpha, tau = 64, 2.0, 3.0
    power = np.zeros(s // 2 + 1)
    for _ in range(400):
        power += np.abs(np.fft.rfft(gaussian_random_field(s, alpha=alpha, tau=tau, rng=rng))) ** 2
    ratio = power[4] / power[1]
    expected = ((4 * math.pi**2 * 16 + tau**2) / (4 * math.pi**2 + tau**2)) ** (-alpha)
    assert ratio == pytest.approx(expected, rel=0.25)
    assert power[0] < 1e-20 * power[1]


def test_default_sigma_and_fno_darcy_scaling():
    # FNO GRF.m: coef = tau^(alpha-1) (pi^2 |k|^2 + tau^2)^(-alpha/2) in 2D
    eig = grf_sqrt_eigenvalues((8, 8), alpha=2.0, tau=3.0, bc="neumann")
    assert eig[1, 2] == pytest.approx(3.0 * (math.pi**2 * 5 + 9.0) ** -1.0, rel=1e-14)
    assert eig[0, 0] == 0.0
    eig1 = grf_sqrt_eigenvalues(16, alpha=2.5, tau=7.0, sigma=49.0, bc="periodic")
    assert eig1[3] == pytest.approx(49.0 * (4 * math.pi**2 * 9 + 49.0) ** -1.25, rel=1e-14)


def test_coefficient_maps():
    g = np.array([[-1.0, 0.0], [2.0, -0.5]])
    np.testing.assert_array_equal(threshold_coefficient(g), [[3.0, 12.0], [12.0, 3.0]])
    np.testing.assert_allclose(lognormal_coefficient(g, scale=2.0, shift=1.0), np.exp(1 + 2 * g))
    np.testing.assert_allclose(affine_coefficient(g, scale=0.5, shift=2.0), 2 + 0.5 * g)
    with pytest.raises(ValueError, match="must be positive"):
        affine_coefficient(g, scale=1.0, shift=0.5)
    with pytest.raises(ValueError, match="finite"):
        threshold_coefficient(np.array([np.nan]))
    with pytest.raises(ValueError, match="low must be positive"):
        threshold_coefficient(g, low=-3.0)


def test_bad_input():
    with pytest.raises(ValueError, match="1, 2 or 3"):
        gaussian_random_field((4, 4, 4, 4), alpha=2, tau=3)
    with pytest.raises(ValueError, match=">= 2"):
        gaussian_random_field((1, 4), alpha=2, tau=3)
    with pytest.raises(ValueError, match="unknown bc"):
        gaussian_random_field((8, 8), alpha=2, tau=3, bc="dirichlet")
    with pytest.raises(ValueError, match="alpha must be positive"):
        gaussian_random_field((8, 8), alpha=0, tau=3)
    with pytest.raises(ValueError, match="tau must be finite"):
        gaussian_random_field((8, 8), alpha=2, tau=float("nan"))
    with pytest.raises(TypeError, match="Generator"):
        gaussian_random_field((8, 8), alpha=2, tau=3, rng=np.random.RandomState(0))


def test_neumann_field_is_the_cosine_kl_sum_at_cell_centres():
    s1, s2, alpha, tau = 6, 5, 2.0, 3.0
    field = gaussian_random_field((s1, s2), alpha=alpha, tau=tau, bc="neumann",
                                  rng=np.random.default_rng(7))
    xi = np.random.default_rng(7).standard_normal((s1, s2))
    sigma = tau ** (alpha - 1.0)

    def phi(k, s):  # L2-orthonormal cosine eigenfunctions of the Neumann Laplacian on [0, 1]
        x = (np.arange(s) + 0.5) / s
        return np.ones(s) if k == 0 else math.sqrt(2.0) * np.cos(math.pi * k * x)

    expected = np.zeros((s1, s2))
    for k1 in range(s1):
        for k2 in range(s2):
            if k1 == k2 == 0:
                continue
            lam = math.pi**2 * (k1**2 + k2**2)
            coef = sigma * (lam + tau**2) ** (-alpha / 2) * xi[k1, k2]
            expected += coef * np.outer(phi(k1, s1), phi(k2, s2))
    np.testing.assert_allclose(field, expected, rtol=1e-12, atol=1e-14)


# ---- random-feature fields (any points, e.g. mesh vertices and centroids) ----


@pytest.mark.parametrize("kernel", ["gaussian", "matern"])
def test_covariance_matches_the_kernel(kernel):
    rng = np.random.default_rng(0)
    x = np.array([[0.0, 0.05, 0.1, 0.3], [0.0, 0.0, 0.0, 0.0]])
    draws = np.array([draw_random_field(rng, 2, length_scale=0.1, kernel=kernel, nu=1.5,
                                        n_features=64)(x) for _ in range(4000)])
    cov = draws.T @ draws / len(draws)
    r = x[0]
    if kernel == "gaussian":
        expect = np.exp(-r**2 / (2 * 0.01))
    else:  # Matern 3/2 with the spectral scaling used: k(r) = (1 + sqrt(3) r / l) exp(-sqrt(3) r / l)
        s = np.sqrt(3) * r / 0.1
        expect = (1 + s) * np.exp(-s)
    assert np.abs(cov[0] - expect).max() < 0.06, (cov[0], expect)


def test_same_rng_same_field_and_maps():
    g1 = draw_random_field(np.random.default_rng(5), 3)
    g2 = draw_random_field(np.random.default_rng(5), 3)
    x = np.random.default_rng(0).uniform(size=(3, 10))
    assert np.array_equal(g1(x), g2(x))
    a = coefficient_from_field(g1(x), "threshold", a_high=12, a_low=3)
    assert set(a.tolist()) <= {3.0, 12.0}
    assert np.allclose(coefficient_from_field(g1(x), "lognormal", scale=2.0), np.exp(2 * g1(x)))


def test_random_feature_field_errors():
    with pytest.raises(ValueError, match="length_scale must be positive"):
        draw_random_field(np.random.default_rng(0), 2, length_scale=0.0)
    with pytest.raises(ValueError, match=r"x must have shape \(2, n\)"):
        draw_random_field(np.random.default_rng(0), 2)(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="unknown kernel"):
        draw_random_field(np.random.default_rng(0), 2, kernel="exp")
