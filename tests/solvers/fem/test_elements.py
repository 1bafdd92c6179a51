import numpy as np
import pytest

from pdekit.solvers.fem.elements import REFERENCE_EDGES, lagrange_element
from pdekit.solvers.fem.quadrature import quadrature_rule

CASES = [(c, p) for c in ("line", "triangle", "tetra") for p in (1, 2)]


@pytest.mark.parametrize("cell_type,degree", CASES)
def test_nodal_basis_is_kronecker_delta(cell_type, degree):
    el = lagrange_element(cell_type, degree)
    assert np.allclose(el.values(el.nodes), np.eye(el.n_local), atol=1e-14)


@pytest.mark.parametrize("cell_type,degree", CASES)
def test_partition_of_unity_and_gradients_sum_to_zero(cell_type, degree):
    el = lagrange_element(cell_type, degree)
    x = quadrature_rule(cell_type, 4).points
    assert np.allclose(el.values(x).sum(axis=1), 1.0, atol=1e-14)
    assert np.allclose(el.gradients(x).sum(axis=1), 0.0, atol=1e-13)


@pytest.mark.parametrize("cell_type,degree", CASES)
def test_gradients_match_finite_differences(cell_type, degree):
    el = lagrange_element(cell_type, degree)
    x = quadrature_rule(cell_type, 3).points
    eps = 1e-6
    g = el.gradients(x)
    for j in range(el.dim):
        dx = np.zeros(el.dim)
        dx[j] = eps
        fd = (el.values(x + dx) - el.values(x - dx)) / (2 * eps)
        assert np.allclose(g[:, :, j], fd, atol=1e-8)


@pytest.mark.parametrize("cell_type,degree", CASES)
def test_reproduces_polynomials_of_its_degree(cell_type, degree):
    el = lagrange_element(cell_type, degree)

    def poly(x):
        v = 0.3 + x @ np.arange(1, el.dim + 1)
        return v + (x[:, 0] * x[:, -1] - 0.7 * x[:, 0] ** 2 if degree == 2 else 0.0)

    x = quadrature_rule(cell_type, 5).points
    assert np.allclose(el.values(x) @ poly(el.nodes), poly(x), atol=1e-13)


def test_p2_node_order_follows_vtk_edges():
    el = lagrange_element("tetra", 2)
    assert el.n_local == 10
    assert REFERENCE_EDGES["tetra"].tolist() == [[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]]
    assert np.allclose(el.nodes[4], [0.5, 0.0, 0.0]) and np.allclose(el.nodes[9], [0.0, 0.5, 0.5])


def test_bad_degree():
    with pytest.raises(ValueError, match="degree must be 1 or 2"):
        lagrange_element("triangle", 3)
