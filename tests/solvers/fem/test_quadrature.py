import itertools
import math

import numpy as np
import pytest

from pdekit.solvers.fem.quadrature import REFERENCE_MEASURE, quadrature_rule

DIM = {"line": 1, "triangle": 2, "tetra": 3}


def monomial_integral(exps):
    """Exact integral of prod x_i^a_i over the reference simplex."""
    return np.prod([math.factorial(e) for e in exps]) / math.factorial(sum(exps) + len(exps))


@pytest.mark.parametrize("cell_type", ["line", "triangle", "tetra"])
@pytest.mark.parametrize("degree", range(0, 8))
def test_rule_is_exact_for_every_monomial_up_to_its_degree(cell_type, degree):
    q = quadrature_rule(cell_type, degree)
    d = DIM[cell_type]
    assert q.points.shape == (q.n_points, d)
    assert np.isclose(q.weights.sum(), REFERENCE_MEASURE[cell_type], rtol=0, atol=1e-15)
    for exps in itertools.product(range(degree + 1), repeat=d):
        if sum(exps) <= degree:
            val = (q.weights * np.prod(q.points ** np.array(exps), axis=1)).sum()
            assert abs(val - monomial_integral(exps)) < 1e-15


@pytest.mark.parametrize("cell_type,degree", [("triangle", 2), ("triangle", 4), ("tetra", 2), ("tetra", 4)])
def test_points_inside_the_cell_and_positive_weights(cell_type, degree):
    q = quadrature_rule(cell_type, degree)
    assert (q.weights > 0).all()
    assert (q.points > 0).all() and (q.points.sum(axis=1) < 1).all()


def test_rule_is_not_exact_beyond_its_degree():
    q = quadrature_rule("triangle", 2)
    val = (q.weights * q.points[:, 0] ** 3).sum()
    assert abs(val - monomial_integral((3, 0))) > 1e-4


def test_known_sizes_and_read_only():
    assert quadrature_rule("triangle", 1).n_points == 1
    assert quadrature_rule("triangle", 2).n_points == 3
    assert quadrature_rule("triangle", 5).n_points == 7
    assert quadrature_rule("tetra", 2).n_points == 4
    with pytest.raises(ValueError):
        quadrature_rule("triangle", 2).weights[0] = 1.0


@pytest.mark.parametrize("bad", [-1, 1.5, "2"])
def test_bad_degree(bad):
    with pytest.raises(ValueError, match="degree"):
        quadrature_rule("triangle", bad)


def test_bad_cell_type():
    with pytest.raises(ValueError, match="cell_type"):
        quadrature_rule("hexahedron", 2)
