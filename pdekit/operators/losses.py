"""Losses for functions sampled on grids: relative / absolute Lp norms with quadrature weights, and H1.

A field ``u : (batch, channels, *spatial)`` is a function on a box of size ``domain_size`` (default
the unit box) sampled at ``n_j`` points per dimension. Norms are integrals approximated by the
rectangle rule on a periodic grid (cell size ``L_j / n_j``) or the trapezoidal rule on a grid
that includes both ends (``periodic=False``, cell size ``L_j / (n_j - 1)``, half weights at the
ends), so values do not depend on the resolution. The norm of each sample sums over its
channels; ``reduction`` then averages (or sums) over the batch.

Examples
--------
>>> import math
>>> x = torch.arange(64) / 64
>>> u = torch.sin(2 * math.pi * x).reshape(1, 1, 64)
>>> round(float(LpLoss(relative=False).norm(u)), 6)      # ||sin(2 pi x)||_L2(0,1) = 1/sqrt(2)
0.707107
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from pdekit._validation import check_choice

__all__ = ["LpLoss", "H1Loss", "quadrature_weights"]


def quadrature_weights(shape: Sequence[int], *, domain_size: float | Sequence[float] = 1.0,
                       periodic: bool = True, dtype=torch.float32, device=None) -> list[torch.Tensor]:
    """One-dimensional quadrature weights per spatial dimension.

    Returns
    -------
    list of 1-D tensors, the ``j``-th of length ``shape[j]``; their outer product integrates a
    sampled function over the box.
    """
    sizes = _sizes(domain_size, len(shape))
    weights = []
    for n, length in zip(shape, sizes):
        if periodic:
            w = torch.full((n,), length / n, dtype=dtype, device=device)
        else:
            if n < 2:
                raise ValueError(f"the trapezoidal rule needs >= 2 points per dimension; got {n}")
            w = torch.full((n,), length / (n - 1), dtype=dtype, device=device)
            w[0] = w[-1] = length / (2 * (n - 1))
        weights.append(w)
    return weights


def _sizes(domain_size, d: int) -> list[float]:
    sizes = [float(domain_size)] * d if isinstance(domain_size, (int, float)) else [float(s) for s in domain_size]
    if len(sizes) != d or min(sizes) <= 0:
        raise ValueError(f"domain_size must be a positive number or {d} positive numbers; got {domain_size}")
    return sizes


def _check_pair(pred: torch.Tensor, target: torch.Tensor, d: int | None) -> int:
    if pred.shape != target.shape:
        raise ValueError(f"prediction and target must have the same shape (batch, channels, *spatial); "
                         f"got {tuple(pred.shape)} and {tuple(target.shape)}")
    if pred.ndim < 3:
        raise ValueError(f"fields must have shape (batch, channels, *spatial); got {tuple(pred.shape)}")
    n = pred.ndim - 2
    if d is not None and n != d:
        raise ValueError(f"this loss was built for {d}-D fields; got shape {tuple(pred.shape)}")
    return n


class _GridLoss(torch.nn.Module):
    def __init__(self, *, d: int | None, p: float, relative: bool, reduction: str,
                 domain_size: float | Sequence[float], periodic: bool, eps: float):
        super().__init__()
        check_choice("reduction", reduction, ("mean", "sum", "none"))
        if not p >= 1:
            raise ValueError(f"p must be >= 1; got {p}")
        self.d, self.p, self.relative, self.reduction = d, float(p), bool(relative), reduction
        self.domain_size, self.periodic, self.eps = domain_size, bool(periodic), float(eps)

    def _integrate_p(self, f: torch.Tensor) -> torch.Tensor:
        """Integral of ``|f|^p`` summed over channels: ``(batch,)``."""
        weights = quadrature_weights(f.shape[2:], domain_size=self.domain_size, periodic=self.periodic,
                                     dtype=f.dtype, device=f.device)
        g = f.abs() ** self.p if self.p != 2 else f * f
        for j, w in enumerate(weights):  # integrate out the leading remaining spatial dimension
            g = (g * w.reshape(-1, *([1] * (len(weights) - 1 - j)))).sum(dim=2)
        return g.sum(dim=1)

    def _reduce(self, values: torch.Tensor) -> torch.Tensor:
        if self.reduction == "mean":
            return values.mean()
        return values.sum() if self.reduction == "sum" else values


class LpLoss(_GridLoss):
    """Relative or absolute Lp distance between sampled functions.

    ``relative=True``: ``||pred - target||_p / ||target||_p`` per sample; otherwise ``||pred - target||_p``.

    Parameters
    ----------
    d : int, optional
        Spatial dimension expected (checked); None accepts any.
    p : float
        Order of the norm (>= 1).
    relative : bool
    reduction : {"mean", "sum", "none"}
        Over the batch.
    domain_size : float or sequence of float
        Side lengths of the domain (for absolute norms; relative ones do not depend on it).
    periodic : bool
        Rectangle rule on a periodic grid, or the trapezoidal rule on a grid including both ends.
    eps : float
        Added to the norm of the target of a relative loss.
    """

    def __init__(self, d: int | None = None, p: float = 2, *, relative: bool = True, reduction: str = "mean",
                 domain_size: float | Sequence[float] = 1.0, periodic: bool = True, eps: float = 1e-12):
        super().__init__(d=d, p=p, relative=relative, reduction=reduction, domain_size=domain_size,
                         periodic=periodic, eps=eps)

    def norm(self, u: torch.Tensor) -> torch.Tensor:
        """Lp norm of each sample of ``u : (batch, channels, *spatial)``: ``(batch,)``."""
        return self._integrate_p(u) ** (1.0 / self.p)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``pred`` against ``target``, both ``(batch, channels, *spatial)``."""
        _check_pair(pred, target, self.d)
        dist = self.norm(pred - target)
        if self.relative:
            dist = dist / (self.norm(target) + self.eps)
        return self._reduce(dist)


