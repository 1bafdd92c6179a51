"""Truncated Fourier transforms: only the retained frequencies are ever computed.

Two interchangeable implementations, both giving the coefficients as real pairs:

* ``"fft"``: ``torch.fft.rfft`` along the last dimension, sliced, then full FFTs along the others on
  the retained columns only;
* ``"dft"``: products with small real DFT matrices dimension by dimension, i.e. plain real GEMMs:
  fastest on CPUs when few modes are kept, and usable in any floating-point precision. On
  channel-last data the first spatial dimension is transformed first (real to complex), as one
  large GEMM per sample; the others then act on data already reduced to the retained modes.

``n_modes`` follows neuraloperator: along every dimension but the last, ``n_modes[j]``
frequencies (the non-negative ``ceil(m/2)`` first, then the negative ``floor(m/2)``); along the
last one (a real transform) the ``n_modes[-1] // 2 + 1`` non-negative ones.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Sequence

import torch

__all__ = ["retained_modes", "check_modes", "fitting_modes", "mode_index", "forward_modes", "inverse_modes",
           "forward_modes_cl", "inverse_modes_cl", "forward_modes_complex_cl", "inverse_modes_complex_cl",
           "resample", "TRANSFORMS"]

TRANSFORMS = ("auto", "fft", "dft")


def retained_modes(n_modes: Sequence[int], *, complex_data: bool = False) -> tuple[int, ...]:
    """Number of complex coefficients kept along each dimension (last one: a real FFT, unless the
    data are complex)."""
    n_modes = tuple(int(m) for m in n_modes)
    if complex_data:
        return n_modes
    return (*n_modes[:-1], n_modes[-1] // 2 + 1)


def check_modes(n_modes: Sequence[int], spatial_shape: Sequence[int], *, complex_data: bool = False) -> None:
    """Raise ValueError if a grid of ``spatial_shape`` cannot hold ``n_modes`` frequencies."""
    if len(n_modes) != len(spatial_shape):
        raise ValueError(f"a layer with n_modes={tuple(n_modes)} acts on {len(n_modes)}-D data; "
                         f"got spatial shape {tuple(spatial_shape)}")
    for j, (m, n) in enumerate(zip(n_modes, spatial_shape)):
        half = j == len(n_modes) - 1 and not complex_data
        if (m // 2 + 1 > n // 2 + 1) if half else (m > n):
            raise ValueError(
                f"n_modes[{j}] = {m} needs at least {2 * (m // 2) if half else m} grid points along "
                f"spatial dimension {j}; got {n} (use fewer modes or a finer grid)")


def fitting_modes(n_modes: Sequence[int], spatial_shape: Sequence[int], *,
                  complex_data: bool = False) -> tuple[int, ...]:
    """The largest ``n_modes`` (at most the given ones) that a grid of ``spatial_shape`` holds.

    A coarser output grid than the modes need keeps the lowest frequencies only: spectral
    truncation, as when a band-limited field is sampled on fewer points.
    """
    out = []
    for j, (m, n) in enumerate(zip(n_modes, spatial_shape)):
        m, n = int(m), int(n)
        if j == len(n_modes) - 1 and not complex_data:  # m // 2 + 1 coefficients, at most n // 2 + 1
            out.append(m if m // 2 + 1 <= n // 2 + 1 else 2 * (n // 2))
        else:
            out.append(min(m, n))
    return tuple(out)


def mode_index(kept: int, new: int, *, half: bool) -> list[int]:
    """Positions, along one axis of ``kept`` retained coefficients, of the ``new`` lowest frequencies.

    A full axis lists the non-negative frequencies, then the negative ones: its ``new`` lowest are
    the first ``ceil(new / 2)`` and the last ``floor(new / 2)``. A half axis (the last axis of a real
    transform) lists ``0, 1, ...``: ``new`` counts retained coefficients there.
    """
    if not 0 < new <= kept:
        raise ValueError(f"cannot keep {new} of {kept} retained coefficients")
    if half:
        return list(range(new))
    return list(range((new + 1) // 2)) + list(range(kept - new // 2, kept))


def _scales(n: int, norm: str) -> tuple[float, float]:
    return {"forward": (1.0 / n, 1.0), "backward": (1.0, 1.0 / n), "ortho": (n ** -0.5, n ** -0.5)}[norm]


def _frequencies(m: int) -> torch.Tensor:
    pos = (m + 1) // 2
    q = torch.arange(m, dtype=torch.float64)
    return torch.where(q < pos, q, q - m)


def _matrices(n: int, m: int, kind: str, norm: str, dtype: torch.dtype, device: str):
    """Cached :func:`_build_matrices`, always made outside inference mode (so that a model first
    evaluated under ``torch.inference_mode`` can still be trained)."""
    with torch.inference_mode(False), torch.no_grad():
        return _build_matrices(n, m, kind, norm, dtype, device)


@functools.lru_cache(maxsize=64)
def _build_matrices(n: int, m: int, kind: str, norm: str, dtype: torch.dtype, device: str):
    """(forward, inverse) DFT matrices for one dimension of ``n`` points and ``m`` kept coefficients.

    Matrices multiply from the left. Complex values are pairs (re, im) on a ``comp`` axis:

    * ``kind="real"`` (first dimension: real input, real output) -- forward ``(m*2, n)`` with rows
      ``(q, comp)``; inverse ``(n, m*2)`` keeping the real part;
    * ``kind="complex"`` (other dimensions) -- forward ``(m*2, 2*n)`` from rows ``(comp, x)`` to rows
      ``(q, comp)``; inverse ``(2*n, m*2)`` from rows ``(q, comp)`` to rows ``(comp, x)``.

    A name ending in ``"-half"`` keeps the frequencies ``0..m-1`` of a real transform (the last
    dimension): its inverse counts the conjugate frequencies (weights 2, except 0 and n/2).
    """
    base, half = kind.split("-")[0], kind.endswith("-half")
    s_fwd, s_inv = _scales(n, norm)
    grid = torch.arange(n, dtype=torch.float64)
    freq = torch.arange(m, dtype=torch.float64) if half else _frequencies(m)
    theta = 2.0 * math.pi * freq[:, None] * grid[None, :] / n  # (m, n)
    c, s = torch.cos(theta), torch.sin(theta)
    weight = torch.ones(m, 1, dtype=torch.float64)
    if half:
        weight[1:] = 2.0
        if n % 2 == 0 and m - 1 == n // 2:
            weight[-1] = 1.0
    if base == "real":
        fwd = torch.stack([c, -s], dim=1).reshape(2 * m, n) * s_fwd
        inv = torch.stack([c * weight, -s * weight], dim=1).reshape(2 * m, n).T * s_inv
    else:  # (q, co, ci, x): Yr = c a + s b, Yi = -s a + c b
        fwd = torch.stack([torch.stack([c, s], 1), torch.stack([-s, c], 1)], 1).reshape(2 * m, 2 * n) * s_fwd
        cw, sw = c * weight, s * weight  # (co, x, q, ci): yr = c Yr - s Yi, yi = s Yr + c Yi
        inv = torch.stack([torch.stack([cw.T, -sw.T], -1), torch.stack([sw.T, cw.T], -1)], 0)
        inv = inv.reshape(2 * n, 2 * m) * s_inv
    return fwd.to(device=device, dtype=dtype).contiguous(), inv.to(device=device, dtype=dtype).contiguous()


def _kind(j: int, d: int) -> str:
    return ("real" if j == 0 else "complex") + ("-half" if j == d - 1 else "-full")


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
    (batch, channels, *retained_modes(n_modes), 2) real tensor (real and imaginary parts; the
    layout of ``torch.view_as_real`` of the complex coefficients).
    """
    return forward_modes_cl(x.movedim(1, -1), n_modes, norm=norm, transform=transform).movedim(-1, 1)


