import numpy as np
import pytest

from pdekit.meshes import unit_square, unstructured_cube, unstructured_square
from pdekit.solvers.fem import (elasticity_matrix, error_norm, function_space, lame_parameters,
                                linear_elasticity, rigid_body_modes)

MESHES = [unstructured_square(5, rng=0), unstructured_cube(2, rng=0)]


@pytest.mark.parametrize("mesh", MESHES)
@pytest.mark.parametrize("p", [1, 2])
def test_rigid_body_modes_span_the_kernel(mesh, p):
    V = function_space(mesh, p, n_components=mesh.dim)
    lam = np.random.default_rng(0).uniform(0.5, 2.0, mesh.n_cells)
    K = elasticity_matrix(V, lam, 1.3)
    R = rigid_body_modes(V)
    assert R.shape[1] == (3 if mesh.dim == 2 else 6)
    assert np.abs(K @ R).max() < 1e-11
    assert abs(K - K.T).max() < 1e-12
    # exactly that kernel: the smallest nonzero eigenvalue is well separated
    ev = np.linalg.eigvalsh(K.toarray())
    k = R.shape[1]
    assert np.abs(ev[:k]).max() < 1e-10 and ev[k] > 1e-4


@pytest.mark.parametrize("mesh", MESHES)
def test_patch_tests(mesh):
    d = mesh.dim
    lam, mu = 2.0, 0.7
    # P1: linear displacement, no body force
    A = np.arange(1, d * d + 1).reshape(d, d) / 10.0
    lin = lambda x: A @ x  # noqa: E731
    uh = linear_elasticity(mesh, lam=lam, mu=mu, clamped=None, displacement=lin, degree=1)
    assert error_norm(uh, lin) < 1e-12
    # P2: u = (x^2, x y, 0) has -div sigma = (-(5 mu + 3 lam), 0, 0)
    quad = lambda x: np.stack([x[0] ** 2, x[0] * x[1]] + [0 * x[0]] * (d - 2))  # noqa: E731
    f = np.zeros(d)
    f[0] = -(5 * mu + 3 * lam)
    uh = linear_elasticity(mesh, lam=lam, mu=mu, body_force=f, clamped=None, displacement=quad, degree=2)
    assert error_norm(uh, quad) < 1e-11


def test_cantilever_direct_and_amg_agree_and_bend_down():
    mesh = unit_square(12)
    lam, mu = lame_parameters(1000.0, 0.3)
    kw = dict(lam=lam, mu=mu, body_force=np.array([0.0, -1.0]), clamped="left", degree=2)
    u1 = linear_elasticity(mesh, solver="direct", **kw)
    u2 = linear_elasticity(mesh, solver="amg-cg", rtol=1e-10, **kw)
    assert (u2.info.method, u2.info.preconditioner) == ("pcg", "sa-amg") and u2.info.iterations < 100
    assert np.abs(u1.values - u2.values).max() < 1e-6 * np.abs(u1.values).max()
    tip = u1.point_values()[np.argmax(mesh.points[:, 0] + mesh.points[:, 1])]
    assert tip[1] < 0


def test_bad_parameters():
    V = function_space(unit_square(2), 1, n_components=2)
    with pytest.raises(ValueError, match="mu must be positive"):
        elasticity_matrix(V, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"lam has shape \(3,\)"):
        elasticity_matrix(V, np.ones(3), 1.0)
    with pytest.raises(ValueError, match="finite"):
        elasticity_matrix(V, np.nan, 1.0)
    with pytest.raises(ValueError, match="n_components = dim"):
        elasticity_matrix(function_space(unit_square(2), 1), 1.0, 1.0)
    with pytest.raises(ValueError, match="nu"):
        lame_parameters(1.0, 0.5)


def test_callable_lame_parameters_are_evaluated_at_cell_centroids():
    from pdekit.meshes import cell_centroids

    mesh = unit_square(3)
    V = function_space(mesh, 2, n_components=2)
    lam = lambda x: 1.0 + x[0] + 3.0 * x[1]  # noqa: E731
    centroids = cell_centroids(mesh.points, mesh.cells)
    by_value = elasticity_matrix(V, lam=1.0 + centroids[:, 0] + 3.0 * centroids[:, 1], mu=2.0)
    assert abs(elasticity_matrix(V, lam=lam, mu=2.0) - by_value).max() < 1e-12
