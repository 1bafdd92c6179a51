"""Saving finite-element solutions for ParaView: one field (``.vtu``) or a time series (``.xdmf``).

* P1 functions are written on the mesh through :func:`pdekit.meshes.write` (``.vtu``, ``.xdmf``
  or ``.msh``; the tags come along, so :func:`pdekit.meshes.read` gives the mesh back).
* P2 functions are written at their own nodes, on VTK's quadratic cells (``triangle6``,
  ``tetra10``, ``line3``: vertices, then one node per edge in VTK's order), so ParaView shows
  the quadratic field, not its vertex values (``.vtu`` or ``.xdmf``).
* A :class:`~pdekit.solvers.fem.Trajectory` from :func:`~pdekit.solvers.fem.heat` or
  :func:`~pdekit.solvers.fem.wave` is written as one XDMF time series (``.xdmf`` with an
  ``.h5`` beside it): the mesh once, the field at every saved time (and ``{name}_t``, the
  velocity, for the wave equation). ParaView's time slider steps through it.

Vector fields in 2D are padded to three components, as ParaView expects for glyphs and
"warp by vector". Every write is atomic (the ``.h5`` is moved into place before the ``.xdmf``).

Examples
--------
>>> import numpy as np, os, tempfile
>>> from pdekit.meshes import unit_square
>>> from pdekit.solvers.fem import heat, poisson
>>> folder = tempfile.mkdtemp()
>>> uh = poisson(unit_square(4), f=1.0, degree=2)
>>> write_function(os.path.join(folder, "u.vtu"), uh).name
'u.vtu'
>>> tr = heat(unit_square(4), u0=lambda x: np.sin(np.pi * x[0]), dt=0.01, n_steps=3)
>>> write_function(os.path.join(folder, "T.xdmf"), tr).name
'T.xdmf'
>>> sorted(os.listdir(folder))
['T.h5', 'T.xdmf', 'u.vtu']
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import numpy as np

from pdekit._atomic import atomic_files, check_writable_dir, refuse_existing
from pdekit._validation import check_finite

from .function import FEFunction

__all__ = ["write_function", "QUADRATIC_CELL_TYPES"]

#: meshio / VTK name of the quadratic cell of each cell type (node order: vertices, then the
#: edges of :data:`~pdekit.solvers.fem.elements.REFERENCE_EDGES`, which is VTK's order)
QUADRATIC_CELL_TYPES = {"line": "line3", "triangle": "triangle6", "tetra": "tetra10"}


def _pad3(vals: np.ndarray) -> np.ndarray:
    if vals.ndim == 2 and vals.shape[1] == 2:
        vals = np.concatenate([vals, np.zeros((len(vals), 1))], axis=1)
    return vals


def _suffix(path: Path, allowed: tuple[str, ...], what: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ValueError(f"{what} is written as {' or '.join(allowed)} (what ParaView reads); got "
                         f"{str(path)!r}")
    return suffix


def _node_field(space, values: np.ndarray, name: str) -> np.ndarray:
    """Extend per-vertex values ``(n_points, ...)`` to all nodes (linear on each edge)."""
    dm = space.dofmap
    values = check_finite(name, np.asarray(values, dtype=np.float64))
    if values.shape[:1] == (dm.n_nodes,):
        return values
    if values.shape[:1] != (dm.n_points,):
        raise ValueError(f"point_data[{name!r}] has shape {values.shape}; expected ({dm.n_points}, ...) "
                         f"(per vertex) or ({dm.n_nodes}, ...) (per P2 node)")
    if dm.edges is None:
        return values
    return np.concatenate([values, 0.5 * (values[dm.edges[:, 0]] + values[dm.edges[:, 1]])])


def _cells(space) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Points ``(n_nodes, 3)`` and the one cell block of the space's nodes."""
    mesh, dm = space.mesh, space.dofmap
    points = np.zeros((dm.n_nodes, 3))
    points[:, : mesh.dim] = dm.node_coordinates
    kind = mesh.cell_type if space.degree == 1 else QUADRATIC_CELL_TYPES[mesh.cell_type]
    return points, [(kind, np.asarray(dm.cell_nodes, dtype=np.int64))]


def _split_coefficient(mesh, coefficient, coefficient_name: str) -> tuple[dict, dict]:
    if coefficient is None:
        return {}, {}
    a = check_finite(coefficient_name, np.asarray(coefficient, dtype=np.float64))
    if a.shape[:1] == (mesh.n_cells,):
        return {}, {coefficient_name: a}
    if a.shape[:1] == (mesh.n_points,):
        return {coefficient_name: a}, {}
    raise ValueError(f"{coefficient_name} has shape {a.shape}; expected ({mesh.n_cells},) "
                     f"(per cell) or ({mesh.n_points},) (per vertex)")


