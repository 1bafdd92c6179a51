"""Exports of pdekit datasets to the layouts other groups' pipelines read: PDEBench and The Well.

``export_dataset("darcy.h5", "darcy_pdebench.h5", format="pdebench")`` writes the completed
samples of a pdekit dataset (``docs/data_format.md``) in the HDF5 layout that the target project's
loaders read, so pdekit data feeds their training code unchanged:

* **PDEBench** (``FNODatasetSingle`` / ``FNODatasetMult`` of ``pdebench.models.fno.utils``):
  a 2-D steady problem with one input and one output channel (Darcy flow) as ``nu (N, X, Y)``
  -> ``tensor (N, 1, X, Y)``; a one-channel 1-D trajectory as ``tensor (N, T, X)``; any other
  trajectory (2-D, 3-D, several channels) as one group per sample, ``"0000"/data (T, *spatial, C)``
  with ``"0000"/grid/x, y, z, t``. Coordinates go to ``x-coordinate``, ``y-coordinate``,
  ``z-coordinate``, ``t-coordinate``.
* **The Well** (``the_well.data.WellDataset``, its documented data format): fields grouped by tensor
  order in ``t0_fields`` / ``t1_fields`` / ``t2_fields`` (channels ``v_x, v_y`` of a dataset whose
  axes are ``x, y`` form the vector field ``v``), ``dimensions`` (``spatial_dims``, coordinates,
  ``time``), ``boundary_conditions`` (one group per axis with ``bc_type`` PERIODIC / WALL / OPEN and a
  boundary mask), ``scalars`` (the numeric generator parameters) and the root attributes
  ``dataset_name``, ``grid_type``, ``n_spatial_dims``, ``n_trajectories``, ``simulation_parameters``.

Trajectories: a time-dependent dataset whose inputs are the initial values of its outputs (pdekit's
convention: input channel ``u0`` for output channel ``u``) becomes one trajectory per sample that
starts at t = 0 with the input; other inputs (coefficients) become time-independent fields (The
Well) or, for Darcy, PDEBench's ``nu``. A dataset on a mesh has no place in these grid formats.
Numeric generator parameters are stored as root attributes (and The Well's scalars); all of them,
as JSON, in the root attribute ``pdekit_params``.
"""

from __future__ import annotations

import json
import numbers
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from pdekit._atomic import atomic_path, check_writable_dir
from pdekit._progress import as_progress
from pdekit._validation import check_choice
from pdekit.data.reading import read_info

__all__ = ["export_dataset", "FORMATS", "WELL_BOUNDARY_TYPES"]

FORMATS = ("pdebench", "the-well")
#: boundary types of The Well (its loader's ``BoundaryCondition`` enum)
WELL_BOUNDARY_TYPES = ("WALL", "OPEN", "PERIODIC")
_SPATIAL = ("x", "y", "z")
_CHUNK = 64  # samples read and written at a time


@dataclass
class _Plan:
    """What the exported fields are, decided once from the dataset's layout."""

    dims: list[str]                 # spatial axes, e.g. ["x", "y"]
    coords: dict[str, np.ndarray]
    times: np.ndarray               # (T,) times of the trajectory (or of the outputs)
    trajectory: bool                # inputs are the initial state: fields = [inputs, outputs] in time
    steady: bool                    # outputs have no time axis (and are not a trajectory)
    field_names: list[str]          # time-varying channels
    constant_names: list[str]       # time-independent channels (inputs that are not initial states)
    completed: np.ndarray           # indices of the samples exported
    params: dict[str, Any]
    pde: str
    boundary_conditions: dict[str, Any]


