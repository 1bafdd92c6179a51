"""Writing finite-element functions for ParaView (``.vtu``) or other meshio formats.

Values are written at the mesh vertices (a P2 function is shown through its vertex values on
the linear cells); vector fields in 2D are padded to three components, as ParaView expects
for glyphs and "warp by vector". Writing goes through :func:`pdekit.meshes.write`, which is
atomic.

Examples
--------
>>> import numpy as np, os, tempfile
>>> from pdekit.meshes import unit_square
>>> from pdekit.solvers.fem import poisson
>>> uh = poisson(unit_square(4), f=1.0)
>>> path = write_function(os.path.join(tempfile.mkdtemp(), "u.vtu"), uh, coefficient=np.ones(32))
>>> path.name
'u.vtu'
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pdekit._validation import check_finite

from .function import FEFunction

__all__ = ["write_function"]


def _vertex_values(uh: FEFunction) -> np.ndarray:
    vals = uh.point_values()
    if vals.ndim == 2 and vals.shape[1] == 2:
        vals = np.concatenate([vals, np.zeros((len(vals), 1))], axis=1)
    return vals


def write_function(path: str | os.PathLike, uh: FEFunction, *, name: str = "u", coefficient=None,
                   coefficient_name: str = "a", point_data: dict | None = None,
                   cell_data: dict | None = None) -> Path:
    """Write ``uh`` (and optionally a coefficient) with its mesh.

    Parameters
    ----------
    path : path-like
        ``.vtu`` for ParaView; any suffix :func:`pdekit.meshes.write` knows.
    uh : FEFunction
        Scalar or vector function.
    name : str
        Field name of ``uh`` in the file.
    coefficient : (m,) per-cell or (n_points,) per-vertex array, optional
        Written as cell or point data named ``coefficient_name``.
    point_data, cell_data : dict, optional
        Further fields, ``(n_points, ...)`` / ``(m, ...)``.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValueError
        A coefficient with a length that is neither the number of cells nor of points, or NaN.
    """
    from pdekit.meshes import write

    mesh = uh.mesh
    pdata = {name: _vertex_values(uh)}
    pdata.update(point_data or {})
    cdata = dict(cell_data or {})
    if coefficient is not None:
        a = check_finite(coefficient_name, np.asarray(coefficient, dtype=np.float64))
        if a.shape[:1] == (mesh.n_cells,):
            cdata[coefficient_name] = a
        elif a.shape[:1] == (mesh.n_points,):
            pdata[coefficient_name] = a
        else:
            raise ValueError(f"{coefficient_name} has shape {a.shape}; expected ({mesh.n_cells},) "
                             f"(per cell) or ({mesh.n_points},) (per vertex)")
    return write(path, mesh, point_data=pdata, cell_data=cdata or None)
