"""Multigrid domain decomposition of MG-TFNO (Kossaifi et al.): patches with coarse global context.

A field ``x : (batch, channels, n_1, ..., n_d)`` is cut into ``2**levels`` patches per dimension,
each extended by ``padding`` points on both sides (taken periodically from its neighbours). Every
patch also receives, for ``l = 1..levels``, a window of the same size from the field subsampled by
``2**l`` and centred on the patch: a view of a ``2**l`` times larger region at ``2**l`` times
coarser resolution. Those windows are appended as extra channels, so a patch carries
``channels * (levels + 1)`` channels; patches are independent samples for the network.
:meth:`MGPatching.unpatch` crops the padding of the network's outputs and stitches them back.

Examples
--------
>>> mg = MGPatching(levels=1, padding_fraction=0.125)
>>> x = torch.randn(2, 3, 32, 32)
>>> p = mg.patch(x)
>>> p.shape                               # 4 patches per sample, 16 + 2 * 4 points, 3 * 2 channels
torch.Size([8, 6, 24, 24])
>>> bool(torch.equal(mg.unpatch(p[:, :3]), x))
True
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["MGPatching"]


class MGPatching(nn.Module):
    """Cut fields into padded patches with multigrid context, and stitch outputs back.

    Parameters
    ----------
    levels : int
        ``2**levels`` patches per spatial dimension (0: no patching, the field is passed through).
    padding_fraction : float or sequence of float
        Padding of each patch on each side, as a fraction of the whole domain along each dimension
        (rounded to whole points).
    """

    def __init__(self, levels: int, padding_fraction: float | Sequence[float] = 0.0):
        super().__init__()
        if int(levels) != levels or levels < 0:
            raise ValueError(f"levels must be an int >= 0; got {levels}")
        self.levels = int(levels)
        self.padding_fraction = padding_fraction
        self._last_shape: tuple[int, ...] | None = None

    @property
    def n_patches(self) -> int:
        """Patches per spatial dimension."""
        return 2 ** self.levels

    def _geometry(self, spatial: Sequence[int]) -> tuple[list[int], list[int]]:
        """Patch sizes (without padding) and paddings per dimension; checks the grid."""
        d = len(spatial)
        frac = ([self.padding_fraction] * d if isinstance(self.padding_fraction, (int, float))
                else list(self.padding_fraction))
        if len(frac) != d or min(frac) < 0:
            raise ValueError(f"padding_fraction must be >= 0, one value or one per spatial dimension ({d}); "
                             f"got {self.padding_fraction}")
        sizes, pads = [], []
        for j, (n, f) in enumerate(zip(spatial, frac)):
            if n % self.n_patches:
                raise ValueError(f"spatial dimension {j} has {n} points, not divisible into {self.n_patches} "
                                 f"patches (levels={self.levels}); use a multiple of {self.n_patches}")
            size = n // self.n_patches
            if size < 2 ** self.levels:
                raise ValueError(f"patches of {size} points along dimension {j} are too small for "
                                 f"{self.levels} levels of coarse context; need >= {2 ** self.levels}")
            sizes.append(size)
            pads.append(int(round(f * n)))
        return sizes, pads

    @staticmethod
    def _windows(x: torch.Tensor, starts: torch.Tensor, width: int, dim: int) -> torch.Tensor:
        """Periodic windows ``x[start : start + width]`` along ``dim``; a new patch axis at ``dim``."""
        n = x.shape[dim]
        index = (starts[:, None] + torch.arange(width, device=x.device)[None, :]) % n
        picked = x.index_select(dim, index.reshape(-1).to(x.device))
        return picked.unflatten(dim, (len(starts), width))

    def _cut(self, x: torch.Tensor, starts: list[torch.Tensor], widths: list[int]) -> torch.Tensor:
        """(b, c, *n) -> (b * P^d, c, *widths) with windows starting at ``starts[j]`` along dim j."""
        d = x.ndim - 2
        for j in range(d):  # dims shift by one for every patch axis already inserted
            x = self._windows(x, starts[j], widths[j], dim=2 + 2 * j)
        # now (b, c, P_1, w_1, ..., P_d, w_d) -> (b, P_1..P_d, c, w_1..w_d)
        perm = [0] + [2 + 2 * j for j in range(d)] + [1] + [3 + 2 * j for j in range(d)]
        x = x.permute(*perm)
        return x.reshape(-1, x.shape[1 + d], *widths)

    def patch(self, x: torch.Tensor, *, context: bool = True) -> torch.Tensor:
        """Cut ``x : (batch, channels, *spatial)`` into patches.

        Parameters
        ----------
        x : (batch, channels, n_1, ..., n_d) tensor
        context : bool
            Append the ``levels`` coarse views as extra channels (for network inputs); False gives
            the padded patches of ``x`` only (e.g. for targets).

        Returns
        -------
        (batch * P^d, channels * (levels + 1) (or channels), n_1 / P + 2 p_1, ...) tensor, with
        ``P = 2**levels`` and ``p_j`` the padding; patch ``(k_1, ..., k_d)`` of sample ``b`` is at
        index ``b * P^d + k_1 P^(d-1) + ... + k_d``.
        """
        if x.ndim < 3:
            raise ValueError(f"expected (batch, channels, *spatial); got shape {tuple(x.shape)}")
        if self.levels == 0:
            return x
        sizes, pads = self._geometry(x.shape[2:])
        self._last_shape = tuple(x.shape[2:])
        widths = [s + 2 * p for s, p in zip(sizes, pads)]
        P = self.n_patches
        k = torch.arange(P)
        out = [self._cut(x, [k * s - p for s, p in zip(sizes, pads)], widths)]
        if context:
            for level in range(1, self.levels + 1):
                step = 2 ** level
                coarse = x[(slice(None), slice(None)) + (slice(None, None, step),) * (x.ndim - 2)]
                starts = []
                for s, w in zip(sizes, widths):  # window centred on the patch centre, in coarse points
                    centre = (k * s + s // 2) // step
                    starts.append(centre - w // 2)
                out.append(self._cut(coarse, starts, widths))
        return torch.cat(out, dim=1) if len(out) > 1 else out[0]

    def unpatch(self, y: torch.Tensor, spatial_shape: Sequence[int] | None = None) -> torch.Tensor:
        """Crop the padding of patch outputs and stitch them into whole fields.

        Parameters
        ----------
        y : (batch * P^d, channels, *padded patch shape) tensor
            Outputs for the patches made by :meth:`patch` (any number of channels).
        spatial_shape : sequence of int, optional
            Grid of the whole fields; default: that of the last call to :meth:`patch`.

        Returns
        -------
        (batch, channels, n_1, ..., n_d) tensor
        """
        if self.levels == 0:
            return y
        if spatial_shape is None:
            if self._last_shape is None:
                raise ValueError("unpatch needs spatial_shape (patch has not been called yet)")
            spatial_shape = self._last_shape
        spatial_shape = tuple(int(n) for n in spatial_shape)
        d, P = len(spatial_shape), self.n_patches
        sizes, pads = self._geometry(spatial_shape)
        widths = tuple(s + 2 * p for s, p in zip(sizes, pads))
        if y.ndim != d + 2 or tuple(y.shape[2:]) != widths or y.shape[0] % P ** d:
            raise ValueError(f"patch outputs for a {spatial_shape} grid must have shape (k * {P ** d}, channels, "
                             f"{', '.join(map(str, widths))}); got {tuple(y.shape)}")
        batch = y.shape[0] // P ** d
        for j, (s, p) in enumerate(zip(sizes, pads)):
            y = y.narrow(2 + j, p, s)
        y = y.reshape(batch, *([P] * d), y.shape[1], *sizes)
        perm = [0, 1 + d] + [i for j in range(d) for i in (1 + j, 2 + d + j)]
        return y.permute(*perm).reshape(batch, y.shape[1 + d], *spatial_shape)

    def extra_repr(self) -> str:
        return f"levels={self.levels}, padding_fraction={self.padding_fraction}"