def write_function(path: str | os.PathLike, uh, *, name: str = "u", coefficient=None,
                   coefficient_name: str = "a", point_data: dict | None = None,
                   cell_data: dict | None = None, overwrite: bool = False) -> Path:
    """Write a finite-element function, or a trajectory of them, with its mesh (for ParaView).

    Parameters
    ----------
    path : path-like
        For a P1 function: ``.vtu`` (ParaView), ``.xdmf`` or ``.msh``; for a P2 function:
        ``.vtu`` or ``.xdmf``; for a :class:`~pdekit.solvers.fem.Trajectory`: ``.xdmf`` (its
        ``.h5`` is written beside it).
    uh : FEFunction or Trajectory
        Scalar or vector function (P1 or P2), or the result of ``fem.heat`` / ``fem.wave``.
    name : str
        Field name of ``uh`` in the file (the wave velocity is ``name + "_t"``).
    coefficient : (m,) per-cell or (n_points,) per-vertex array, optional
        Written as cell or point data named ``coefficient_name`` (at every time step of a
        trajectory).
    point_data : dict name -> (n_points, ...) array, optional
        Further per-vertex fields (extended linearly to the edge nodes of a P2 space), or
        ``(n_nodes, ...)`` fields at every node.
    cell_data : dict name -> (m, ...) array, optional
        Further per-cell fields.
    overwrite : bool
        Replace ``path`` (and the ``.h5`` of an XDMF file) if it exists; otherwise an existing
        file is refused with FileExistsError before anything is written.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    TypeError
        ``uh`` is neither an FEFunction nor a Trajectory.
    FileExistsError
        ``path`` (or the ``.h5`` beside an ``.xdmf``) exists and ``overwrite`` is False.
    ValueError
        A suffix the kind of data cannot be written to, or a coefficient / field with a
        length that is neither the number of cells nor of points, or NaN.
    """
    from .transient import Trajectory

    if isinstance(uh, Trajectory):
        return _write_trajectory(path, uh, name=name, coefficient=coefficient,
                                 coefficient_name=coefficient_name, point_data=point_data,
                                 cell_data=cell_data, overwrite=overwrite)
    if not isinstance(uh, FEFunction):
        raise TypeError(f"write_function takes an FEFunction or a Trajectory (fem.heat / fem.wave); "
                        f"got {type(uh).__name__}; for a bare mesh use pdekit.meshes.write")
    mesh = uh.mesh
    pdata, cdata = _split_coefficient(mesh, coefficient, coefficient_name)
    pdata = {name: _pad3(uh.point_values() if uh.space.degree == 1 else uh.nodal_values()), **pdata,
             **(point_data or {})}
    cdata.update(cell_data or {})
    if uh.space.degree == 1:
        from pdekit.meshes import write

        return write(path, mesh, point_data=pdata, cell_data=cdata or None, overwrite=overwrite)
    path = check_writable_dir(path)
    _suffix(path, (".vtu", ".xdmf"), "a P2 function")
    refuse_existing(path, overwrite)
    points, cells = _cells(uh.space)
    pdata = {k: _node_field(uh.space, v, k) for k, v in pdata.items()}
    cdata = {"subdomain": mesh.subdomains, **cdata}
    return _write_meshio(path, points, cells, pdata, cdata, overwrite=overwrite)


def _write_meshio(path: Path, points, cells, pdata: dict, cdata: dict, *, overwrite: bool) -> Path:
    import meshio

    m = meshio.Mesh(points, cells, point_data=pdata,
                    cell_data={k: [np.asarray(v)] for k, v in cdata.items()})
    with atomic_files(path, overwrite=overwrite) as folder, warnings.catch_warnings(), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        meshio.write(folder / path.name, m)
    return path


def _write_trajectory(path, tr, *, name: str, coefficient, coefficient_name: str,
                      point_data: dict | None, cell_data: dict | None, overwrite: bool) -> Path:
    path = check_writable_dir(path)
    _suffix(path, (".xdmf",), "a time series (Trajectory)")
    refuse_existing(path, overwrite)
    space = tr.space
    mesh = space.mesh
    pdata, cdata = _split_coefficient(mesh, coefficient, coefficient_name)
    pdata.update(point_data or {})
    cdata = {"subdomain": mesh.subdomains, **cdata, **(cell_data or {})}
    pdata = {k: _node_field(space, v, k) for k, v in pdata.items()}
    points, cells = _cells(space)
    c = space.n_components

    def nodal(values: np.ndarray) -> np.ndarray:
        return _pad3(values if c == 1 else values.reshape(-1, c))

    with atomic_files(path, overwrite=overwrite) as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with _TimeSeriesWriter(folder / path.name) as writer:
            writer.write_points_cells(points, cells)
            for k, t in enumerate(np.asarray(tr.times, dtype=float)):
                fields = {name: nodal(tr.values[k]), **pdata}
                if tr.velocities is not None:
                    fields[f"{name}_t"] = nodal(tr.velocities[k])
                writer.write_data(float(t), point_data=fields,
                                  cell_data={k2: [np.asarray(v)] for k2, v in cdata.items()})
    return path


def _time_series_writer_class():
    from meshio.xdmf import TimeSeriesWriter

    class Writer(TimeSeriesWriter):
        """meshio's XDMF time-series writer, with its ``.h5`` beside the ``.xdmf`` (meshio 5.3
        opens it in the current working folder)."""

        def __enter__(self):
            import h5py

            self.h5_filename = str(self.filename.with_suffix(".h5"))
            self.h5_file = h5py.File(self.h5_filename, "w")
            return self

    return Writer


def _TimeSeriesWriter(filename: Path):
    return _time_series_writer_class()(filename, data_format="HDF")
