"""Pointwise building blocks of neural operators: channel linear maps and MLPs, skips, embeddings, padding.

Every layer here acts on tensors of shape ``(batch, channels, *spatial)`` with any number of
spatial dimensions, and is pointwise in space (so independent of the resolution), except
:class:`DomainPadding` which pads by a fraction of the domain.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pdekit._validation import check_choice

__all__ = ["ChannelLinear", "ChannelMLP", "SoftGating", "make_skip", "GridEmbedding", "DomainPadding",
           "activation", "SKIPS"]

SKIPS = ("linear", "identity", "soft-gating")
_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh, "silu": F.silu}


def activation(name: str):
    """Return the activation function called ``name`` (gelu, relu, tanh, silu)."""
    check_choice("non_linearity", name, _ACTIVATIONS)
    return _ACTIVATIONS[name]


class ChannelLinear(nn.Module):
    """``y[b, o, ...] = sum_i W[o, i] x[b, i, ...] + c[o]``: a 1x1 convolution in any dimension.

    Parameters
    ----------
    in_channels, out_channels : int
    bias : bool
    """

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        bound = 1.0 / math.sqrt(in_channels)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x : (batch, in_channels, *spatial) -> (batch, out_channels, *spatial)."""
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        if self.bias is None:
            y = torch.matmul(self.weight, flat)
        else:
            y = torch.baddbmm(self.bias[None, :, None].expand(x.shape[0], -1, flat.shape[-1]),
                              self.weight.expand(x.shape[0], -1, -1), flat)
        return y.reshape(x.shape[0], self.out_channels, *x.shape[2:])

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, bias={self.bias is not None}"


class ChannelMLP(nn.Module):
    """Pointwise MLP over channels: ``n_layers`` ChannelLinear maps with an activation between.

    Parameters
    ----------
    in_channels, out_channels, hidden_channels : int
    n_layers : int
    non_linearity : str
    dropout : float
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, *, n_layers: int = 2,
                 non_linearity: str = "gelu", dropout: float = 0.0):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"a channel MLP needs n_layers >= 1; got {n_layers}")
        widths = [in_channels] + [hidden_channels] * (n_layers - 1) + [out_channels]
        self.layers = nn.ModuleList(ChannelLinear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.act = activation(non_linearity)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = self.act(x)
            if self.dropout is not None:
                x = self.dropout(x)
        return x


class SoftGating(nn.Module):
    """Per-channel scaling ``y[b, c, ...] = w[c] x[b, c, ...]`` (weights start at one)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight.reshape(1, -1, *([1] * (x.ndim - 2)))


def make_skip(kind: str, in_channels: int, out_channels: int) -> nn.Module:
    """Skip connection ``"linear"`` (channel map, no bias), ``"identity"`` or ``"soft-gating"``."""
    check_choice("skip", kind, SKIPS)
    if kind == "linear":
        return ChannelLinear(in_channels, out_channels, bias=False)
    if in_channels != out_channels:
        raise ValueError(f"a {kind!r} skip needs in_channels == out_channels; got {in_channels}, {out_channels}")
    return nn.Identity() if kind == "identity" else SoftGating(in_channels)


class GridEmbedding(nn.Module):
    """Append the grid coordinates in ``[0, 1)`` (one channel per spatial dimension).

    ``x : (batch, c, n_1, ..., n_d) -> (batch, c + d, n_1, ..., n_d)``; point ``i`` along
    dimension ``j`` has coordinate ``i / n_j`` (a periodic grid), at any resolution.
    """

    def __init__(self, n_dim: int):
        super().__init__()
        self.n_dim = int(n_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, spatial = x.shape[0], x.shape[2:]
        axes = [torch.arange(n, device=x.device, dtype=x.dtype) / n for n in spatial]
        grids = torch.meshgrid(*axes, indexing="ij")
        grid = torch.stack(grids).unsqueeze(0).expand(batch, -1, *spatial)
        return torch.cat([x, grid], dim=1)


class DomainPadding(nn.Module):
    """Zero padding by a fraction of the domain, undone by :meth:`unpad`.

    Parameters
    ----------
    fraction : float or sequence of float
        Padding per spatial dimension as a fraction of its size (e.g. 0.125 pads a 64-point
        dimension by 8 points); the padding is recomputed from each input, so a model evaluates
        at any resolution.
    mode : {"one-sided", "symmetric"}
        Pad at the end of each dimension only, or the same amount at both ends.
    """

    def __init__(self, fraction: float | Sequence[float], *, mode: str = "one-sided"):
        super().__init__()
        check_choice("domain_padding_mode", mode, ("one-sided", "symmetric"))
        self.fraction = fraction
        self.mode = mode

    def _amounts(self, spatial: Sequence[int]) -> list[int]:
        frac = [self.fraction] * len(spatial) if isinstance(self.fraction, (int, float)) else list(self.fraction)
        if len(frac) != len(spatial):
            raise ValueError(f"domain_padding has {len(frac)} entries for {len(spatial)} spatial dimensions")
        if min(frac) < 0:
            raise ValueError(f"domain_padding fractions must be >= 0; got {frac}")
        return [int(round(n * f)) for n, f in zip(spatial, frac)]

    def pad(self, x: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        """Return the padded tensor and the amounts (needed by :meth:`unpad`)."""
        amounts = self._amounts(x.shape[2:])
        spec: list[int] = []
        for p in reversed(amounts):  # F.pad lists the last dimension first
            spec += [p, p] if self.mode == "symmetric" else [0, p]
        return F.pad(x, spec), amounts

    def unpad(self, x: torch.Tensor, amounts: Sequence[int]) -> torch.Tensor:
        for j, p in enumerate(amounts):
            if p:
                dim = 2 + j
                start = p if self.mode == "symmetric" else 0
                x = x.narrow(dim, start, x.shape[dim] - (2 * p if self.mode == "symmetric" else p))
        return x
