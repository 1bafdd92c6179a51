"""Pointwise building blocks of neural operators: channel MLPs, skips, norms, embeddings, padding.

These layers work on **channel-last** tensors ``(batch, *spatial, channels)``, the layout in which
pointwise channel maps are single GEMMs; the models convert at their entry and exit, and take and
return ``(batch, channels, *spatial)``. All are pointwise in space (independent of the resolution)
except :class:`DomainPadding`, which pads by a fraction of the domain.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pdekit._validation import check_choice

__all__ = ["ChannelMLP", "SoftGating", "make_skip", "make_norm", "GridEmbedding", "DomainPadding",
           "activation", "SKIPS", "NORMS"]

SKIPS = ("linear", "identity", "soft-gating")
NORMS = (None, "group_norm", "instance_norm")
_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh, "silu": F.silu}


def activation(name: str):
    """Return the activation function called ``name`` (gelu, relu, tanh, silu)."""
    check_choice("non_linearity", name, _ACTIVATIONS)
    return _ACTIVATIONS[name]


class ChannelMLP(nn.Module):
    """Pointwise MLP over the last (channel) dimension: ``n_layers`` linear maps, activations between.

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
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.act = activation(non_linearity)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None, *,
                residual_includes_bias: bool = False) -> torch.Tensor:
        """x : (..., in_channels) -> (..., out_channels), plus ``residual`` (fused into the last GEMM).

        ``residual_includes_bias=True`` says that ``residual`` already holds the bias of the last
        layer (callers fold it in with ``torch.addcmul`` and save a pass over the data).
        """
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            if i == last and residual is not None and self.dropout is None:
                shape = (*x.shape[:-1], layer.out_features)
                start = residual if residual_includes_bias else residual + layer.bias
                out = torch.addmm(start.expand(shape).reshape(-1, layer.out_features), x.reshape(-1, x.shape[-1]),
                                  layer.weight.T)
                return out.reshape(shape)
            x = layer(x)
            if i < last:
                x = self.act(x)
            if self.dropout is not None:
                x = self.dropout(x)
        if residual is not None and residual_includes_bias:
            residual = residual - self.layers[-1].bias
        return x if residual is None else x + residual


class SoftGating(nn.Module):
    """Per-channel scaling ``y[..., c] = w[c] x[..., c]`` (weights start at one)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


def make_skip(kind: str, in_channels: int, out_channels: int) -> nn.Module:
    """Skip connection ``"linear"`` (channel map, no bias), ``"identity"`` or ``"soft-gating"``."""
    check_choice("skip", kind, SKIPS)
    if kind == "linear":
        return nn.Linear(in_channels, out_channels, bias=False)
    if in_channels != out_channels:
        raise ValueError(f"a {kind!r} skip needs in_channels == out_channels; got {in_channels}, {out_channels}")
    return nn.Identity() if kind == "identity" else SoftGating(in_channels)


class _ChannelLastNorm(nn.Module):
    """Group norm with one group (over space and channels) or instance norm (over space), per sample."""

    def __init__(self, channels: int, *, over_channels: bool, eps: float = 1e-5):
        super().__init__()
        self.over_channels, self.eps = over_channels, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, x.ndim)) if self.over_channels else tuple(range(1, x.ndim - 1))
        var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=False)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


def make_norm(kind: str | None, channels: int) -> nn.Module:
    """Normalisation layer ``None`` (identity), ``"group_norm"`` (one group) or ``"instance_norm"``."""
    check_choice("norm", kind, NORMS)
    if kind is None:
        return nn.Identity()
    return _ChannelLastNorm(channels, over_channels=kind == "group_norm")


class GridEmbedding(nn.Module):
    """Append the grid coordinates in ``[0, 1)`` as the last channels (one per spatial dimension).

    ``x : (batch, n_1, ..., n_d, c) -> (batch, n_1, ..., n_d, c + d)``; point ``i`` along
    dimension ``j`` has coordinate ``i / n_j`` (a periodic grid), at any resolution.
    """

    def __init__(self, n_dim: int):
        super().__init__()
        self.n_dim = int(n_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, spatial = x.shape[0], x.shape[1:-1]
        axes = [torch.arange(n, device=x.device, dtype=x.dtype) / n for n in spatial]
        grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
        return torch.cat([x, grid.unsqueeze(0).expand(batch, *grid.shape)], dim=-1)


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
        """Pad ``x : (batch, *spatial, channels)``; return it and the amounts (for :meth:`unpad`)."""
        amounts = self._amounts(x.shape[1:-1])
        spec: list[int] = [0, 0]  # channels (last) are not padded
        for p in reversed(amounts):  # F.pad lists the last dimension first
            spec += [p, p] if self.mode == "symmetric" else [0, p]
        return F.pad(x, spec), amounts

    def unpad(self, x: torch.Tensor, amounts: Sequence[int]) -> torch.Tensor:
        for j, p in enumerate(amounts):
            if p:
                dim = 1 + j
                start = p if self.mode == "symmetric" else 0
                x = x.narrow(dim, start, x.shape[dim] - (2 * p if self.mode == "symmetric" else p))
        return x
