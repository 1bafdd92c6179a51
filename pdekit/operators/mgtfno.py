"""MG-TFNO: a TFNO with one global Tucker factorization, applied to multigrid patches.

The input is cut by :class:`~pdekit.operators.mg_patching.MGPatching` into ``2**levels`` patches
per dimension, each with ``levels`` coarse views of the whole field as extra channels; the
network maps every patch independently; the outputs are cropped and stitched back. The spectral
weights of all layers form one Tucker tensor with a layer mode (``joint_factorization=True``).
"""

from __future__ import annotations

from typing import Sequence

import torch

from pdekit.operators.base import OperatorModel
from pdekit.operators.fno import FNO, TFNO
from pdekit.operators.mg_patching import MGPatching

__all__ = ["MGTFNO"]


class MGTFNO(OperatorModel):
    """Multigrid tensorized Fourier neural operator.

    Parameters
    ----------
    n_modes : sequence of int
        Fourier modes per dimension of the network that sees the patches; they must fit the
        padded patch size (``n / 2**levels + 2 * round(padding_fraction * n)`` points).
    in_channels, out_channels, hidden_channels, n_layers
        As for :class:`~pdekit.operators.fno.FNO` (``in_channels`` counts the channels of the
        whole field; the patches carry ``in_channels * (levels + 1)``).
    levels : int
        Multigrid levels: ``2**levels`` patches per dimension.
    padding_fraction : float or sequence of float
        Padding of every patch on each side, as a fraction of the domain.
    factorization, rank, joint_factorization
        Spectral weights: one Tucker tensor for all layers by default, rank 0.1.
    **kwargs
        Any other argument of :class:`~pdekit.operators.fno.FNO`.

    Examples
    --------
    >>> model = MGTFNO((8, 8), 1, 1, 16, n_layers=2, levels=1, padding_fraction=0.125)
    >>> model(torch.randn(2, 1, 32, 32)).shape
    torch.Size([2, 1, 32, 32])
    """

    config_version = 2

    @classmethod
    def upgrade_config(cls, config: dict, version: int) -> dict:
        """Configurations saved before version 2: as :meth:`FNO.upgrade_config` (the network's)."""
        return FNO.upgrade_config(config, version)

    def __init__(self, n_modes: Sequence[int], in_channels: int, out_channels: int, hidden_channels: int,
                 n_layers: int = 4, *, levels: int = 1, padding_fraction: float | Sequence[float] = 0.125,
                 factorization: str = "tucker", rank=0.1, joint_factorization: bool = True, **kwargs):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.patching = MGPatching(levels, padding_fraction)
        self.network = TFNO(n_modes, self.in_channels * (levels + 1), out_channels, hidden_channels, n_layers,
                            factorization=factorization, rank=rank, joint_factorization=joint_factorization,
                            **kwargs)
        self.n_dim = self.network.n_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x : (batch, in_channels, *spatial)`` to ``(batch, out_channels, *spatial)``."""
        if not isinstance(x, torch.Tensor) or x.ndim != 2 + self.n_dim or x.shape[1] != self.in_channels:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"MGTFNO expects input of shape (batch, {self.in_channels}, "
                             f"{', '.join('n%d' % j for j in range(self.n_dim))}); got {shape}")
        patches = self.patching.patch(x)
        return self.patching.unpatch(self.network(patches), tuple(x.shape[2:]))
