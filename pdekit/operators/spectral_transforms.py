"""Truncated Fourier transforms: only the retained frequencies are ever computed.

Two interchangeable implementations, both returning the coefficients as real pairs
(``(batch, channels, *retained, 2)``, the layout of :func:`torch.view_as_real`):

* ``"fft"``: ``torch.fft.rfft`` along the last dimension, sliced, then full FFTs along the others on
  the retained columns only;
* ``"dft"``: products with small real DFT matrices (``n x 2m``) dimension by dimension, i.e. plain
  real GEMMs: fastest on CPUs when few modes are kept, and usable in any floating-point precision.

``n_modes`` follows neuraloperator: along every dimension but the last, ``n_modes[j]``
frequencies (the non-negative ``ceil(m/2)`` first, then the negative ``floor(m/2)``); along the
last one (a real transform) the ``n_modes[-1] // 2 + 1`` non-negative ones.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import torch

__all__ = ["retained_modes", "check_modes", "forward_modes", "inverse_modes", "TRANSFORMS"]

TRANSFORMS = ("auto", "fft", "dft")


def retained_modes(n_modes: Sequence[int]) -> tuple[int, ...]:
    """Number of complex coefficients kept along each dimension (last one: a real FFT)."""
    n_modes = tuple(int(m) for m in n_modes)
    return (*n_modes[:-1], n_modes[-1] // 2 + 1)


def check_modes(n_modes: Sequence[int], spatial_shape: Sequence[int]) -> None:
    """Raise ValueError if a grid of ``spatial_shape`` cannot hold ``n_modes`` frequencies."""
    if len(n_modes) != len(spatial_shape):
        raise ValueError(f"a layer with n_modes={tuple(n_modes)} acts on {len(n_modes)}-D data; "
                         f"got spatial shape {tuple(spatial_shape)}")
    for j, (m, n) in enumerate(zip(n_modes, spatial_shape)):
        last = j == len(n_modes) - 1
        if (m // 2 + 1 > n // 2 + 1) if last else (m > n):
            raise ValueError(
                f"n_modes[{j}] = {m} needs at least {2 * (m // 2) if last else m} grid points along "
                f"spatial dimension {j}; got {n} (use fewer modes or a finer grid)")


def _scales(n: int, norm: str) -> tuple[float, float]:
    return {"forward": (1.0 / n, 1.0), "backward": (1.0, 1.0 / n), "ortho": (n ** -0.5, n ** -0.5)}[norm]


def _frequencies(m: int) -> torch.Tensor:
    pos = (m + 1) // 2
    q = torch.arange(m, dtype=torch.float64)
    return torch.where(q < pos, q, q - m)


@functools.lru_cache(maxsize=64)
def _matrices(n: int, m: int, last: bool, norm: str, dtype: torch.dtype, device: str):
    """(forward, inverse) real DFT matrices for one dimension of ``n`` points and ``m`` kept modes."""
    s_fwd, s_inv = _scales(n, norm)
    grid = torch.arange(n, dtype=torch.float64)
    freq = torch.arange(m, dtype=torch.float64) if last else _frequencies(m)
    theta = 2.0 * math.pi * grid[:, None] * freq[None, :] / n  # (n, m)
    c, s = torch.cos(theta), torch.sin(theta)
    if last:  # real input: (n) -> (m, 2);  real output: (m, 2) -> (n)
        fwd = torch.stack([c, -s], dim=-1).reshape(n, 2 * m) * s_fwd
        weight = torch.full((m,), 2.0, dtype=torch.float64)
        weight[0] = 1.0
        if n % 2 == 0 and m - 1 == n // 2:
            weight[-1] = 1.0
        inv = torch.stack([c.T * weight[:, None], -s.T * weight[:, None]], dim=1).reshape(2 * m, n) * s_inv
    else:  # complex (n, 2) -> (m, 2) and back
        fwd = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], dim=1).reshape(2 * n, 2 * m) * s_fwd
        inv = torch.stack([torch.stack([c.T, s.T], -1), torch.stack([-s.T, c.T], -1)], dim=1)
        inv = inv.reshape(2 * m, 2 * n) * s_inv
    return fwd.to(device=device, dtype=dtype), inv.to(device=device, dtype=dtype)


def _use_dft(transform: str, n_modes: Sequence[int], spatial: Sequence[int]) -> bool:
    if transform != "auto":
        return transform == "dft"
    kept = retained_modes(n_modes)
    return all(2 * k <= n for k, n in zip(kept, spatial))


def forward_modes(x: torch.Tensor, n_modes: Sequence[int], *, norm: str = "forward",
                  transform: str = "auto") -> torch.Tensor:
    """Retained Fourier coefficients of a real field, as real pairs.

    Parameters
    ----------
    x : (batch, channels, *spatial) real tensor
    n_modes : sequence of int, one per spatial dimension
    norm : {"forward", "backward", "ortho"}
    transform : {"auto", "fft", "dft"}
        ``"auto"`` uses DFT matrices when at most half the coefficients are kept along every
        dimension, FFTs otherwise.

    Returns
    -------
    (batch, channels, *retained_modes(n_modes), 2) real tensor (real and imaginary parts).
    """
    d, spatial = len(n_modes), x.shape[2:]
    kept = retained_modes(n_modes)
    if not _use_dft(transform, n_modes, spatial):
        xh = torch.fft.rfft(x, dim=-1, norm=norm)[..., : kept[-1]]
        for j in range(d - 1):
            dim, m, n = 2 + j, n_modes[j], spatial[j]
            xh = torch.fft.fft(xh, dim=dim, norm=norm)
            xh = torch.cat([xh.narrow(dim, 0, (m + 1) // 2), xh.narrow(dim, n - m // 2, m // 2)], dim=dim)
        return torch.view_as_real(xh)
    device = str(x.device)
    fwd, _ = _matrices(spatial[-1], kept[-1], True, norm, x.dtype, device)
    t = torch.matmul(x, fwd).unflatten(-1, (kept[-1], 2))
    for j in reversed(range(d - 1)):
        fwd, _ = _matrices(spatial[j], kept[j], False, norm, x.dtype, device)
        t = torch.matmul(t.movedim(2 + j, -2).flatten(-2), fwd)
        t = t.unflatten(-1, (kept[j], 2)).movedim(-2, 2 + j)
    return t


def inverse_modes(yh: torch.Tensor, n_modes: Sequence[int], spatial_shape: Sequence[int], *,
                  norm: str = "forward", transform: str = "auto") -> torch.Tensor:
    """Real field from retained coefficients (the inverse of :func:`forward_modes`).

    Parameters
    ----------
    yh : (batch, channels, *retained_modes(n_modes), 2) real tensor
    spatial_shape : sequence of int
        Grid of the output, any size that holds the modes.

    Returns
    -------
    (batch, channels, *spatial_shape) real tensor
    """
    d = len(n_modes)
    kept = retained_modes(n_modes)
    spatial_shape = tuple(int(s) for s in spatial_shape)
    if not _use_dft(transform, n_modes, spatial_shape):
        yh = torch.view_as_complex(yh.contiguous())
        for j in reversed(range(d - 1)):
            dim, m, n = 2 + j, n_modes[j], spatial_shape[j]
            pos = (m + 1) // 2
            zeros_shape = list(yh.shape)
            zeros_shape[dim] = n - m
            yh = torch.cat([yh.narrow(dim, 0, pos), yh.new_zeros(zeros_shape), yh.narrow(dim, pos, m // 2)], dim=dim)
            yh = torch.fft.ifft(yh, dim=dim, norm=norm)
        return torch.fft.irfft(yh, n=spatial_shape[-1], dim=-1, norm=norm)
    device = str(yh.device)
    t = yh
    for j in range(d - 1):
        _, inv = _matrices(spatial_shape[j], kept[j], False, norm, yh.dtype, device)
        t = torch.matmul(t.movedim(2 + j, -2).flatten(-2), inv)
        t = t.unflatten(-1, (spatial_shape[j], 2)).movedim(-2, 2 + j)
    _, inv = _matrices(spatial_shape[-1], kept[-1], True, norm, yh.dtype, device)
    return torch.matmul(t.flatten(-2), inv)
