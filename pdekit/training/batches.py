"""Batches for training: a reproducible, shardable, resumable batch order, and striding.

The :class:`~pdekit.training.Trainer` accepts any iterable of batches. When it is given a
map-style dataset (anything with ``__len__`` and ``__getitem__`` returning dicts of
tensors, such as :func:`pdekit.data.open_dataset`), it wraps it in :class:`ShuffledBatches`,
whose order is a pure function of ``(seed, epoch)``: that is what makes resuming a run in
the middle of an epoch exact, and what lets every rank of a distributed run take a disjoint
share of the same permutation without talking to the others.

A batch is a dict ``{"x": (B, C_in, *spatial), "y": (B, C_out, *spatial)}`` (other keys
are carried along), or a tuple ``(x, y)``.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch

from pdekit.data.strides import resolution_stride  # noqa: F401  (the one stride rule; exported here too)

__all__ = ["ShuffledBatches", "MeshBatches", "collate", "stride_batch", "resolution_stride", "split_batch"]


def collate(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack a list of sample dicts into one batch dict (tensors gain a leading axis B).

    Parameters
    ----------
    samples : sequence of dict
        Each ``{"x": (C_in, *spatial), "y": (C_out, *spatial), ...}``; numpy arrays are
        converted to tensors, other values are gathered into lists.
    """
    if not samples:
        raise ValueError("cannot collate an empty list of samples")
    first = samples[0]
    if not isinstance(first, Mapping):
        raise TypeError(
            f"a dataset sample must be a dict with keys 'x' and 'y'; got {type(first).__name__}"
        )
    out: dict[str, Any] = {}
    for key in first:
        values = [s[key] for s in samples]
        if isinstance(values[0], (torch.Tensor, np.ndarray)):
            shapes = {tuple(v.shape) for v in values}
            if len(shapes) > 1:
                raise ValueError(f"the samples of one batch have {key!r} of shapes {sorted(shapes)}: samples on "
                                 "different meshes or grids cannot share a batch; make batches per mesh "
                                 "(MultiMeshDataset.parts) or per resolution")
            out[key] = torch.stack([torch.as_tensor(v) for v in values])
        else:
            out[key] = values
    return out


