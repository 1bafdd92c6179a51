"""Fourier neural operators: FNO and its tensorized variant TFNO, in any number of dimensions.

The constructor takes neuraloperator 2.0's ``FNO`` / ``TFNO`` arguments with the same meaning and
defaults, so that a configuration (and a script) carries over by changing the import:
``FNO(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32)`` has the same
602,977 parameters in both packages, and so has every other combination of arguments (ranks of
factorized weights follow tensorly's rules).

Architecture: optional grid coordinates appended -> lifting channel MLP -> optional domain
padding -> ``n_layers`` Fourier blocks -> unpadding -> projection channel MLP. A Fourier block
(neuraloperator's, post-activation) is::

    y = norm(SpectralConv_l(stabilize(x))) + skip_l(x)
    y = act(y)                                          # not after the last block
    y = ChannelMLP_l(y) + mlp_skip_l(x)                 # if use_channel_mlp
    y = act(norm(y))                                    # act not after the last block

and with ``preactivation=True``: ``x = norm(act(x))`` first, then
``y = norm(act(SpectralConv_l(stabilize(x)) + skip_l(x)))``, ``y = ChannelMLP_l(y) + mlp_skip_l(x)``.
Complex fields (``complex_data=True``) go through complex copies of every pointwise layer and
activations applied to real and imaginary parts (the trunk carries them as split real tensors,
see :func:`~pdekit.operators.layers.split_complex`).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pdekit.operators import _arguments as A
from pdekit.operators.base import OperatorModel
from pdekit.operators.layers import (NORMS, SKIPS, ChannelMLP, ComplexValued, DomainPadding, GridEmbedding,
                                     SoftGating, activation, join_complex, make_norm, make_skip, split_complex)
from pdekit.operators.spectral_conv import SpectralConv
from pdekit.operators.spectral_transforms import resample, retained_modes
from pdekit.operators.spectral_weights import legacy_rank

__all__ = ["FNO", "TFNO", "BLOCK_LAYOUTS"]

#: ``"neuraloperator"``: the blocks of neuraloperator 2.0; ``"pdekit-0.1"``: pdekit's blocks before
#: configuration version 2 (one norm and one activation per block without channel MLP, rounded
#: lifting and projection widths), which models saved then are rebuilt with
BLOCK_LAYOUTS = ("neuraloperator", "pdekit-0.1")


class FNO(OperatorModel):
    """Fourier neural operator (Li et al. 2020) with the refinements of neuraloperator.

    Parameters
    ----------
    n_modes : int or sequence of int
        Fourier modes kept per spatial dimension; ``len(n_modes)`` (any) is the dimension. Can
        be lowered later (``model.n_modes = ...``) within ``max_n_modes``.
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
    non_linearity : str or callable
        Activation: a name (gelu, relu, tanh, silu) or a function such as
        ``torch.nn.functional.gelu`` (neuraloperator's form; stored in checkpoints by name).
    norm : {None, "group_norm", "instance_norm", "instance_norm_affine"}
    complex_data : bool
        The input and output fields are complex.
    use_channel_mlp : bool
        A channel MLP of width ``round(channel_mlp_expansion * hidden_channels)`` in every block.
    channel_mlp_dropout, channel_mlp_expansion : float
    channel_mlp_skip, fno_skip : {"linear", "identity", "soft-gating", None}
        Skip connections around the channel MLP and around the spectral convolution (None: none).
    resolution_scaling_factor : number, list of numbers or list of lists, optional
        Each block scales the resolution: one factor for all, one per block, or one per block and
        dimension (neuraloperator's forms); the output grid is the input's times their product.
    domain_padding : float or sequence of float, optional
        Zero padding as a fraction in [0, 1) of the domain (per dimension), for non-periodic data.
    fno_block_precision : {"full", "half", "mixed"}
        Precision of the spectral convolutions (half precision FFTs need a CUDA device).
    stabilizer : {None, "tanh"}
        ``tanh`` applied to the input of each spectral convolution.
    max_n_modes : sequence of int, optional
        Modes the spectral weights are made for (default ``n_modes``).
    factorization : {None, "dense", "tucker", "cp", "tt"}
        Form of the spectral weights (None: dense; case does not matter).
    rank : float, "same", int or sequence of int
        Rank of factorized weights (a float is the fraction of the dense parameter count).
    fixed_rank_modes : bool or sequence of int
        Tucker modes of the weights kept at full size (True: mode 0).
    implementation : {"factorized", "reconstructed"}
    decomposition_kwargs : dict, optional
        Must be empty (tensorly-torch options, which pdekit's weights do not take).
    separable : bool
        Spectral weights that scale each channel instead of mixing them.
    preactivation : bool
        Activation (and norm) before each block's convolution, ResNet style.
    domain_padding_mode : {"symmetric", "one-sided"}
        Pad both ends of each dimension (as neuraloperator does) or the end only.
    joint_factorization : bool
        One factorized tensor for the spectral weights of all layers (the global Tucker
        factorization of MG-TFNO).
    fft_norm : {"forward", "backward", "ortho"}
    transform : {"auto", "fft", "dft"}
        How the spectral convolutions compute Fourier coefficients (same result up to round-off).
    block_layout : {"neuraloperator", "pdekit-0.1"}
        See :data:`BLOCK_LAYOUTS` (models saved before configuration version 2 get
        ``"pdekit-0.1"``).

    Examples
    --------
    >>> model = FNO((12, 12), in_channels=1, out_channels=1, hidden_channels=16, n_layers=2)
    >>> model(torch.randn(3, 1, 32, 32)).shape
    torch.Size([3, 1, 32, 32])
    >>> model(torch.randn(3, 1, 48, 40)).shape   # another resolution
    torch.Size([3, 1, 48, 40])
    """

    config_version = 2

    def __init__(self, n_modes: int | Sequence[int], in_channels: int, out_channels: int, hidden_channels: int,
                 n_layers: int = 4, *, lifting_channel_ratio: float = 2, projection_channel_ratio: float = 2,
                 positional_embedding: str | None = "grid", non_linearity: Any = "gelu",
                 norm: str | None = None, complex_data: bool = False, use_channel_mlp: bool = True,
                 channel_mlp_dropout: float = 0.0, channel_mlp_expansion: float = 0.5,
                 channel_mlp_skip: str | None = "soft-gating", fno_skip: str | None = "linear",
                 resolution_scaling_factor: Any = None, domain_padding: float | Sequence[float] | None = None,
                 fno_block_precision: str = "full", stabilizer: str | None = None,
                 max_n_modes: Sequence[int] | None = None, factorization: str | None = None, rank: Any = 1.0,
                 fixed_rank_modes: Any = False, implementation: str = "factorized",
                 decomposition_kwargs: dict | None = None, separable: bool = False, preactivation: bool = False,
                 domain_padding_mode: str = "symmetric", joint_factorization: bool = False,
                 fft_norm: str = "forward", transform: str = "auto", block_layout: str = "neuraloperator"):
        super().__init__()
        modes = A.n_modes(n_modes)
        self.n_dim = len(modes)
        self.in_channels = A.positive_int("in_channels", in_channels)
        self.out_channels = A.positive_int("out_channels", out_channels)
        self.hidden_channels = A.positive_int("hidden_channels", hidden_channels)
        self.n_layers = A.positive_int("n_layers", n_layers)
        lifting_ratio = A.number("lifting_channel_ratio", lifting_channel_ratio, minimum=0.0)
        projection_ratio = A.number("projection_channel_ratio", projection_channel_ratio, minimum=0.0)
        expansion = A.number("channel_mlp_expansion", channel_mlp_expansion, minimum=0.0, strict=True)
        dropout = A.fraction("channel_mlp_dropout", channel_mlp_dropout)
        A.choice("positional_embedding", positional_embedding, (None, "grid"))
        A.choice("norm", norm, NORMS)
        A.choice("fno_skip", fno_skip, SKIPS)
        A.choice("channel_mlp_skip", channel_mlp_skip, SKIPS)
        self.stabilizer = A.choice("stabilizer", stabilizer, (None, "tanh"))
        self.block_layout = A.choice("block_layout", block_layout, BLOCK_LAYOUTS)
        self.complex_data, self.preactivation = bool(complex_data), bool(preactivation)
        self.resolution_scaling_factor = A.scaling_factors(resolution_scaling_factor, self.n_dim, self.n_layers)
        padding = A.padding_fractions(domain_padding, self.n_dim)
        legacy = self.block_layout == "pdekit-0.1"
        width = (lambda r: int(round(r * self.hidden_channels))) if legacy else \
            (lambda r: int(r * self.hidden_channels))

        self.act = activation(non_linearity)
        self.embedding = GridEmbedding(self.n_dim) if positional_embedding == "grid" else None
        lift_in = self.in_channels + (self.n_dim if self.embedding is not None else 0)
        self.lifting = self._complex(self._mlp(lift_in, self.hidden_channels, width(lifting_ratio), non_linearity))
        self.padding = DomainPadding(list(padding), mode=domain_padding_mode) if padding else None
        self.conv = SpectralConv(self.hidden_channels, self.hidden_channels, modes, n_layers=self.n_layers,
                                 complex_data=self.complex_data, max_n_modes=max_n_modes, separable=separable,
                                 factorization=factorization, rank=rank, fixed_rank_modes=fixed_rank_modes,
                                 decomposition_kwargs=decomposition_kwargs, joint_factorization=joint_factorization,
                                 implementation=implementation, fft_norm=fft_norm,
                                 fno_block_precision=fno_block_precision, transform=transform)
        self.fno_skips = self._skips(fno_skip)
        self.use_channel_mlp = bool(use_channel_mlp)
        self.channel_mlps = self.channel_mlp_skips = None
        if self.use_channel_mlp:
            mlp_width = max(1, int(round(self.hidden_channels * expansion)))
            self.channel_mlps = nn.ModuleList(
                self._complex(ChannelMLP(self.hidden_channels, self.hidden_channels, mlp_width,
                                         non_linearity=non_linearity, dropout=dropout))
                for _ in range(self.n_layers))
            self.channel_mlp_skips = self._skips(channel_mlp_skip)
        self.n_norms = 2 if (self.use_channel_mlp or not legacy) else 1
        self.norms = nn.ModuleList(self._complex(make_norm(norm, self.hidden_channels))
                                   for _ in range(self.n_layers * self.n_norms)) if norm else None
        self.projection = self._complex(self._mlp(self.hidden_channels, self.out_channels, width(projection_ratio),
                                                  non_linearity))

    @classmethod
    def upgrade_config(cls, config: dict, version: int) -> dict:
        """Configurations saved before version 2: pdekit's former blocks, norms and ranks."""
        if version < 2:
            config["block_layout"] = "pdekit-0.1"
            config.setdefault("domain_padding_mode", "one-sided")  # the former default (TFNO's **kwargs omit it)
            if config.get("norm") == "instance_norm":
                config["norm"] = "instance_norm_affine"
            modes = config["n_modes"]
            modes = (int(modes),) if isinstance(modes, int) else tuple(int(m) for m in modes)
            hidden, n_layers = int(config["hidden_channels"]), int(config.get("n_layers", 4))
            shape = (hidden, hidden, *retained_modes(modes))
            if config.get("joint_factorization"):
                shape = (n_layers, *shape)
            config["rank"] = legacy_rank(config.get("factorization"), shape, config.get("rank", 1.0))
        return config

    def _complex(self, module: nn.Module) -> nn.Module:
        return ComplexValued(module) if self.complex_data and module is not None else module

    def _skips(self, kind: str | None) -> nn.ModuleList | None:
        if kind is None:
            return None
        return nn.ModuleList(self._complex(make_skip(kind, self.hidden_channels, self.hidden_channels))
                             if kind != "identity" else make_skip(kind, self.hidden_channels, self.hidden_channels)
                             for _ in range(self.n_layers))

    @staticmethod
    def _mlp(c_in: int, c_out: int, hidden: int, non_linearity: Any) -> nn.Module:
        if hidden <= 0:
            return nn.Linear(c_in, c_out)
        return ChannelMLP(c_in, c_out, hidden, non_linearity=non_linearity)

    # -- modes -------------------------------------------------------------------------------
    @property
    def n_modes(self) -> tuple[int, ...]:
        """Fourier modes used per dimension (can be set, within ``max_n_modes``)."""
        return self.conv.n_modes

    @n_modes.setter
    def n_modes(self, value) -> None:
        self.conv.n_modes = value

    # -- forward -----------------------------------------------------------------------------
    def check_input(self, x: torch.Tensor) -> None:
        """Raise unless ``x`` has shape ``(batch, in_channels, *spatial)`` of this dimension."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor; got {type(x).__name__}")
        if x.ndim != 2 + self.n_dim:
            raise ValueError(f"{type(self).__name__} with n_modes={self.n_modes} expects a "
                             f"{2 + self.n_dim}-D tensor (batch, {self.in_channels}, "
                             f"{', '.join('n%d' % j for j in range(self.n_dim))}); got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} input channels "
                             f"(dimension 1); got shape {tuple(x.shape)} with {x.shape[1]}")
        if x.is_complex() and not self.complex_data:
            raise TypeError(f"{type(self).__name__} got a complex input: build it with complex_data=True for "
                            f"complex fields")

    def _output_shapes(self, spatial: Sequence[int], output_shape) -> list[tuple[int, ...] | None]:
        """The grid after each block (None: unchanged)."""
        shapes: list[tuple[int, ...] | None] = [None] * self.n_layers
        if output_shape is not None:
            given = [output_shape] if not isinstance(output_shape, list) else output_shape
            if isinstance(output_shape, list):
                if len(given) != self.n_layers:
                    raise ValueError(f"output_shape as a list gives one shape per block: {self.n_layers} expected, "
                                     f"got {len(given)}")
            else:
                given = [None] * (self.n_layers - 1) + given
            for layer, shape in enumerate(given):
                if shape is not None:
                    shape = tuple(int(s) for s in shape)
                    if len(shape) != self.n_dim or min(shape) < 1:
                        raise ValueError(f"output_shape must hold {self.n_dim} positive ints; got {shape}")
                    shapes[layer] = shape
        current = tuple(spatial)
        for layer in range(self.n_layers):
            if shapes[layer] is None and self.resolution_scaling_factor is not None:
                shapes[layer] = tuple(int(round(n * f)) for n, f in zip(current, self.resolution_scaling_factor[layer]))
            if shapes[layer] == current:
                shapes[layer] = None
            current = shapes[layer] or current
        return shapes

    def forward(self, x: torch.Tensor, output_shape: Sequence[int] | list | None = None, **kwargs) -> torch.Tensor:
        """Map ``x : (batch, in_channels, *spatial)`` to ``(batch, out_channels, *spatial_out)``.

        ``spatial_out`` is ``spatial`` scaled by ``resolution_scaling_factor``, unless
        ``output_shape`` (as in neuraloperator: a tuple for the last block, or a list with a shape
        or None per block) says otherwise: the spectral convolutions are evaluated there and their
        skip inputs interpolated spectrally (:func:`~pdekit.operators.spectral_transforms.resample`);
        not with ``domain_padding``.
        """
        if kwargs:
            raise TypeError(f"{type(self).__name__}.forward got unexpected keyword arguments {sorted(kwargs)}")
        self.check_input(x)
        if output_shape is not None and self.padding is not None:
            raise ValueError("output_shape cannot be combined with domain_padding; evaluate on the finer "
                             "grid instead (pass the input sampled there)")
        x = x.movedim(1, -1)  # the trunk works channel-last: pointwise maps are single GEMMs
        if self.complex_data:  # split real tensor (2, batch, *spatial, channels)
            x = split_complex(x)
            if self.embedding is not None:  # grid coordinates are real: zero imaginary parts
                x = torch.stack([self.embedding(x[0]), F.pad(x[1], (0, self.n_dim))])
        elif self.embedding is not None:
            x = self.embedding(x)
        x = self.lifting(x)
        amounts = padded = None
        if self.padding is not None:
            x, amounts = self._pointwise(self.padding.pad, x)
            padded = tuple(x.shape[-1 - self.n_dim:-1])
        shapes = self._output_shapes(x.shape[-1 - self.n_dim:-1], output_shape)
        fast = not self.complex_data and not self.preactivation and self.stabilizer is None \
            and self.fno_skips is not None and self.use_channel_mlp and self.channel_mlp_skips is not None
        for layer in range(self.n_layers):
            x = (self.block if fast else self.general_block)(x, layer, output_shape=shapes[layer])
        if amounts is not None:
            x = self._pointwise(lambda t: self.padding.unpad(t, amounts, padded_shape=padded), x)
        x = self.projection(x)
        return (join_complex(x) if self.complex_data else x).movedim(-1, 1)

    def _pointwise(self, fn, x):
        """``fn`` of a ``(batch, *spatial, channels)`` tensor applied to a split complex one too."""
        if not self.complex_data:
            return fn(x)
        out = fn(x.reshape(-1, *x.shape[2:]))
        if isinstance(out, tuple):
            return (out[0].reshape(2, -1, *out[0].shape[1:]), *out[1:])
        return out.reshape(2, -1, *out.shape[1:])

    def _conv(self, x, layer, output_shape, residual=None):
        """The spectral convolution of channel-last ``x`` (split complex with ``complex_data``)."""
        if not self.complex_data:
            return self.conv(x, layer, channels_last=True, output_shape=output_shape, residual=residual)
        y = split_complex(self.conv(join_complex(x), layer, channels_last=True, output_shape=output_shape))
        return y if residual is None else y + residual

    def block(self, x: torch.Tensor, layer: int, *, output_shape: Sequence[int] | None = None) -> torch.Tensor:
        """Fourier block ``layer`` on channel-last real ``x : (batch, *spatial, hidden_channels)``,
        post-activation with both skips and a channel MLP, with the skips and biases fused into
        the GEMMs. With ``output_shape``, the block's output lies on that grid (the skip paths see
        ``x`` interpolated there). :meth:`general_block` handles every configuration.
        """
        last = layer == self.n_layers - 1
        skip = self.fno_skips[layer]
        conv = functools.partial(self.conv, x, layer, channels_last=True, output_shape=output_shape)
        if output_shape is not None:
            x = resample(x, output_shape, channels_last=True)
        if self.norms is not None:  # norm(conv(x)) + skip(x)
            y = self.norms[layer * self.n_norms](conv())
            y = y + skip(x)
        elif isinstance(skip, nn.Linear) and self.conv.bias is not None:  # bias folded into the skip's GEMM
            y = conv(residual=F.linear(x, skip.weight, self.conv.bias[layer]), add_bias=False)
        else:
            y = conv(residual=skip(x))
        if not last:
            y = self.act(y)
        mlp, mlp_skip = self.channel_mlps[layer], self.channel_mlp_skips[layer]
        if isinstance(mlp_skip, SoftGating):  # bias + gate * x in one pass, then fused into the last GEMM
            z = mlp(y, torch.addcmul(mlp.layers[-1].bias, x, mlp_skip.weight), residual_includes_bias=True)
        else:
            z = mlp(y, residual=mlp_skip(x))
        if self.norms is not None:
            z = self.norms[layer * self.n_norms + 1](z)
        return z if last else self.act(z)

    def general_block(self, x: torch.Tensor, layer: int, *,
                      output_shape: Sequence[int] | None = None) -> torch.Tensor:
        """Fourier block ``layer`` on channel-last ``x`` (real or complex), any configuration."""
        last = layer == self.n_layers - 1
        act = self.act  # on split complex tensors: on real and imaginary parts separately
        first_norm = second_norm = None
        if self.norms is not None:
            first_norm = self.norms[layer * self.n_norms]
            second_norm = self.norms[layer * self.n_norms + 1] if self.n_norms == 2 else None
        if self.preactivation:
            x = act(x)
            if first_norm is not None:
                x = first_norm(x)
        xs = x if output_shape is None else self._pointwise(
            lambda t: resample(t, output_shape, channels_last=True), x)
        skip = self.fno_skips[layer](xs) if self.fno_skips is not None else None
        mlp_skip = None
        if self.use_channel_mlp and self.channel_mlp_skips is not None:
            mlp_skip = self.channel_mlp_skips[layer](xs)
        if self.stabilizer == "tanh":
            x = torch.tanh(x)
        if first_norm is not None and not self.preactivation:
            y = first_norm(self._conv(x, layer, output_shape))
            y = y if skip is None else y + skip
        else:
            y = self._conv(x, layer, output_shape, residual=skip)
        if not last:
            y = act(y)
        if self.preactivation and second_norm is not None:
            y = second_norm(y)
        if self.use_channel_mlp:
            mlp = self.channel_mlps[layer]
            if isinstance(mlp, ChannelMLP):
                y = mlp(y, residual=mlp_skip)
            else:
                y = mlp(y) if mlp_skip is None else mlp(y) + mlp_skip
        if self.preactivation:
            return y
        if second_norm is not None:
            y = second_norm(y)
        if not last and (self.use_channel_mlp or self.block_layout == "neuraloperator"):
            y = act(y)
        return y


class TFNO(FNO):
    """Tensorized FNO: an :class:`FNO` whose spectral weights are factorized (Tucker, rank 0.1 by default).

    Takes every argument of :class:`FNO`; only the defaults of ``factorization`` and ``rank`` differ.
    """

    def __init__(self, n_modes: int | Sequence[int], in_channels: int, out_channels: int, hidden_channels: int,
                 n_layers: int = 4, *, factorization: str = "tucker", rank: Any = 0.1, **kwargs):
        if factorization is None or str(factorization).lower() == "dense":
            raise ValueError("TFNO needs a factorization ('tucker', 'cp' or 'tt'); use FNO for dense weights")
        super().__init__(n_modes, in_channels, out_channels, hidden_channels, n_layers,
                         factorization=factorization, rank=rank, **kwargs)
