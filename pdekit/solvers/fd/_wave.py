"""The wave equation u_tt = c^2 Laplacian(u) by leapfrog (Stoermer-Verlet) on a uniform grid."""

from __future__ import annotations

import math

import numpy as np

from pdekit._validation import check_choice, check_positive
from pdekit.solvers._on_step import OnStep, step_hook
from pdekit.solvers.fd import stencils as ops

__all__ = ["wave", "wave_energy"]


def wave(
    u0: np.ndarray,
    v0: np.ndarray,
    c: float,
    t_final: float,
    *,
    dt: float | None = None,
    cfl: float = 0.5,
    bc: str = "periodic",
    record_every: int | None = None,
    on_step: OnStep | None = None,
) -> np.ndarray:
    """Solve u_tt = c^2 Laplacian(u), u(0) = u0, u_t(0) = v0, by the leapfrog scheme.

    u^{n+1} = 2 u^n - u^{n-1} + dt^2 c^2 L u^n, started by the second-order Taylor step
    u^1 = u^0 + dt v0 + dt^2/2 c^2 L u^0. Second order in space and time; the discrete energy
    :func:`wave_energy` is conserved exactly (to round-off) when c dt / h <= 1 / sqrt(d).

    Parameters
    ----------
    u0, v0 : (s,), (s1, s2) or (s1, s2, s3) arrays
        Initial displacement and velocity (grid conventions of
        :mod:`pdekit.solvers.fd.stencils`).
    c : float
        Wave speed (> 0).
    t_final : float
        End time.
    dt : float, optional
        Time step; default ``cfl * h_min / c``.
    cfl : float
        Courant number used when ``dt`` is not given (stability needs c dt / h <= 1/sqrt(d)).
    bc : {"periodic", "dirichlet"}
        Dirichlet boundary nodes keep their initial displacement (``v0`` is ignored there).
    record_every : int, optional
        Also return the states after every ``record_every`` steps.
    on_step : callable, optional
        ``on_step(step, t, u)`` after every time step, with ``u`` the displacement shaped like
        ``u0`` that recording every step would return (a read-only view; see
        :mod:`pdekit.solvers._on_step`).

    Returns
    -------
    u : array shaped like ``u0`` at t_final, or (T, *u0.shape) when recording.
    """
    u0 = ops.check_field("u0", u0)
    v0 = ops.check_field("v0", v0)
    if v0.shape != u0.shape:
        raise ValueError(f"v0 must have the shape of u0 {u0.shape}; got {v0.shape}")
    c = float(check_positive("c", c))
    check_choice("bc", bc, ("periodic", "dirichlet"))
    h = min(ops.grid_spacing(s, bc) for s in u0.shape)
    if dt is None:
        dt = float(check_positive("cfl", cfl)) * h / c
    n_steps, dt = ops.time_steps(t_final, dt, record_every)
    courant = c * dt / h
    if courant > 1.0 / math.sqrt(u0.ndim) + 1e-12:
        raise ValueError(
            f"leapfrog is unstable: c dt / h = {courant:.3g} exceeds 1/sqrt(d) = "
            f"{1 / math.sqrt(u0.ndim):.3g}; lower dt"
        )
    lap = (c**2 * dt**2) * ops.laplacian(u0.shape, bc=bc)
    v = v0.ravel().copy()
    if bc == "dirichlet":
        interior = np.zeros(u0.shape, dtype=bool)
        interior[tuple(slice(1, -1) for _ in u0.shape)] = True
        v[~interior.ravel()] = 0.0
    hook = step_hook(on_step, dt, lambda u: u.reshape(u0.shape))
    prev = u0.ravel().copy()
    curr = prev + dt * v + 0.5 * (lap @ prev)
    records = []
    if hook is not None:
        hook(1, curr)
    if record_every == 1:
        records.append(curr.copy())
    for i in range(2, n_steps + 1):
        prev, curr = curr, 2.0 * curr - prev + lap @ curr
        if hook is not None:
            hook(i, curr)
        if record_every is not None and i % record_every == 0:
            records.append(curr.copy())
    if record_every is None:
        return curr.reshape(u0.shape)
    return np.stack(records).reshape((-1,) + u0.shape)


def wave_energy(u_prev: np.ndarray, u_next: np.ndarray, c: float, dt: float, *,
                bc: str = "periodic") -> float:
    """Discrete energy of the leapfrog scheme between two consecutive time levels.

    E^{n+1/2} = h^d / 2 * ( ||(u^{n+1} - u^n) / dt||^2 - c^2 (u^{n+1})^T L u^n ),
    conserved exactly by :func:`wave` (with L the scheme's Laplacian).

    Parameters
    ----------
    u_prev, u_next : arrays of grid shape
        u^n and u^{n+1}.
    c, dt : float
        Wave speed and time step.
    bc : {"periodic", "dirichlet"}

    Returns
    -------
    float
    """
    u_prev = ops.check_field("u_prev", u_prev)
    u_next = ops.check_field("u_next", u_next)
    lap = ops.laplacian(u_prev.shape, bc=bc)
    cell = math.prod(ops.grid_spacing(s, bc) for s in u_prev.shape)
    a, b = u_prev.ravel(), u_next.ravel()
    kinetic = np.sum(((b - a) / dt) ** 2)
    potential = -(c**2) * float(b @ (lap @ a))
    return 0.5 * cell * (kinetic + potential)