def split_batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x, y)`` from a batch dict ``{"x", "y"}`` or a 2-tuple, with clear errors."""
    if isinstance(batch, Mapping):
        missing = [k for k in ("x", "y") if k not in batch]
        if missing:
            raise KeyError(
                f"a batch must have keys 'x' (inputs) and 'y' (targets); missing {missing}, "
                f"found {sorted(map(str, batch))}"
            )
        return batch["x"], batch["y"]
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise TypeError(
        f"a batch must be a dict with keys 'x' and 'y' or a tuple (x, y); got {type(batch).__name__}"
    )


def stride_batch(batch: Any, stride: int, *, spatial_dims: int | None = None) -> Any:
    """Subsample the spatial axes of ``x`` and ``y`` by ``stride`` (coarser resolution).

    Parameters
    ----------
    batch : dict or tuple
        ``x : (B, C_in, *spatial)``, ``y : (B, C_out, *spatial)``.
    stride : int
        Keep every ``stride``-th grid point along each spatial axis.
    spatial_dims : int, optional
        Number of trailing spatial axes (default: all axes after the channel axis).
    """
    if stride == 1:
        return batch
    x, y = split_batch(batch)

    def sub(t: torch.Tensor) -> torch.Tensor:
        nd = t.ndim - 2 if spatial_dims is None else spatial_dims
        index = (slice(None),) * (t.ndim - nd) + (slice(None, None, stride),) * nd
        return t[index]

    if isinstance(batch, Mapping):
        out = dict(batch)
        out["x"], out["y"] = sub(x), sub(y)
        return out
    return sub(x), sub(y)


class ShuffledBatches:
    """Batches of a map-style dataset in an order fixed by ``(seed, epoch)``.

    Parameters
    ----------
    dataset : map-style dataset
        ``len(dataset)`` samples; ``dataset[i]`` is a dict of tensors/arrays.
    batch_size : int
        Samples per batch *on each rank*.
    shuffle : bool
        Draw a fresh permutation each epoch (from ``seed + epoch``); otherwise in order.
    seed : int
        Base seed of the permutations; independent of the global RNGs.
    drop_last : bool
        Drop a last incomplete batch.
    rank, world_size : int
        This rank's share: positions ``rank, rank + world_size, ...`` of the epoch's
        permutation.
    pad : bool
        Wrap around the permutation so that all ranks get as many samples (training: every
        rank takes the same number of steps); False gives disjoint shares that cover each
        sample exactly once (evaluation).
    transform : callable, optional
        Applied to each collated batch.

    Examples
    --------
    >>> data = [{"x": torch.zeros(1, 4), "y": torch.ones(1, 4)} for _ in range(10)]
    >>> b = ShuffledBatches(data, batch_size=4, seed=0)
    >>> [batch["x"].shape[0] for batch in b.batches(epoch=0)]
    [4, 4, 2]
    """

    def __init__(self, dataset, *, batch_size: int, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, rank: int = 0, world_size: int = 1,
                 pad: bool = True, transform=None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size}")
        if not (0 <= rank < world_size):
            raise ValueError(f"rank must be in [0, world_size={world_size}); got {rank}")
        n = len(dataset)
        if n == 0:
            raise ValueError("cannot train on an empty dataset (0 samples)")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.pad = bool(pad)
        self.transform = transform
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose permutation :meth:`__iter__` uses."""
        self.epoch = int(epoch)

    def indices(self, epoch: int) -> np.ndarray:
        """This rank's sample indices for ``epoch``, in order: ``(n_local,)`` int array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, int(epoch)]).permutation(n)
        else:
            order = np.arange(n)
        per_rank = -(-n // self.world_size)
        total = per_rank * self.world_size
        if self.pad and total > n:
            order = np.concatenate([order, order[: total - n]])
        return order[self.rank::self.world_size]

    def __len__(self) -> int:
        n, w = len(self.dataset), self.world_size
        n_local = -(-n // w) if self.pad else len(range(self.rank, n, w))
        return n_local // self.batch_size if self.drop_last else -(-n_local // self.batch_size)

    def batches(self, epoch: int, *, start: int = 0) -> Iterator[dict[str, Any]]:
        """Yield the batches of ``epoch``, skipping the first ``start`` without loading them."""
        idx = self.indices(epoch)
        for b in range(start, len(self)):
            chunk = idx[b * self.batch_size:(b + 1) * self.batch_size]
            batch = collate([self.dataset[int(i)] for i in chunk])
            yield self.transform(batch) if self.transform is not None else batch

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.batches(self.epoch)

    def state_dict(self) -> dict[str, int]:
        """The data-order state saved in checkpoints."""
        return {"seed": self.seed, "epoch": self.epoch, "batch_size": self.batch_size,
                "world_size": self.world_size, "n_samples": len(self.dataset)}


class MeshBatches:
    """Batches of a mesh dataset, drawn with ``model`` bound to the dataset's mesh.

    Code that calls ``model(x)`` (the Trainer's evaluation, :func:`~pdekit.training.metrics.evaluate_model`)
    scores a mesh operator (:class:`pdekit.operators.GINO`, also inside a NormalizedOperator) on
    data of another mesh through this: while the batches are iterated the model's mesh
    operators are bound to ``dataset``'s mesh; when the iteration ends (or is abandoned) their
    previous meshes are bound again.

    Parameters
    ----------
    model : torch.nn.Module
        Holds one or more GINOs.
    dataset : H5Dataset or MultiMeshDataset
        Mesh data (with ``points`` and ``cells``), or samples on several meshes of one
        domain (:class:`~pdekit.data.MultiMeshDataset`): each mesh's samples are batched
        apart, with the model bound to that mesh, in the dataset's order.
    batch_size : int
    rank, world_size : int
        This rank's disjoint share of the samples (each sample once over all ranks).
    """

    def __init__(self, model: torch.nn.Module, dataset, *, batch_size: int, rank: int = 0,
                 world_size: int = 1) -> None:
        from pdekit.operators.gino import GINO

        parts = list(getattr(dataset, "parts", None) or [dataset])
        for part in parts:
            if getattr(part, "points", None) is None:
                raise ValueError(f"{part!r} holds no mesh (points and cells); a mesh operator needs mesh data")
        self.ginos = [m for m in model.modules() if isinstance(m, GINO)]
        if not self.ginos:
            raise ValueError(f"{type(model).__name__} holds no GINO: only mesh operators are bound to a mesh")
        self.geometries = [self.ginos[0]._geometry(part) for part in parts]
        self.batches = [ShuffledBatches(part, batch_size=batch_size, shuffle=False, rank=rank,
                                        world_size=world_size, pad=False) for part in parts]

    @property
    def geometry(self):
        """The mesh of the data (the first, for samples on several meshes)."""
        return self.geometries[0]

    def __len__(self) -> int:
        return sum(len(b) for b in self.batches)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        previous = [gino.geometry for gino in self.ginos]
        try:
            for geometry, batches in zip(self.geometries, self.batches):
                for gino in self.ginos:
                    gino.bind(geometry)
                yield from batches.batches(0)
        finally:
            for gino, geometry in zip(self.ginos, previous):
                gino.bind(geometry)
