import numpy as np
import pytest

from pdekit.meshes import unit_square
from pdekit.solvers.fem import error_norm, function_space, interpolate


def test_known_norms():
    V = function_space(unit_square(4), 1)
    zero = interpolate(V, 0.0)
    # ||x||_L2 = 1/sqrt(3); |x|_H1 = 1 on the unit square
    assert np.isclose(error_norm(zero, lambda x: x[0]), 1 / np.sqrt(3), rtol=1e-12)
    g = lambda x: np.stack([np.ones_like(x[0]), np.zeros_like(x[0])])  # noqa: E731
    assert np.isclose(error_norm(zero, lambda x: x[0], "H1-semi", grad=g), 1.0, rtol=1e-12)
    assert np.isclose(error_norm(zero, lambda x: x[0], "H1", grad=g), np.sqrt(1 + 1 / 3), rtol=1e-12)


def test_vector_function():
    V = function_space(unit_square(3), 2, n_components=2)
    f = lambda x: np.stack([x[0] * x[1], x[1] ** 2])  # noqa: E731
    uh = interpolate(V, f)
    gf = lambda x: np.stack([np.stack([x[1], x[0]]), np.stack([0 * x[0], 2 * x[1]])])  # noqa: E731
    assert error_norm(uh, f) < 1e-14 and error_norm(uh, f, "H1", grad=gf) < 1e-13


def test_errors():
    uh = interpolate(function_space(unit_square(2), 1), 0.0)
    with pytest.raises(ValueError, match="pass grad="):
        error_norm(uh, lambda x: x[0], "H1")
    with pytest.raises(ValueError, match="unknown norm"):
        error_norm(uh, lambda x: x[0], "Linf")
    with pytest.raises(ValueError, match="must return shape"):
        error_norm(uh, lambda x: x)