def inverse_modes(yh: torch.Tensor, n_modes: Sequence[int], spatial_shape: Sequence[int], *,
                  norm: str = "forward", transform: str = "auto") -> torch.Tensor:
    """Real field from retained coefficients (the inverse of :func:`forward_modes`).

    Parameters
    ----------
    yh : (batch, channels, *retained_modes(n_modes), 2) real tensor
    spatial_shape : sequence of int
        Grid of the output: any size that holds the modes (a finer one interpolates spectrally).

    Returns
    -------
    (batch, channels, *spatial_shape) real tensor
    """
    out = inverse_modes_cl(yh.movedim(1, -1), n_modes, spatial_shape, norm=norm, transform=transform)
    return out.movedim(-1, 1)


def forward_modes_cl(x: torch.Tensor, n_modes: Sequence[int], *, norm: str = "forward",
                     transform: str = "auto") -> torch.Tensor:
    """:func:`forward_modes` for channel-last data.

    Parameters
    ----------
    x : (batch, *spatial, channels) real tensor

    Returns
    -------
    (batch, *retained_modes(n_modes), 2, channels) real tensor: real parts, then imaginary parts.
    """
    d, spatial = len(n_modes), tuple(x.shape[1:-1])
    kept = retained_modes(n_modes)
    if not _use_dft(transform, n_modes, spatial):
        xh = torch.fft.rfft(x, dim=-2, norm=norm).narrow(-2, 0, kept[-1])
        for j in range(d - 1):
            dim, m, n = 1 + j, n_modes[j], spatial[j]
            xh = torch.fft.fft(xh, dim=dim, norm=norm)
            xh = torch.cat([xh.narrow(dim, 0, (m + 1) // 2), xh.narrow(dim, n - m // 2, m // 2)], dim=dim)
        return torch.view_as_real(xh).transpose(-1, -2)
    device, batch = str(x.device), x.shape[0]
    t = x
    for j in range(d):  # layout (batch, q_0..q_{j-1}, [2,] n_j, .., channels)
        mat, _ = _matrices(spatial[j], kept[j], _kind(j, d), norm, x.dtype, device)
        lead = batch * math.prod(kept[:j])
        t = torch.matmul(mat, t.reshape(lead, mat.shape[1], -1))  # rows (q_j, 2) follow
    return t.reshape(batch, *kept, 2, x.shape[-1])


def inverse_modes_cl(yh: torch.Tensor, n_modes: Sequence[int], spatial_shape: Sequence[int], *,
                     norm: str = "forward", transform: str = "auto",
                     residual: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`inverse_modes` for channel-last data.

    Parameters
    ----------
    yh : (batch, *retained_modes(n_modes), 2, channels) real tensor
    residual : (batch, *spatial_shape, channels) tensor, optional
        Added to the result (inside the last GEMM when DFT matrices are used); it may also be
        broadcastable, e.g. a bias ``(channels,)``.

    Returns
    -------
    (batch, *spatial_shape, channels) real tensor
    """
    d = len(n_modes)
    kept = retained_modes(n_modes)
    spatial = tuple(int(s) for s in spatial_shape)
    batch, channels = yh.shape[0], yh.shape[-1]
    if not _use_dft(transform, n_modes, spatial):
        yh = torch.view_as_complex(yh.transpose(-1, -2).contiguous())
        for j in reversed(range(d - 1)):
            dim, m, n = 1 + j, n_modes[j], spatial[j]
            pos = (m + 1) // 2
            zeros_shape = list(yh.shape)
            zeros_shape[dim] = n - m
            yh = torch.cat([yh.narrow(dim, 0, pos), yh.new_zeros(zeros_shape), yh.narrow(dim, pos, m // 2)], dim=dim)
            yh = torch.fft.ifft(yh, dim=dim, norm=norm)
        y = torch.fft.irfft(yh, n=spatial[-1], dim=-2, norm=norm)
        return y if residual is None else y + residual
    device = str(yh.device)
    t = yh
    for j in reversed(range(1, d)):  # layout (batch, q_0..q_j, 2, n_{j+1}.., channels)
        _, mat = _matrices(spatial[j], kept[j], _kind(j, d), norm, yh.dtype, device)
        lead = batch * math.prod(kept[:j])
        t = torch.matmul(mat, t.reshape(lead, mat.shape[1], -1))  # rows (2, n_j) follow
    _, mat = _matrices(spatial[0], kept[0], _kind(0, d), norm, yh.dtype, device)
    t = t.reshape(batch, mat.shape[1], -1)
    if residual is None:
        y = torch.matmul(mat, t)
    else:
        residual = residual.expand(batch, *spatial, channels).reshape(batch, spatial[0], -1)
        y = torch.baddbmm(residual, mat.expand(batch, -1, -1), t)
    return y.reshape(batch, *spatial, channels)


def forward_modes_complex_cl(x: torch.Tensor, n_modes: Sequence[int], *, norm: str = "forward") -> torch.Tensor:
    """Retained Fourier coefficients of a complex field (full FFTs along every spatial dimension).

    Parameters
    ----------
    x : (batch, *spatial, channels) complex tensor
    n_modes : sequence of int
        Frequencies kept per dimension: the non-negative ``ceil(m / 2)``, then the negative
        ``floor(m / 2)``.

    Returns
    -------
    (batch, *n_modes, channels) complex tensor
    """
    d = len(n_modes)
    xh = x
    for j in range(d):  # transform, then keep the retained frequencies, one dimension at a time
        dim, m, n = 1 + j, int(n_modes[j]), x.shape[1 + j]
        xh = torch.fft.fft(xh, dim=dim, norm=norm)
        xh = torch.cat([xh.narrow(dim, 0, (m + 1) // 2), xh.narrow(dim, n - m // 2, m // 2)], dim=dim)
    return xh


def inverse_modes_complex_cl(yh: torch.Tensor, n_modes: Sequence[int], spatial_shape: Sequence[int], *,
                             norm: str = "forward") -> torch.Tensor:
    """Complex field on ``spatial_shape`` from retained coefficients (inverse of
    :func:`forward_modes_complex_cl`).

    Parameters
    ----------
    yh : (batch, *n_modes, channels) complex tensor

    Returns
    -------
    (batch, *spatial_shape, channels) complex tensor
    """
    y = yh
    for j in reversed(range(len(n_modes))):
        dim, m, n = 1 + j, int(n_modes[j]), int(spatial_shape[j])
        pos = (m + 1) // 2
        zeros_shape = list(y.shape)
        zeros_shape[dim] = n - m
        y = torch.cat([y.narrow(dim, 0, pos), y.new_zeros(zeros_shape), y.narrow(dim, pos, m // 2)], dim=dim)
        y = torch.fft.ifft(y, n=n, dim=dim, norm=norm)
    return y


def resample(x: torch.Tensor, shape: Sequence[int], *, channels_last: bool = False) -> torch.Tensor:
    """Spectral (trigonometric) interpolation of a periodic real field to another grid.

    Parameters
    ----------
    x : (batch, channels, *spatial) real tensor, or ``(batch, *spatial, channels)`` if ``channels_last``
    shape : sequence of int
        New spatial shape; frequencies that do not fit a coarser grid are dropped.

    Returns
    -------
    Tensor of the same layout on the new grid. Exact (to round-off) for fields whose
    frequencies fit both grids without reaching a Nyquist frequency, e.g. any field on an odd grid
    resampled to a finer one. A complex field is resampled with full FFTs.
    """
    d = len(shape)
    first = 1 if channels_last else 2
    dims = tuple(range(first, first + d))
    old, new = tuple(x.shape[first:first + d]), tuple(int(s) for s in shape)
    if old == new:
        return x
    if x.is_complex():
        cl = x if channels_last else x.movedim(1, -1)
        modes = tuple(min(a, b) for a, b in zip(old, new))
        out = inverse_modes_complex_cl(forward_modes_complex_cl(cl, modes), modes, new)
        return out if channels_last else out.movedim(-1, 1)
    xh = torch.fft.rfftn(x, dim=dims, norm="forward")
    out_shape = list(xh.shape)
    for j in range(d):
        out_shape[first + j] = new[j] if j < d - 1 else new[-1] // 2 + 1
    yh = xh.new_zeros(out_shape)
    blocks = []
    for j in range(d - 1):  # non-negative and negative frequencies kept along dimension j
        pos, neg = min((old[j] + 1) // 2, (new[j] + 1) // 2), min(old[j] // 2, new[j] // 2)
        blocks.append([(slice(0, pos), slice(0, pos))] + ([(slice(old[j] - neg, old[j]), slice(new[j] - neg, new[j]))]
                                                          if neg else []))
    last = min(old[-1] // 2 + 1, new[-1] // 2 + 1)
    blocks.append([(slice(0, last), slice(0, last))])
    lead = (slice(None),) * first
    for combo in itertools.product(*blocks):
        yh[lead + tuple(c[1] for c in combo)] = xh[lead + tuple(c[0] for c in combo)]
    return torch.fft.irfftn(yh, s=new, dim=dims, norm="forward")
