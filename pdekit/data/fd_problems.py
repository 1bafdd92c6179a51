"""Finite-difference PDE problems for :func:`pdekit.data.generate`.

Registered names (parameters and defaults in each ``Problem.defaults``):

* ``darcy``: the FNO Darcy set. a = ``a_high`` where a Neumann GRF (alpha, tau) is >= 0,
  ``a_low`` elsewhere; -div(a grad u) = f, u = 0 on the boundary of the unit square.
  Inputs a (s, s, 1), outputs u (s, s, 1) on the s x s node grid. With ``solve_resolution``
  r (r - 1 a multiple of s - 1) the field is drawn and solved at r and strided down, as the
  FNO sets were (421 -> 211, 141, 106, 85, 61, ...). ``solver`` and ``preconditioner`` are
  those of :func:`pdekit.solvers.linear.solve` (empty: the measured default); a shipped
  network's name (``dcdm-poisson-2d``) runs deep conjugate directions with it.
* ``navier-stokes``: the FNO vorticity set on the unit torus: w0 from a periodic GRF
  (alpha = 2.5, tau = 7), FNO forcing, pseudo-spectral steps of ``dt`` (Crank–Nicolson
  viscous term; advection forward Euler as FNO's generator, first order in time, or
  ``advection="heun"``, second order) computed at ``solve_resolution`` and stored at s every
  ``record_every`` steps. Inputs
  w0 (s, s, 1), outputs w (T, s, s, 1). ``sigma=None`` matches the FNO draws: the FNO
  script filters complex noise with N(0, 1) real and imaginary parts and keeps the real part,
  which doubles the nominal variance, so the default is sigma = sqrt(2) tau^(alpha - 1).
  ``device`` (e.g. ``"cuda"``) runs the time stepping with torch on that device.
* ``burgers``: the FNO Burgers set: u0 a periodic GRF (alpha = 2.5, tau = 7, sigma = 49),
  nu = 0.1, u at t = 1. Inputs u0 (s, 1), outputs u (s, 1).
* ``heat``, ``advection-diffusion``, ``wave``: 2D periodic problems with GRF initial states
  and ``n_records`` stored frames: inputs u0 (s, s, 1), outputs u (T, s, s, 1).

Every solve draws all its randomness from the ``rng`` it is given, so it is deterministic.
The time-dependent solves (``navier-stokes``, ``heat``, ``advection-diffusion``, ``wave``) also
take ``on_record(j, t, frame)``, called as each stored frame is computed with ``frame`` equal
to the sample's ``outputs[j]`` (how :mod:`pdekit.streaming` streams them).
"""

from __future__ import annotations

import math

import numpy as np

from pdekit.data import limits as L
from pdekit.data.problems import (Problem, Sample, preconditioner_name, register_problem,
                                  resolve_preconditioner)
from pdekit.solvers.linear.dispatch import LEGACY_METHODS, METHODS
from pdekit.data.strides import resolution_stride
from pdekit.solvers import fd
from pdekit.solvers.random_fields import gaussian_random_field, threshold_coefficient

#: the ``solver`` parameter: a method of pdekit.solvers.linear.solve (or a legacy name it maps)
SOLVE_METHODS = (*METHODS, *LEGACY_METHODS)

__all__: list[str] = []


def _solve_grid(resolution: int, solve_resolution: int | None, *, endpoint: bool) -> tuple[int, int]:
    """The grid size to solve on and the stride down to ``resolution`` (rule of
    :func:`pdekit.data.strides.resolution_stride`)."""
    if int(resolution) < 2:
        raise ValueError(f"resolution must be >= 2; got {resolution}")
    solve = int(resolution) if solve_resolution is None else int(solve_resolution)
    if solve < int(resolution):
        raise ValueError(f"solve_resolution {solve} must be >= resolution {resolution}")
    return solve, resolution_stride(solve, int(resolution), endpoint=endpoint)


def _darcy_check(resolution: int, *, solve_resolution, **_) -> None:
    _solve_grid(resolution, solve_resolution, endpoint=True)
    if solve_resolution is not None and solve_resolution > 8193:
        raise ValueError(f"solve_resolution {solve_resolution} is out of range: expected at most 8193")


def _periodic_check(resolution: int, *, solve_resolution=None, **_) -> None:
    _solve_grid(resolution, solve_resolution, endpoint=False)