def _derivatives(u: torch.Tensor, sizes: Sequence[float], *, periodic: bool, method: str) -> list[torch.Tensor]:
    """Partial derivatives of ``u : (batch, channels, *spatial)`` along each spatial dimension."""
    d = u.ndim - 2
    out = []
    for j in range(d):
        dim, n = 2 + j, u.shape[2 + j]
        if method == "spectral":
            k = torch.fft.fftfreq(n, d=sizes[j] / n, device=u.device, dtype=u.dtype) * (2 * math.pi)
            if n % 2 == 0:
                k[n // 2] = 0.0  # the Nyquist mode has no well-defined derivative
            uh = torch.fft.fft(u, dim=dim)
            shape = [1] * u.ndim
            shape[dim] = n
            out.append(torch.fft.ifft(uh * (1j * k).reshape(shape), dim=dim).real)
        elif periodic:
            h = sizes[j] / n
            out.append((torch.roll(u, -1, dims=dim) - torch.roll(u, 1, dims=dim)) / (2 * h))
        else:
            out.append(torch.gradient(u, spacing=sizes[j] / (n - 1), dim=dim, edge_order=2)[0])
    return out


class H1Loss(_GridLoss):
    """Relative or absolute H1 distance: ``(||e||_2^2 + sum_j ||d_j e||_2^2)^(1/2)``.

    Parameters
    ----------
    d : int, optional
        Spatial dimension expected (checked); None accepts any.
    relative : bool
        Divide by the H1 norm of the target.
    reduction : {"mean", "sum", "none"}
    domain_size : float or sequence of float
        Side lengths (derivatives scale with them).
    periodic : bool
        Periodic data (central differences with wrap-around, or spectral derivatives) or not
        (second-order one-sided differences at the ends, trapezoidal rule).
    derivative : {"finite-difference", "spectral"}
        Spectral derivatives need ``periodic=True``.
    semi_norm : bool
        Use only the derivative terms (the H1 semi-norm).
    """

    def __init__(self, d: int | None = None, *, relative: bool = True, reduction: str = "mean",
                 domain_size: float | Sequence[float] = 1.0, periodic: bool = True,
                 derivative: str = "finite-difference", semi_norm: bool = False, eps: float = 1e-12):
        super().__init__(d=d, p=2, relative=relative, reduction=reduction, domain_size=domain_size,
                         periodic=periodic, eps=eps)
        check_choice("derivative", derivative, ("finite-difference", "spectral"))
        if derivative == "spectral" and not periodic:
            raise ValueError("spectral derivatives assume periodic data; use derivative='finite-difference' "
                             "for periodic=False")
        self.derivative, self.semi_norm = derivative, bool(semi_norm)

    def norm(self, u: torch.Tensor) -> torch.Tensor:
        """H1 norm (or semi-norm) of each sample: ``(batch,)``."""
        sizes = _sizes(self.domain_size, u.ndim - 2)
        total = torch.zeros(u.shape[0], dtype=u.dtype, device=u.device) if self.semi_norm else self._integrate_p(u)
        for du in _derivatives(u, sizes, periodic=self.periodic, method=self.derivative):
            total = total + self._integrate_p(du)
        return total.sqrt()

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``pred`` against ``target``, both ``(batch, channels, *spatial)``."""
        _check_pair(pred, target, self.d)
        dist = self.norm(pred - target)
        if self.relative:
            dist = dist / (self.norm(target) + self.eps)
        return self._reduce(dist)
