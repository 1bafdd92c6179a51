"""Compression of a pdekit dataset to Tucker form with a stated relative error.

The ``[N, (T,) X, (Y, (Z,)) C]`` array of ``/outputs`` (and ``/inputs``) is decomposed as one
tensor whose first mode runs over the samples; sample ``i`` is the core contracted with row
``i`` of the sample factor and the spatial/channel factors, so any sample is rebuilt on its
own without decompressing the rest. Only completed samples are compressed.

The compressed file (HDF5, written atomically) holds, per key, the Tucker core and factors,
the axes and the achieved relative error, plus the source dataset's root attributes and
coordinates::

    /outputs/core, /outputs/factor_0 .. factor_{d-1}     attrs: axes, tol, rel_error, shape
    /inputs/...                                           (when compressed)
    /sample_index       int64 (n_completed,)  dataset index of each compressed sample
    /coords/<name>      as in the source
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from .._atomic import atomic_path, refuse_existing
from ..tensor_formats import TuckerTensor, tucker
from .reading import read_info

__all__ = ["CompressedDataset", "compress_dataset"]

FORMAT = "pdekit-compressed/1"


@dataclasses.dataclass
class CompressedDataset:
    """Tucker-compressed fields of a dataset.

    Attributes
    ----------
    tensors : dict of key -> TuckerTensor
        ``"outputs"`` (and ``"inputs"``), each of shape ``(n_completed, ..., C)``.
    axes : dict of key -> str
        Axis names, e.g. ``"N,X,Y,C"``.
    rel_errors : dict of key -> float
        Achieved relative Frobenius error over all compressed samples.
    sample_index : (n_completed,) int array
        Dataset index of each compressed sample.
    tol : float
        Requested relative error.
    """

    tensors: dict
    axes: dict
    rel_errors: dict
    sample_index: np.ndarray
    tol: float

    def sample(self, index: int, key: str = "outputs") -> np.ndarray:
        """Rebuild one sample (by its dataset index), shape ``(..., C)``, float32."""
        if key not in self.tensors:
            raise KeyError(f"{key!r} was not compressed; available: {sorted(self.tensors)}")
        pos = np.flatnonzero(self.sample_index == int(index))
        if pos.size == 0:
            raise IndexError(f"sample {index} is not in the compressed dataset (not completed in "
                             f"the source); compressed samples: {self.sample_index.size}")
        return np.asarray(self.tensors[key][int(pos[0])].full(), dtype=np.float32)

    def compression_ratio(self, key: str = "outputs") -> float:
        """Entries of the uncompressed array per stored number."""
        return self.tensors[key].compression_ratio

    def save(self, path: str | os.PathLike, *, attrs: dict | None = None,
             coords: dict | None = None, overwrite: bool = False) -> None:
        """Write to an HDF5 file (atomically; an existing file only with ``overwrite=True``)."""
        with atomic_path(path, overwrite=overwrite) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["pdekit_format"] = FORMAT
                f.attrs["tol"] = self.tol
                for k, v in (attrs or {}).items():
                    f.attrs[f"source_{k}"] = v
                f.create_dataset("sample_index", data=self.sample_index, track_times=False)
                cg = f.create_group("coords")
                for k, v in (coords or {}).items():
                    cg.create_dataset(k, data=v, track_times=False)
                for key, t in self.tensors.items():
                    g = f.create_group(key)
                    g.attrs.update({"axes": self.axes[key], "rel_error": self.rel_errors[key],
                                    "shape": np.asarray(t.shape), "ndim": t.ndim})
                    g.create_dataset("core", data=t.core, track_times=False)
                    for m, u in enumerate(t.factors):
                        g.create_dataset(f"factor_{m}", data=u, track_times=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CompressedDataset":
        """Read a file written by :meth:`save` / :func:`compress_dataset`."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"no compressed dataset {str(path)!r}")
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("pdekit_format")
            fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
            if fmt != FORMAT:
                raise ValueError(f"{str(path)!r} has format {fmt!r}; expected {FORMAT!r}")
            tensors, axes, errs = {}, {}, {}
            for key in ("inputs", "outputs"):
                if key in f:
                    g = f[key]
                    factors = [g[f"factor_{m}"][()] for m in range(int(g.attrs["ndim"]))]
                    tensors[key] = TuckerTensor(g["core"][()], factors, orthogonal=True)
                    axes[key] = str(g.attrs["axes"])
                    errs[key] = float(g.attrs["rel_error"])
            return cls(tensors, axes, errs, f["sample_index"][()], float(f.attrs["tol"]))


def compress_dataset(path: str | os.PathLike, out: str | os.PathLike | None = None, *,
                     tol: float, keys: Sequence[str] = ("outputs",),
                     method: str = "hooi", overwrite: bool = False) -> CompressedDataset:
    """Compress the fields of a pdekit dataset to Tucker form with relative error ``tol``.

    Parameters
    ----------
    path : path-like
        A dataset written by :func:`pdekit.data.generate` (see ``docs/data_format.md``).
    out : path-like, optional
        Where to write the compressed file (atomically); nothing is written when None.
    tol : float in (0, 1)
        Relative Frobenius error allowed over all samples of each key.
    keys : sequence of {"outputs", "inputs"}
    method : {"hooi", "sthosvd", "hosvd"}
    overwrite : bool
        Replace ``out`` if it exists (otherwise refused with FileExistsError, before any work).

    Returns
    -------
    CompressedDataset
        With the achieved errors in ``rel_errors`` (at most ``tol``).
    """
    if out is not None:
        refuse_existing(out, overwrite)
    info = read_info(path)
    bad = [k for k in keys if k not in ("inputs", "outputs")]
    if bad or not keys:
        raise ValueError(f"keys must be some of ('inputs', 'outputs'); got {list(keys)}")
    index = np.flatnonzero(info.completed)
    if index.size == 0:
        raise ValueError(f"{str(path)!r} has no completed sample to compress")
    if any(a is not None and a.split(",")[1] == "node" for a in (info.input_axes, info.output_axes)):
        raise ValueError("mesh datasets (axes N,node,C) are not on a tensor grid; Tucker "
                         "compression needs grid data")
    tensors, axes, errs = {}, {}, {}
    with h5py.File(path, "r") as f:
        for key in keys:
            data = np.asarray(f[key][index.tolist() if index.size < info.header.n else slice(None)],
                              dtype=np.float64)
            t = tucker(data, None, max_rel_error=tol, method=method)
            tensors[key] = t
            axes[key] = info.input_axes if key == "inputs" else info.output_axes
            errs[key] = float(t.info["rel_error"])
    result = CompressedDataset(tensors, axes, errs, index.astype(np.int64), float(tol))
    if out is not None:
        h = info.header
        result.save(out, attrs={"pde": h.pde, "params": h.params_json(), "seed": h.seed,
                                "n": h.n, "resolution": h.resolution}, coords=dict(h.coords), overwrite=overwrite)
    return result
