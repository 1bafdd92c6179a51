"""Normalizers of fields: per-channel zero mean and unit variance, fitted in one or many passes.

Statistics are accumulated in float64 with Chan's parallel update, so fitting batch by batch
(``partial_fit``, e.g. over a data loader or a live stream) gives the same mean and variance as
fitting everything at once. They are buffers: they travel in the ``state_dict`` of any model
that holds the normalizer, and :meth:`~pdekit.operators.base.OperatorModel.save` stores them.

Examples
--------
>>> norm = UnitGaussianNormalizer(2)
>>> x = torch.randn(10, 2, 8, 8) * torch.tensor([1.0, 5.0]).reshape(1, 2, 1, 1) + 3.0
>>> _ = norm.fit(x)
>>> bool(torch.allclose(norm.decode(norm.encode(x)), x, atol=1e-5))
True
"""

from __future__ import annotations

from typing import Iterable

import torch

from pdekit.operators.base import OperatorModel

__all__ = ["UnitGaussianNormalizer", "NormalizedOperator"]


class UnitGaussianNormalizer(OperatorModel):
    """Per-channel standardisation ``(x - mean_c) / (std_c + eps)`` of ``(batch, channels, *spatial)`` data.

    Parameters
    ----------
    n_channels : int
        Number of channels (dimension 1 of the data).
    eps : float
        Added to the standard deviation (guards constant channels).
    """

    def __init__(self, n_channels: int, *, eps: float = 1e-7):
        super().__init__()
        if int(n_channels) < 1:
            raise ValueError(f"n_channels must be a positive int; got {n_channels}")
        self.n_channels, self.eps = int(n_channels), float(eps)
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(n_channels, dtype=torch.float64))
        self.register_buffer("m2", torch.zeros(n_channels, dtype=torch.float64))

    @property
    def fitted(self) -> bool:
        return bool(self.count > 0)

    @property
    def std(self) -> torch.Tensor:
        """Per-channel (population) standard deviation, ``(n_channels,)`` float64."""
        self._check_fitted()
        return (self.m2 / self.count).sqrt()

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[1] != self.n_channels:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"expected data of shape (batch, {self.n_channels}, *spatial); got {shape}")

    def _check_fitted(self) -> None:
        if not self.count > 0:
            raise RuntimeError("the normalizer has not been fitted; call fit(data) or partial_fit(batch) first")

    @torch.no_grad()
    def partial_fit(self, x: torch.Tensor) -> "UnitGaussianNormalizer":
        """Add the samples ``x : (batch, n_channels, *spatial)`` to the statistics."""
        self._check(x)
        values = x.detach().to(device=self.mean.device, dtype=torch.float64).transpose(0, 1).reshape(self.n_channels, -1)
        n = values.shape[1]
        if n == 0:
            return self
        if not torch.isfinite(values).all():
            raise ValueError("data passed to the normalizer contain NaN or inf values")
        mean_b = values.mean(dim=1)
        m2_b = ((values - mean_b[:, None]) ** 2).sum(dim=1)
        total = self.count + n
        delta = mean_b - self.mean
        self.mean.add_(delta * (n / total))
        self.m2.add_(m2_b + delta ** 2 * (self.count * n / total))
        self.count.fill_(total)
        return self

    def reset(self) -> None:
        """Forget all statistics."""
        self.count.zero_()
        self.mean.zero_()
        self.m2.zero_()

    def fit(self, data: torch.Tensor | Iterable[torch.Tensor]) -> "UnitGaussianNormalizer":
        """Fit from scratch on a tensor ``(batch, n_channels, *spatial)`` or an iterable of such batches."""
        self.reset()
        for batch in ([data] if isinstance(data, torch.Tensor) else data):
            self.partial_fit(batch)
        self._check_fitted()
        return self

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        self._check(x)
        shape = (1, self.n_channels) + (1,) * (x.ndim - 2)
        mean = self.mean.to(device=x.device, dtype=x.dtype).reshape(shape)
        scale = (self.std + self.eps).to(device=x.device, dtype=x.dtype).reshape(shape)
        return mean, scale

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise ``x : (batch, n_channels, *spatial)``."""
        mean, scale = self._stats(x)
        return (x - mean) / scale

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`encode`."""
        mean, scale = self._stats(y)
        return y * scale + mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)

    def extra_repr(self) -> str:
        return f"n_channels={self.n_channels}, count={int(self.count)}"


class NormalizedOperator(OperatorModel):
    """``model`` between a standardization of its inputs and a de-standardization of its outputs.

    ``forward(x) = out_normalizer.decode(model(in_normalizer.encode(x)))``.

    Parameters
    ----------
    model : OperatorModel
        Maps ``(B, C_in, *spatial)`` to ``(B, C_out, *spatial)``.
    in_normalizer, out_normalizer : UnitGaussianNormalizer
        With ``C_in`` and ``C_out`` channels (fitted, e.g. by :func:`fit_normalizers`).

    Examples
    --------
    >>> from pdekit.operators import FNO, UnitGaussianNormalizer
    >>> net = FNO((4, 4), in_channels=1, out_channels=1, hidden_channels=4, n_layers=1)
    >>> a, u = torch.rand(8, 1, 9, 9) * 9 + 3, torch.rand(8, 1, 9, 9) * 0.01
    >>> m = NormalizedOperator(net, UnitGaussianNormalizer(1).fit(a), UnitGaussianNormalizer(1).fit(u))
    >>> m(a).shape
    torch.Size([8, 1, 9, 9])
    """

    def __init__(self, model: OperatorModel, in_normalizer: UnitGaussianNormalizer,
                 out_normalizer: UnitGaussianNormalizer) -> None:
        super().__init__()
        if not isinstance(model, OperatorModel):
            raise TypeError(f"model must be a pdekit OperatorModel (so it can be saved); "
                            f"got {type(model).__name__}")
        self.model = model
        self.in_normalizer, self.out_normalizer = in_normalizer, out_normalizer
        self.in_channels = int(getattr(model, "in_channels", in_normalizer.n_channels))
        self.out_channels = int(getattr(model, "out_channels", out_normalizer.n_channels))
        for name, norm, c in (("in_normalizer", in_normalizer, self.in_channels),
                              ("out_normalizer", out_normalizer, self.out_channels)):
            if norm.n_channels != c:
                raise ValueError(f"{name} has {norm.n_channels} channels; the model has {c}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x : (B, C_in, *spatial)`` in physical units to ``(B, C_out, *spatial)``."""
        if x.ndim < 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape (batch, {self.in_channels}, *spatial); "
                             f"got {tuple(x.shape)}")
        return self.out_normalizer.decode(self.model(self.in_normalizer.encode(x)))

    def n_parameters(self) -> int:
        """Trainable scalars of the wrapped network (the statistics are not trained)."""
        return self.model.n_parameters()