def _ns_check(resolution: int, *, solve_resolution, t_final, dt, record_every, **_) -> None:
    _periodic_check(resolution, solve_resolution=solve_resolution)
    n_steps = max(1, math.ceil(t_final / dt - 1e-9))
    if record_every > n_steps:
        raise ValueError(f"record_every = {record_every} steps is more than the {n_steps} steps of dt = "
                         f"{dt:g} up to t_final = {t_final:g}: no frame would be stored")


def _frame_hook(on_record, per: int, frame=lambda u: u[..., None]):
    """An ``on_step`` for the solver that calls ``on_record(j, t, frame)`` at stored frame j.

    ``frame(u)`` is exactly what the sample stores for that step (``outputs[j]``).
    """
    if on_record is None:
        return None

    def on_step(k, t, u):
        if k % per == 0:
            on_record(k // per - 1, t, frame(u))

    return on_step


def _frame_steps(t_final: float, dt: float, n_records: int) -> tuple[int, float]:
    """Steps per stored frame and the step that puts ``n_records`` frames on [0, t_final]."""
    n_records = int(n_records)
    if n_records < 1:
        raise ValueError(f"n_records must be >= 1; got {n_records}")
    per = max(1, math.ceil(t_final / (dt * n_records) - 1e-9))
    return per, t_final / (per * n_records)


def _times(t_final: float, n_records: int) -> np.ndarray:
    return t_final * np.arange(1, int(n_records) + 1) / int(n_records)


# ---- Darcy -------------------------------------------------------------------------------


def _darcy_solve(rng, resolution, *, alpha, tau, a_high, a_low, f, solve_resolution,
                 face_average, solver, preconditioner) -> Sample:
    solve, k = _solve_grid(resolution, solve_resolution, endpoint=True)
    field = gaussian_random_field((solve, solve), alpha=alpha, tau=tau, bc="neumann", rng=rng)
    a = threshold_coefficient(field, high=a_high, low=a_low)
    u = fd.darcy(a, f, face_average=face_average, solver=solver,
                 preconditioner=resolve_preconditioner(preconditioner))
    return Sample(inputs=a[::k, ::k, None], outputs=u[::k, ::k, None])


def _node_grid(resolution, **params) -> dict:
    x = np.linspace(0.0, 1.0, int(resolution))
    return {"x": x, "y": x.copy()}


register_problem(Problem(
    name="darcy",
    summary="FNO Darcy flow: -div(a grad u) = f, a = 12/3 thresholded GRF, u = 0 on the boundary",
    defaults={"alpha": 2.0, "tau": 3.0, "a_high": 12.0, "a_low": 3.0, "f": 1.0,
              "solve_resolution": None, "face_average": "harmonic", "solver": "auto",
              "preconditioner": ""},
    solve=_darcy_solve, coordinates=_node_grid, input_names=("a",), output_names=("u",),
    limits={"alpha": L.positive, "tau": L.positive, "a_high": L.positive, "a_low": L.positive,
            "solve_resolution": L.at_least(2, allow_none=True),
            "face_average": L.one_of("harmonic", "arithmetic"), "solver": L.one_of(*SOLVE_METHODS),
            "preconditioner": preconditioner_name},
    resolution_range=(2, 8193), check=_darcy_check,
    domain={"x": (0.0, 1.0), "y": (0.0, 1.0)},
    boundary_conditions={"x": "dirichlet u = 0", "y": "dirichlet u = 0"},
), replace=True)


# ---- Navier-Stokes -------------------------------------------------------------------------


def _ns_solve(rng, resolution, *, nu, t_final, dt, record_every, alpha, tau, sigma,
              solve_resolution, forcing, device, advection="euler", on_record=None) -> Sample:
    solve, k = _solve_grid(resolution, solve_resolution, endpoint=False)
    if sigma is None:  # the FNO generator's amplitude (see the module docstring)
        sigma = math.sqrt(2.0) * tau ** (alpha - 1.0)
    w0 = gaussian_random_field((solve, solve), alpha=alpha, tau=tau, sigma=sigma,
                               bc="periodic", rng=rng)
    if forcing not in ("fno", "none"):
        raise ValueError(f"unknown forcing {forcing!r}; expected 'fno' or 'none'")
    f = fd.fno_forcing(solve) if forcing == "fno" else None
    if device is None:
        hook = _frame_hook(on_record, record_every, lambda w: w[::k, ::k, None])
        w = fd.navier_stokes(w0, nu, t_final, forcing=f, dt=dt, record_every=record_every,
                             advection=advection, on_step=hook)
    else:  # torch.fft on that device (e.g. "cuda"), same scheme and float64
        import torch

        hook = _frame_hook(on_record, record_every, lambda w: w.cpu().numpy()[::k, ::k, None])
        w = fd.navier_stokes(torch.as_tensor(w0, device=device), nu, t_final, forcing=f,
                             dt=dt, record_every=record_every, advection=advection,
                             on_step=hook).cpu().numpy()
    return Sample(inputs=w0[::k, ::k, None], outputs=w[:, ::k, ::k, None])


def _ns_coordinates(resolution, *, t_final, dt, record_every, **params) -> dict:
    x = np.arange(int(resolution)) / int(resolution)
    n_steps = max(1, math.ceil(t_final / dt - 1e-9))
    t = t_final / n_steps * record_every * np.arange(1, n_steps // record_every + 1)
    return {"x": x, "y": x.copy(), "t": t}


register_problem(Problem(
    name="navier-stokes",
    summary="FNO 2D Navier-Stokes vorticity on the torus (pseudo-spectral; Crank-Nicolson viscosity, "
            "forward-Euler advection as FNO, or advection=heun for second order)",
    defaults={"nu": 1e-3, "t_final": 50.0, "dt": 1e-4, "record_every": 10_000,
              "alpha": 2.5, "tau": 7.0, "sigma": None, "solve_resolution": 256,
              "forcing": "fno", "device": None, "advection": "euler"},
    solve=_ns_solve, coordinates=_ns_coordinates, input_names=("w0",), output_names=("w",),
    limits={"nu": L.positive, "t_final": L.positive, "dt": L.positive, "record_every": L.at_least(1),
            "alpha": L.positive, "tau": L.positive, "sigma": L.optional(L.positive),
            "solve_resolution": L.at_least(2, allow_none=True), "forcing": L.one_of("fno", "none"),
            "advection": L.one_of("euler", "heun")},
    resolution_range=(2, 4096), check=_ns_check,
    domain={"x": (0.0, 1.0), "y": (0.0, 1.0)},
    boundary_conditions={"x": "periodic", "y": "periodic"},
), replace=True)


# ---- Burgers ---------------------------------------------------------------------------------


def _burgers_solve(rng, resolution, *, nu, t_final, alpha, tau, sigma, solve_resolution,
                   cfl) -> Sample:
    solve, k = _solve_grid(resolution, solve_resolution, endpoint=False)
    u0 = gaussian_random_field(solve, alpha=alpha, tau=tau, sigma=sigma, bc="periodic", rng=rng)
    u = fd.burgers(u0, nu, t_final, cfl=cfl)
    return Sample(inputs=u0[::k, None], outputs=u[::k, None])


def _periodic_line(resolution, **params) -> dict:
    return {"x": np.arange(int(resolution)) / int(resolution)}


register_problem(Problem(
    name="burgers",
    summary="FNO viscous Burgers on [0, 1) periodic: GRF initial condition -> u(t_final)",
    defaults={"nu": 0.1, "t_final": 1.0, "alpha": 2.5, "tau": 7.0, "sigma": 49.0,
              "solve_resolution": None, "cfl": 0.5},
    solve=_burgers_solve, coordinates=_periodic_line, input_names=("u0",), output_names=("u",),
    limits={"nu": L.positive, "t_final": L.positive, "alpha": L.positive, "tau": L.positive,
            "sigma": L.positive, "solve_resolution": L.at_least(2, allow_none=True),
            "cfl": L.between(0.0, 1.0, low_open=True)},
    resolution_range=(2, 1 << 20), check=_periodic_check,
    domain={"x": (0.0, 1.0)}, boundary_conditions={"x": "periodic"},
), replace=True)


# ---- heat, advection-diffusion, wave (2D periodic, stored frames) --------------------------


def _periodic_frames(resolution, *, t_final, n_records, **params) -> dict:
    x = np.arange(int(resolution)) / int(resolution)
    return {"x": x, "y": x.copy(), "t": _times(t_final, n_records)}


def _initial_state(rng, resolution, alpha, tau):
    return gaussian_random_field((resolution, resolution), alpha=alpha, tau=tau,
                                 bc="periodic", rng=rng)


def _heat_solve(rng, resolution, *, kappa, t_final, dt, theta, n_records, alpha, tau,
                on_record=None) -> Sample:
    u0 = _initial_state(rng, resolution, alpha, tau)
    per, dt = _frame_steps(t_final, dt, n_records)
    u = fd.heat(u0, kappa, t_final, dt=dt, theta=theta, record_every=per,
                on_step=_frame_hook(on_record, per))
    return Sample(inputs=u0[..., None], outputs=u[..., None])


register_problem(Problem(
    name="heat",
    summary="2D periodic heat equation (Crank-Nicolson), GRF initial temperature",
    defaults={"kappa": 0.01, "t_final": 1.0, "dt": 0.01, "theta": 0.5, "n_records": 10,
              "alpha": 2.5, "tau": 7.0},
    solve=_heat_solve, coordinates=_periodic_frames, input_names=("u0",), output_names=("u",),
    limits={"kappa": L.positive, "t_final": L.positive, "dt": L.positive, "theta": L.between(0.0, 1.0),
            "n_records": L.at_least(1), "alpha": L.positive, "tau": L.positive},
    resolution_range=(2, 4096),
    domain={"x": (0.0, 1.0), "y": (0.0, 1.0)},
    boundary_conditions={"x": "periodic", "y": "periodic"},
), replace=True)


def _ad_solve(rng, resolution, *, velocity, kappa, t_final, dt, scheme, time, n_records,
              alpha, tau, on_record=None) -> Sample:
    u0 = _initial_state(rng, resolution, alpha, tau)
    per, dt = _frame_steps(t_final, dt, n_records)
    u = fd.advection_diffusion(u0, np.asarray(velocity, dtype=float), kappa, t_final, dt=dt,
                               scheme=scheme, time=time, record_every=per,
                               on_step=_frame_hook(on_record, per))
    return Sample(inputs=u0[..., None], outputs=u[..., None])


register_problem(Problem(
    name="advection-diffusion",
    summary="2D periodic advection-diffusion (constant velocity), GRF initial state",
    defaults={"velocity": [1.0, 0.5], "kappa": 0.005, "t_final": 1.0, "dt": 0.01,
              "scheme": "central", "time": "theta", "n_records": 10, "alpha": 2.5, "tau": 7.0},
    solve=_ad_solve, coordinates=_periodic_frames, input_names=("u0",), output_names=("u",),
    limits={"velocity": L.finite_list(2), "kappa": L.non_negative, "t_final": L.positive,
            "dt": L.positive, "scheme": L.one_of("upwind", "central"), "time": L.one_of("theta", "imex"),
            "n_records": L.at_least(1), "alpha": L.positive, "tau": L.positive},
    resolution_range=(2, 4096),
    domain={"x": (0.0, 1.0), "y": (0.0, 1.0)},
    boundary_conditions={"x": "periodic", "y": "periodic"},
), replace=True)


def _wave_solve(rng, resolution, *, c, t_final, cfl, n_records, alpha, tau, on_record=None) -> Sample:
    u0 = _initial_state(rng, resolution, alpha, tau)
    per, dt = _frame_steps(t_final, cfl / (resolution * c), n_records)
    u = fd.wave(u0, np.zeros_like(u0), c, t_final, dt=dt, record_every=per,
                on_step=_frame_hook(on_record, per))
    return Sample(inputs=u0[..., None], outputs=u[..., None])


register_problem(Problem(
    name="wave",
    summary="2D periodic wave equation (leapfrog), GRF initial displacement at rest",
    defaults={"c": 1.0, "t_final": 1.0, "cfl": 0.5, "n_records": 10, "alpha": 2.5, "tau": 7.0},
    solve=_wave_solve, coordinates=_periodic_frames, input_names=("u0",), output_names=("u",),
    limits={"c": L.positive, "t_final": L.positive, "cfl": L.between(0.0, 1.0, low_open=True),
            "n_records": L.at_least(1), "alpha": L.positive, "tau": L.positive},
    resolution_range=(2, 4096),
    domain={"x": (0.0, 1.0), "y": (0.0, 1.0)},
    boundary_conditions={"x": "periodic", "y": "periodic"},
), replace=True)
