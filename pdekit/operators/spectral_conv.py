"""Spectral convolution (the Fourier layer) in 1D, 2D and 3D.

``SpectralConv`` transforms its input to Fourier space along the trailing (spatial) dimensions,
keeps the lowest ``n_modes`` frequencies only (computing no others), multiplies them by a learned
complex weight (:class:`~pdekit.operators.spectral_weights.SpectralWeights`, dense or factorized)
and transforms back. ``n_modes`` counts frequencies as neuraloperator does: along every dimension
but the last, ``n_modes[j]`` frequencies (the non-negative ``ceil(m / 2)`` and the negative
``floor(m / 2)``); along the last (a real FFT), ``n_modes[-1] // 2 + 1``.

With ``fft_norm="forward"`` the retained coefficients do not depend on the grid size, so a layer
trained at one resolution evaluates at any other.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from pdekit._validation import check_choice
from pdekit.operators.base import OperatorModel
from pdekit.operators.spectral_transforms import (TRANSFORMS, _use_dft, check_modes, forward_modes_cl,
                                                  inverse_modes_cl, retained_modes)
from pdekit.operators.spectral_weights import SpectralWeights

__all__ = ["SpectralConv", "PRECISIONS"]

PRECISIONS = ("full", "half", "mixed")


class SpectralConv(OperatorModel):
    """Fourier layer ``x -> F^-1(W_l . F(x)) + b_l`` on the lowest ``n_modes`` frequencies.

    Parameters
    ----------
    in_channels, out_channels : int
    n_modes : sequence of int
        Frequencies kept per spatial dimension (1 to 3 entries); see the module docstring.
    n_layers : int
        Number of independent weights held (an FNO keeps all its layers' weights here, so that
        they can be factorized jointly); ``forward(x, layer)`` picks one.
    factorization : {None, "dense", "tucker", "cp", "tt"}
        Form of the spectral weight.
    rank : float or int or sequence of int
        Rank of a factorized weight, as a fraction of the dense parameter count or explicitly.
    joint_factorization : bool
        Factorize the weights of all ``n_layers`` as one tensor with a leading layer mode.
    implementation : {"factorized", "reconstructed"}
        Contract the input with the factors directly, or rebuild the dense weight first.
    bias : bool
        Add a learned per-channel bias after the transform back.
    fft_norm : {"forward", "backward", "ortho"}
        FFT normalisation; ``"forward"`` makes the layer resolution-independent.
    precision : {"full", "half", "mixed"}
        ``"full"``: everything in the input's precision; ``"half"``: transforms and contraction in
        float16; ``"mixed"``: transforms in the input's precision, the contraction with the weight in
        float16. Inputs and outputs keep their dtype. Half-precision FFTs exist only on CUDA: on a
        CPU, ``"half"`` needs the DFT transform (which ``"auto"`` picks when few modes are kept).
    transform : {"auto", "fft", "dft"}
        How the retained Fourier coefficients are computed (see
        :mod:`pdekit.operators.spectral_transforms`); all give the same result up to round-off.

    Examples
    --------
    >>> conv = SpectralConv(2, 3, (8, 8))
    >>> conv(torch.randn(4, 2, 32, 32)).shape
    torch.Size([4, 3, 32, 32])
    """

    def __init__(self, in_channels: int, out_channels: int, n_modes: Sequence[int], *, n_layers: int = 1,
                 factorization: str | None = None, rank=1.0, joint_factorization: bool = False,
                 implementation: str = "factorized", bias: bool = True, fft_norm: str = "forward",
                 precision: str = "full", transform: str = "auto", init_std: float | None = None):
        super().__init__()
        n_modes = (int(n_modes),) if isinstance(n_modes, int) else tuple(int(m) for m in n_modes)
        if not 1 <= len(n_modes) <= 3 or min(n_modes) < 1:
            raise ValueError(f"n_modes must hold 1 to 3 positive ints (one per spatial dimension); "
                             f"got {n_modes}")
        check_choice("implementation", implementation, ("factorized", "reconstructed"))
        check_choice("fft_norm", fft_norm, ("forward", "backward", "ortho"))
        check_choice("precision", precision, PRECISIONS)
        check_choice("transform", transform, TRANSFORMS)
        self.transform = transform
        self.in_channels, self.out_channels, self.n_modes = int(in_channels), int(out_channels), n_modes
        self.implementation, self.fft_norm, self.precision = implementation, fft_norm, precision
        self.weights = SpectralWeights(in_channels, out_channels, retained_modes(n_modes), n_layers=n_layers,
                                       factorization=factorization or "dense", rank=rank,
                                       joint=joint_factorization, init_std=init_std)
        self.bias = nn.Parameter(torch.zeros(n_layers, out_channels)) if bias else None

    @property
    def n_dim(self) -> int:
        return len(self.n_modes)

    def forward(self, x: torch.Tensor, layer: int = 0, *, output_shape: Sequence[int] | None = None,
                channels_last: bool = False, residual: torch.Tensor | None = None,
                add_bias: bool = True) -> torch.Tensor:
        """Apply layer ``layer``.

        Parameters
        ----------
        x : (batch, in_channels, *spatial) real tensor
            or ``(batch, *spatial, in_channels)`` if ``channels_last``.
        layer : int
        output_shape : sequence of int, optional
            Spatial shape of the output (default: that of ``x``); a finer one interpolates
            spectrally.
        channels_last : bool
            Channels are the last dimension of input and output (the layout the FNO works in).
        residual : tensor of the output's shape, optional
            Added to the output (fused into the last GEMM of the inverse transform); must be
            channel-last when ``channels_last``.
        add_bias : bool
            Add the layer's bias (callers that fold it into ``residual`` pass False).

        Returns
        -------
        (batch, out_channels, *output_shape) real tensor, or channels last if ``channels_last``.
        """
        if not channels_last:
            self._check_input(x, channel_dim=1)
            y = self.forward(x.movedim(1, -1), layer, output_shape=output_shape, channels_last=True,
                             residual=None if residual is None else residual.movedim(1, -1), add_bias=add_bias)
            return y.movedim(-1, 1)
        self._check_input(x, channel_dim=-1)
        spatial = tuple(x.shape[1:-1])
        output_shape = spatial if output_shape is None else tuple(int(s) for s in output_shape)
        check_modes(self.n_modes, spatial)
        check_modes(self.n_modes, output_shape)
        dtype, half = x.dtype, torch.float16
        if self.precision == "half":
            dft = _use_dft(self.transform, self.n_modes, spatial) and _use_dft(self.transform, self.n_modes, output_shape)
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
                                        dtype=half if self.precision != "full" else xh.dtype)
        yh = ys.transpose(0, 1).reshape(batch, *modes, 2, self.out_channels).to(xh.dtype)
        bias = self.bias[layer].to(dtype) if self.bias is not None and add_bias else None
        if residual is not None and bias is not None:
            residual = residual + bias
        elif residual is None:
            residual = bias
        if yh.dtype != dtype:  # half precision: the residual is added in the caller's precision
            y = inverse_modes_cl(yh, self.n_modes, output_shape, norm=self.fft_norm, transform=self.transform)
            return y.to(dtype) if residual is None else y.to(dtype) + residual
        return inverse_modes_cl(yh, self.n_modes, output_shape, norm=self.fft_norm, transform=self.transform,
                                residual=residual)

    def _check_input(self, x: torch.Tensor, channel_dim: int) -> None:
        if x.ndim != 2 + self.n_dim or x.shape[channel_dim] != self.in_channels:
            dims = ", ".join("n%d" % j for j in range(self.n_dim))
            expected = f"(batch, {self.in_channels}, {dims})" if channel_dim == 1 else f"(batch, {dims}, {self.in_channels})"
            raise ValueError(f"SpectralConv expects input of shape {expected}; got {tuple(x.shape)}")

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, n_modes={self.n_modes}, "
                f"implementation={self.implementation!r}, precision={self.precision!r}")
