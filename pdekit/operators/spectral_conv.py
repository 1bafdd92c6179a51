"""Spectral convolution (the Fourier layer) in any number of dimensions.

``SpectralConv`` transforms its input to Fourier space along the trailing (spatial) dimensions,
keeps the lowest ``n_modes`` frequencies only (computing no others), multiplies them by a learned
complex weight (:class:`~pdekit.operators.spectral_weights.SpectralWeights`, dense or factorized)
and transforms back. ``n_modes`` counts frequencies as neuraloperator does: along every dimension
but the last, ``n_modes[j]`` frequencies (the non-negative ``ceil(m / 2)`` and the negative
``floor(m / 2)``); along the last (a real FFT), ``n_modes[-1] // 2 + 1``. Complex fields
(``complex_data=True``) use full FFTs and keep ``n_modes[j]`` frequencies along every dimension.

The constructor takes neuraloperator 2.0's ``SpectralConv`` arguments with their meaning and
defaults (``complex_data``, ``max_n_modes``, ``separable``, ``resolution_scaling_factor``,
``fno_block_precision``, ``rank=0.5``, ``factorization``, ``implementation="reconstructed"``,
``fixed_rank_modes``, ``init_std="auto"``, ``fft_norm``), plus pdekit's ``n_layers`` (one module
holds the weights of several layers, so that they can be factorized jointly) and ``transform``.

With ``fft_norm="forward"`` the retained coefficients do not depend on the grid size, so a layer
trained at one resolution evaluates at any other.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from pdekit.operators import _arguments as A
from pdekit.operators.base import OperatorModel
from pdekit.operators.spectral_transforms import (TRANSFORMS, _use_dft, check_modes, fitting_modes,
                                                  forward_modes_cl, forward_modes_complex_cl, inverse_modes_cl,
                                                  inverse_modes_complex_cl, mode_index, retained_modes)
from pdekit.operators.spectral_weights import FACTORIZATIONS, SpectralWeights, WeightView, legacy_rank

__all__ = ["SpectralConv", "PRECISIONS"]

PRECISIONS = ("full", "half", "mixed")


class SpectralConv(OperatorModel):
    """Fourier layer ``x -> F^-1(W_l . F(x)) + b_l`` on the lowest ``n_modes`` frequencies.

    Parameters
    ----------
    in_channels, out_channels : int
    n_modes : int or sequence of int
        Frequencies kept per spatial dimension (any number of dimensions); see the module
        docstring. Can be lowered after construction (``conv.n_modes = ...``), down from
        ``max_n_modes``.
    complex_data : bool
        The fields are complex: full FFTs, complex outputs.
    max_n_modes : sequence of int, optional
        Modes the weights are allocated for (default ``n_modes``); ``n_modes`` may later change
        within them (incremental training). The lowest frequencies of the weight are used.
    bias : bool
        Add a learned per-channel bias after the transform back.
    separable : bool
        A weight that scales each channel at each mode (``in_channels == out_channels``) instead
        of mixing channels.
    resolution_scaling_factor : number or sequence of numbers, optional
        The output grid is the input grid times this factor per dimension (rounded): a coarser
        output keeps the frequencies it can hold, a finer one interpolates spectrally.
    fno_block_precision : {"full", "half", "mixed"}
        ``"full"``: everything in the input's precision; ``"half"``: transforms and contraction in
        float16; ``"mixed"``: transforms in the input's precision, the contraction with the weight
        in float16. Inputs and outputs keep their dtype. Half-precision FFTs exist only on CUDA: on
        a CPU, ``"half"`` needs the DFT transform (which ``"auto"`` picks when few modes are kept).
        Real data only.
    rank : float, "same", int or sequence of int
        Rank of a factorized weight, as a fraction of the dense parameter count (tensorly's
        rules) or explicitly.
    factorization : {None, "dense", "tucker", "cp", "tt"}
        Form of the spectral weight (case does not matter).
    implementation : {"reconstructed", "factorized"}
        Rebuild the dense weight first, or contract the input with the factors directly (same
        result; "factorized" is faster for small ranks).
    fixed_rank_modes : bool or sequence of int
        Tucker modes of the weight kept at full size (``True``: mode 0).
    decomposition_kwargs : dict, optional
        Accepted for neuraloperator's signature; pdekit's factorized weights take no options,
        so it must be empty.
    init_std : float or "auto"
        Standard deviation of the weight's entries (``"auto"``: ``sqrt(2 / (in + out))``).
    fft_norm : {"forward", "backward", "ortho"}
        FFT normalisation; ``"forward"`` makes the layer resolution-independent.
    device : torch.device, optional
        Where the parameters are allocated.
    n_layers : int
        Number of independent weights held (an FNO keeps all its layers' weights here, so that
        they can be factorized jointly); ``forward(x, layer)`` picks one.
    joint_factorization : bool
        Factorize the weights of all ``n_layers`` as one tensor with a leading layer mode.
    transform : {"auto", "fft", "dft"}
        How the retained Fourier coefficients of real data are computed (see
        :mod:`pdekit.operators.spectral_transforms`); all give the same result up to round-off.
    precision : {"full", "half", "mixed"}, optional
        Former name of ``fno_block_precision`` (kept for saved models); overrides it when given.

    Examples
    --------
    >>> conv = SpectralConv(2, 3, (8, 8))
    >>> conv(torch.randn(4, 2, 32, 32)).shape
    torch.Size([4, 3, 32, 32])
    >>> SpectralConv(2, 2, (8, 8), resolution_scaling_factor=2)(torch.randn(1, 2, 16, 16)).shape
    torch.Size([1, 2, 32, 32])
    """

    config_version = 2

    def __init__(self, in_channels: int, out_channels: int, n_modes: int | Sequence[int], *,
                 complex_data: bool = False, max_n_modes: Sequence[int] | None = None, bias: bool = True,
                 separable: bool = False, resolution_scaling_factor=None, fno_block_precision: str = "full",
                 rank=0.5, factorization: str | None = None, implementation: str = "reconstructed",
                 fixed_rank_modes=False, decomposition_kwargs: dict | None = None, init_std: Any = "auto",
                 fft_norm: str = "forward", device=None, n_layers: int = 1, joint_factorization: bool = False,
                 transform: str = "auto", precision: str | None = None):
        super().__init__()
        self.in_channels = A.positive_int("in_channels", in_channels)
        self.out_channels = A.positive_int("out_channels", out_channels)
        n_layers = A.positive_int("n_layers", n_layers)
        modes = A.n_modes(n_modes)
        self.max_n_modes = modes if max_n_modes is None else A.n_modes(max_n_modes, name="max_n_modes")
        if len(self.max_n_modes) != len(modes):
            raise ValueError(f"max_n_modes {self.max_n_modes} and n_modes {modes} must have one entry per "
                             f"spatial dimension each")
        self.complex_data = bool(complex_data)
        factorization = A.choice("factorization", "dense" if factorization is None else factorization,
                                 FACTORIZATIONS, case_insensitive=True)
        self.implementation = A.choice("implementation", implementation, ("factorized", "reconstructed"))
        self.fft_norm = A.choice("fft_norm", fft_norm, ("forward", "backward", "ortho"))
        self.precision = A.choice("precision", fno_block_precision if precision is None else precision, PRECISIONS)
        self.transform = A.choice("transform", transform, TRANSFORMS)
        if self.complex_data and self.precision != "full":
            raise ValueError(f"fno_block_precision={self.precision!r} is for real data; complex_data needs 'full'")
        if decomposition_kwargs:
            raise ValueError(f"decomposition_kwargs configure tensorly-torch's factorized tensors, which pdekit does "
                             f"not use; got {decomposition_kwargs!r} (leave it empty)")
        if init_std == "auto" or init_std is None:
            init_std = None
        else:
            init_std = A.number("init_std", init_std, minimum=0.0, strict=True)
        self.resolution_scaling_factor = A.scaling_factors(resolution_scaling_factor, len(modes), None)
        self.weights = SpectralWeights(self.in_channels, self.out_channels,
                                       retained_modes(self.max_n_modes, complex_data=self.complex_data),
                                       n_layers=n_layers, factorization=factorization, rank=rank,
                                       joint=joint_factorization, separable=separable,
                                       fixed_rank_modes=fixed_rank_modes, init_std=init_std)
        self.bias = nn.Parameter(torch.zeros(n_layers, self.out_channels)) if bias else None
        self.n_modes = modes
        if device is not None:
            self.to(device)

    @classmethod
    def upgrade_config(cls, config: dict, version: int) -> dict:
        if version < 2:  # ranks were resolved by pdekit's own rules before tensorly's
            shape = _weight_shape(config["in_channels"], config["out_channels"], config["n_modes"],
                                  config.get("n_layers", 1), config.get("joint_factorization", False))
            config["rank"] = legacy_rank(config.get("factorization"), shape, config.get("rank", 1.0))
        return config

    # -- modes -------------------------------------------------------------------------------
    @property
    def n_modes(self) -> tuple[int, ...]:
        """Frequencies used per dimension (at most ``max_n_modes``; can be set)."""
        return self._n_modes

    @n_modes.setter
    def n_modes(self, value) -> None:
        modes = A.n_modes(value)
        if len(modes) != len(self.max_n_modes) or any(m > b for m, b in zip(modes, self.max_n_modes)):
            raise ValueError(f"n_modes {modes} must have {len(self.max_n_modes)} entries, each at most "
                             f"max_n_modes {self.max_n_modes} (the modes the weights were made for)")
        self._n_modes = modes

    @property
    def n_dim(self) -> int:
        return len(self.max_n_modes)

    def _index(self, modes: Sequence[int], device) -> list[torch.Tensor] | None:
        """Positions of ``modes`` within the weight's retained coefficients (None: all of them)."""
        if tuple(modes) == self.max_n_modes:
            return None
        kept = retained_modes(self.max_n_modes, complex_data=self.complex_data)
        new = retained_modes(modes, complex_data=self.complex_data)
        d = len(kept)
        return [torch.tensor(mode_index(k, m, half=(j == d - 1 and not self.complex_data)), device=device)
                for j, (k, m) in enumerate(zip(kept, new))]

    # -- the weight as neuraloperator exposes it ---------------------------------------------
    @property
    def weight(self) -> WeightView:
        """The spectral weights seen as a tensor (``torch.is_complex(conv.weight)``,
        ``conv.weight.to_tensor()``), as neuraloperator exposes them; the module holding them is
        :attr:`weights`. Assigning a dense complex tensor, or anything with a ``to_tensor()``
        method (tensorly-torch's factorized tensors, a view), sets the weight of a one-layer
        convolution (:meth:`SpectralWeights.assign_dense`)."""
        return WeightView(self.weights)

    def __setattr__(self, name: str, value) -> None:
        if name == "weight" and "weights" in self.__dict__.get("_modules", {}):
            dense = value if isinstance(value, torch.Tensor) else getattr(value, "to_tensor", None)
            if dense is None:
                raise TypeError(f"conv.weight takes a dense complex tensor or an object with to_tensor(); got "
                                f"{type(value).__name__}")
            dense = dense if isinstance(dense, torch.Tensor) else dense()
            if self.weights.n_layers != 1:
                raise ValueError(f"this SpectralConv holds {self.weights.n_layers} layers: set one with "
                                 f"conv.weights.assign_dense(weight, layer)")
            self.weights.assign_dense(dense, 0)
            return
        super().__setattr__(name, value)

    # -- forward -----------------------------------------------------------------------------
    def output_shape_for(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """The output grid for an input on ``spatial`` (scaled by ``resolution_scaling_factor``)."""
        if self.resolution_scaling_factor is None:
            return tuple(spatial)
        return tuple(int(round(n * f)) for n, f in zip(spatial, self.resolution_scaling_factor))

    def forward(self, x: torch.Tensor, layer: int = 0, *, output_shape: Sequence[int] | None = None,
                channels_last: bool = False, residual: torch.Tensor | None = None,
                add_bias: bool = True) -> torch.Tensor:
        """Apply layer ``layer``.

        Parameters
        ----------
        x : (batch, in_channels, *spatial) tensor
            Real, or complex with ``complex_data``; ``(batch, *spatial, in_channels)`` if
            ``channels_last``.
        layer : int
        output_shape : sequence of int, optional
            Spatial shape of the output (default: that of ``x``, scaled by
            ``resolution_scaling_factor``); a finer one interpolates spectrally, a coarser one
            keeps the frequencies it holds.
        channels_last : bool
            Channels are the last dimension of input and output (the layout the FNO works in).
        residual : tensor of the output's shape, optional
            Added to the output (fused into the last GEMM of the inverse transform); must be
            channel-last when ``channels_last``.
        add_bias : bool
            Add the layer's bias (callers that fold it into ``residual`` pass False).

        Returns
        -------
        (batch, out_channels, *output_shape) tensor, or channels last if ``channels_last``.
        """
        if not channels_last:
            self._check_input(x, channel_dim=1)
            y = self.forward(x.movedim(1, -1), layer, output_shape=output_shape, channels_last=True,
                             residual=None if residual is None else residual.movedim(1, -1), add_bias=add_bias)
            return y.movedim(-1, 1)
        self._check_input(x, channel_dim=-1)
        spatial = tuple(x.shape[1:-1])
        output_shape = self.output_shape_for(spatial) if output_shape is None else tuple(int(s) for s in output_shape)
        if len(output_shape) != self.n_dim or min(output_shape) < 1:
            raise ValueError(f"output_shape must hold {self.n_dim} positive ints; got {output_shape}")
        check_modes(self.n_modes, spatial, complex_data=self.complex_data)
        out_modes = fitting_modes(self.n_modes, output_shape, complex_data=self.complex_data)
        bias = self.bias[layer] if self.bias is not None and add_bias else None
        if bias is not None:
            residual = bias.to(x.dtype if not x.is_complex() else x.real.dtype) if residual is None else residual + bias
        if self.complex_data:
            return self._forward_complex(x, layer, output_shape, out_modes, residual)
        if x.is_complex():
            raise TypeError("SpectralConv got a complex input: build it with complex_data=True for complex fields")
        dtype, half = x.dtype, torch.float16
        if self.precision == "half":
            dft = _use_dft(self.transform, self.n_modes, spatial) and _use_dft(self.transform, out_modes, output_shape)
            if x.device.type == "cpu" and not dft:
                raise RuntimeError(f"precision='half' on a CPU needs the DFT transform (torch.fft has no float16 "
                                   f"CPU kernels); got transform={self.transform!r} for n_modes={self.n_modes} on "
                                   f"a {spatial} grid: use transform='dft' or precision='mixed'")
            x = x.to(half)
        xh = forward_modes_cl(x, self.n_modes, norm=self.fft_norm, transform=self.transform)
        batch, modes = xh.shape[0], xh.shape[1:-2]
        # (batch, *modes, 2, in) -> (modes, batch, 2 * in): one small GEMM per mode
        xs = xh.reshape(batch, -1, 2 * self.in_channels).transpose(0, 1)
        ys = self.weights.contract_real(xs, layer, implementation=self.implementation,
                                        dtype=half if self.precision != "full" else xh.dtype,
                                        index=self._index(self.n_modes, x.device))
        yh = ys.transpose(0, 1).reshape(batch, *modes, 2, self.out_channels).to(xh.dtype)
        if out_modes != self.n_modes:  # a coarser output grid keeps the frequencies it holds
            yh = _select(yh, self.n_modes, out_modes, complex_data=False)
        if yh.dtype != dtype:  # half precision: the residual is added in the caller's precision
            y = inverse_modes_cl(yh, out_modes, output_shape, norm=self.fft_norm, transform=self.transform)
            return y.to(dtype) if residual is None else y.to(dtype) + residual
        return inverse_modes_cl(yh, out_modes, output_shape, norm=self.fft_norm, transform=self.transform,
                                residual=residual)

    def _forward_complex(self, x, layer, output_shape, out_modes, residual):
        if not x.is_complex():
            x = torch.complex(x, torch.zeros_like(x))
        xh = forward_modes_complex_cl(x, self.n_modes, norm=self.fft_norm)  # (batch, *modes, in)
        batch, modes = xh.shape[0], xh.shape[1:-1]
        xs = torch.view_as_real(xh).transpose(-1, -2).reshape(batch, -1, 2 * self.in_channels).transpose(0, 1)
        ys = self.weights.contract_real(xs, layer, implementation=self.implementation,
                                        index=self._index(self.n_modes, x.device))
        yh = torch.view_as_complex(ys.transpose(0, 1).reshape(batch, *modes, 2, self.out_channels)
                                   .transpose(-1, -2).contiguous())
        if out_modes != self.n_modes:
            yh = _select(yh, self.n_modes, out_modes, complex_data=True)
        y = inverse_modes_complex_cl(yh, out_modes, output_shape, norm=self.fft_norm)
        return y if residual is None else y + residual

    def _check_input(self, x: torch.Tensor, channel_dim: int) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"SpectralConv expects a torch.Tensor; got {type(x).__name__}")
        if x.ndim != 2 + self.n_dim or x.shape[channel_dim] != self.in_channels:
            dims = ", ".join("n%d" % j for j in range(self.n_dim))
            expected = f"(batch, {self.in_channels}, {dims})" if channel_dim == 1 else f"(batch, {dims}, {self.in_channels})"
            raise ValueError(f"SpectralConv expects input of shape {expected}; got {tuple(x.shape)}")

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, n_modes={self.n_modes}, "
                f"implementation={self.implementation!r}, precision={self.precision!r}"
                + (", complex_data=True" if self.complex_data else ""))


def _weight_shape(in_channels, out_channels, n_modes, n_layers, joint) -> tuple[int, ...]:
    """Shape of the factorized weight tensor of a (pre-version-2, real-data) SpectralConv."""
    modes = (int(n_modes),) if isinstance(n_modes, int) else tuple(int(m) for m in n_modes)
    shape = (int(in_channels), int(out_channels), *retained_modes(modes))
    return (int(n_layers), *shape) if joint else shape


def _select(yh: torch.Tensor, n_modes, new_modes, *, complex_data: bool) -> torch.Tensor:
    """Keep the coefficients of ``new_modes`` out of those of ``n_modes`` (channel-last layouts:
    ``(batch, *modes, 2, channels)`` real pairs, or ``(batch, *modes, channels)`` complex)."""
    kept = retained_modes(n_modes, complex_data=complex_data)
    new = retained_modes(new_modes, complex_data=complex_data)
    d = len(kept)
    for j, (k, m) in enumerate(zip(kept, new)):
        if k != m:
            idx = torch.tensor(mode_index(k, m, half=(j == d - 1 and not complex_data)), device=yh.device)
            yh = yh.index_select(1 + j, idx)
    return yh