def export_dataset(path: str | os.PathLike, out: str | os.PathLike, *, format: str,
                   overwrite: bool = False, boundary_conditions: Mapping[str, str] | None = None,
                   dataset_name: str | None = None, progress: Any = None) -> Path:
    """Write the completed samples of the pdekit dataset ``path`` to ``out`` in another project's layout.

    Parameters
    ----------
    path : path-like
        A dataset written by ``pdekit generate`` on a grid (1-D, 2-D or 3-D).
    out : path-like
        The file to write (atomically).
    format : {"pdebench", "the-well"}
        See the module docstring.
    overwrite : bool
        Replace ``out`` if it exists (it is never the input itself).
    boundary_conditions : mapping axis -> type, optional
        The Well only: ``{"x": "periodic", "y": "wall"}`` (PERIODIC, WALL or OPEN, or pdekit's
        descriptions such as "dirichlet u = 0"), instead of what the dataset records (files of
        older pdekit versions record none).
    dataset_name : str, optional
        The Well's ``dataset_name`` (default: the problem's name).
    progress : True or a progress object, optional
        Reports the samples written (``pdekit._progress``).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    FileNotFoundError, ValueError
        No such dataset, not a pdekit dataset, no completed sample, mesh data, or a layout the
        target format cannot express (the message says which layouts it has).
    FileExistsError
        ``out`` exists and ``overwrite`` is False.
    """
    check_choice("format", format, FORMATS)
    src, dst = Path(path), Path(out)
    info = read_info(src)
    if dst.exists() and dst.resolve() == src.resolve():
        raise ValueError(f"{str(dst)!r} is the dataset being exported; write the export to another file")
    if dst.is_dir():
        raise IsADirectoryError(f"{str(dst)!r} is a folder; give the name of the .h5 file to write")
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{str(dst)!r} exists; pass overwrite=True (pdekit export --overwrite) to replace it")
    check_writable_dir(dst)
    plan = _plan(src, info, boundary_conditions)
    if format == "the-well":  # checked before anything is written
        plan.boundary_conditions = _well_boundaries(plan)
    report = as_progress(None if progress is False else progress)
    report.start(len(plan.completed), f"export to {format}")
    try:
        with h5py.File(src, "r") as f, atomic_path(dst, overwrite=overwrite) as tmp:
            with h5py.File(tmp, "w") as g:
                if format == "pdebench":
                    _write_pdebench(f, g, plan, report)
                else:
                    _write_well(f, g, plan, report, dataset_name or plan.pde)
    finally:
        report.close()
    return dst


# ------------------------------------------------------------------ reading the source
def _plan(src: Path, info, boundary_conditions) -> _Plan:
    h = info.header
    if "points" in h.coords:
        raise ValueError(f"{str(src)!r} holds mesh data ({h.pde}); PDEBench and The Well store fields on "
                         f"uniform grids only")
    completed = np.flatnonzero(info.completed)
    if completed.size == 0:
        raise ValueError(f"{str(src)!r} has no completed sample to export")
    dims = [d for d in _SPATIAL if d in h.coords]
    in_axes, out_axes = info.input_axes.split(","), info.output_axes.split(",")
    in_spatial = [a.lower() for a in in_axes[1:-1] if a != "T"]
    out_spatial = [a.lower() for a in out_axes[1:-1] if a != "T"]
    if in_spatial != dims or out_spatial != dims or "T" in in_axes:
        raise ValueError(f"{str(src)!r}: inputs {info.input_axes} and outputs {info.output_axes} must lie on the "
                         f"grid {dims} (inputs without a time axis) to be exported")
    timed = "T" in out_axes
    params = dict(h.params)
    initial = tuple(h.input_names) == tuple(f"{n}0" for n in h.output_names)
    if timed:
        t = np.asarray(h.coords.get("t", np.arange(1, info.output_shape[1] + 1)), dtype=np.float64)
    else:
        t = np.array([float(params["t_final"]) if isinstance(params.get("t_final"), numbers.Real) else 1.0])
    if initial and (timed or "t_final" in params):
        times, trajectory, steady = np.concatenate([[0.0], t]), True, False
    else:
        times, trajectory, steady = (t if timed else np.array([0.0])), False, not timed
    bcs = dict(boundary_conditions) if boundary_conditions is not None else _recorded_boundaries(h)
    return _Plan(dims=dims, coords={d: np.asarray(h.coords[d], dtype=np.float64) for d in dims}, times=times,
                 trajectory=trajectory, steady=steady, field_names=list(h.output_names),
                 constant_names=[] if trajectory else list(h.input_names), completed=completed,
                 params=params, pde=h.pde, boundary_conditions=bcs)


def _recorded_boundaries(header) -> dict:
    """What the file records; for files written before datasets recorded them, what the (registered)
    problem declares."""
    if header.boundary_conditions:
        return dict(header.boundary_conditions)
    from pdekit.data.problems import get_problem

    try:
        return dict(getattr(get_problem(header.pde), "boundary_conditions", {}) or {})
    except (KeyError, ValueError):
        return {}


