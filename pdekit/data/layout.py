"""The pdekit HDF5 dataset layout: writing a complete file, and reading and checking one.

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
from pathlib import Path
from typing import Any, Callable, Mapping

import h5py
import numpy as np

__all__ = ["FORMAT", "DatasetHeader", "DatasetInfo", "sample_seeds", "sample_axes",
           "write_dataset", "read_info"]

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


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset file holds (read by :func:`read_info`, printed by ``pdekit info``).

    Attributes
    ----------
    path : Path
    header : DatasetHeader
    completed : (n,) bool
    seeds : (n,) uint64
    input_shape, output_shape : tuple of int or None
        Shapes of ``/inputs`` and ``/outputs`` (None while no sample is complete).
    input_axes, output_axes : str or None
        Their ``axes`` attributes, e.g. ``"N,X,Y,C"``.
    format : str
    file_size : int
        Bytes on disk.
    """

    path: Path
    header: DatasetHeader
    completed: np.ndarray
    seeds: np.ndarray
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    input_axes: str | None
    output_axes: str | None
    format: str
    file_size: int

    @property
    def n_completed(self) -> int:
        """Number of samples present."""
        return int(self.completed.sum())

    def describe(self) -> str:
        """A human-readable multi-line summary (what ``pdekit info`` prints)."""
        h = self.header
        lines = [
            f"file            {self.path} ({self.file_size / 1e6:.2f} MB)",
            f"format          {self.format} (pdekit {h.pdekit_version})",
            f"pde             {h.pde}: {h.summary}",
            f"samples         {self.n_completed}/{h.n} completed"
            + ("" if self.n_completed == h.n else
               f" (missing: {_ranges(np.flatnonzero(~self.completed))})"),
            f"resolution      {h.resolution}",
            f"seed            {h.seed} (per-sample seeds {_seed_range(self.seeds)})",
            f"params          {h.params_json()}",
        ]
        for key, shape, axes, names in (("inputs", self.input_shape, self.input_axes, h.input_names),
                                        ("outputs", self.output_shape, self.output_axes, h.output_names)):
            if shape is None:
                lines.append(f"/{key:<14} (not yet written: no completed sample); channels {list(names)}")
            else:
                lines.append(f"/{key:<14} float32 {shape} axes {axes}; channels {list(names)}")
        lines.append(f"/seeds          uint64 ({h.n},)")
        lines.append(f"/completed      bool ({h.n},)")
        for name in sorted(h.coords):
            c = np.asarray(h.coords[name])
            rng = f" in [{c.min():.6g}, {c.max():.6g}]" if c.size and c.dtype.kind == "f" else ""
            lines.append(f"/coords/{name:<7} {c.dtype} {c.shape}{rng}")
        return "\n".join(lines)


def _seed_range(seeds: np.ndarray) -> str:
    if seeds.size == 0:
        return "none"
    return f"{int(seeds.min())} .. {int(seeds.max())}"


def _ranges(idx: np.ndarray, limit: int = 8) -> str:
    if idx.size == 0:
        return "none"
    parts, start, prev = [], int(idx[0]), int(idx[0])
    for i in idx[1:]:
        i = int(i)
        if i != prev + 1:
            parts.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = i
        prev = i
    parts.append(f"{start}" if start == prev else f"{start}-{prev}")
    more = f", ... ({len(parts) - limit} more ranges)" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


_REQUIRED_ATTRS = ("pde", "params", "seed", "n", "resolution", "pdekit_version",
                   "input_names", "output_names")


class _Damaged(Exception):
    """A check of :func:`read_info` failed: becomes a ValueError naming the file."""


def _attr(f: h5py.File | h5py.Dataset, name: str):
    if name not in f.attrs:
        raise _Damaged(f"it lacks the attribute {name!r}")
    return f.attrs[name]


def _str_attr(f, name: str, default: str | None = None) -> str:
    if default is not None and name not in f.attrs:
        return default
    v = _attr(f, name)
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
    if isinstance(v, bytes):
        try:
            return v.decode()
        except UnicodeDecodeError:
            raise _Damaged(f"attribute {name!r} is not UTF-8 text") from None
    if not isinstance(v, str):
        raise _Damaged(f"attribute {name!r} is {type(v).__name__} {v!r:.60}; expected text")
    return v


def _int_attr(f, name: str, *, minimum: int = 0) -> int:
    v = _attr(f, name)
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise _Damaged(f"attribute {name!r} is {v!r:.60}; expected an integer >= {minimum}")
    return int(v)


def _names_attr(f, name: str) -> tuple[str, ...]:
    v = _attr(f, name)
    items = list(v) if isinstance(v, (np.ndarray, list, tuple)) and np.ndim(v) == 1 else None
    if not items or not all(isinstance(s, (str, bytes)) for s in items):
        raise _Damaged(f"attribute {name!r} is {v!r:.60}; expected a list of channel names")
    try:
        return tuple(s.decode() if isinstance(s, bytes) else s for s in items)
    except UnicodeDecodeError:
        raise _Damaged(f"attribute {name!r} is not UTF-8 text") from None


def _json_attr(f: h5py.File, name: str, *, optional: bool = True) -> dict:
    """A JSON-object attribute (the optional ones are absent in older files: ``{}``)."""
    if optional and name not in f.attrs:
        return {}
    try:
        value = json.loads(_str_attr(f, name))
    except ValueError:  # JSONDecodeError
        value = None
    if not isinstance(value, dict):
        raise _Damaged(f"attribute {name!r} is not a JSON object")
    return value


