import math

import numpy as np
import pytest

from pdekit.data.fd_problems import _solve_grid
from pdekit.data.problems import get_problem, list_problems
from pdekit.solvers import fd
from pdekit.solvers.random_fields import gaussian_random_field, threshold_coefficient


def _solve(name, resolution, seed=0, **params):
    problem = get_problem(name)
    return problem.solve(np.random.default_rng(seed), resolution, **problem.resolve_params(params))


def test_registered():
    assert {"darcy", "navier-stokes", "burgers", "heat", "wave", "advection-diffusion"} <= set(
        list_problems())


def test_darcy_is_the_fno_generator_and_strides():
    sample = _solve("darcy", 17, seed=3)
    assert sample.inputs.shape == (17, 17, 1) and sample.outputs.shape == (17, 17, 1)
    a = sample.inputs[..., 0]
    assert set(np.unique(a)) == {3.0, 12.0}
    # the same draw by hand: GRF -> threshold -> solve
    g = gaussian_random_field((17, 17), alpha=2.0, tau=3.0, bc="neumann",
                              rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, threshold_coefficient(g))
    np.testing.assert_allclose(sample.outputs[..., 0], fd.darcy(a), rtol=1e-9, atol=1e-14)
    # computed at 33 and strided to 17: nodes coincide, and it is deterministic
    fine = _solve("darcy", 17, seed=4, solve_resolution=33)
    again = _solve("darcy", 17, seed=4, solve_resolution=33)
    np.testing.assert_array_equal(fine.outputs, again.outputs)
    full = _solve("darcy", 33, seed=4)
    np.testing.assert_allclose(fine.outputs, full.outputs[::2, ::2], rtol=1e-9, atol=1e-14)
    coords = get_problem("darcy").coordinates(17, **get_problem("darcy").defaults)
    np.testing.assert_allclose(coords["x"][[0, -1]], [0.0, 1.0])
    with pytest.raises(ValueError, match="multiple"):
        _solve("darcy", 17, solve_resolution=30)
    with pytest.raises(ValueError, match="unknown parameter"):
        get_problem("darcy").resolve_params({"alfa": 2.0})


def test_navier_stokes_small():
    problem = get_problem("navier-stokes")
    params = problem.resolve_params(
        {"t_final": 0.02, "dt": 1e-3, "record_every": 5, "solve_resolution": 32})
    sample = problem.solve(np.random.default_rng(0), 16, **params)
    assert sample.inputs.shape == (16, 16, 1) and sample.outputs.shape == (4, 16, 16, 1)
    coords = problem.coordinates(16, **params)
    np.testing.assert_allclose(coords["t"], [0.005, 0.01, 0.015, 0.02])
    # the stored frames are a subsample of the 32^2 computation with the FNO forcing
    w0 = gaussian_random_field((32, 32), alpha=2.5, tau=7.0, sigma=math.sqrt(2) * 7.0**1.5,
                               bc="periodic", rng=np.random.default_rng(0))
    w = fd.navier_stokes(w0, 1e-3, 0.02, forcing=fd.fno_forcing(32), dt=1e-3, record_every=5)
    np.testing.assert_array_equal(sample.inputs[..., 0], w0[::2, ::2])
    np.testing.assert_allclose(sample.outputs[..., 0], w[:, ::2, ::2], rtol=1e-12, atol=1e-12)
    assert np.abs(sample.outputs[0] - sample.inputs).max() > 0
    on_torch = problem.solve(np.random.default_rng(0), 16, **{**params, "device": "cpu"})
    np.testing.assert_allclose(on_torch.outputs, sample.outputs, rtol=1e-10, atol=1e-12)


def test_burgers_heat_wave_advection_shapes_and_determinism():
    b = _solve("burgers", 64, seed=1, solve_resolution=128)
    assert b.inputs.shape == (64, 1) and b.outputs.shape == (64, 1)
    # viscous decay of energy: ||u(1)|| < ||u0||
    assert np.linalg.norm(b.outputs) < np.linalg.norm(b.inputs)
    for name in ("heat", "wave", "advection-diffusion"):
        s1 = _solve(name, 16, seed=2, t_final=0.1, n_records=2)
        s2 = _solve(name, 16, seed=2, t_final=0.1, n_records=2)
        assert s1.inputs.shape == (16, 16, 1) and s1.outputs.shape == (2, 16, 16, 1)
        np.testing.assert_array_equal(s1.outputs, s2.outputs)
        coords = get_problem(name).coordinates(16, **get_problem(name).resolve_params(
            {"t_final": 0.1, "n_records": 2}))
        np.testing.assert_allclose(coords["t"], [0.05, 0.1])
    heat = _solve("heat", 16, seed=2, t_final=0.1, n_records=2)
    # each Fourier mode decays by its own factor: the top mode (k = 1, 0) one by exp(-4 pi^2 kappa t)
    u0_hat = np.fft.fft2(heat.inputs[..., 0])[1, 0]
    u_hat = np.fft.fft2(heat.outputs[-1, ..., 0])[1, 0]
    h = 1 / 16
    lam = 4 / h**2 * math.sin(math.pi * h) ** 2  # discrete eigenvalue of mode (1, 0)
    assert abs(u_hat / u0_hat) == pytest.approx(math.exp(-0.01 * lam * 0.1), rel=1e-5)


def test_solve_grid_follows_the_stride_rules():
    assert _solve_grid(85, 421, endpoint=True) == (421, 5)
    assert _solve_grid(64, 256, endpoint=False) == (256, 4)
    assert _solve_grid(64, None, endpoint=False) == (64, 1)
    with pytest.raises(ValueError, match="multiple of resolution"):
        _solve_grid(64, 100, endpoint=False)
    with pytest.raises(ValueError, match="must be >= resolution"):
        _solve_grid(64, 32, endpoint=False)


def test_darcy_preconditioner_is_a_recorded_choice(tmp_path, capsys):
    """`pdekit generate darcy --preconditioner dcdm-poisson-2d`: same data, recorded in the file."""
    import h5py

    from pdekit.cli import main
    from pdekit.data import read_info

    common = ["--n", "2", "--resolution", "33", "--workers", "0", "--quiet"]
    assert main(["generate", "darcy", *common, "--preconditioner", "dcdm-poisson-2d", "-o", str(tmp_path / "d.h5")]) == 0
    assert main(["generate", "darcy", *common, "-o", str(tmp_path / "default.h5")]) == 0
    params = read_info(tmp_path / "d.h5").header.params
    assert params["preconditioner"] == "dcdm-poisson-2d" and params["solver"] == "auto"
    assert read_info(tmp_path / "default.h5").header.params["preconditioner"] == ""
    with h5py.File(tmp_path / "d.h5") as f, h5py.File(tmp_path / "default.h5") as g:
        np.testing.assert_allclose(f["outputs"][:], g["outputs"][:], rtol=1e-6, atol=1e-9)
    assert main(["generate", "darcy", "--n", "1", "--resolution", "9", "--workers", "0", "--quiet",
                 "--preconditioner", "ilu", "-o", str(tmp_path / "e.h5")]) == 2
    assert "unknown preconditioner 'ilu'" in capsys.readouterr().err
