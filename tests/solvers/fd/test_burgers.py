import math

import numpy as np
import pytest

from pdekit.solvers.fd import burgers

NU = 0.1


def _cole_hopf(x, t):
    """Exact periodic solution u = -2 nu phi_x / phi, phi = 2 + cos(2 pi x) exp(-4 pi^2 nu t)."""
    decay = math.exp(-4 * math.pi**2 * NU * t)
    phi = 2 + np.cos(2 * math.pi * x) * decay
    phi_x = -2 * math.pi * np.sin(2 * math.pi * x) * decay
    return -2 * NU * phi_x / phi


def test_exact_solution_spectral_in_space_fourth_order_in_time():
    x = np.arange(64) / 64
    dts = [0.02, 0.01, 0.005]
    errs = [np.abs(burgers(_cole_hopf(x, 0), NU, 1.0, dt=dt) - _cole_hopf(x, 1.0)).max()
            for dt in dts]
    assert 3.6 < np.polyfit(np.log(dts), np.log(errs), 1)[0] < 4.4
    assert errs[-1] < 1e-9


def test_batch_records_and_shock_forming_data():
    s = 256
    x = np.arange(s) / s
    u0 = np.stack([np.sin(2 * math.pi * x), _cole_hopf(x, 0)])
    traj = burgers(u0, NU, 0.5, dt=1e-3, record_every=100)
    assert traj.shape == (5, 2, s)
    np.testing.assert_allclose(traj[-1, 1], _cole_hopf(x, 0.5), atol=1e-8)
    # viscous energy decay: ||u|| strictly decreases in time
    norms = np.linalg.norm(traj[:, 0], axis=-1)
    assert np.all(np.diff(norms) < 0) and norms[0] < np.linalg.norm(u0[0])


def test_bad_input():
    with pytest.raises(ValueError, match="nu must be positive"):
        burgers(np.zeros(16), 0.0, 1.0)
    with pytest.raises(ValueError, match="dimensional"):
        burgers(np.zeros((2, 2, 16)), 0.1, 1.0)
    with pytest.raises(ValueError, match="finite"):
        burgers(np.full(16, np.inf), 0.1, 1.0)
