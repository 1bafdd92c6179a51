"""The pdekit HDF5 dataset layout, and writing a complete file (reading: :mod:`pdekit.data.reading`).

One file holds one dataset of ``n`` samples of one problem (see ``docs/data_format.md``)::

    /inputs       float32 (N, [T,] X[, Y[, Z]], C_in)   or (N, [T,] n_nodes, C_in); chunk = 1 sample
    /outputs      float32 (N, [T,] X[, Y[, Z]], C_out)  likewise
    /seeds        uint64  (N,)    seed of each sample's ``numpy.random.default_rng``
    /completed    bool    (N,)    which samples are present (a partial file is readable)
    /coords/<name>                x, y, z, t, or points + cells for meshes

and root attributes ``pdekit_format``, ``pde``, ``summary``, ``params`` (JSON), ``seed``,
``n``, ``resolution``, ``pdekit_version``, ``input_names``, ``output_names``,
``n_completed``, and ``domain``, ``boundary_conditions``, ``environment`` (JSON). ``/inputs`` and ``/outputs`` carry an ``axes`` attribute such as
``"N,T,X,Y,C"``; they are absent while no sample is complete.

Files are written whole, in sample order, with no time stamps, so the same samples give
the same bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any, Callable, Mapping

import h5py
import numpy as np

__all__ = ["FORMAT", "DatasetHeader", "sample_seeds", "sample_axes", "write_dataset"]

#: value of the root attribute ``pdekit_format`` (name/version of this layout)
FORMAT = "pdekit-dataset/1"

_SPATIAL_COORDS = ("x", "y", "z")


def sample_seeds(seed: int, n: int) -> np.ndarray:
    """Seeds of samples ``0 .. n-1`` of a dataset generated with ``seed``.

    Sample ``i`` uses ``numpy.random.default_rng(seeds[i])``, where ``seeds[i]`` is drawn
    from ``SeedSequence(seed).spawn(n)[i]``; it does not depend on ``n`` nor on any other
    sample, so a dataset can be extended or generated in any order.

    Returns
    -------
    seeds : (n,) uint64
    """
    return _seeds(int(seed), int(n)).copy()


@functools.lru_cache(maxsize=4)
def _seeds(seed: int, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = np.random.SeedSequence(seed, spawn_key=(i,)).generate_state(1, np.uint64)[0]
    out.flags.writeable = False
    return out


def sample_axes(sample_shape: tuple[int, ...], coords: Mapping[str, np.ndarray]) -> str:
    """Axis names of an array of samples of shape ``(N, *sample_shape)``, e.g. ``"N,T,X,Y,C"``.

    The spatial axes are named after the coordinates (``X``, ``Y``, ``Z``; ``node`` for mesh
    data, which has ``points`` coordinates); one extra leading axis is time ``T``.
    """
    if "points" in coords:
        spatial = ["node"]
    else:
        spatial = [k.upper() for k in _SPATIAL_COORDS if k in coords]
    ndim = len(sample_shape) - 1
    if not spatial:
        spatial = ["X", "Y", "Z"][: max(0, ndim - (1 if "t" in coords else 0))]
    if ndim == len(spatial):
        axes = spatial
    elif ndim == len(spatial) + 1:
        axes = ["T", *spatial]
    else:
        raise ValueError(
            f"a sample of shape {tuple(sample_shape)} does not fit coordinates {sorted(coords)}: "
            f"expected ({'T, ' if 't' in coords else '[T,] '}{', '.join(spatial)}, C)"
        )
    return ",".join(["N", *axes, "C"])


@dataclasses.dataclass(frozen=True)
class DatasetHeader:
    """Everything stored in a dataset file besides the samples.

    Attributes
    ----------
    pde, summary : str
        Problem name and its one-line description.
    params : dict
        Every generator parameter (JSON-serialisable), stored as JSON.
    seed, n, resolution : int
        Base seed, number of samples, resolution passed to the problem.
    input_names, output_names : tuple of str
        Channel names.
    coords : dict of name -> ndarray
        Coordinates of the grid or mesh (``x``, ``y``, ``t``, ``points``, ``cells`` ...).
    pdekit_version : str
    domain : dict
        The physical domain, e.g. ``{"x": [0.0, 1.0], "y": [0.0, 1.0], "periodic": true}``.
    boundary_conditions : dict
        The boundary conditions, e.g. ``{"x": "periodic", "y": "periodic"}``.
    environment : dict of str -> str
        Versions of the packages that produced the samples (pdekit, python, numpy, scipy,
        torch, h5py).
    """

    pde: str
    summary: str
    params: Mapping[str, Any]
    seed: int
    n: int
    resolution: int
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    coords: Mapping[str, np.ndarray]
    pdekit_version: str
    domain: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    boundary_conditions: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    environment: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def params_json(self) -> str:
        """The parameters as canonical JSON (sorted keys)."""
        return json.dumps(dict(self.params), sort_keys=True)


def _create(group: h5py.Group, name: str, data=None, **kw) -> h5py.Dataset:
    return group.create_dataset(name, data=data, track_times=False, **kw)


def write_dataset(path: str | os.PathLike, header: DatasetHeader, *, completed: np.ndarray,
                  sample: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> None:
    """Write a complete dataset file at ``path`` (overwriting it), samples in index order.

    Parameters
    ----------
    path : path-like
        File to create; callers publish it with an atomic rename.
    header : DatasetHeader
    completed : (n,) bool
        Which samples to write.
    sample : callable
        ``sample(i) -> (inputs, outputs)`` for every completed ``i``; all samples must have
        the same shapes, and the last axes must match the channel names.
    """
    completed = np.asarray(completed, dtype=bool)
    if completed.shape != (header.n,):
        raise ValueError(f"completed mask must have shape ({header.n},); got {completed.shape}")
    done = np.flatnonzero(completed)
    with h5py.File(path, "w", libver=("earliest", "v110")) as f:
        f.attrs["pdekit_format"] = FORMAT
        f.attrs["pde"] = header.pde
        f.attrs["summary"] = header.summary
        f.attrs["params"] = header.params_json()
        f.attrs["seed"] = np.int64(header.seed)
        f.attrs["n"] = np.int64(header.n)
        f.attrs["resolution"] = np.int64(header.resolution)
        f.attrs["pdekit_version"] = header.pdekit_version
        f.attrs["input_names"] = list(header.input_names)
        f.attrs["output_names"] = list(header.output_names)
        f.attrs["n_completed"] = np.int64(done.size)
        f.attrs["domain"] = json.dumps(dict(header.domain), sort_keys=True)
        f.attrs["boundary_conditions"] = json.dumps(dict(header.boundary_conditions), sort_keys=True)
        f.attrs["environment"] = json.dumps(dict(header.environment), sort_keys=True)
        coords = f.create_group("coords")
        for name in sorted(header.coords):
            _create(coords, name, np.asarray(header.coords[name]))
        _create(f, "seeds", sample_seeds(header.seed, header.n))
        _create(f, "completed", completed)
        if done.size == 0:
            return
        first_in, first_out = sample(int(done[0]))
        dsets = {}
        for key, arr, names in (("inputs", first_in, header.input_names),
                                ("outputs", first_out, header.output_names)):
            _check_sample(key, arr, names, int(done[0]))
            ds = _create(f, key, shape=(header.n, *arr.shape), dtype=np.float32,
                         chunks=(1, *arr.shape), fillvalue=np.float32(0))
            ds.attrs["axes"] = sample_axes(arr.shape, header.coords)
            dsets[key] = ds
        for k, i in enumerate(done):
            x, y = (first_in, first_out) if k == 0 else sample(int(i))
            for key, arr in (("inputs", x), ("outputs", y)):
                if arr.shape != dsets[key].shape[1:]:
                    raise ValueError(
                        f"sample {int(i)} has {key} of shape {arr.shape}; expected "
                        f"{dsets[key].shape[1:]} like sample {int(done[0])}"
                    )
                dsets[key][i] = arr


def _check_sample(key: str, arr: np.ndarray, names: tuple[str, ...], index: int) -> None:
    if arr.ndim < 2 or arr.shape[-1] != len(names):
        raise ValueError(
            f"sample {index} has {key} of shape {arr.shape}; expected (..., {len(names)}) with "
            f"spatial axes first and one last-axis channel per name {list(names)}"
        )
