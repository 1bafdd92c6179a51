import numpy as np
import pytest

from pdekit.solvers.fem import coefficient_from_field, draw_random_field


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


def test_errors():
    with pytest.raises(ValueError, match="length_scale must be positive"):
        draw_random_field(np.random.default_rng(0), 2, length_scale=0.0)
    with pytest.raises(ValueError, match=r"x must have shape \(2, n\)"):
        draw_random_field(np.random.default_rng(0), 2)(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="unknown kernel"):
        draw_random_field(np.random.default_rng(0), 2, kernel="exp")
