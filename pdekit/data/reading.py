"""Reading a dataset file: :func:`read_info` checks its layout and returns a :class:`DatasetInfo`.

Everything :func:`read_info` reads is checked (attribute types, dataset dtypes and shapes, the
``axes`` attributes against the coordinates), and the HDF5 library's own errors on a damaged
file (a broken header, B-tree or heap) become ``ValueError``: a damaged or foreign file raises
``ValueError`` naming what is wrong, a missing one ``FileNotFoundError``. The layout itself is
described in :mod:`pdekit.data.layout`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Mapping

import h5py
import numpy as np

from pdekit.data.layout import FORMAT, DatasetHeader, sample_axes

__all__ = ["DatasetInfo", "read_info"]


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
