"""2D incompressible Navier-Stokes in vorticity form on the unit torus (the FNO generator).

    w_t + u . grad w = nu Laplacian(w) + f,   u = (psi_y, -psi_x),   -Laplacian(psi) = w.

Fourier pseudo-spectral in space with 2/3 de-aliasing (|k_x|, |k_y| <= 2/3 k_max) of the
advection term; in time Crank-Nicolson for the viscous term and forward Euler for advection
and forcing, exactly as in the FNO data generator (``ns_2d.py``).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from pdekit._validation import check_finite, check_positive
from pdekit.solvers.fd import operators as ops

__all__ = ["navier_stokes", "fno_forcing"]


def fno_forcing(s: int) -> np.ndarray:
    """The FNO forcing 0.1 (sin 2 pi (x + y) + cos 2 pi (x + y)) at x_i = i/s, y_j = j/s, (s, s)."""
    x = np.arange(s) / s
    xy = x[:, None] + x[None, :]
    return 0.1 * (np.sin(2 * math.pi * xy) + np.cos(2 * math.pi * xy))


def navier_stokes(
    w0: np.ndarray,
    nu: float,
    t_final: float,
    *,
    forcing: np.ndarray | None = None,
    dt: float = 1e-4,
    record_every: int | None = None,
    progress=None,
    workers: int | None = None,
) -> np.ndarray:
    """Evolve the vorticity of 2D Navier-Stokes on the torus [0, 1)^2.

    Parameters
    ----------
    w0 : (s, s) or (batch, s, s) array
        Initial vorticity at (x_i, y_j) = (i/s, j/s), axis -2 is x, axis -1 is y.
    nu : float
        Viscosity (> 0); FNO uses 1e-3, 1e-4, 1e-5.
    t_final : float
        End time (> 0).
    forcing : (s, s) array, optional
        Time-independent forcing f (default none); :func:`fno_forcing` gives FNO's.
    dt : float
        Time step (FNO: 1e-4); shrunk to land on ``t_final``.
    record_every : int, optional
        Also return the vorticity after every ``record_every`` steps (FNO stores once per
        time unit: ``record_every = round(1 / dt)``).
    progress : optional
        Progress object (``start``/``update``/``close``, see :mod:`pdekit._progress`) told
        about the time steps; silent by default.
    workers : int, optional
        Threads for the FFTs (``scipy.fft`` workers).

    Returns
    -------
    w : array shaped like ``w0`` at t_final, or (T, *w0.shape) when recording.
    """
    w0 = ops.check_field("w0", w0, ndims=(2, 3))
    s = w0.shape[-1]
    if w0.shape[-2] != s or s < 4:
        raise ValueError(f"w0 must be on a square grid (s, s) with s >= 4; got shape {w0.shape}")
    nu = float(check_positive("nu", nu))
    n_steps, dt = ops.time_steps(t_final, dt, record_every)
    f_hat = 0.0
    if forcing is not None:
        forcing = check_finite("forcing", np.asarray(forcing, dtype=float))
        if forcing.shape != (s, s):
            raise ValueError(f"forcing must have shape ({s}, {s}); got {forcing.shape}")
        f_hat = scipy.fft.rfft2(forcing)

    k_max = s // 2
    kx = np.fft.fftfreq(s, d=1.0 / s)[:, None]
    ky = np.fft.rfftfreq(s, d=1.0 / s)[None, :]
    lap = 4.0 * math.pi**2 * (kx**2 + ky**2)  # symbol of -Laplacian
    inv_lap = np.where(lap == 0, 0.0, 1.0 / np.where(lap == 0, 1.0, lap))
    dealias = (np.abs(kx) <= 2.0 / 3.0 * k_max) & (np.abs(ky) <= 2.0 / 3.0 * k_max)
    dx, dy = 2j * math.pi * kx, 2j * math.pi * ky
    implicit = 1.0 / (1.0 + 0.5 * dt * nu * lap)
    explicit = (1.0 - 0.5 * dt * nu * lap) * implicit
    adv = (-dt * dealias) * implicit
    forced = dt * f_hat * implicit
    axes = (-2, -1)

    def irfft2(a):
        return scipy.fft.irfft2(a, s=(s, s), axes=axes, workers=workers)

    def step(w_hat):
        psi_hat = w_hat * inv_lap
        u, v = irfft2(dy * psi_hat), irfft2(-dx * psi_hat)
        w_x, w_y = irfft2(dx * w_hat), irfft2(dy * w_hat)
        nonlinear = scipy.fft.rfft2(u * w_x + v * w_y, axes=axes, workers=workers)
        return explicit * w_hat + adv * nonlinear + forced

    w_hat0 = scipy.fft.rfft2(w0, axes=axes, workers=workers)
    out = ops.integrate(step, w_hat0, n_steps, record_every,
                        progress=progress, desc="Navier-Stokes steps")
    return irfft2(out)
