"""2D incompressible Navier-Stokes in vorticity form on the unit torus (the FNO generator).

    w_t + u . grad w = nu Laplacian(w) + f,   u = (psi_y, -psi_x),   -Laplacian(psi) = w.

Fourier pseudo-spectral in space with 2/3 de-aliasing (|k_x|, |k_y| <= 2/3 k_max) of the
advection term. In time the viscous term is always Crank–Nicolson; the advection term is

* ``advection="euler"`` (default): forward Euler, exactly as in the FNO data generator
  (``ns_2d.py``), so the default reproduces FNO's data. This IMEX Euler/Crank–Nicolson scheme
  is first order in time once advection matters (measured order about 1, see the tests),
  even though its viscous part is second order;
* ``advection="heun"``: Heun's method (explicit trapezoid) for the advection, i.e. a
  predictor step as above and a corrector that averages the advection of the old state and
  of the prediction, with Crank–Nicolson for the viscous term. Second order in time
  (measured order 2.0), for two advection evaluations per step.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from pdekit._validation import check_choice, check_finite, check_positive
from pdekit.solvers._on_step import OnStep, step_hook
from pdekit.solvers.fd import stencils as ops

__all__ = ["navier_stokes", "fno_forcing", "ADVECTION_SCHEMES"]

#: time schemes of the advection term (the viscous term is Crank–Nicolson in both)
ADVECTION_SCHEMES = ("euler", "heun")


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
    advection: str = "euler",
    on_step: OnStep | None = None,
) -> np.ndarray:
    """Evolve the vorticity of 2D Navier-Stokes on the torus [0, 1)^2.

    Accepts numpy arrays (scipy.fft) or torch tensors (torch.fft, on the tensor's device and
    in its floating dtype, so a batch of trajectories can run on a GPU); returns the same kind.

    Parameters
    ----------
    w0 : (s, s) or (batch, s, s) array or torch tensor
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
    on_step : callable, optional
        ``on_step(step, t, w)`` after every time step, with ``w`` the vorticity shaped like
        ``w0`` that recording every step would return (a read-only numpy view, or a torch
        tensor; see :mod:`pdekit.solvers._on_step`). Costs one inverse FFT per step.
    advection : {"euler", "heun"}
        Time scheme of the advection term: forward Euler as FNO's generator (first order),
        or Heun (second order, twice the advection work); the viscous term is Crank–Nicolson
        in both.

    Returns
    -------
    w : array shaped like ``w0`` at t_final, or (T, *w0.shape) when recording.
    """
    check_choice("advection", advection, ADVECTION_SCHEMES)
    backend = _TorchFFT(w0, workers) if _is_torch(w0) else _ScipyFFT(workers)
    w0 = backend.check(w0)
    s = w0.shape[-1]
    if w0.shape[-2] != s or s < 4:
        raise ValueError(f"w0 must be on a square grid (s, s) with s >= 4; got shape {w0.shape}")
    nu = float(check_positive("nu", nu))
    n_steps, dt = ops.time_steps(t_final, dt, record_every)
    f_hat = 0.0
    if forcing is not None:
        if _is_torch(forcing):
            forcing = forcing.detach().cpu().numpy()
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
    forced = np.asarray(dt * f_hat * implicit, dtype=complex)
    inv_lap, dx, dy, explicit, adv, forced = map(
        backend.constant, (inv_lap, dx, dy, explicit, adv, forced))
    rfft2, irfft2 = backend.rfft2, lambda a: backend.irfft2(a, s)

    def advect(w_hat):  # the Fourier coefficients of u . grad w
        psi_hat = w_hat * inv_lap
        u, v = irfft2(dy * psi_hat), irfft2(-dx * psi_hat)
        w_x, w_y = irfft2(dx * w_hat), irfft2(dy * w_hat)
        return rfft2(u * w_x + v * w_y)

    def step(w_hat):
        n_hat = advect(w_hat)
        predicted = explicit * w_hat + adv * n_hat + forced
        if advection == "euler":
            return predicted
        return explicit * w_hat + (0.5 * adv) * (n_hat + advect(predicted)) + forced

    out = ops.integrate(step, rfft2(w0), n_steps, record_every,
                        progress=progress, desc="Navier-Stokes steps",
                        after_step=step_hook(on_step, dt, irfft2))
    return irfft2(out)


def _is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


class _ScipyFFT:
    def __init__(self, workers):
        self.workers = workers

    def check(self, w0):
        return ops.check_field("w0", w0, ndims=(2, 3))

    def constant(self, arr):
        return arr

    def rfft2(self, a):
        return scipy.fft.rfft2(a, axes=(-2, -1), workers=self.workers)

    def irfft2(self, a, s):
        return scipy.fft.irfft2(a, s=(s, s), axes=(-2, -1), workers=self.workers)


class _TorchFFT:
    def __init__(self, w0, workers):
        import torch

        self.torch = torch
        if not w0.is_floating_point():
            raise TypeError(f"w0 must be a floating-point tensor; got dtype {w0.dtype}")
        self.device, self.dtype = w0.device, w0.dtype

    def check(self, w0):
        if w0.ndim not in (2, 3):
            raise ValueError(f"w0 must be a 2- or 3-dimensional grid field; got shape {tuple(w0.shape)}")
        if not bool(self.torch.isfinite(w0).all()):
            raise ValueError("w0 must be finite everywhere")
        return w0.detach()

    def constant(self, arr):
        arr = np.asarray(arr)
        dtype = self.dtype if arr.dtype.kind != "c" else (
            self.torch.complex128 if self.dtype == self.torch.float64 else self.torch.complex64)
        return self.torch.as_tensor(arr, dtype=dtype, device=self.device)

    def rfft2(self, a):
        return self.torch.fft.rfft2(a, dim=(-2, -1))

    def irfft2(self, a, s):
        return self.torch.fft.irfft2(a, s=(s, s), dim=(-2, -1))
