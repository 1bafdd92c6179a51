"""From buffered samples to tensors: channel layout of the run's fields, batches, normalizers.

The run's schema (:class:`~pdekit.streaming.wire.FieldSpec` s, set by its first time step)
becomes channels: the spatial shape ``S`` is the shape of the field with the fewest axes
(1 to 3 of them), and every field must be shaped ``S`` (one channel) or ``(c, *S)`` (``c``
channels). Any numeric dtype is converted to float32.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from pdekit.operators.normalizers import UnitGaussianNormalizer
from pdekit.streaming.buffers import Item
from pdekit.streaming.wire import FieldSpec
from pdekit.training.distributed import all_reduce_sum

__all__ = ["FieldLayout", "fit_normalizers_distributed"]


class FieldLayout:
    """Channels of the run's fields, and tensors of batches of samples.

    Parameters
    ----------
    schema : sequence of FieldSpec
    target : {"autoregressive", "parameters"}
    n_parameters : int
        Learnable parameters (``parameters`` target: inputs are those plus t).
    """

    def __init__(self, schema: Sequence[FieldSpec], *, target: str, n_parameters: int = 0) -> None:
        specs = list(schema)
        spatial = min((s.shape for s in specs), key=len)
        if not 1 <= len(spatial) <= 3:
            raise ValueError(f"the fields must live on a 1D, 2D or 3D grid to train a neural operator; "
                             f"the smallest field has shape {spatial}")
        self.channels = []
        for s in specs:
            if s.shape == spatial:
                self.channels.append(1)
            elif len(s.shape) == len(spatial) + 1 and s.shape[1:] == spatial:
                self.channels.append(s.shape[0])
            else:
                raise ValueError(f"field {s.name!r} has shape {s.shape}; every field must be shaped like the "
                                 f"grid {spatial} or (channels, {', '.join(map(str, spatial))})")
            if np.dtype(s.dtype).kind == "c":
                raise ValueError(f"field {s.name!r} is complex ({s.dtype}); send real and imaginary parts "
                                 f"as two fields")
        self.spatial = tuple(spatial)
        self.target = target
        self.out_channels = sum(self.channels)
        self.in_channels = self.out_channels if target == "autoregressive" else int(n_parameters) + 1

    @property
    def n_dim(self) -> int:
        return len(self.spatial)

    def _fields(self, fields: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(f, dtype=np.float32).reshape((-1,) + self.spatial) for f in fields])

    def tensors(self, items: Sequence[Item]) -> tuple[torch.Tensor, torch.Tensor]:
        """``x : (B, C_in, *S)`` and ``y : (B, C_out, *S)`` float32 tensors."""
        y = np.stack([self._fields(it.y) for it in items])
        if self.target == "autoregressive":
            x = np.stack([self._fields(it.x) for it in items])
        else:
            vec = np.stack([np.asarray(it.x, dtype=np.float32) for it in items])
            x = np.broadcast_to(vec.reshape(vec.shape + (1,) * self.n_dim), vec.shape + self.spatial).copy()
        return torch.from_numpy(x), torch.from_numpy(y)

    def placeholder(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of one sample of the right shapes (for a rank that has nothing to train on)."""
        return (torch.ones((1, self.in_channels) + self.spatial), torch.ones((1, self.out_channels) + self.spatial))


@torch.no_grad()
def fit_normalizers_distributed(items: Sequence[Item], layout: FieldLayout,
                                norms: tuple[UnitGaussianNormalizer, UnitGaussianNormalizer],
                                *, chunk: int = 64) -> None:
    """Fit the input and output normalizers on every rank's ``items`` together.

    Each rank accumulates its own statistics; counts, sums and sums of squares are then
    all-reduced (every rank calls this, with or without items) so all ranks hold the same.
    """
    for norm in norms:
        norm.reset()
    for i in range(0, len(items), chunk):
        x, y = layout.tensors(items[i:i + chunk])
        norms[0].partial_fit(x)
        norms[1].partial_fit(y)
    for norm in norms:
        s = torch.cat([norm.count.reshape(1), norm.mean * norm.count, norm.m2 + norm.count * norm.mean**2])
        s = all_reduce_sum(s)
        c, n = s[0], norm.n_channels
        mean = s[1:1 + n] / c
        norm.count.fill_(c)
        norm.mean.copy_(mean)
        norm.m2.copy_((s[1 + n:] - c * mean**2).clamp_min(0.0))
