"""Samples of one problem on several meshes of one domain, for evaluating mesh operators.

A model that works on meshes (a GINO) is trained on one mesh and scored on others: a refined
mesh, or the same domain meshed differently. :class:`MultiMeshDataset` puts the files of such
meshes together: item ``i`` comes from one of them and carries its own mesh (``"points"``,
``"weights"``) and the index of that mesh (``"mesh"``). Samples on different meshes cannot be
stacked into one batch, so batches are made per mesh: :attr:`MultiMeshDataset.parts`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["MultiMeshDataset"]


class MultiMeshDataset(torch.utils.data.Dataset):
    """The samples of several mesh datasets of one problem, each on its own mesh.

    Parameters
    ----------
    parts : sequence of H5Dataset
        Mesh data (axis ``node``) of one problem, with the same channels and points of one
        dimension.

    Attributes
    ----------
    parts : list of H5Dataset
        One dataset per mesh, in the order given.
    """

    def __init__(self, parts: Sequence) -> None:
        parts = list(parts)
        if not parts:
            raise ValueError("a multi-mesh dataset needs at least one dataset")
        first = parts[0]
        for i, part in enumerate(parts):
            if not getattr(part, "is_mesh", False):
                raise ValueError(f"dataset {i} ({getattr(part, 'path', part)}) is not mesh data (axis 'node'); "
                                 "only files on meshes are put together per mesh")
            mismatch = [name for name, a, b in (("problem", part.pde, first.pde),
                                                ("input channels", part.in_channels, first.in_channels),
                                                ("output channels", part.out_channels, first.out_channels),
                                                ("point dimension", part.points.shape[1], first.points.shape[1]))
                        if a != b]
            if mismatch:
                raise ValueError(f"dataset {i} ({part.path}) differs from dataset 0 ({first.path}) in "
                                 f"{', '.join(mismatch)}: the meshes must carry one problem")
        self.parts = parts
        self._offsets = np.cumsum([0] + [len(p) for p in parts])

    @property
    def in_channels(self) -> int:
        return self.parts[0].in_channels

    @property
    def out_channels(self) -> int:
        return self.parts[0].out_channels

    @property
    def pde(self) -> str:
        return self.parts[0].pde

    @property
    def is_mesh(self) -> bool:
        return True

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= item < len(self):
            raise IndexError(f"item {item} out of range for a dataset of {len(self)} samples")
        item %= len(self)
        mesh = int(np.searchsorted(self._offsets, item, side="right") - 1)
        sample = dict(self.parts[mesh][item - int(self._offsets[mesh])])
        sample["mesh"] = mesh
        return sample

    def close(self) -> None:
        for part in self.parts:
            part.close()

    def __repr__(self) -> str:
        meshes = ", ".join(f"{len(p)} on {p.points.shape[0]} points" for p in self.parts)
        return f"MultiMeshDataset(pde={self.pde!r}, len={len(self)}: {meshes})"
