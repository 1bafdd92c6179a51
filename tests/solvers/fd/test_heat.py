import math

import numpy as np
import pytest

from pdekit.solvers.fd import heat


def _order(hs, errs):
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


@pytest.mark.parametrize("dim", [1, 2])
def test_crank_nicolson_dirichlet_second_order(dim):
    hs, errs = [], []
    for s in (17, 33, 65):
        x = np.linspace(0, 1, s)
        grids = np.meshgrid(*([x] * dim), indexing="ij")
        u0 = np.prod([np.sin(math.pi * g) for g in grids], axis=0)
        exact = u0 * math.exp(-0.1 * dim * math.pi**2 * 0.1)
        h = 1.0 / (s - 1)
        errs.append(np.abs(heat(u0, 0.1, 0.1, dt=h, bc="dirichlet") - exact).max())
        hs.append(h)
    assert 1.9 < _order(hs, errs) < 2.2


def test_backward_euler_is_first_order_in_time():
    s = 256  # spatial error negligible against the time error
    x = np.arange(s) / s
    u0 = np.cos(2 * math.pi * x)
    exact = u0 * math.exp(-0.05 * 4 * math.pi**2 * 0.5)
    dts = [0.05, 0.025, 0.0125]
    errs = [np.abs(heat(u0, 0.05, 0.5, dt=dt, theta=1.0) - exact).max() for dt in dts]
    assert 0.9 < _order(dts, errs) < 1.1


def test_neumann_conserves_mass_and_records():
    s = 33
    x = np.linspace(0, 1, s)
    u0 = np.cos(math.pi * x)[:, None] * np.ones(s)[None, :] + 1.0
    traj = heat(u0, 0.2, 0.1, dt=0.01, bc="neumann", record_every=2)
    assert traj.shape == (5, s, s)
    w = np.ones(s)
    w[[0, -1]] = 0.5  # trapezoid weights: the conserved discrete mass
    mass = lambda u: w @ u @ w  # noqa: E731
    assert abs(mass(traj[-1]) - mass(u0)) < 1e-12 * mass(u0)
    # the cosine mode decays at (close to) its continuous rate exp(-kappa pi^2 t)
    amp = traj[-1][0, 0] - 1.0
    assert amp == pytest.approx(math.exp(-0.2 * math.pi**2 * 0.1), rel=2e-3)


def test_bad_input():
    u0 = np.zeros((8, 8))
    with pytest.raises(ValueError, match="kappa must be positive"):
        heat(u0, -1.0, 1.0, dt=0.1)
    with pytest.raises(ValueError, match="theta"):
        heat(u0, 1.0, 1.0, dt=0.1, theta=1.5)
    with pytest.raises(ValueError, match="unknown bc"):
        heat(u0, 1.0, 1.0, dt=0.1, bc="robin")
    with pytest.raises(ValueError, match="record_every"):
        heat(u0, 1.0, 1.0, dt=0.1, record_every=3)
    with pytest.raises(ValueError, match="dimensional"):
        heat(np.zeros((2, 2, 2, 2)), 1.0, 1.0, dt=0.1)
    with pytest.raises(ValueError, match="finite"):
        heat(np.full(8, np.nan), 1.0, 1.0, dt=0.1)


@pytest.mark.parametrize("bc", ["periodic", "dirichlet", "neumann"])
def test_implicit_steps_go_through_the_linear_solvers(bc):
    u0 = np.random.default_rng(0).random((24, 24))
    reference = heat(u0, 0.1, 0.01, dt=1e-3, bc=bc, solver="direct")
    for solver, preconditioner in (("pcg", "amg"), ("cg", None), ("pcg", "ic0")):
        u = heat(u0, 0.1, 0.01, dt=1e-3, bc=bc, solver=solver, preconditioner=preconditioner, rtol=1e-12)
        assert np.abs(u - reference).max() <= 1e-9 * np.abs(reference).max()
    calls = []

    def identity(r):  # a callable preconditioner: only the linear solvers call it
        calls.append(1)
        return r

    u = heat(u0, 0.1, 0.01, dt=1e-3, bc=bc, solver="fcg", preconditioner=identity, rtol=1e-12)
    assert len(calls) >= 10 and np.abs(u - reference).max() <= 1e-9 * np.abs(reference).max()
    if bc == "dirichlet":
        assert (reference[0] == u0[0]).all() and (reference[:, -1] == u0[:, -1]).all()
    with pytest.raises(ValueError, match="method"):
        heat(u0, 0.1, 0.01, dt=1e-3, bc=bc, solver="multigrid")
