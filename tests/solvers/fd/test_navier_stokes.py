import math

import numpy as np
import pytest

from pdekit.solvers.fd import fno_forcing, navier_stokes


def _grid(s):
    x = np.arange(s) / s
    return np.meshgrid(x, x, indexing="ij")


def test_taylor_green_decay_rate():
    X, Y = _grid(32)
    w0 = 3.0 * np.cos(2 * math.pi * X) * np.cos(2 * math.pi * Y)
    nu, dt = 1e-2, 1e-3
    traj = navier_stokes(w0, nu, 0.5, dt=dt, record_every=50)
    t = np.arange(1, 11) * 50 * dt
    rate = -np.polyfit(t, np.log(traj[:, 0, 0] / 3.0), 1)[0]
    assert rate == pytest.approx(nu * 8 * math.pi**2, rel=1e-6)
    # the shape is kept exactly (the nonlinear term vanishes on one shell)
    np.testing.assert_allclose(traj[-1] / traj[-1][0, 0], w0 / 3.0, atol=1e-10)


def test_fno_forcing_steady_state_and_batch():
    s, nu = 32, 1e-2
    f = fno_forcing(s)
    steady = f / (nu * 8 * math.pi**2)  # forcing lives on |k|^2 = 2: an exact steady state
    w = navier_stokes(np.stack([steady, 2 * steady]), nu, 0.2, forcing=f, dt=1e-3)
    assert w.shape == (2, s, s)
    assert np.abs(w[0] - steady).max() < 1e-12 * np.abs(steady).max() * 1e3
    # the second one relaxes towards it at rate nu * 8 pi^2
    ratio = np.abs(w[1] - steady).max() / np.abs(steady).max()
    assert ratio == pytest.approx(math.exp(-nu * 8 * math.pi**2 * 0.2), rel=1e-4)


def test_nonlinear_flow_conserves_mean_and_dissipates_enstrophy():
    rng = np.random.default_rng(0)
    from pdekit.solvers.random_fields import gaussian_random_field

    w0 = gaussian_random_field((32, 32), alpha=2.5, tau=7.0, rng=rng)
    traj = navier_stokes(w0, 1e-3, 0.05, dt=1e-3, record_every=10)
    assert np.abs(traj.mean(axis=(1, 2))).max() < 1e-12
    enstrophy = (traj**2).mean(axis=(1, 2))
    assert np.all(np.diff(enstrophy) < 0)
    assert np.abs(traj[-1] - w0).max() > 1e-3  # it did move


def test_bad_input():
    with pytest.raises(ValueError, match="square grid"):
        navier_stokes(np.zeros((8, 6)), 1e-3, 1.0)
    with pytest.raises(ValueError, match="nu must be positive"):
        navier_stokes(np.zeros((8, 8)), -1.0, 1.0)
    with pytest.raises(ValueError, match="forcing must have shape"):
        navier_stokes(np.zeros((8, 8)), 1e-3, 0.01, forcing=np.zeros((4, 4)), dt=1e-3)


def test_progress_is_told_every_step():
    class Counter:
        def start(self, total, desc=""):
            self.total, self.seen, self.closed = total, 0, False

        def update(self, n=1, **postfix):
            self.seen += n

        def close(self):
            self.closed = True

    counter = Counter()
    navier_stokes(np.zeros((8, 8)), 1e-3, 0.0123, dt=1e-4, progress=counter)
    assert counter.total == 123 and counter.seen == 123 and counter.closed
    with pytest.raises(TypeError, match="progress must have"):
        navier_stokes(np.zeros((8, 8)), 1e-3, 0.01, dt=1e-3, progress=object())


def test_torch_tensors_give_the_numpy_trajectory():
    import torch

    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((2, 16, 16))
    f = fno_forcing(16)
    expected = navier_stokes(w0, 1e-2, 0.01, forcing=f, dt=1e-3, record_every=5)
    got = navier_stokes(torch.from_numpy(w0), 1e-2, 0.01, forcing=f, dt=1e-3, record_every=5)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    assert tuple(got.shape) == (2, 2, 16, 16)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError, match="floating-point"):
        navier_stokes(torch.zeros((8, 8), dtype=torch.int64), 1e-3, 0.01, dt=1e-3)
