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


def _nonlinear_flow(s=32):
    """Vorticity on three shells (|k|^2 = 5, 10, 9): advection does not vanish."""
    X, Y = _grid(s)
    return (4 * np.sin(2 * math.pi * X) * np.cos(4 * math.pi * Y) + 3 * np.cos(2 * math.pi * (X + 2 * Y))
            + 2 * np.sin(6 * math.pi * Y))


def test_time_order_with_advection_is_1_for_euler_and_2_for_heun():
    w0, nu, t = _nonlinear_flow(), 1e-2, 0.4
    ref = navier_stokes(w0, nu, t, dt=t / 1600, advection="heun")
    # the nonlinear term matters: the linear (Stokes) solution is 8% away from the reference (and
    # the linear part alone is Crank-Nicolson, second order: Euler's order 1 comes from advection)
    lap = 4 * math.pi**2 * (np.fft.fftfreq(32, 1 / 32)[:, None] ** 2 + np.fft.fftfreq(32, 1 / 32)[None, :] ** 2)
    stokes = np.fft.ifft2(np.fft.fft2(w0) * np.exp(-nu * lap * t)).real
    assert np.linalg.norm(stokes - ref) / np.linalg.norm(ref) > 0.05
    orders = {}
    for scheme in ("euler", "heun"):
        errs = [np.linalg.norm(navier_stokes(w0, nu, t, dt=t / n, advection=scheme) - ref) / np.linalg.norm(ref)
                for n in (25, 50, 100)]
        orders[scheme] = [math.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert all(0.95 < p < 1.1 for p in orders["euler"]), orders
    assert all(1.9 < p < 2.1 for p in orders["heun"]), orders


def test_default_is_the_fno_generator_step():
    """The default scheme is FNO's ns_2d.py step (transcribed here), so FNO data are reproduced."""
    s, nu, dt, n = 32, 1e-3, 1e-3, 20
    rng = np.random.default_rng(3)
    from pdekit.solvers.random_fields import gaussian_random_field

    w0 = gaussian_random_field((s, s), alpha=2.5, tau=7.0, rng=rng)
    f = fno_forcing(s)
    k_max = s // 2
    k = np.fft.fftfreq(s, 1 / s)
    k_x, k_y = k[:, None] * np.ones((1, k_max + 1)), np.ones((s, 1)) * np.arange(k_max + 1)[None, :]
    lap = 4 * math.pi**2 * (k_x**2 + k_y**2)
    lap[0, 0] = 1.0
    dealias = (np.abs(k_y) <= 2 / 3 * k_max) & (np.abs(k_x) <= 2 / 3 * k_max)
    w_h, f_h = np.fft.rfft2(w0), np.fft.rfft2(f)
    for _ in range(n):
        psi_h = w_h / lap
        q = np.fft.irfft2(2j * math.pi * k_y * psi_h, s=(s, s))
        v = np.fft.irfft2(-2j * math.pi * k_x * psi_h, s=(s, s))
        w_x = np.fft.irfft2(2j * math.pi * k_x * w_h, s=(s, s))
        w_y = np.fft.irfft2(2j * math.pi * k_y * w_h, s=(s, s))
        F_h = np.fft.rfft2(q * w_x + v * w_y) * dealias
        w_h = (-dt * F_h + dt * f_h + (1.0 - 0.5 * dt * nu * lap) * w_h) / (1.0 + 0.5 * dt * nu * lap)
    fno = np.fft.irfft2(w_h, s=(s, s))
    ours = navier_stokes(w0, nu, n * dt, forcing=f, dt=dt)
    assert np.abs(ours - fno).max() < 1e-12 * np.abs(fno).max()
    assert np.array_equal(ours, navier_stokes(w0, nu, n * dt, forcing=f, dt=dt, advection="euler"))
    with pytest.raises(ValueError, match="unknown advection 'rk4'"):
        navier_stokes(w0, nu, dt, advection="rk4")


def test_heun_on_torch_matches_numpy():
    torch = pytest.importorskip("torch")
    w0 = _nonlinear_flow(16)
    a = navier_stokes(w0, 1e-2, 0.05, dt=1e-2, advection="heun")
    b = navier_stokes(torch.as_tensor(w0), 1e-2, 0.05, dt=1e-2, advection="heun").numpy()
    np.testing.assert_allclose(a, b, atol=1e-12)