def _chunks(f: h5py.File, plan: _Plan) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(offset, fields, constants)`` per chunk of completed samples.

    ``fields : (n, T, *spatial, C)`` time-varying (trajectories include the initial input state);
    ``constants : (n, *spatial, C_const)``.
    """
    inputs, outputs = f["inputs"], f["outputs"]
    for start in range(0, plan.completed.size, _CHUNK):
        idx = plan.completed[start:start + _CHUNK]
        x = inputs[idx].astype(np.float32)
        y = outputs[idx].astype(np.float32)
        if y.ndim == x.ndim:  # no time axis
            y = y[:, None]
        if plan.trajectory:
            y = np.concatenate([x[:, None], y], axis=1)
            x = x[..., :0]
        yield start, y, x


def _param_attrs(g: h5py.File, plan: _Plan) -> list[str]:
    """Numeric parameters as root attributes (all of them as JSON); returns their names."""
    numeric = [k for k, v in sorted(plan.params.items())
               if isinstance(v, numbers.Real) and not isinstance(v, bool)]
    for k in numeric:
        g.attrs[k] = float(plan.params[k])
    g.attrs["pdekit_params"] = json.dumps(plan.params, sort_keys=True)
    g.attrs["pdekit_pde"] = plan.pde
    return numeric


# ------------------------------------------------------------------ PDEBench
def _write_pdebench(f: h5py.File, g: h5py.File, plan: _Plan, report) -> None:
    n, d = plan.completed.size, len(plan.dims)
    shape = tuple(plan.coords[k].size for k in plan.dims)
    n_fields = len(plan.field_names)
    _param_attrs(g, plan)

    def coordinates():  # the single-file layouts only: FNODatasetMult reads every root key as a sample
        for k in plan.dims:
            g.create_dataset(f"{k}-coordinate", data=plan.coords[k].astype(np.float32))
        g.create_dataset("t-coordinate", data=plan.times.astype(np.float32))

    if plan.steady and d == 2 and n_fields == 1 and len(plan.constant_names) == 1:
        coordinates()
        # Darcy flow: nu (N, X, Y) -> tensor (N, 1, X, Y)
        tensor = g.create_dataset("tensor", shape=(n, 1, *shape), dtype=np.float32, chunks=(1, 1, *shape))
        nu = g.create_dataset("nu", shape=(n, *shape), dtype=np.float32, chunks=(1, *shape))
        for start, y, x in _chunks(f, plan):
            tensor[start:start + len(y)] = y[..., 0]
            nu[start:start + len(y)] = x[..., 0]
            report.update(len(y))
        return
    if not plan.trajectory or plan.constant_names:
        raise ValueError(
            f"PDEBench has no layout for this {plan.pde!r} dataset: its loaders read a 2-D Darcy problem "
            f"(one input channel 'nu' -> one output channel 'tensor') or trajectories whose first state is "
            f"the input (pdekit's convention: input channel 'u0' for output 'u'); this one maps inputs "
            f"{plan.constant_names} to outputs {plan.field_names}"
            + (" without a time axis" if plan.steady else "") + ". Export it to 'the-well' instead")
    n_t = plan.times.size
    if d == 1 and n_fields == 1:  # scalar 1-D trajectories: tensor (N, T, X)
        coordinates()
        tensor = g.create_dataset("tensor", shape=(n, n_t, *shape), dtype=np.float32, chunks=(1, n_t, *shape))
        for start, y, _ in _chunks(f, plan):
            tensor[start:start + len(y)] = y[..., 0]
            report.update(len(y))
        return
    width = max(4, len(str(n - 1)))  # one group per sample: "0000"/data (T, *spatial, C), "0000"/grid
    for start, y, _ in _chunks(f, plan):
        for j, sample in enumerate(y):
            group = g.create_group(f"{start + j:0{width}d}")
            group.create_dataset("data", data=sample)
            grid = group.create_group("grid")
            for k in plan.dims:
                grid.create_dataset(k, data=plan.coords[k].astype(np.float32))
            grid.create_dataset("t", data=plan.times.astype(np.float32))
        report.update(len(y))


# ------------------------------------------------------------------ The Well
def _well_bc(axis: str, value: Any) -> str:
    text = str(value).strip().lower()
    if text.startswith("periodic"):
        return "PERIODIC"
    if text.startswith(("open", "outflow", "absorbing", "radiation")):
        return "OPEN"
    if text.startswith(("wall", "dirichlet", "neumann", "no-slip", "noslip", "reflect", "robin")):
        return "WALL"
    raise ValueError(f"boundary condition {value!r} of axis {axis!r} has no counterpart in The Well; expected "
                     f"periodic, wall (Dirichlet, Neumann, no-slip) or open")


def _vector_fields(names: list[str], dims: list[str]) -> tuple[list[str], dict[str, list[int]]]:
    """Scalar channel names, and vector fields ``base -> channel indices`` (``base_x, base_y, ...``)."""
    vectors: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        base, _, axis = name.rpartition("_")
        if base and axis == dims[0] and all(f"{base}_{a}" in names for a in dims):
            vectors[base] = [names.index(f"{base}_{a}") for a in dims]
    used = {i for idx in vectors.values() for i in idx}
    return [n for i, n in enumerate(names) if i not in used], vectors


def _well_boundaries(plan: _Plan) -> dict[str, str]:
    """The Well's boundary type of every axis, from what the dataset records (or was given)."""
    bcs = {}
    for axis in plan.dims:
        if axis not in plan.boundary_conditions:
            raise ValueError(f"the dataset records no boundary condition for axis {axis!r} (nor does its problem "
                             f"{plan.pde!r}): pass boundary_conditions={{{axis!r}: 'periodic' | "
                             f"'wall' | 'open', ...}} (pdekit export --bc {axis}=periodic)")
        bcs[axis] = _well_bc(axis, plan.boundary_conditions[axis])
    return bcs


