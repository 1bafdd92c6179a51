"""The on_step(step, t, state) callback of every time-dependent solver.

Each solver must call it once per step, in order, with exactly (bit for bit) the states it
returns when recording every step, at times k * dt, and as read-only views.
"""

import math

import numpy as np
import pytest

from pdekit.meshes import unit_square
from pdekit.solvers import fd, fem


class Recorder:
    def __init__(self):
        self.steps, self.times, self.states, self.writeable = [], [], [], []

    def __call__(self, step, t, state):
        self.steps.append(step)
        self.times.append(t)
        self.writeable.append(state.flags.writeable)
        self.states.append(np.array(state, copy=True))

    def check(self, recorded, n_steps, dt):
        assert self.steps == list(range(1, n_steps + 1))
        np.testing.assert_allclose(self.times, dt * np.arange(1, n_steps + 1), rtol=1e-12)
        assert not any(self.writeable)
        np.testing.assert_array_equal(np.stack(self.states), recorded)


def _grf(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape)


def test_heat_on_step_matches_recorded_states():
    u0, rec = _grf((12, 10)), Recorder()
    out = fd.heat(u0, 0.1, 0.05, dt=0.01, record_every=1)
    last = fd.heat(u0, 0.1, 0.05, dt=0.01, on_step=rec)
    rec.check(out, 5, 0.01)
    np.testing.assert_array_equal(last, out[-1])


def test_advection_diffusion_on_step_both_time_schemes():
    u0 = _grf((16, 16), 1)
    for time in ("theta", "imex"):
        rec = Recorder()
        out = fd.advection_diffusion(u0, [1.0, 0.5], 0.01, 0.03, dt=0.01, time=time, record_every=1)
        fd.advection_diffusion(u0, [1.0, 0.5], 0.01, 0.03, dt=0.01, time=time, on_step=rec)
        rec.check(out, 3, 0.01)


def test_burgers_on_step_gives_physical_states_batch_too():
    x = np.arange(32) / 32
    u0 = np.stack([np.sin(2 * math.pi * x), 0.5 * np.cos(2 * math.pi * x)])
    rec = Recorder()
    out = fd.burgers(u0, 0.1, 0.04, dt=0.01, record_every=1)
    fd.burgers(u0, 0.1, 0.04, dt=0.01, on_step=rec)
    assert rec.states[0].shape == (2, 32)
    rec.check(out, 4, 0.01)


def test_navier_stokes_on_step_gives_vorticity():
    w0, rec = _grf((16, 16), 2), Recorder()
    out = fd.navier_stokes(w0, 1e-3, 3e-3, dt=1e-3, forcing=fd.fno_forcing(16), record_every=1)
    fd.navier_stokes(w0, 1e-3, 3e-3, dt=1e-3, forcing=fd.fno_forcing(16), on_step=rec)
    rec.check(out, 3, 1e-3)


def test_navier_stokes_on_step_with_torch_tensors():
    torch = pytest.importorskip("torch")
    w0 = torch.as_tensor(_grf((8, 8), 3))
    seen = []
    out = fd.navier_stokes(w0, 1e-3, 2e-3, dt=1e-3, record_every=1)
    fd.navier_stokes(w0, 1e-3, 2e-3, dt=1e-3, on_step=lambda k, t, w: seen.append(w.clone()))
    assert torch.equal(torch.stack(seen), out)


def test_wave_on_step_includes_the_taylor_start():
    u0, rec = _grf((16, 16), 4), Recorder()
    out = fd.wave(u0, np.zeros_like(u0), 1.0, 0.1, dt=0.02, record_every=1)
    fd.wave(u0, np.zeros_like(u0), 1.0, 0.1, dt=0.02, on_step=rec)
    rec.check(out, 5, 0.02)


def test_fem_heat_and_wave_on_step():
    mesh = unit_square(4)
    u0 = lambda x: np.sin(math.pi * x[0]) * np.sin(math.pi * x[1])  # noqa: E731
    rec = Recorder()
    tr = fem.heat(mesh, u0=u0, dt=0.01, n_steps=4)
    fem.heat(mesh, u0=u0, dt=0.01, n_steps=4, save_every=2, on_step=rec)
    rec.check(tr.values[1:], 4, 0.01)
    rec = Recorder()
    tr = fem.wave(mesh, u0=u0, dt=0.05, n_steps=3)
    fem.wave(mesh, u0=u0, dt=0.05, n_steps=3, on_step=rec)
    rec.check(tr.values[1:], 3, 0.05)


def test_on_step_exception_stops_the_solve():
    calls = []

    def stop(step, t, state):
        calls.append(step)
        if step == 2:
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError, match="abandon"):
        fd.heat(_grf(16), 0.1, 0.1, dt=0.01, on_step=stop)
    assert calls == [1, 2]


def test_on_step_must_be_callable():
    with pytest.raises(TypeError, match="on_step must be a callable"):
        fd.heat(_grf(16), 0.1, 0.1, dt=0.01, on_step=3)
    with pytest.raises(TypeError, match="on_step must be a callable"):
        fem.heat(unit_square(2), u0=0.0, dt=0.1, n_steps=1, on_step="x")


@pytest.mark.parametrize("pde, params", [
    ("heat", {"n_records": 4, "t_final": 0.04}),
    ("advection-diffusion", {"n_records": 3, "t_final": 0.03}),
    ("wave", {"n_records": 4, "t_final": 0.1}),
    ("navier-stokes", {"t_final": 4e-3, "dt": 1e-3, "record_every": 2, "solve_resolution": 16}),
])
def test_problem_solves_report_each_stored_frame(pde, params):
    from pdekit.data.problems import get_problem

    problem = get_problem(pde)
    kw = problem.resolve_params(params)
    frames = []
    sample = problem.solve(np.random.default_rng(0), 8, **kw,
                           on_record=lambda j, t, f: frames.append((j, t, np.array(f))))
    assert [j for j, _, _ in frames] == list(range(len(sample.outputs)))
    np.testing.assert_array_equal(np.stack([f for _, _, f in frames]), sample.outputs)
    again = problem.solve(np.random.default_rng(0), 8, **kw)
    np.testing.assert_array_equal(again.outputs, sample.outputs)
