import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg  # noqa: F401  (sp.linalg)

from pdekit.solvers.fd import GridSystem, poisson_system


def _lap1(m, h):
    return sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1]) / h**2


def test_constant_coefficient_is_the_kronecker_laplacian():
    s = 9
    h = 1.0 / (s - 1)
    L, eye = _lap1(s - 2, h), sp.eye(s - 2)
    sys2 = poisson_system((s, s))
    assert abs(sys2.matrix - (sp.kron(L, eye) + sp.kron(eye, L))).max() == 0.0
    sys3 = poisson_system((s, s, s))
    L3 = (sp.kron(sp.kron(L, eye), eye) + sp.kron(sp.kron(eye, L), eye)
          + sp.kron(sp.kron(eye, eye), L))
    assert abs(sys3.matrix - L3).max() == pytest.approx(0.0, abs=1e-9)
    # smallest eigenvalue of the discrete Dirichlet Laplacian: 2 * 4/h^2 sin^2(pi h / 2)
    lam = np.linalg.eigvalsh(sys2.matrix.toarray()).min()
    assert lam == pytest.approx(8 / h**2 * math.sin(math.pi * h / 2) ** 2, rel=1e-12)


@pytest.mark.parametrize(
    "bc",
    ["dirichlet", {"left": "neumann", "top": "neumann"},
     {"left": "neumann", "right": "neumann", "bottom": "neumann"}],
)
def test_symmetric_positive_definite_with_mixed_bc(bc):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 20.0, (7, 9))
    system = poisson_system((7, 9), a=a, bc=bc)
    A = system.matrix
    assert abs(A - A.T).max() == 0.0
    assert np.linalg.eigvalsh(A.toarray()).min() > 0.1
    n_dirichlet_sides = 4 if isinstance(bc, str) else 4 - len(bc)
    assert system.rhs.shape == (int(system.unknowns.sum()),)
    if n_dirichlet_sides == 1:  # only the top side is Dirichlet: 7 * 8 unknowns
        assert A.shape == (56, 56)


def test_neumann_rows_are_half_cells():
    # left side Neumann: row sums vanish away from Dirichlet neighbours; rhs halves on the side
    system = poisson_system((5, 5), bc={"left": "neumann"}, f=2.0)
    grid_rhs = system.to_grid(system.rhs)
    assert grid_rhs[0, 2] == pytest.approx(1.0) and grid_rhs[2, 2] == pytest.approx(2.0)
    assert system.unknowns[0, 1:-1].all() and not system.unknowns[0, 0]
    A = system.matrix.toarray()
    row = int(np.flatnonzero(system.unknowns.ravel() == 1).tolist().index(2 * 5 + 2))
    assert A[row].sum() == pytest.approx(0.0, abs=1e-9)


def _manufactured_2d(s, bc):
    x = np.linspace(0.0, 1.0, s)
    X, Y = np.meshgrid(x, x, indexing="ij")
    pi = math.pi
    a = 1.0 + 0.5 * np.sin(pi * X) * np.cos(pi * Y)
    if bc == "dirichlet":
        u = np.sin(pi * X) * np.sin(pi * Y)
        ux, uy = pi * np.cos(pi * X) * np.sin(pi * Y), pi * np.sin(pi * X) * np.cos(pi * Y)
        lap = -2 * pi**2 * u
    else:  # Neumann at bottom/top (u_y = 0), Dirichlet left/right
        u = np.sin(pi * X) * np.cos(pi * Y)
        ux, uy = pi * np.cos(pi * X) * np.cos(pi * Y), -pi * np.sin(pi * X) * np.sin(pi * Y)
        lap = -2 * pi**2 * u
    ax = 0.5 * pi * np.cos(pi * X) * np.cos(pi * Y)
    ay = -0.5 * pi * np.sin(pi * X) * np.sin(pi * Y)
    f = -(a * lap + ax * ux + ay * uy)
    return a, f, u


@pytest.mark.parametrize("bc", ["dirichlet", {"bottom": "neumann", "top": "neumann"}])
def test_manufactured_solution_converges_at_second_order(bc):
    hs, errs = [], []
    for s in (9, 17, 33, 65):
        a, f, u = _manufactured_2d(s, "dirichlet" if isinstance(bc, str) else "mixed")
        system = poisson_system((s, s), a=a, f=f, bc=bc)
        x = sp.linalg.spsolve(system.matrix.tocsc(), system.rhs)
        errs.append(np.abs(system.to_grid(x) - u).max())
        hs.append(1.0 / (s - 1))
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert 1.9 < order < 2.2


def test_obstacle_nodes_are_dirichlet():
    s = 17
    obstacle = np.zeros((s, s), dtype=bool)
    obstacle[8:, :] = True  # right half solid: the Dirichlet problem on the left half
    system = poisson_system((s, s), obstacle=obstacle)
    h = 1.0 / (s - 1)
    expected = sp.kron(_lap1(7, h), sp.eye(s - 2)) + sp.kron(sp.eye(7), _lap1(s - 2, h))
    assert system.matrix.shape == (7 * 15, 7 * 15)
    assert abs(system.matrix - expected).max() == pytest.approx(0.0, abs=1e-9)
    assert not system.unknowns[obstacle].any()
    # a Neumann box made solvable by an obstacle
    obstacle = np.zeros((9, 9, 9), dtype=bool)
    obstacle[4, 4, 4] = True
    system = poisson_system((9, 9, 9), bc="neumann", obstacle=obstacle)
    assert system.matrix.shape == (728, 728)
    x = sp.linalg.spsolve(system.matrix.tocsc(), system.rhs)
    assert np.linalg.norm(system.matrix @ x - system.rhs) < 1e-8 * np.linalg.norm(system.rhs)


def test_grid_round_trip():
    system = poisson_system((6, 5, 4), bc={"front": "neumann"})
    assert isinstance(system, GridSystem)
    u = np.arange(6 * 5 * 4, dtype=float).reshape(6, 5, 4)
    back = system.to_grid(system.from_grid(u))
    np.testing.assert_array_equal(back[system.unknowns], u[system.unknowns])
    assert (back[~system.unknowns] == 0).all()
    with pytest.raises(ValueError, match="grid shape"):
        system.from_grid(np.zeros((6, 5)))
    with pytest.raises(ValueError, match="one value per unknown"):
        system.to_grid(np.zeros(3))


def test_bad_input():
    with pytest.raises(ValueError, match="pure-Neumann"):
        poisson_system((5, 5), bc="neumann")
    with pytest.raises(ValueError, match="unknown side"):
        poisson_system((5, 5), bc={"front": "neumann"})
    with pytest.raises(ValueError, match="unknown bc"):
        poisson_system((5, 5), bc="robin")
    with pytest.raises(ValueError, match="unknown face_average"):
        poisson_system((5, 5), face_average="geometric")
    with pytest.raises(ValueError, match="2D"):
        poisson_system((5,))
    with pytest.raises(ValueError, match="positive everywhere"):
        poisson_system((5, 5), a=-np.ones((5, 5)))
    with pytest.raises(ValueError, match="grid shape"):
        poisson_system((5, 5), a=np.ones((4, 5)))
    with pytest.raises(ValueError, match="source f"):
        poisson_system((5, 5), f=np.ones(3))
    with pytest.raises(TypeError, match="boolean"):
        poisson_system((5, 5), obstacle=np.zeros((5, 5)))
