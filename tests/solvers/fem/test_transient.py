import numpy as np
import pytest

from pdekit.meshes import unit_square, unstructured_square
from pdekit.solvers.fem import (error_norm, function_space, heat, mass_matrix, stiffness_matrix,
                                wave)


def mode(x):
    return np.sin(np.pi * x[0]) * np.sin(np.pi * x[1])


MESH = unit_square(12)
LAM = 2 * np.pi**2


@pytest.mark.parametrize("theta,order", [(0.5, 2), (1.0, 1)])
def test_heat_time_convergence_order(theta, order):
    errs = []
    for dt in (0.02, 0.01):
        tr = heat(MESH, u0=mode, dt=dt, n_steps=round(0.1 / dt), theta=theta, degree=2)
        assert np.isclose(tr.times[-1], 0.1)
        errs.append(error_norm(tr[-1], lambda x: np.exp(-LAM * 0.1) * mode(x)))
    assert abs(np.log2(errs[0] / errs[1]) - order) < 0.15, errs


def test_heat_steady_state_with_source_and_boundary_value():
    # u -> 1 + steady solution; with f = 0 and u = 1 on the boundary the state tends to 1
    tr = heat(unstructured_square(6, rng=0), u0=0.0, dirichlet=1.0, dt=0.5, n_steps=40, theta=1.0,
              save_every=10)
    assert len(tr) == 5
    assert np.abs(tr.values[-1] - 1.0).max() < 1e-6
    assert np.all(np.diff(tr.values.mean(axis=1)) > -1e-12) and tr.values[1].mean() > 0.9


def test_wave_matches_standing_wave():
    tr = wave(MESH, u0=mode, dt=0.01, n_steps=100, degree=2, save_every=50)
    assert len(tr) == 3 and tr.velocities.shape == tr.values.shape
    exact = lambda x: np.cos(np.sqrt(LAM) * 1.0) * mode(x)  # noqa: E731
    assert error_norm(tr[-1], exact) < 2e-3


def test_wave_conserves_discrete_energy_exactly():
    speed = lambda x: 1.0 + 0.5 * x[0]  # noqa: E731
    mesh = unstructured_square(8, rng=0)
    V = function_space(mesh, 1)
    K, M = stiffness_matrix(V, lambda x: speed(x) ** 2), mass_matrix(V)
    tr = wave(mesh, u0=mode, v0=lambda x: 3 * x[0] * (1 - x[0]) * x[1] * (1 - x[1]), c=speed,
              dt=0.05, n_steps=60)
    u, v = tr.values, tr.velocities
    e = 0.5 * (np.einsum("ti,ti->t", v, (M @ v.T).T) + np.einsum("ti,ti->t", u, (K @ u.T).T))
    assert e.min() > 0.1 and np.ptp(e) / e.mean() < 1e-12
    assert np.abs(u[-1] - u[0]).max() > 0.1  # it did move


def test_bad_arguments():
    with pytest.raises(ValueError, match="dt must be positive"):
        heat(MESH, u0=0.0, dt=-1.0, n_steps=1)
    with pytest.raises(ValueError, match="n_steps"):
        wave(MESH, u0=0.0, dt=0.1, n_steps=0)
    with pytest.raises(ValueError, match="theta"):
        heat(MESH, u0=0.0, dt=0.1, n_steps=1, theta=0.2)
    with pytest.raises(ValueError, match="c must be positive"):
        wave(MESH, u0=0.0, dt=0.1, n_steps=1, c=-1.0)
    with pytest.raises(ValueError, match="u0 must be"):
        heat(MESH, u0=np.ones(3), dt=0.1, n_steps=1)


@pytest.mark.parametrize("kwargs", [{"solver": "pcg", "preconditioner": "amg"}, {"solver": "cg"},
                                    {"solver": "direct"}])
def test_step_solvers_agree(kwargs):
    from pdekit.meshes import unstructured_square

    mesh = unstructured_square(12, rng=0)
    u0 = lambda x: np.sin(np.pi * x[0]) * np.sin(np.pi * x[1])  # noqa: E731
    reference = heat(mesh, u0=u0, dt=0.01, n_steps=5)
    np.testing.assert_allclose(heat(mesh, u0=u0, dt=0.01, n_steps=5, **kwargs).values, reference.values,
                               rtol=1e-8, atol=1e-10)
    w_ref = wave(mesh, u0=u0, dt=0.01, n_steps=5)
    np.testing.assert_allclose(wave(mesh, u0=u0, dt=0.01, n_steps=5, **kwargs).values, w_ref.values,
                               rtol=1e-8, atol=1e-10)
