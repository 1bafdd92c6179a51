import numpy as np
import pytest

from pdekit.meshes import unit_square, unstructured_cube
from pdekit.solvers.fem import FEFunction, function_space, interpolate
from pdekit.solvers.fem.function import at_quadrature


def test_quadrature_values_and_gradients_of_a_quadratic():
    V = function_space(unstructured_cube(2, rng=0), 2)
    f = lambda x: x[0] ** 2 - x[1] * x[2]  # noqa: E731
    uh = interpolate(V, f)
    rule = V.quadrature(3)
    x = V.quadrature_points(rule)  # (m, nq, 3)
    assert np.allclose(uh.at_quadrature(rule), f(x.transpose(2, 0, 1)), atol=1e-13)
    g = uh.gradient_at_quadrature(rule)
    assert np.allclose(g[..., 0], 2 * x[..., 0]) and np.allclose(g[..., 1], -x[..., 2])


def test_p1_gradient_broadcasts_over_points():
    V = function_space(unit_square(3), 1)
    uh = interpolate(V, lambda x: 3 * x[0] - x[1])
    g = uh.gradient_at_quadrature(V.quadrature(2))
    assert g.shape == (V.n_cells, 3, 2) and np.allclose(g, [3.0, -1.0])


def test_at_quadrature_shapes_and_errors():
    V = function_space(unit_square(3), 1)
    rule = V.quadrature(2)
    assert at_quadrature(V, 2.0, rule) == 2.0
    assert at_quadrature(V, np.ones(V.n_cells), rule).shape == (V.n_cells,)
    assert at_quadrature(V, np.ones(V.n_dofs), rule).shape == (V.n_cells, 3)
    with pytest.raises(ValueError, match="must be positive"):
        at_quadrature(V, -np.ones(V.n_cells), rule, positive=True)
    with pytest.raises(ValueError, match=r"values must have shape \(16,\)"):
        FEFunction(V, np.ones(3))
    with pytest.raises(ValueError, match=r"must return shape \(2, 16\)"):
        interpolate(function_space(unit_square(3), 1, n_components=2), lambda x: x[0])


def test_spaces_are_cached_per_mesh():
    mesh = unit_square(2)
    assert function_space(mesh, 1) is function_space(mesh, 1)
    assert function_space(mesh, 1) is not function_space(mesh, 2)
    assert function_space(unit_square(2), 1) is not function_space(mesh, 1)
    with pytest.raises(ValueError, match="triangle or tetra"):
        function_space(type("M", (), {"cell_type": "line"})(), 1)


def test_every_public_name_is_the_object_not_a_submodule():
    import types

    import pdekit.solvers.fem as fem

    for name in fem.__all__:
        assert not isinstance(getattr(fem, name), types.ModuleType), name
