"""Pointwise building blocks of neural operators: channel MLPs, skips, norms, embeddings, padding.

These layers work on **channel-last** tensors ``(batch, *spatial, channels)``, the layout in which
pointwise channel maps are single GEMMs; the models convert at their entry and exit, and take and
return ``(batch, channels, *spatial)``. All are pointwise in space (independent of the resolution)
except :class:`DomainPadding`, which pads by a fraction of the domain.

Complex fields (neuraloperator's ``complex_data``) travel as *split* real tensors ``(2, batch,
*spatial, channels)`` (real parts, then imaginary parts: every real pointwise layer then applies
to both at once) through :class:`ComplexValued` copies of the real layers,
``f(x) = (f_r(Re x) - f_i(Im x)) + i (f_r(Im x) + f_i(Re x))``; activations act on real and
imaginary parts separately.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

import copy

from pdekit._validation import check_choice

__all__ = ["ChannelMLP", "SoftGating", "make_skip", "make_norm", "GridEmbedding", "DomainPadding",
           "ComplexValued", "activation", "split_complex", "join_complex", "SKIPS", "NORMS"]

SKIPS = ("linear", "identity", "soft-gating", None)
#: ``"instance_norm"`` has no learned parameters (as in neuraloperator); ``"instance_norm_affine"``
#: adds a per-channel scale and shift (pdekit's instance norm before configuration version 2)
NORMS = (None, "group_norm", "instance_norm", "instance_norm_affine")
_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh, "silu": F.silu}


def activation(non_linearity):
    """The activation ``non_linearity``: a name (gelu, relu, tanh, silu) or a callable ``x -> y``
    (such as ``torch.nn.functional.gelu`` or a ``torch.nn`` activation module)."""
    if callable(non_linearity):
        return non_linearity
    check_choice("non_linearity", non_linearity, _ACTIVATIONS)
    return _ACTIVATIONS[non_linearity]


def split_complex(x: torch.Tensor) -> torch.Tensor:
    """A complex tensor ``(...)`` as a real one ``(2, ...)``: real parts, then imaginary parts."""
    return torch.stack([x.real, x.imag]) if x.is_complex() else torch.stack([x, torch.zeros_like(x)])


def join_complex(z: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`split_complex`."""
    return torch.complex(z[0], z[1])


class ComplexValued(nn.Module):
    """A real layer applied to complex data as a complex layer: two independent copies ``f_r, f_i``
    of ``module`` and ``f(x) = (f_r(Re x) - f_i(Im x)) + i (f_r(Im x) + f_i(Re x))``.

    Works on split tensors ``z : (2, ...)`` (:func:`split_complex`) and returns one. For a linear
    ``module`` this is the complex linear map with weight ``W_r + i W_i``; an activation applied to
    a split tensor acts on real and imaginary parts separately, as neuraloperator's ``CGELU``.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.fr, self.fi = copy.deepcopy(module), copy.deepcopy(module)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z : (2, batch, ...)`` -> ``(2, batch, ...)``; real and imaginary parts are separate samples
        for the wrapped layer (so that a norm sees each on its own, as neuraloperator's does)."""
        flat = z.reshape(-1, *z.shape[2:])
        a, b = self.fr(flat), self.fi(flat)  # each on real and imaginary parts at once
        a, b = a.reshape(2, -1, *a.shape[1:]), b.reshape(2, -1, *b.shape[1:])
        return torch.stack([a[0] - b[1], a[1] + b[0]])


class ChannelMLP(nn.Module):
    """Pointwise MLP over the last (channel) dimension: ``n_layers`` linear maps, activations between.

    Parameters
    ----------
    in_channels, out_channels, hidden_channels : int
    n_layers : int
    non_linearity : str or callable
    dropout : float
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, *, n_layers: int = 2,
                 non_linearity="gelu", dropout: float = 0.0):
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


def make_skip(kind: str | None, in_channels: int, out_channels: int) -> nn.Module | None:
    """Skip connection ``"linear"`` (channel map, no bias), ``"identity"``, ``"soft-gating"`` or
    None (no skip)."""
    check_choice("skip", kind, SKIPS)
    if kind is None:
        return None
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


class _InstanceNorm(nn.Module):
    """Instance norm without learned parameters: each channel of each sample to mean 0, variance 1."""

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=tuple(range(1, x.ndim - 1)), keepdim=True, unbiased=False)
        return (x - mean) * torch.rsqrt(var + self.eps)


def make_norm(kind: str | None, channels: int) -> nn.Module:
    """Normalisation layer ``None`` (identity), ``"group_norm"`` (one group, per-channel affine),
    ``"instance_norm"`` (no parameters) or ``"instance_norm_affine"`` (per-channel affine)."""
    check_choice("norm", kind, NORMS)
    if kind is None:
        return nn.Identity()
    if kind == "instance_norm":
        return _InstanceNorm()
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
        Padding per spatial dimension as a fraction of its size, in [0, 1) (e.g. 0.125 pads a
        64-point dimension by 8 points); the padding is recomputed from each input, so a model
        evaluates at any resolution.
    mode : {"one-sided", "symmetric"}
        Pad at the end of each dimension only, or the same amount at both ends (as
        neuraloperator does).
    """

    def __init__(self, fraction: float | Sequence[float], *, mode: str = "one-sided"):
        super().__init__()
        check_choice("domain_padding_mode", mode, ("one-sided", "symmetric"))
        values = list(fraction) if isinstance(fraction, (list, tuple)) else [fraction]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= float(v) < 1:
                raise ValueError(f"domain_padding must be a fraction of the domain in [0, 1) (e.g. 0.125); "
                                 f"got {fraction!r}")
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

    def unpad(self, x: torch.Tensor, amounts: Sequence[int], *,
              padded_shape: Sequence[int] | None = None) -> torch.Tensor:
        """Remove the padding of :meth:`pad` from ``x : (batch, *spatial, channels)``.

        When the network changed the resolution on the way (``x`` is not on the padded grid of
        ``padded_shape`` any more), the padding is removed in proportion: ``round(p * m / n)``
        points of ``x``'s ``m`` for the ``p`` of the ``n`` padded ones.
        """
        for j, p in enumerate(amounts):
            if p:
                dim = 1 + j
                m = x.shape[dim]
                if padded_shape is not None and padded_shape[j] != m:
                    p = int(round(p * m / padded_shape[j]))
                start = p if self.mode == "symmetric" else 0
                x = x.narrow(dim, start, m - (2 * p if self.mode == "symmetric" else p))
        return x
