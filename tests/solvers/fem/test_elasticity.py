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


def _manufactured(d, lam, mu):
    """u_i = a_i prod_j sin(k_ij pi x_j) (zero on the boundary of the unit square / cube), its
    gradient, and the body force f = -div sigma(u) = -mu lap u - (lam + mu) grad div u."""
    k = (np.array([[1, 2], [2, 1]]) if d == 2 else np.ones((3, 3), dtype=int)) * np.pi
    amp = np.array([1.0, -0.5, 0.7])[:d]

    def sines(x):
        return np.sin(k[:, :, None] * x[None, :, :]), k[:, :, None] * np.cos(k[:, :, None] * x[None, :, :])

    def u(x):
        return amp[:, None] * np.prod(sines(x)[0], axis=1)

    def product_without(s, i, skip):
        return np.prod([s[i, j] for j in range(d) if j not in skip], axis=0) if d > len(skip) else 1.0

    def grad(x):
        s, c = sines(x)
        return np.stack([[amp[i] * c[i, a] * product_without(s, i, {a}) for a in range(d)] for i in range(d)])

    def hessian(x, i):  # d^2 u_i / dx_a dx_b
        s, c = sines(x)
        return [[(-amp[i] * k[i, a] ** 2 * np.prod(s[i], axis=0)) if a == b
                 else amp[i] * c[i, a] * c[i, b] * product_without(s, i, {a, b}) for b in range(d)]
                for a in range(d)]

    def f(x):
        h = [hessian(x, i) for i in range(d)]
        lap = np.stack([sum(h[i][a][a] for a in range(d)) for i in range(d)])
        grad_div = np.stack([sum(h[i][b][i] for i in range(d)) for b in range(d)])
        return -mu * lap - (lam + mu) * grad_div

    return u, grad, f


@pytest.mark.parametrize("d, degree, sizes, l2_rate, h1_rate", [
    (2, 1, (8, 16, 32), 2.0, 1.0),
    (2, 2, (4, 8, 16), 3.0, 2.0),
    (3, 1, (4, 6, 8), 2.0, 1.0),
    (3, 2, (2, 3, 4), 3.0, 2.0),
])
def test_convergence_rates_against_a_manufactured_solution(d, degree, sizes, l2_rate, h1_rate):
    """P1: L2 order 2, H1 order 1; P2: 3 and 2 (2D to the asymptotic rate within 0.1; the
    3D meshes kept small for time are still pre-asymptotic, within 0.25)."""
    from pdekit.meshes import unit_cube

    lam, mu = 2.0, 0.7
    u, grad, f = _manufactured(d, lam, mu)
    make = unit_square if d == 2 else unit_cube
    errors = []
    for n in sizes:
        uh = linear_elasticity(make(n), lam=lam, mu=mu, body_force=f, clamped=None, degree=degree,
                               solver="direct")
        errors.append((error_norm(uh, u), error_norm(uh, u, "H1-semi", grad=grad)))
    h = np.log(np.asarray(sizes[-1]) / sizes[-2])
    rates = [np.log(errors[-2][i] / errors[-1][i]) / h for i in (0, 1)]
    slack = 0.1 if d == 2 else 0.25
    assert abs(rates[0] - l2_rate) < slack and abs(rates[1] - h1_rate) < slack, rates
    # and the rates grow towards the asymptotic ones (not a plateau: the error keeps falling)
    first = [np.log(errors[0][i] / errors[1][i]) / np.log(sizes[1] / sizes[0]) for i in (0, 1)]
    assert rates[0] >= first[0] - 0.05 and rates[1] >= first[1] - 0.05
