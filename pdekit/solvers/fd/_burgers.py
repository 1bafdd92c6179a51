"""Viscous Burgers u_t + (u^2/2)_x = nu u_xx on the periodic interval [0, 1) (the FNO setting).

Fourier pseudo-spectral in space with 2/3 de-aliasing of the nonlinear term; in time the
diffusion is integrated exactly (integrating factor) and the nonlinear term by classical RK4
(Lawson's IF-RK4, fourth order).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from pdekit._validation import check_positive
from pdekit.solvers._on_step import OnStep, step_hook
from pdekit.solvers.fd import stencils as ops

__all__ = ["burgers"]


def burgers(
    u0: np.ndarray,
    nu: float,
    t_final: float,
    *,
    dt: float | None = None,
    cfl: float = 0.5,
    record_every: int | None = None,
    progress=None,
    on_step: OnStep | None = None,
) -> np.ndarray:
    """Solve the viscous Burgers equation on [0, 1) with periodic boundary conditions.

    Parameters
    ----------
    u0 : (s,) or (batch, s) array
        Initial condition at x_j = j / s (several initial conditions at once along axis 0).
    nu : float
        Viscosity (> 0); FNO uses 0.1.
    t_final : float
        End time (FNO: 1).
    dt : float, optional
        Time step; default ``cfl * h / max|u0|`` (the maximum principle keeps |u| below
        max|u0|), at most ``t_final``.
    cfl : float
        Courant number for the default step (IF-RK4 is stable up to about 1.3).
    record_every : int, optional
        Also return the states after every ``record_every`` steps.
    progress : optional
        Progress object (``start``/``update``/``close``, see :mod:`pdekit._progress`) told
        about the time steps; silent by default.
    on_step : callable, optional
        ``on_step(step, t, state)`` after every time step, with ``state`` the array shaped like
        ``u0`` that recording every step would return (a read-only view; see
        :mod:`pdekit.solvers._on_step`). Costs one inverse FFT per step.

    Returns
    -------
    u : array shaped like ``u0`` at t_final, or (T, *u0.shape) when recording.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(128) / 128
    >>> u = burgers(np.sin(2 * np.pi * x), 0.1, 1.0)
    >>> u.shape, bool(np.abs(u).max() < 0.1)
    ((128,), True)
    """
    u0 = ops.check_field("u0", u0, ndims=(1, 2))
    nu = float(check_positive("nu", nu))
    t_final = float(check_positive("t_final", t_final))
    s = u0.shape[-1]
    if s < 4:
        raise ValueError(f"the grid needs at least 4 points; got {s}")
    if dt is None:
        umax = float(np.abs(u0).max())
        dt = t_final if umax == 0 else min(t_final, float(check_positive("cfl", cfl)) / (s * umax))
    n_steps, dt = ops.time_steps(t_final, dt, record_every)

    k = 2.0 * math.pi * np.fft.rfftfreq(s, d=1.0 / s)
    ik_half = -0.5j * k * (np.arange(k.size) <= s // 3)  # -(1/2) i k with the 2/3 rule
    e_half = np.exp(-nu * k**2 * dt / 2.0)
    e_full = e_half**2

    def nonlinear(uh):
        return ik_half * scipy.fft.rfft(scipy.fft.irfft(uh, n=s, axis=-1) ** 2, axis=-1)

    def step(uh):
        k1 = nonlinear(uh)
        k2 = nonlinear(e_half * (uh + 0.5 * dt * k1))
        k3 = nonlinear(e_half * uh + 0.5 * dt * k2)
        k4 = nonlinear(e_full * uh + dt * e_half * k3)
        return e_full * uh + (dt / 6.0) * (e_full * k1 + 2.0 * e_half * (k2 + k3) + k4)

    out = ops.integrate(step, scipy.fft.rfft(u0, axis=-1), n_steps, record_every,
                        progress=progress, desc="Burgers steps",
                        after_step=step_hook(on_step, dt, lambda uh: scipy.fft.irfft(uh, n=s, axis=-1)))
    return scipy.fft.irfft(out, n=s, axis=-1)
