"""Tensor-product Chebyshev interpolation in 1 to 4 dimensions."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.tensor_formats import ChebyshevInterpolant


def _poly(p):
    return 1 + p[:, 0] ** 3 - 2 * p[:, 0] * p[:, 1] ** 2 + p[:, 1] ** 4 * p[:, 0]


def test_exact_on_polynomials_of_the_degree():
    box = [(-2, 1), (0, 3)]
    ci = ChebyshevInterpolant.from_function(_poly, box, tol=1e-12, degrees=[3, 4])
    pts = np.random.default_rng(0).uniform([-2, 0], [1, 3], (200, 2))
    assert np.abs(ci.evaluate(pts) - _poly(pts)).max() < 1e-12 * np.abs(_poly(pts)).max()


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_adaptive_accuracy_in_d_dimensions(d):
    f = lambda p: np.exp(-(p ** 2).sum(1)) * np.cos(p.sum(1))  # noqa: E731
    box = [(-1.5, 1.5)] * d
    tol = 1e-8 if d < 4 else 1e-5
    ci = ChebyshevInterpolant.from_function(f, box, tol=tol, max_degree=40)
    assert all(ci.converged)
    pts = np.random.default_rng(d).uniform(-1.5, 1.5, (300, d))
    assert np.abs(ci.evaluate(pts) - f(pts)).max() <= tol
    assert max(ci.degrees) < 40


def test_on_grid_derivative_integral():
    f = lambda p: np.exp(p[:, 0]) * np.sin(2 * p[:, 1]) / (1 + p[:, 2] ** 2)  # noqa: E731
    box = [(-1, 2), (0, 1), (-2, 2)]
    ci = ChebyshevInterpolant.from_function(f, box, tol=1e-12)
    grids = [np.linspace(-1, 2, 7), np.linspace(0, 1, 5), np.linspace(-2, 2, 4)]
    pts = np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, 3)
    assert np.abs(ci.on_grid(grids).ravel() - f(pts)).max() < 1e-11
    dy = ci.derivative(1)
    ref = np.exp(pts[:, 0]) * 2 * np.cos(2 * pts[:, 1]) / (1 + pts[:, 2] ** 2)
    assert np.abs(dy.evaluate(pts) - ref).max() < 1e-9
    exact = (np.e ** 2 - np.e ** -1) * (1 - np.cos(2)) / 2 * 2 * np.arctan(2)
    assert ci.integrate() == pytest.approx(exact, rel=1e-12)


def test_from_values_roundtrip():
    ci = ChebyshevInterpolant.from_function(lambda p: np.cos(p[:, 0] + p[:, 1]), [(0, 1), (0, 2)],
                                            tol=1e-10, degrees=[9, 11])
    vals = np.cos(np.add.outer(*ci.points()))
    back = ChebyshevInterpolant.from_values(vals, ci.box)
    assert np.abs(back.coefficients - ci.coefficients).max() < 1e-15


def test_bad_callables_and_points():
    box = [(0, 1), (0, 1)]
    with pytest.raises(ValueError, match="non-finite"):
        ChebyshevInterpolant.from_function(lambda p: np.where(p[:, 0] > 0.5, np.nan, 1.0), box, tol=1e-6)
    with pytest.raises(ValueError, match=r"must return shape \(289,\)"):
        ChebyshevInterpolant.from_function(lambda p: p, box, tol=1e-6)
    with pytest.raises(ValueError, match="non-zero width"):
        ChebyshevInterpolant.from_function(lambda p: p[:, 0], [(0, 1), (1, 1)], tol=1e-6)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        ChebyshevInterpolant.from_function(lambda p: p[:, 0], box, tol=1.0)
    ci = ChebyshevInterpolant.from_function(lambda p: p[:, 0], box, tol=1e-6)
    with pytest.raises(ValueError, match="outside the box"):
        ci.evaluate([[0.5, 2.0]])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        ci.evaluate(np.zeros((3, 3)))


def test_unresolved_function_warns():
    import warnings

    from pdekit._warnings import ConvergenceWarning
    from pdekit.tensor_formats import ChebyshevInterpolant

    with pytest.warns(ConvergenceWarning, match="Chebyshev interpolation did not reach tol=1e-10"):
        ci = ChebyshevInterpolant.from_function(lambda x: np.abs(x[:, 0]), [(-1, 1)], tol=1e-10, max_degree=32)
    assert ci.converged == [False] and repr(ci).endswith("converged=False)")
    from pdekit.solvers.linear import ConvergenceWarning as KrylovWarning
    from pdekit.tensor_formats import ConvergenceWarning as FormatsWarning
    assert KrylovWarning is FormatsWarning is ConvergenceWarning  # one warning class in pdekit
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert ChebyshevInterpolant.from_function(lambda x: np.cos(x[:, 0]), [(-1, 1)], tol=1e-10).converged == [True]
