"""Input/output normalization fitted on the training set and saved inside the model.

:func:`channel_statistics` computes per-channel means and standard deviations over a
dataset (all samples and grid points, in float64, in one streaming pass), and
:class:`NormalizedOperator` wraps a network so that it sees standardized inputs and its
outputs are mapped back to physical units. The statistics are constructor arguments (lists
of floats), so ``save`` / :func:`load_model` restore them with the weights, and ``pdekit
evaluate`` or a user's ``predict`` apply the same normalization as training did. Per-channel
statistics do not depend on the grid, so a model trained at one resolution still normalizes
correctly at another.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import torch

from pdekit.operators.base import OperatorModel

__all__ = ["channel_statistics", "NormalizedOperator", "load_model"]


def channel_statistics(dataset: Any, key: str, *, max_samples: int | None = None,
                       eps: float = 1e-12) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of ``dataset[i][key]`` over samples and grid.

    Parameters
    ----------
    dataset : map-style dataset of dicts
        ``dataset[i][key] : (C, *spatial)``.
    key : str
        ``"x"`` or ``"y"``.
    max_samples : int, optional
        Use the first ``max_samples`` samples only.
    eps : float
        Floor of the returned standard deviations (a constant channel gets std ``1``).

    Returns
    -------
    mean, std : list of float, length C
    """
    n = len(dataset) if max_samples is None else min(len(dataset), int(max_samples))
    if n == 0:
        raise ValueError("cannot fit a normalizer on an empty dataset")
    total = sq = None
    count = 0
    for i in range(n):
        item = dataset[i]
        if key not in item:
            raise KeyError(f"dataset samples have no field {key!r}; found {sorted(item)}")
        t = torch.as_tensor(item[key]).double()
        flat = t.reshape(t.shape[0], -1)
        if total is None:
            total, sq = flat.sum(1), (flat * flat).sum(1)
        elif flat.shape[0] != total.shape[0]:
            raise ValueError(f"sample {i} has {flat.shape[0]} channels in {key!r}; sample 0 has {total.shape[0]}")
        else:
            total += flat.sum(1)
            sq += (flat * flat).sum(1)
        count += flat.shape[1]
    mean = total / count
    var = (sq / count - mean * mean).clamp_min(0.0)
    std = torch.where(var.sqrt() > eps, var.sqrt(), torch.ones_like(var))
    return [float(v) for v in mean], [float(v) for v in std]


def _stat_buffer(values: Sequence[float], channels: int, name: str) -> torch.Tensor:
    values = [float(v) for v in values]
    if len(values) != channels:
        raise ValueError(f"{name} has {len(values)} entries; expected one per channel ({channels})")
    return torch.tensor(values, dtype=torch.float32)


class NormalizedOperator(OperatorModel):
    """``model`` between a standardization of its inputs and a de-standardization of its outputs.

    ``forward(x) = model((x - in_mean) / in_std) * out_std + out_mean`` with per-channel
    statistics broadcast over the grid.

    Parameters
    ----------
    model : OperatorModel
        Maps ``(B, C_in, *spatial)`` to ``(B, C_out, *spatial)``.
    in_mean, in_std : list of float, length C_in
    out_mean, out_std : list of float, length C_out

    Examples
    --------
    >>> from pdekit.operators import FNO
    >>> net = FNO((4, 4), in_channels=1, out_channels=1, hidden_channels=4, n_layers=1)
    >>> m = NormalizedOperator(net, in_mean=[7.5], in_std=[4.5], out_mean=[0.01], out_std=[0.002])
    >>> m(torch.zeros(2, 1, 9, 9)).shape
    torch.Size([2, 1, 9, 9])
    """

    def __init__(self, model: OperatorModel, in_mean: Sequence[float], in_std: Sequence[float],
                 out_mean: Sequence[float], out_std: Sequence[float]) -> None:
        super().__init__()
        if not isinstance(model, OperatorModel):
            raise TypeError(f"model must be a pdekit OperatorModel (so it can be saved); "
                            f"got {type(model).__name__}")
        self.model = model
        self.in_channels = int(getattr(model, "in_channels", len(in_mean)))
        self.out_channels = int(getattr(model, "out_channels", len(out_mean)))
        for name, values in (("in_std", in_std), ("out_std", out_std)):
            if min(float(v) for v in values) <= 0:
                raise ValueError(f"{name} must be positive everywhere; got {list(values)}")
        self.register_buffer("in_mean", _stat_buffer(in_mean, self.in_channels, "in_mean"), persistent=False)
        self.register_buffer("in_std", _stat_buffer(in_std, self.in_channels, "in_std"), persistent=False)
        self.register_buffer("out_mean", _stat_buffer(out_mean, self.out_channels, "out_mean"), persistent=False)
        self.register_buffer("out_std", _stat_buffer(out_std, self.out_channels, "out_std"), persistent=False)

    @staticmethod
    def _shape(stat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return stat.reshape(1, -1, *([1] * (x.ndim - 2))).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x : (B, C_in, *spatial)`` in physical units to ``(B, C_out, *spatial)``."""
        if x.ndim < 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape (batch, {self.in_channels}, *spatial); "
                             f"got {tuple(x.shape)}")
        z = (x - self._shape(self.in_mean, x)) / self._shape(self.in_std, x)
        y = self.model(z)
        return y * self._shape(self.out_std, y) + self._shape(self.out_mean, y)

    def n_parameters(self) -> int:
        """Trainable scalars of the wrapped network (the statistics are not trained)."""
        return self.model.n_parameters()


def load_model(path: str | os.PathLike, *, map_location: Any = "cpu") -> OperatorModel:
    """Load a model saved by ``OperatorModel.save`` (normalized or not), e.g. ``run/model.pt``.

    A folder is read as a training run: its ``model.pt`` is loaded.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.pt")
        if not os.path.isfile(candidate):
            raise FileNotFoundError(f"{path!r} is a folder without model.pt; pass the model file "
                                    f"written by `pdekit train` (RUN/model.pt)")
        path = candidate
    from pdekit.operators.base import load

    return load(path, map_location=map_location)
