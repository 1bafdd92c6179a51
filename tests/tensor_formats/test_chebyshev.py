"""1-D Chebyshev tools: DCT coefficients, Clenshaw, calculus, and the plateau test."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial import chebyshev as npcheb

from pdekit.tensor_formats.chebyshev import (chebyshev_points, check_box, chop_degree, clenshaw,
                                             coefficients_to_values, derivative_coefficients,
                                             integral_weights, values_to_coefficients, vandermonde)


def test_points_are_ascending_symmetric_and_nested():
    x = chebyshev_points(8)
    assert x[0] == -1 and x[-1] == 1 and x[4] == 0
    assert np.all(np.diff(x) > 0) and np.array_equal(x, -x[::-1])
    assert np.allclose(chebyshev_points(16)[::2], x, atol=1e-15)
    assert np.allclose(chebyshev_points(2, (0, 4)), [0, 2, 4])


def test_dct_recovers_coefficients_of_a_polynomial_of_the_degree():
    c = np.random.default_rng(0).standard_normal(13)
    vals = npcheb.chebval(chebyshev_points(12), c)
    assert np.abs(values_to_coefficients(vals) - c).max() < 1e-14
    assert np.abs(coefficients_to_values(c) - vals).max() < 1e-13


def test_along_an_axis():
    c = np.random.default_rng(1).standard_normal((3, 9, 2))
    v = coefficients_to_values(c, axis=1)
    assert np.abs(values_to_coefficients(v, axis=1) - c).max() < 1e-14


def test_clenshaw_and_vandermonde_match_numpy():
    c = np.random.default_rng(2).standard_normal(20)
    x = np.linspace(-1, 1, 57)
    assert np.abs(clenshaw(c, x) - npcheb.chebval(x, c)).max() < 1e-13
    assert np.abs(vandermonde(x, 19) @ c - npcheb.chebval(x, c)).max() < 1e-13
    cols = np.random.default_rng(3).standard_normal((20, 4))  # 4 series at once
    assert np.allclose(clenshaw(cols, x[:, None]), npcheb.chebval(x, cols).T)


def test_derivative_and_integral():
    c = np.random.default_rng(4).standard_normal(11)
    assert np.allclose(derivative_coefficients(c), npcheb.chebder(c))
    assert integral_weights(10) @ c == pytest.approx(np.diff(npcheb.chebval([-1, 1], npcheb.chebint(c)))[0])


def test_geometric_convergence_on_an_analytic_function():
    # f = 1 / (1 + 4 x^2): poles at +-i/2, Bernstein ellipse rho = (1 + sqrt(5)) / 2
    f = lambda x: 1.0 / (1.0 + 4.0 * x * x)  # noqa: E731
    xs = np.linspace(-1, 1, 1001)
    degrees = np.arange(8, 48, 4)
    errs = [np.abs(clenshaw(values_to_coefficients(f(chebyshev_points(n))), xs) - f(xs)).max()
            for n in degrees]
    slope = np.polyfit(degrees, np.log(errs), 1)[0]
    assert slope == pytest.approx(-np.log((1 + np.sqrt(5)) / 2), rel=0.1)


def test_chop_degree_plateau():
    c = values_to_coefficients(np.exp(chebyshev_points(64)))
    degree, ok, tail = chop_degree(np.abs(c), 1e-8)
    assert ok and 8 <= degree <= 14 and tail <= 1e-8
    degree, ok, _ = chop_degree(np.abs(c), 1e-30)  # below round-off: met at the plateau
    assert ok and degree < 25
    slow = 1.0 / (1.0 + np.arange(33.0)) ** 2  # algebraic decay: not converged
    assert chop_degree(slow, 1e-8)[1] is False


def test_box_errors():
    with pytest.raises(ValueError, match="non-zero width"):
        check_box([(0, 1), (2, 2)])
    with pytest.raises(ValueError, match=r"shape \(d, 2\)"):
        check_box([0, 1])