def _write_well(f: h5py.File, g: h5py.File, plan: _Plan, report, name: str) -> None:
    strings = h5py.string_dtype()
    n, d = plan.completed.size, len(plan.dims)
    shape = tuple(plan.coords[k].size for k in plan.dims)
    bcs = plan.boundary_conditions
    numeric = _param_attrs(g, plan)
    g.attrs["dataset_name"] = name
    g.attrs["grid_type"] = "cartesian"
    g.attrs["n_spatial_dims"] = np.int64(d)
    g.attrs["n_trajectories"] = np.int64(n)
    g.attrs["simulation_parameters"] = np.array(numeric, dtype=strings)

    dims = g.create_group("dimensions")
    dims.attrs["spatial_dims"] = np.array(plan.dims, dtype=strings)
    time = dims.create_dataset("time", data=plan.times.astype(np.float32))
    time.attrs["sample_varying"] = False
    for axis in plan.dims:
        c = dims.create_dataset(axis, data=plan.coords[axis].astype(np.float32))
        c.attrs["sample_varying"] = False
        c.attrs["time_varying"] = False

    boundaries = g.create_group("boundary_conditions")
    for axis, kind in bcs.items():
        b = boundaries.create_group(f"{axis}_{kind.lower()}")
        b.attrs["associated_dims"] = np.array([axis], dtype=strings)
        b.attrs["associated_fields"] = np.array([], dtype=strings)
        b.attrs["bc_type"] = kind
        b.attrs["sample_varying"] = False
        b.attrs["time_varying"] = False
        mask = np.zeros(plan.coords[axis].size, dtype=bool)
        mask[[0, -1]] = True
        b.create_dataset("mask", data=mask)

    scalars = g.create_group("scalars")
    scalars.attrs["field_names"] = np.array(numeric, dtype=strings)
    for k in numeric:
        s = scalars.create_dataset(k, data=np.array([plan.params[k]], dtype=np.float32))
        s.attrs["sample_varying"] = False
        s.attrs["time_varying"] = False

    variable, vectors = _vector_fields(plan.field_names, plan.dims)
    constant, const_vectors = _vector_fields(plan.constant_names, plan.dims)
    n_t = plan.times.size
    written = []  # (dataset, time-varying, channel indices, tensor order)
    groups = {order: g.create_group(f"t{order}_fields") for order in range(3)}
    listed: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for order, names, vecs, varying in ((0, variable, {}, True), (0, constant, {}, False),
                                        (1, [], vectors, True), (1, [], const_vectors, False)):
        source = plan.field_names if varying else plan.constant_names
        items = [(v, [source.index(v)]) for v in names] + list(vecs.items())
        for field, channels in items:
            lead = (n, n_t) if varying else (n,)
            tail = (d,) if order == 1 else ()
            ds = groups[order].create_dataset(field, shape=(*lead, *shape, *tail), dtype=np.float32,
                                              chunks=(1, *lead[1:], *shape, *tail))
            ds.attrs["dim_varying"] = np.ones(d, dtype=bool)
            ds.attrs["sample_varying"] = True
            ds.attrs["time_varying"] = varying
            written.append((ds, varying, channels, order))
            listed[order].append(field)
    for order in range(3):
        groups[order].attrs["field_names"] = np.array(listed[order], dtype=strings)
    for start, y, x in _chunks(f, plan):
        stop = start + len(y)
        for ds, varying, channels, order in written:
            data = y if varying else x
            ds[start:stop] = data[..., channels[0]] if order == 0 else data[..., channels]
        report.update(len(y))
