"""Graph neural operator layer: a learned kernel integral over radius neighbourhoods.

:class:`KernelIntegral` maps a function ``f`` given at source points ``y_j`` (with quadrature
weights ``w_j``) to target points ``x_i``::

    v(x_i) = 1 / |B_r| * sum_{|y_j - x_i| <= r} k(x_i, y_j) * f(y_j) * w_j
           ~ 1 / |B_r| * int_{B_r(x_i)} k(x_i, y) f(y) dy

where ``|B_r|`` is the measure of the ball of radius ``r`` (so ``v`` is a kernel-weighted mean
over the ball, of the size of ``f``) and the kernel is diagonal over channels:
``k(x, y) = MLP(features of the edge)``, one value per channel. Because the sum is a
quadrature of an integral, the layer converges as the source points are refined and does
not care how densely they sample the domain (Li et al., "Neural operator: graph kernel
network", and the GNO layers of GINO).

A learned kernel starts near ``k = 1`` (its last bias is one), so an untrained layer is a
local mean that passes its input on at full strength. The kernel sees, for every edge, the offset ``(y - x) / r`` (in the unit ball), its length,
and the target's position in the model's box scaled to ``[-1, 1]^d``: see :func:`edge_features`.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from pdekit.operators.layers import ChannelMLP
from pdekit.operators.neighborhoods import Neighborhoods, neighborhood_sum, weighted_neighborhood_sum

__all__ = ["KernelIntegral", "edge_features", "ball_volume", "n_edge_features", "fourier_features"]

#: how a kernel integral combines the kernel with the function (see :class:`KernelIntegral`)
TRANSFORMS = ("linear", "nonlinear")


def n_edge_features(dim: int) -> int:
    """Number of kernel inputs per edge in ``dim`` dimensions: offset, distance, position."""
    return 2 * dim + 1


def fourier_features(features: torch.Tensor, frequencies: int) -> torch.Tensor:
    """``[e, sin(2^k pi e), cos(2^k pi e)]`` for ``k = 0 .. frequencies - 1``, per feature.

    The positional encoding of NeRF (Mildenhall et al. 2020), which neuraloperator's GNO blocks
    apply to the coordinates of both ends of every edge: an MLP fed with these features
    represents a kernel that varies on a scale of ``2^-frequencies`` of the feature range.

    Parameters
    ----------
    features : (..., n) tensor
        Kernel inputs in about ``[-1, 1]`` (:func:`edge_features`).
    frequencies : int
        Octaves; 0 returns ``features`` unchanged.

    Returns
    -------
    (..., n * (1 + 2 * frequencies)) tensor
    """
    if frequencies == 0:
        return features
    scales = math.pi * 2.0 ** torch.arange(frequencies, dtype=features.dtype, device=features.device)
    angles = (features.unsqueeze(-1) * scales).flatten(-2)
    return torch.cat([features, angles.sin(), angles.cos()], dim=-1)


def ball_volume(radius: float, dim: int) -> float:
    """Measure of the ball of ``radius`` in ``dim`` dimensions (length 2r, area pi r^2, ...)."""
    return math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * radius ** dim


def edge_features(sources: np.ndarray, targets: np.ndarray, neighborhoods: Neighborhoods, radius: float,
                  box: np.ndarray) -> np.ndarray:
    """Kernel inputs of every edge: ``[(y - x) / r, |y - x| / r, 2 (x - lo) / (hi - lo) - 1]``.

    Parameters
    ----------
    sources : (n_s, d) float array
        Points ``y``.
    targets : (n_t, d) float array
        Points ``x``.
    neighborhoods : Neighborhoods
        Sources of each target.
    radius : float
    box : (d, 2) float array
        ``[lo, hi]`` per axis: the target positions are scaled by it.

    Returns
    -------
    (n_edges, 2 d + 1) float64
    """
    x = targets[neighborhoods.rows()]
    offset = (sources[neighborhoods.indices] - x) / radius
    position = 2.0 * (x - box[:, 0]) / (box[:, 1] - box[:, 0]) - 1.0
    return np.concatenate([offset, np.linalg.norm(offset, axis=1, keepdims=True), position], axis=1)


class KernelIntegral(nn.Module):
    """``v(x_i) = 1/|B_r| sum_j k(x_i, y_j) f(y_j) w_j`` over the sources within ``r`` of ``x_i``.

    Parameters
    ----------
    channels : int
        Channels of ``f`` and of the result (the kernel is diagonal over channels).
    dim : int
        Dimension of the points (1, 2 or 3).
    kernel_width : int
        Hidden width of the kernel MLP.
    kernel_layers : int
        Linear layers of the kernel MLP.
    non_linearity : str
        Activation of the kernel MLP.
    frequencies : int
        Octaves of the Fourier features of the edge features fed to the kernel MLP
        (:func:`fourier_features`; 0: the raw features).
    transform : {"linear", "nonlinear"}
        ``"linear"``: ``k(x, y) f(y)``, one kernel for all samples; ``"nonlinear"``:
        ``k(x, y, f(y)) f(y)``, the kernel also sees the function at the source (Li et al.'s
        GINO, neuraloperator's ``transform_type="nonlinear"``), evaluated per sample.
    kernel : callable, optional
        A fixed kernel ``features (n_edges, 2 d + 1) -> (n_edges, channels)`` in place of the
        MLP (e.g. a known kernel, to check the quadrature).

    Examples
    --------
    The mean of ``f = 1`` over each ball is the fraction of the ball inside the domain:

    >>> import numpy as np
    >>> from pdekit.operators.neighborhoods import radius_neighborhoods
    >>> y = np.stack(np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, 1, 201)), -1).reshape(-1, 2)
    >>> w = np.full(len(y), 1 / 200 ** 2)  # trapezoidal weights, boundary halving omitted
    >>> x = np.array([[0.5, 0.5]])
    >>> nb = radius_neighborhoods(y, x, 0.1)
    >>> layer = KernelIntegral(1, 2, kernel=lambda e: torch.ones(len(e), 1))
    >>> feats = torch.as_tensor(edge_features(y, x, nb, 0.1, np.array([[0, 1], [0, 1]])))
    >>> v = layer(torch.ones(1, len(y), 1, dtype=torch.float64), feats, nb,
    ...           torch.as_tensor(w / ball_volume(0.1, 2)))
    >>> round(float(v), 2)
    1.0
    """

    def __init__(self, channels: int, dim: int, *, kernel_width: int = 64, kernel_layers: int = 2,
                 non_linearity: str = "gelu", frequencies: int = 0, transform: str = "linear",
                 kernel: Callable[[torch.Tensor], torch.Tensor] | None = None):
        super().__init__()
        if int(channels) < 1 or int(dim) not in (1, 2, 3):
            raise ValueError(f"channels must be >= 1 and dim 1, 2 or 3; got channels={channels}, dim={dim}")
        if isinstance(frequencies, bool) or not isinstance(frequencies, (int, np.integer)) or frequencies < 0:
            raise ValueError(f"frequencies must be a non-negative int; got {frequencies!r}")
        if transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}; got {transform!r}")
        self.channels, self.dim = int(channels), int(dim)
        self.frequencies, self.transform = int(frequencies), transform
        if kernel is None:
            n_in = n_edge_features(self.dim) * (1 + 2 * self.frequencies)
            n_in += self.channels if transform == "nonlinear" else 0
            kernel = ChannelMLP(n_in, self.channels, int(kernel_width),
                                n_layers=int(kernel_layers), non_linearity=non_linearity)
            with torch.no_grad():  # start near k = 1: the layer begins as a mean over the ball
                kernel.layers[-1].bias.fill_(1.0)
        self.kernel = kernel

    def forward(self, f: torch.Tensor, features: torch.Tensor, neighborhoods: Neighborhoods,
                weights: torch.Tensor) -> torch.Tensor:
        """Integrate ``f`` against the kernel over every target's neighbourhood.

        Parameters
        ----------
        f : (batch, n_sources, channels) tensor
            The function at the source points (channels last).
        features : (n_edges, 2 d + 1) tensor
            Kernel inputs of the edges (:func:`edge_features`).
        neighborhoods : Neighborhoods
        weights : (n_sources,) tensor
            Quadrature weights divided by the ball's measure.

        Returns
        -------
        (batch, n_targets, channels) tensor
        """
        if f.ndim != 3 or f.shape[1] != neighborhoods.n_sources or f.shape[2] != self.channels:
            raise ValueError(f"f must have shape (batch, {neighborhoods.n_sources}, {self.channels}); "
                             f"got {tuple(f.shape)}")
        sources, targets = neighborhoods.torch_edges(f.device)
        features = fourier_features(features, self.frequencies)
        w = weights.index_select(0, sources).unsqueeze(1)
        if self.transform == "nonlinear":  # k(x, y, f(y)): one kernel per sample
            f_y = f.index_select(1, sources)
            k = self.kernel(torch.cat([features.to(f.dtype).expand(len(f), -1, -1), f_y], dim=-1))
            if k.shape != f_y.shape:
                raise ValueError(f"the kernel must return shape {tuple(f_y.shape)}; got {tuple(k.shape)}")
            return neighborhood_sum(k * f_y * w.to(f.dtype), targets, neighborhoods.n_targets)
        k = self.kernel(features)
        if k.shape != (neighborhoods.n_edges, self.channels):
            raise ValueError(f"the kernel must return shape ({neighborhoods.n_edges}, {self.channels}); "
                             f"got {tuple(k.shape)}")
        return weighted_neighborhood_sum(f, k * w, neighborhoods)
