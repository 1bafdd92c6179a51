import math

import numpy as np
import pytest

from pdekit.solvers.fd import advection_diffusion


def _travelling_wave_errors(scheme, time, sizes=(32, 64, 128)):
    hs, errs = [], []
    for s in sizes:
        x = np.arange(s) / s
        u0 = np.sin(2 * math.pi * x)
        t = 0.25
        exact = np.sin(2 * math.pi * (x - t)) * math.exp(-0.01 * 4 * math.pi**2 * t)
        u = advection_diffusion(u0, 1.0, 0.01, t, dt=0.5 / s, scheme=scheme, time=time)
        errs.append(np.abs(u - exact).max())
        hs.append(1.0 / s)
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


@pytest.mark.parametrize(("scheme", "time", "lo", "hi"), [
    ("central", "theta", 1.9, 2.1),
    ("upwind", "theta", 0.85, 1.1),
    ("upwind", "imex", 0.85, 1.1),
])
def test_convergence_orders(scheme, time, lo, hi):
    assert lo < _travelling_wave_errors(scheme, time) < hi


def test_2d_rotating_velocity_field_and_dirichlet():
    s = 24
    x = np.linspace(0, 1, s)
    X, Y = np.meshgrid(x, x, indexing="ij")
    vel = np.stack([-(Y - 0.5), X - 0.5], axis=-1)
    u0 = np.exp(-50 * ((X - 0.65) ** 2 + (Y - 0.5) ** 2))
    u = advection_diffusion(u0, vel, 0.0, 0.2, dt=0.01, scheme="upwind", bc="dirichlet",
                            time="theta", theta=1.0)
    # implicit upwind is monotone: no new extrema; boundary held
    assert u.max() <= u0.max() + 1e-12 and u.min() >= -1e-12
    np.testing.assert_array_equal(u[0], u0[0])
    # the blob's centre of mass moves counter-clockwise (y increases)
    assert (u * Y).sum() / u.sum() > (u0 * Y).sum() / u0.sum() + 0.01


def test_bad_input():
    u0 = np.zeros((8, 8))
    with pytest.raises(ValueError, match=r"velocity must have shape \(2,\)"):
        advection_diffusion(u0, [1.0, 2.0, 3.0], 0.1, 1.0, dt=0.1)
    with pytest.raises(ValueError, match="unknown scheme"):
        advection_diffusion(u0, [1.0, 0.0], 0.1, 1.0, dt=0.1, scheme="weno")
    with pytest.raises(ValueError, match="unknown time"):
        advection_diffusion(u0, [1.0, 0.0], 0.1, 1.0, dt=0.1, time="rk4")
    with pytest.raises(ValueError, match="kappa must be >= 0"):
        advection_diffusion(u0, [1.0, 0.0], -0.1, 1.0, dt=0.1)
    with pytest.raises(ValueError, match="unknown bc"):
        advection_diffusion(u0, [1.0, 0.0], 0.1, 1.0, dt=0.1, bc="neumann")


def test_implicit_diffusion_goes_through_the_linear_solvers():
    u0 = np.random.default_rng(1).random((20, 20))
    args = (u0, (1.0, 0.5), 0.05, 0.02)
    direct = advection_diffusion(*args, dt=1e-3, time="imex", bc="dirichlet", solver="direct")
    amg = advection_diffusion(*args, dt=1e-3, time="imex", bc="dirichlet", solver="pcg", rtol=1e-12)
    assert np.abs(amg - direct).max() <= 1e-9 * np.abs(direct).max()
    # theta on advection + diffusion: a non-symmetric matrix, factorised by sparse LU only
    with pytest.raises(ValueError, match="not symmetric"):
        advection_diffusion(*args, dt=1e-3, time="theta", solver="pcg")
    lu = advection_diffusion(*args, dt=1e-3, time="theta", solver="direct")
    assert np.isfinite(lu).all()
