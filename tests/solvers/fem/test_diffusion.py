"""Manufactured solutions on unstructured meshes: convergence rates by log-log fit."""

import numpy as np
import pytest

from pdekit.meshes import refine, unit_square, unstructured_cube, unstructured_square
from pdekit.solvers.fem import error_norm, poisson

C = np.array([0.7, -0.4, 0.5])


def exact(x):
    return np.exp(C[: len(x)] @ x)


def grad(x):
    return C[: len(x), None] * exact(x)


def source(x):  # -laplace(exp(c.x)) = -|c|^2 exp(c.x)
    return -(C[: len(x)] ** 2).sum() * exact(x)


def fitted_rates(meshes, hs, p):
    e0, e1 = [], []
    for mesh in meshes:
        uh = poisson(mesh, f=source, dirichlet=exact, degree=p)
        e0.append(error_norm(uh, exact))
        e1.append(error_norm(uh, exact, "H1-semi", grad=grad))
    return np.polyfit(np.log(hs), np.log(e0), 1)[0], np.polyfit(np.log(hs), np.log(e1), 1)[0]


@pytest.mark.parametrize("p", [1, 2])
def test_rates_2d_unstructured_delaunay(p):
    meshes = [unstructured_square(n, rng=1) for n in (8, 16, 32)]
    l2, h1 = fitted_rates(meshes, [1 / 8, 1 / 16, 1 / 32], p)
    assert abs(l2 - (p + 1)) < 0.15 and abs(h1 - p) < 0.15, (l2, h1)


@pytest.mark.parametrize("p", [1, 2])
def test_rates_3d_unstructured_refined(p):
    m0 = unstructured_cube(2, rng=1)
    meshes = [m0, refine(m0), refine(refine(m0))]
    l2, h1 = fitted_rates(meshes, [1.0, 0.5, 0.25], p)
    assert abs(l2 - (p + 1)) < 0.15 and abs(h1 - p) < 0.15, (l2, h1)


@pytest.mark.parametrize("mesh", [unstructured_square(4, rng=5), unstructured_cube(2, rng=5)])
@pytest.mark.parametrize("p", [1, 2])
def test_patch_test_reproduces_polynomials_of_the_degree(mesh, p):
    d = mesh.dim
    if p == 1:
        u = lambda x: 1.0 + x[0] - 2.0 * x[d - 1]  # noqa: E731
        f = 0.0
    else:
        u = lambda x: x[0] ** 2 + x[0] * x[1] - 0.5 * x[d - 1] ** 2  # noqa: E731
        f = -(2.0 - 1.0)
    uh = poisson(mesh, f=f, dirichlet=u, degree=p)
    assert error_norm(uh, u) < 1e-12


def test_variable_coefficient_and_amg_solver_agree_with_direct():
    mesh = unstructured_square(16, rng=2)
    a = lambda x: 1.0 + x[0] ** 2  # noqa: E731
    u1 = poisson(mesh, f=1.0, a=a, degree=2, solver="direct")
    u2 = poisson(mesh, f=1.0, a=a, degree=2, solver="amg-cg", rtol=1e-12)
    assert (u2.info.method, u2.info.preconditioner) == ("pcg", "sa-amg") and u2.info.iterations > 0
    assert np.abs(u1.values - u2.values).max() < 1e-9


def test_neumann_and_robin_manufactured():
    mesh = unit_square(16)
    # u = exp(c.x): a du/dn on the right (n = +x) is c0 u; Robin on top: du/dn + 2u = (c1 + 2) u
    uh = poisson(mesh, f=source, dirichlet=exact, degree=2,
                 neumann={"right": lambda x: C[0] * exact(x)},
                 robin={"top": (2.0, lambda x: (C[1] + 2.0) * exact(x))})
    assert error_norm(uh, exact) < 1e-5


@pytest.mark.parametrize("a,match", [
    (-1.0, "coefficient a must be positive"),
    (lambda x: np.where(x[0] > 0.5, np.nan, 1.0), "finite"),
    (np.ones(5), r"has shape \(5,\)"),
])
def test_bad_coefficient_is_a_clear_error(a, match):
    with pytest.raises(ValueError, match=match):
        poisson(unit_square(4), f=1.0, a=a)


def test_unknown_boundary_tag():
    with pytest.raises(ValueError, match="unknown boundary tag 'inlet'.*left"):
        poisson(unit_square(4), f=1.0, dirichlet_tag="inlet")
    with pytest.raises(KeyError):
        poisson(unit_square(4), f=1.0, neumann={"outlet": 1.0})


def test_singular_problem_is_refused():
    with pytest.raises(ValueError, match="Robin"):
        poisson(unit_square(4), f=1.0, dirichlet=None)


def test_inverted_mesh_is_refused():
    mesh = unit_square(3)
    mesh.cells[0, [1, 2]] = mesh.cells[0, [2, 1]]  # corrupt after construction
    with pytest.raises(ValueError, match="inverted"):
        poisson(mesh, f=1.0)


def test_darcy_random_coefficient():
    from pdekit.solvers.fem import darcy

    mesh = unstructured_square(12, rng=0)
    p1, a1 = darcy(mesh, rng=7)
    p2, a2 = darcy(mesh, rng=7)
    assert np.array_equal(p1.values, p2.values) and set(np.unique(a1)) == {3.0, 12.0}
    # the per-cell coefficient really is used: same as passing it explicitly
    assert np.allclose(poisson(mesh, f=1.0, a=a1).values, p1.values)
    # a higher permeability everywhere gives a lower pressure
    p3, _ = darcy(mesh, coefficient=12.0)
    p4, _ = darcy(mesh, coefficient=3.0)
    assert np.allclose(4 * p3.values, p4.values)
    assert p4.values.max() > p1.values.max() > p3.values.max()
