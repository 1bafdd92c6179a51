import math

import numpy as np
import pytest

from pdekit.solvers.fd import wave, wave_energy


def test_standing_wave_second_order():
    hs, errs = [], []
    for s in (16, 32, 64):
        x = np.arange(s) / s
        X, Y = np.meshgrid(x, x, indexing="ij")
        u0 = np.sin(2 * math.pi * X) * np.cos(2 * math.pi * Y)
        u = wave(u0, np.zeros_like(u0), 1.0, 0.5, cfl=0.5)
        errs.append(np.abs(u - u0 * math.cos(2 * math.pi * math.sqrt(2) * 0.5)).max())
        hs.append(1.0 / s)
    assert 1.9 < np.polyfit(np.log(hs), np.log(errs), 1)[0] < 2.1


@pytest.mark.parametrize("bc", ["periodic", "dirichlet"])
def test_discrete_energy_is_conserved(bc):
    rng = np.random.default_rng(0)
    s = 24
    u0 = rng.standard_normal((s, s))
    if bc == "dirichlet":
        u0[[0, -1], :] = 0.0
        u0[:, [0, -1]] = 0.0
    v0 = rng.standard_normal((s, s))
    h = 1.0 / s if bc == "periodic" else 1.0 / (s - 1)
    dt = 0.7 * h / 2.0 / math.sqrt(2)
    traj = wave(u0, v0, 2.0, 200 * dt, dt=dt, bc=bc, record_every=1)
    assert traj.shape == (200, s, s)
    energy = [wave_energy(traj[i], traj[i + 1], 2.0, dt, bc=bc) for i in range(199)]
    assert energy[0] > 0
    assert (max(energy) - min(energy)) / energy[0] < 1e-11


def test_1d_dalembert_and_errors():
    s = 200
    x = np.arange(s) / s
    u0 = np.exp(-100 * (x - 0.5) ** 2)
    u = wave(u0, np.zeros(s), 1.0, 1.0, cfl=1.0)  # c dt = h: exact translation in 1D
    np.testing.assert_allclose(u, u0, atol=1e-10)
    with pytest.raises(ValueError, match="unstable"):
        wave(np.zeros((8, 8)), np.zeros((8, 8)), 1.0, 1.0, dt=0.2)
    with pytest.raises(ValueError, match="v0 must have the shape"):
        wave(np.zeros(8), np.zeros(7), 1.0, 1.0)
    with pytest.raises(ValueError, match="c must be positive"):
        wave(np.zeros(8), np.zeros(8), 0.0, 1.0)
