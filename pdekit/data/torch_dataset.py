"""A torch ``Dataset`` over a pdekit dataset file, loaded lazily.

Each item is ``{"x": (C_in, *spatial), "y": (C_out, *spatial)}`` (float32 tensors, channel
first). Time-dependent arrays ``(T, *spatial, C)`` are returned either with time folded into
the channels (``time="channels"``, the default: ``(T * C, *spatial)`` with channel index
``t * C + c``, what a 2D FNO takes) or with time kept as the first axis after the channels
(``time="keep"``: ``(C, T, *spatial)``, what a space-time FNO takes).

Mesh data (axis ``node``, from ``darcy-fem`` or ``wave-fem``) are ``(C, n_points)``, and every
item also carries the mesh: ``"points" (n_points, d)`` and ``"weights" (n_points,)``, the
quadrature weight of each vertex (:func:`pdekit.meshes.vertex_volumes`), which mesh operators
(:class:`pdekit.operators.GINO`) need. Files on different meshes of one domain are opened
together as a :class:`~pdekit.data.multi_mesh.MultiMeshDataset` (``open_dataset([a, b])``).

The HDF5 file is opened on first access in each process (and reopened after a fork), so
the dataset can be used with ``DataLoader(num_workers > 0)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from pdekit.data.reading import DatasetInfo, read_info

__all__ = ["H5Dataset", "open_dataset"]

_TIME_MODES = ("channels", "keep")


def _selection(indices, n: int) -> np.ndarray:
    if indices is None:
        return np.arange(n)
    if isinstance(indices, slice):
        return np.arange(n)[indices]
    idx = np.asarray(list(indices) if isinstance(indices, range) else indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise TypeError(f"indices must be a range, a slice or a 1D sequence of integers; got {indices!r}")
    idx = idx.astype(np.int64)
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise IndexError(f"sample index {int(idx[bad][0])} out of range for a dataset of {n} samples "
                         f"(expected 0 <= index < {n})")
    return idx


class H5Dataset(torch.utils.data.Dataset):
    """Samples of a dataset file as channel-first tensors (see the module docstring).

    Parameters
    ----------
    path : path-like
        A file written by :func:`pdekit.data.generate`.
    indices : range, slice or sequence of int, optional
        Which samples (default all). Samples not yet completed in the file are skipped.
    stride : int or tuple of int
        Subsampling step on each spatial axis (1 keeps the full resolution).
    time : {"channels", "keep"}
        How a time axis is returned.

    Attributes
    ----------
    info : DatasetInfo
        The file's metadata.
    indices : (len,) int64
        File indices of the items, in order.
    """

    def __init__(self, path: str | os.PathLike, *, indices=None, stride: int | Sequence[int] = 1,
                 time: str = "channels") -> None:
        if time not in _TIME_MODES:
            raise ValueError(f"unknown time mode {time!r}; expected one of {list(_TIME_MODES)}")
        info = read_info(path)
        if info.input_shape is None:
            raise ValueError(f"{str(info.path)!r} holds no completed sample yet (0/{info.header.n}); "
                             f"finish it with `pdekit generate` first")
        self.info: DatasetInfo = info
        self.path = Path(info.path)
        self.time = time
        sel = _selection(indices, info.header.n)
        self.indices = sel[info.completed[sel]]
        if self.indices.size == 0:
            raise ValueError(f"no completed samples among the {sel.size} selected of {str(self.path)!r}")
        self._in_axes = info.input_axes.split(",")[1:]
        self._out_axes = info.output_axes.split(",")[1:]
        spatial = [a for a in self._in_axes if a not in ("T", "C")]
        if isinstance(stride, (int, np.integer)):
            stride = (int(stride),) * len(spatial)
        stride = tuple(int(s) for s in stride)
        if len(stride) != len(spatial) or min(stride) < 1:
            raise ValueError(f"stride must be a positive int or {len(spatial)} positive ints, one per "
                             f"spatial axis {spatial}; got {stride}")
        if "node" in spatial and stride != (1,):
            raise ValueError("stride must be 1 for mesh data (axis 'node'); subsample meshes with "
                             "pdekit.meshes instead")
        self.stride = stride
        self.is_mesh = "node" in spatial
        self._mesh_items: dict[str, torch.Tensor] | None = None
        self._mesh_weights: np.ndarray | None = None
        self._h5 = None
        self._pid = None

    # -- metadata -----------------------------------------------------------------------
    @property
    def pde(self) -> str:
        """Problem name."""
        return self.info.header.pde

    @property
    def params(self) -> dict:
        """Generator parameters."""
        return dict(self.info.header.params)

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Coordinates, subsampled like the samples (``x``, ``y``, ``z`` strided)."""
        out = {}
        spatial = [a for a in self._in_axes if a not in ("T", "C")]
        steps = dict(zip([a.lower() for a in spatial], self.stride))
        for k, v in self.info.header.coords.items():
            out[k] = v[:: steps[k]] if k in steps else v
        return out

    @property
    def points(self) -> np.ndarray | None:
        """Mesh data: the vertices ``(n_points, d)`` float64; None for grid data."""
        return self.info.header.coords["points"] if self.is_mesh else None

    @property
    def cells(self) -> np.ndarray | None:
        """Mesh data: the cells ``(m, d+1)`` int64; None for grid data."""
        return self.info.header.coords["cells"] if self.is_mesh else None

    @property
    def weights(self) -> np.ndarray | None:
        """Mesh data: the quadrature weight of each vertex ``(n_points,)`` float64; None for grid data."""
        if not self.is_mesh:
            return None
        if self._mesh_weights is None:
            from pdekit.meshes.geometry import vertex_volumes

            self._mesh_weights = vertex_volumes(self.points, self.cells)
        return self._mesh_weights

    def _mesh_tensors(self) -> dict[str, torch.Tensor]:
        if self._mesh_items is None:
            self._mesh_items = {"points": torch.as_tensor(self.points, dtype=torch.float32),
                                "weights": torch.as_tensor(self.weights, dtype=torch.float32)}
        return self._mesh_items

    def _shape(self, axes: list[str], shape: tuple[int, ...]) -> tuple[int, ...]:
        spatial = [(-(-s // st)) for s, st in zip([s for a, s in zip(axes, shape) if a not in ("T", "C")],
                                                   self.stride)]
        c = shape[-1]
        if "T" in axes:
            t = shape[axes.index("T")]
            return (t * c, *spatial) if self.time == "channels" else (c, t, *spatial)
        return (c, *spatial)

    @property
    def x_shape(self) -> tuple[int, ...]:
        """Shape of ``item["x"]``."""
        return self._shape(self._in_axes, self.info.input_shape[1:])

    @property
    def y_shape(self) -> tuple[int, ...]:
        """Shape of ``item["y"]``."""
        return self._shape(self._out_axes, self.info.output_shape[1:])

    @property
    def in_channels(self) -> int:
        """Channels of ``x``."""
        return self.x_shape[0]

    @property
    def out_channels(self) -> int:
        """Channels of ``y``."""
        return self.y_shape[0]

    # -- torch Dataset ------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.indices.size)

    def _file(self):
        if self._h5 is None or self._pid != os.getpid():
            import h5py

            self._h5 = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._h5

    def _read(self, key: str, axes: list[str], index: int) -> torch.Tensor:
        sl, k = [index], 0
        for a in axes:
            if a in ("T", "C"):
                sl.append(slice(None))
            else:
                sl.append(slice(None, None, self.stride[k]))
                k += 1
        arr = self._file()[key][tuple(sl)]
        c_first = np.moveaxis(arr, -1, 0)  # (C, [T,] *spatial)
        if "T" in axes and self.time == "channels":
            c_first = np.swapaxes(c_first, 0, 1)  # (T, C, *spatial)
            c_first = c_first.reshape(-1, *c_first.shape[2:])
        return torch.from_numpy(np.ascontiguousarray(c_first, dtype=np.float32))

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= item < len(self):
            raise IndexError(f"item {item} out of range for a dataset of {len(self)} samples")
        index = int(self.indices[item])
        sample = {"x": self._read("inputs", self._in_axes, index),
                  "y": self._read("outputs", self._out_axes, index)}
        if self.is_mesh:
            sample.update(self._mesh_tensors())
        return sample

    def subset(self, items) -> "H5Dataset":
        """A dataset over ``self.indices[items]`` with the same options."""
        out = H5Dataset.__new__(H5Dataset)
        out.__dict__.update(self.__getstate__())
        out.indices = self.indices[np.asarray(items) if not isinstance(items, slice) else items]
        return out

    def close(self) -> None:
        """Close the HDF5 file of this process (it reopens on next access)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_h5"] = None
        state["_pid"] = None
        state["_mesh_items"] = None
        return state

    def __repr__(self) -> str:
        return (f"H5Dataset({str(self.path)!r}, pde={self.pde!r}, len={len(self)}, "
                f"x={self.x_shape}, y={self.y_shape}, stride={self.stride}, time={self.time!r})")


def open_dataset(path, *, split: str | None = None,
                 test_fraction: float = 0.2, indices=None, stride: int | Sequence[int] = 1,
                 time: str = "channels"):
    """Open a dataset file as a torch ``Dataset`` of ``{"x", "y"}`` dicts.

    Parameters
    ----------
    path : path-like, or a sequence of them
        A file written by :func:`pdekit.data.generate`. Several files of mesh data (one
        problem on different meshes of one domain) open as one
        :class:`~pdekit.data.multi_mesh.MultiMeshDataset`, each with the same options.
    split : {None, "train", "test"}
        None for the whole selection; otherwise the first ``1 - test_fraction`` of the
        selected indices (train) or the rest (test). The boundary depends only on the
        selection, not on which samples are completed, so the split is stable.
    test_fraction : float in (0, 1), or int
        Fraction (or number) of the selection that is the test set.
    indices : range, slice or sequence of int, optional
        The file indices to select before splitting (default all).
    stride : int or tuple of int
        Subsampling step on the spatial axes.
    time : {"channels", "keep"}
        Time folded into channels ``(T*C, *spatial)`` or kept ``(C, T, *spatial)``.

    Returns
    -------
    H5Dataset, or MultiMeshDataset for several files

    Examples
    --------
    >>> train = open_dataset("darcy.h5", split="train", stride=2)  # doctest: +SKIP
    >>> train[0]["x"].shape  # doctest: +SKIP
    torch.Size([1, 43, 43])
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"unknown split {split!r}; expected None, 'train' or 'test'")
    if not isinstance(path, (str, os.PathLike)):
        from pdekit.data.multi_mesh import MultiMeshDataset

        return MultiMeshDataset([open_dataset(p, split=split, test_fraction=test_fraction, indices=indices,
                                              stride=stride, time=time) for p in path])
    info_n = read_info(path).header.n
    sel = _selection(indices, info_n)
    if split is not None:
        if isinstance(test_fraction, (int, np.integer)) and not isinstance(test_fraction, bool):
            n_test = int(test_fraction)
        elif isinstance(test_fraction, float) and 0.0 < test_fraction < 1.0:
            n_test = int(round(test_fraction * sel.size))
        else:
            raise ValueError(f"test_fraction must be a float in (0, 1) or a sample count; got {test_fraction!r}")
        if not 0 < n_test < sel.size:
            raise ValueError(f"a test set of {n_test} of {sel.size} samples leaves one side empty; "
                             f"expected 0 < test size < {sel.size}")
        sel = sel[: sel.size - n_test] if split == "train" else sel[sel.size - n_test:]
    return H5Dataset(path, indices=sel, stride=stride, time=time)
