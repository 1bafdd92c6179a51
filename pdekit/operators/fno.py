"""Fourier neural operators: FNO and its tensorized variant TFNO, in 1D, 2D and 3D.

The arguments follow neuraloperator's ``FNO`` / ``TFNO`` so that configurations carry over
(``FNO(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32)`` has the same
602,977 parameters in both packages).

Architecture: optional grid coordinates appended -> lifting channel MLP -> optional domain
padding -> ``n_layers`` Fourier blocks -> unpadding -> projection channel MLP. A Fourier block is::

    y = act(norm(SpectralConv_l(x)) + skip_l(x))
    y = act(norm(ChannelMLP_l(y)) + mlp_skip_l(x))      # if use_channel_mlp

with no activation after the last block.
"""

from __future__ import annotations

import functools
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pdekit._validation import check_choice
from pdekit.operators.base import OperatorModel
from pdekit.operators.layers import (NORMS, ChannelMLP, DomainPadding, GridEmbedding, SoftGating, activation, make_norm,
                                     make_skip)
from pdekit.operators.spectral_conv import SpectralConv
from pdekit.operators.spectral_transforms import resample

__all__ = ["FNO", "TFNO"]

class FNO(OperatorModel):
    """Fourier neural operator (Li et al. 2020) with the refinements of neuraloperator.

    Parameters
    ----------
    n_modes : sequence of int
        Fourier modes kept per spatial dimension; ``len(n_modes)`` (1, 2 or 3) is the dimension.
    in_channels, out_channels : int
        Channels of the input function(s) and of the output.
    hidden_channels : int
        Width of the Fourier blocks.
    n_layers : int
        Number of Fourier blocks.
    lifting_channel_ratio, projection_channel_ratio : float
        Hidden width of the lifting / projection MLPs as a multiple of ``hidden_channels``
        (0: a single linear map).
    positional_embedding : {"grid", None}
        Append the grid coordinates in ``[0, 1)`` to the input channels.
    non_linearity : {"gelu", "relu", "tanh", "silu"}
    norm : {None, "group_norm", "instance_norm"}
    use_channel_mlp : bool
        A channel MLP of width ``round(channel_mlp_expansion * hidden_channels)`` in every block.
    channel_mlp_expansion, channel_mlp_dropout : float
    channel_mlp_skip, fno_skip : {"linear", "identity", "soft-gating"}
        Skip connections around the channel MLP and around the spectral convolution.
    domain_padding : float or sequence of float, optional
        Zero padding as a fraction of the domain (per dimension); use it for non-periodic data.
    domain_padding_mode : {"one-sided", "symmetric"}
    factorization : {None, "dense", "tucker", "cp", "tt"}
        Form of the spectral weights (None: dense).
    rank : float or int or sequence of int
        Rank of factorized weights (a float is the fraction of the dense parameter count).
    joint_factorization : bool
        One factorized tensor for the spectral weights of all layers (the global Tucker
        factorization of MG-TFNO).
    implementation : {"factorized", "reconstructed"}
    fno_block_precision : {"full", "half", "mixed"}
        Precision of the spectral convolutions (half precision needs a CUDA device).
    fft_norm : {"forward", "backward", "ortho"}
    transform : {"auto", "fft", "dft"}
        How the spectral convolutions compute Fourier coefficients (same result up to round-off).

    Examples
    --------
    >>> model = FNO((12, 12), in_channels=1, out_channels=1, hidden_channels=16, n_layers=2)
    >>> model(torch.randn(3, 1, 32, 32)).shape
    torch.Size([3, 1, 32, 32])
    >>> model(torch.randn(3, 1, 48, 40)).shape   # another resolution
    torch.Size([3, 1, 48, 40])
    """

    def __init__(self, n_modes: Sequence[int], in_channels: int, out_channels: int, hidden_channels: int,
                 n_layers: int = 4, *, lifting_channel_ratio: float = 2, projection_channel_ratio: float = 2,
                 positional_embedding: str | None = "grid", non_linearity: str = "gelu",
                 norm: str | None = None, use_channel_mlp: bool = True, channel_mlp_expansion: float = 0.5,
                 channel_mlp_dropout: float = 0.0, channel_mlp_skip: str = "soft-gating",
                 fno_skip: str = "linear", domain_padding: float | Sequence[float] | None = None,
                 domain_padding_mode: str = "one-sided", factorization: str | None = None, rank=1.0,
                 joint_factorization: bool = False, implementation: str = "factorized",
                 fno_block_precision: str = "full", fft_norm: str = "forward", transform: str = "auto"):
        super().__init__()
        n_modes = (int(n_modes),) if isinstance(n_modes, int) else tuple(int(m) for m in n_modes)
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("hidden_channels", hidden_channels), ("n_layers", n_layers)):
            if int(value) < 1:
                raise ValueError(f"{name} must be a positive int; got {value}")
        check_choice("positional_embedding", positional_embedding, (None, "grid"))
        check_choice("norm", norm, NORMS)
        self.n_modes, self.n_dim = n_modes, len(n_modes)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.hidden_channels, self.n_layers = int(hidden_channels), int(n_layers)
        self.act = activation(non_linearity)
        self.embedding = GridEmbedding(self.n_dim) if positional_embedding == "grid" else None
        lift_in = self.in_channels + (self.n_dim if self.embedding is not None else 0)
        self.lifting = self._mlp(lift_in, hidden_channels, lifting_channel_ratio * hidden_channels, non_linearity)
        self.padding = DomainPadding(domain_padding, mode=domain_padding_mode) if domain_padding else None
        self.conv = SpectralConv(hidden_channels, hidden_channels, n_modes, n_layers=n_layers,
                                 factorization=factorization, rank=rank, joint_factorization=joint_factorization,
                                 implementation=implementation, fft_norm=fft_norm,
                                 precision=fno_block_precision, transform=transform)
        self.fno_skips = nn.ModuleList(make_skip(fno_skip, hidden_channels, hidden_channels)
                                       for _ in range(n_layers))
        self.use_channel_mlp = bool(use_channel_mlp)
        if self.use_channel_mlp:
            width = max(1, int(round(hidden_channels * channel_mlp_expansion)))
            self.channel_mlps = nn.ModuleList(
                ChannelMLP(hidden_channels, hidden_channels, width, non_linearity=non_linearity,
                           dropout=channel_mlp_dropout) for _ in range(n_layers))
            self.channel_mlp_skips = nn.ModuleList(make_skip(channel_mlp_skip, hidden_channels, hidden_channels)
                                                   for _ in range(n_layers))
        n_norms = 2 if self.use_channel_mlp else 1
        self.norms = nn.ModuleList(make_norm(norm, hidden_channels) for _ in range(n_layers * n_norms)) if norm else None
        self.projection = self._mlp(hidden_channels, out_channels, projection_channel_ratio * hidden_channels,
                                    non_linearity)

    @staticmethod
    def _mlp(c_in: int, c_out: int, hidden: float, non_linearity: str) -> nn.Module:
        if hidden <= 0:
            return nn.Linear(c_in, c_out)
        return ChannelMLP(c_in, c_out, int(round(hidden)), non_linearity=non_linearity)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ValueError unless ``x`` has shape ``(batch, in_channels, *spatial)`` of this dimension."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor; got {type(x).__name__}")
        if x.ndim != 2 + self.n_dim:
            raise ValueError(f"{type(self).__name__} with n_modes={self.n_modes} expects a "
                             f"{2 + self.n_dim}-D tensor (batch, {self.in_channels}, "
                             f"{', '.join('n%d' % j for j in range(self.n_dim))}); got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} input channels "
                             f"(dimension 1); got shape {tuple(x.shape)} with {x.shape[1]}")

    def forward(self, x: torch.Tensor, *, output_shape: Sequence[int] | None = None) -> torch.Tensor:
        """Map ``x : (batch, in_channels, *spatial)`` to ``(batch, out_channels, *spatial)``.

        ``output_shape`` (as in neuraloperator) evaluates the output on another grid: the last
        Fourier block's spectral convolution is evaluated there and its skip inputs are
        interpolated spectrally (:func:`~pdekit.operators.spectral_transforms.resample`); not
        with ``domain_padding``.
        """
        self.check_input(x)
        spatial = tuple(x.shape[2:])
        if output_shape is not None:
            output_shape = tuple(int(s) for s in output_shape)
            if len(output_shape) != self.n_dim or min(output_shape) < 1:
                raise ValueError(f"output_shape must hold {self.n_dim} positive ints; got {output_shape}")
            if output_shape == spatial:
                output_shape = None
            elif self.padding is not None:
                raise ValueError("output_shape cannot be combined with domain_padding; evaluate on the finer "
                                 "grid instead (pass the input sampled there)")
        x = x.movedim(1, -1)  # the trunk works channel-last: pointwise maps are single GEMMs
        if self.embedding is not None:
            x = self.embedding(x)
        x = self.lifting(x)
        amounts = None
        if self.padding is not None:
            x, amounts = self.padding.pad(x)
        for layer in range(self.n_layers):
            last = layer == self.n_layers - 1
            x = self.block(x, layer, output_shape=output_shape if last else None)
        if amounts is not None:
            x = self.padding.unpad(x, amounts)
        return self.projection(x).movedim(-1, 1)

    def block(self, x: torch.Tensor, layer: int, *, output_shape: Sequence[int] | None = None) -> torch.Tensor:
        """Fourier block ``layer`` on channel-last ``x : (batch, *spatial, hidden_channels)``.

        With ``output_shape``, the block's output lies on that grid (the skip paths see ``x``
        interpolated there).
        """
        last = layer == self.n_layers - 1
        skip = self.fno_skips[layer]
        conv = functools.partial(self.conv, x, layer, channels_last=True, output_shape=output_shape)
        if output_shape is not None:
            x = resample(x, output_shape, channels_last=True)
        if self.norms is not None:  # norm(conv(x)) + skip(x)
            y = self.norms[layer * (2 if self.use_channel_mlp else 1)](conv())
            y = y + skip(x)
        elif isinstance(skip, nn.Linear) and self.conv.bias is not None:  # bias folded into the skip's GEMM
            y = conv(residual=F.linear(x, skip.weight, self.conv.bias[layer]), add_bias=False)
        else:
            y = conv(residual=skip(x))
        if not last:
            y = self.act(y)
        if not self.use_channel_mlp:
            return y
        mlp, mlp_skip = self.channel_mlps[layer], self.channel_mlp_skips[layer]
        if isinstance(mlp_skip, SoftGating):  # bias + gate * x in one pass, then fused into the last GEMM
            z = mlp(y, torch.addcmul(mlp.layers[-1].bias, x, mlp_skip.weight), residual_includes_bias=True)
        else:
            z = mlp(y, residual=mlp_skip(x))
        if self.norms is not None:
            z = self.norms[2 * layer + 1](z)
        return z if last else self.act(z)


class TFNO(FNO):
    """Tensorized FNO: an :class:`FNO` whose spectral weights are factorized (Tucker, rank 0.1 by default).

    Takes every argument of :class:`FNO`; only the defaults of ``factorization`` and ``rank`` differ.
    """

    def __init__(self, n_modes: Sequence[int], in_channels: int, out_channels: int, hidden_channels: int,
                 n_layers: int = 4, *, factorization: str = "tucker", rank=0.1, **kwargs):
        if factorization is None or str(factorization).lower() == "dense":
            raise ValueError("TFNO needs a factorization ('tucker', 'cp' or 'tt'); use FNO for dense weights")
        super().__init__(n_modes, in_channels, out_channels, hidden_channels, n_layers,
                         factorization=factorization, rank=rank, **kwargs)