def _array(f: h5py.File, name: str, *, kinds: str, shape: tuple | None = None) -> np.ndarray:
    obj = f.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise _Damaged(f"it lacks the dataset /{name}")
    if obj.dtype.kind not in kinds or (shape is not None and obj.shape != shape):
        want = f"shape {shape}" if shape is not None else "a numeric array"
        raise _Damaged(f"/{name} is {obj.dtype} of shape {obj.shape}; expected {want}")
    return obj[()]


def _check_axes(key: str, axes: str, shape: tuple[int, ...], coords: Mapping[str, np.ndarray]) -> None:
    names = axes.split(",")
    expected = sample_axes(shape[1:], coords) if len(shape) >= 3 else None
    if expected is None or axes != expected:
        raise _Damaged(f"/{key} has axes {axes!r} for shape {shape}; expected {expected!r}")
    for name, size in zip(names[1:-1], shape[1:-1]):
        c = coords.get(name.lower())
        if c is not None and name in ("X", "Y", "Z") and c.shape != (size,):
            raise _Damaged(f"/{key} axis {name} has {size} points but /coords/{name.lower()} has shape "
                           f"{c.shape}")


def read_info(path: str | os.PathLike) -> DatasetInfo:
    """Read and check the layout of a dataset file.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an HDF5 file, not a pdekit dataset of this format, or a damaged one (missing or
        mistyped attributes and datasets, inconsistent shapes, an HDF5 structure that
        cannot be read); the message says what was found and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no dataset file {str(path)!r}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{str(path)!r} is not a readable HDF5 file ({exc}); expected a pdekit "
                         f"dataset written by `pdekit generate`") from None
    try:
        with f:
            return _read_info(f, path)
    except _Damaged as exc:
        raise ValueError(f"{str(path)!r} is not a valid pdekit dataset: {exc}") from None
    except (OSError, RuntimeError, KeyError, TypeError, IndexError, AttributeError, OverflowError) as exc:
        # the HDF5 library's answer to a damaged file (a broken header, B-tree or heap)
        raise ValueError(f"{str(path)!r} is damaged: HDF5 cannot read it ({type(exc).__name__}: "
                         f"{str(exc)[:200]})") from None


def _read_info(f: h5py.File, path: Path) -> DatasetInfo:
    if "pdekit_format" not in f.attrs:
        raise ValueError(
            f"{str(path)!r} is an HDF5 file but not a pdekit dataset: it has no root attribute "
            f"'pdekit_format' (expected {FORMAT!r}); top-level keys: {sorted(f.keys())}"
        )
    fmt = _str_attr(f, "pdekit_format")
    if fmt != FORMAT:
        raise ValueError(f"{str(path)!r} has pdekit_format {fmt!r}; this pdekit reads {FORMAT!r}")
    missing = [a for a in _REQUIRED_ATTRS if a not in f.attrs]
    missing += [f"/{d}" for d in ("seeds", "completed", "coords") if d not in f]
    if missing:
        raise ValueError(f"{str(path)!r} is an incomplete pdekit dataset: missing {missing}")
    n = _int_attr(f, "n", minimum=1)
    if not isinstance(f["coords"], h5py.Group):
        raise _Damaged("/coords is not a group")
    coords = {k: _array(f, f"coords/{k}", kinds="fiu") for k in f["coords"]}
    params = _json_attr(f, "params", optional=False)
    header = DatasetHeader(
        pde=_str_attr(f, "pde"), summary=_str_attr(f, "summary", default=""), params=params,
        seed=_int_attr(f, "seed"), n=n, resolution=_int_attr(f, "resolution"),
        input_names=_names_attr(f, "input_names"), output_names=_names_attr(f, "output_names"),
        coords=coords, pdekit_version=_str_attr(f, "pdekit_version"),
        domain=_json_attr(f, "domain"), boundary_conditions=_json_attr(f, "boundary_conditions"),
        environment=_json_attr(f, "environment"),
    )
    completed = _array(f, "completed", kinds="bui", shape=(n,)).astype(bool)
    seeds = _array(f, "seeds", kinds="u", shape=(n,))
    shapes, axes = {}, {}
    for key, names in (("inputs", header.input_names), ("outputs", header.output_names)):
        if key not in f:
            if completed.any():
                raise ValueError(f"{str(path)!r} marks {int(completed.sum())} samples completed "
                                 f"but has no /{key} dataset")
            shapes[key] = axes[key] = None
            continue
        ds = f[key]
        if not isinstance(ds, h5py.Dataset) or ds.dtype != np.float32 or ds.ndim < 3 \
                or ds.shape[0] != n or ds.shape[-1] != len(names):
            raise ValueError(f"{str(path)!r}: /{key} is {getattr(ds, 'dtype', 'a group')} of shape "
                             f"{getattr(ds, 'shape', None)}; expected float32 ({n}, ..., {len(names)}) "
                             f"for {n} samples and channels {list(names)}")
        shapes[key] = tuple(ds.shape)
        axes[key] = _str_attr(ds, "axes")
        _check_axes(key, axes[key], shapes[key], coords)
    return DatasetInfo(path=path, header=header, completed=completed, seeds=seeds,
                       input_shape=shapes["inputs"], output_shape=shapes["outputs"],
                       input_axes=axes["inputs"], output_axes=axes["outputs"], format=fmt,
                       file_size=path.stat().st_size)
