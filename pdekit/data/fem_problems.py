"""Finite-element PDE problems for :func:`pdekit.data.generate`.

Registered names:

* ``darcy-fem``: Darcy flow ``-div(a grad p) = f``, ``p = 0`` on the boundary, on a triangle
  or tetrahedron mesh, with Lagrange P1 / P2 elements. The permeability ``a`` maps a Gaussian
  random field (random Fourier features, :mod:`pdekit.solvers.random_fields`) to
  ``a_high`` / ``a_low`` (``coefficient="threshold"``, 12 / 3 as in the FNO set) or to
  ``exp(scale g)`` (``"lognormal"``); it is constant per cell (the field at the centroid) in
  the solve and stored at the vertices as the input. Inputs ``a (n_points, 1)``, outputs
  ``p (n_points, 1)`` (vertex values, also for P2). ``mesh`` is a path to a mesh file that
  :func:`pdekit.meshes.read` understands (``pdekit generate darcy-fem --mesh FILE``); empty,
  the unit square with ``resolution`` nodes per side. The coordinates stored beside the
  samples are the mesh's ``points (n_points, d)`` and ``cells (m, d+1)``. ``solver`` and
  ``preconditioner`` are those of :func:`pdekit.solvers.linear.solve` (empty: the measured
  default); ``dcdm-algebraic`` runs deep conjugate directions with the shipped network for
  unstructured FEM matrices.

* ``wave-fem``: the wave equation ``u_tt = div(c^2 grad u)``, ``u = 0`` on the boundary,
  from rest, with a Gaussian-random-field initial displacement (``length_scale``), solved
  with P1 / P2 elements and Newmark's average-acceleration scheme (energy-conserving) — the
  setting of finite-element wave data for surrogate training. Inputs ``u0 (n_points, 1)``,
  outputs ``u (T, n_points, 1)`` at ``n_records`` equally spaced times up to ``t_final``
  (stored as the coordinate ``t``). Same ``mesh`` parameter as ``darcy-fem``.

A worker process keeps the mesh, its function space and the assembled sparsity pattern, so
after the first sample every solve re-assembles the stiffness matrix with one sparse product.
"""

from __future__ import annotations

import numpy as np

from pdekit.data import limits as L
from pdekit.data.problems import (Problem, Sample, preconditioner_name, register_problem,
                                  resolve_preconditioner)
from pdekit.solvers.linear.dispatch import LEGACY_METHODS, METHODS

#: the ``solver`` parameter: a method of pdekit.solvers.linear.solve (or a legacy name it maps)
SOLVE_METHODS = (*METHODS, *LEGACY_METHODS)

__all__ = ["load_mesh", "record_steps"]

#: per-process cache: (mesh path or None, resolution) -> Mesh
_MESHES: dict = {}


def load_mesh(resolution: int, mesh: str | None = None):
    """The mesh of a ``darcy-fem`` dataset (cached per process).

    Parameters
    ----------
    resolution : int
        Nodes per side of the unit square (>= 2), used when ``mesh`` is empty.
    mesh : str, optional
        Path to a mesh file readable by :func:`pdekit.meshes.read`.

    Raises
    ------
    FileNotFoundError / ValueError
        Missing or unreadable mesh file (the message names the file), a mesh that is not of
        triangles or tetrahedra, or a resolution below 2.
    """
    from pdekit import meshes

    key = (str(mesh), None) if mesh else (None, int(resolution))
    if key not in _MESHES:
        if mesh:
            m = meshes.read(mesh)
            if m.cell_type not in ("triangle", "tetra"):
                raise ValueError(f"mesh file {str(mesh)!r} holds {m.cell_type!r} cells; darcy-fem "
                                 "needs triangles or tetrahedra")
        else:
            if int(resolution) < 2:
                raise ValueError(f"resolution must be >= 2 nodes per side; got {resolution}")
            m = meshes.unit_square(int(resolution) - 1)
        _MESHES.clear()  # one mesh per worker at a time
        _MESHES[key] = m
    return _MESHES[key]


def _mesh_check(resolution: int, *, mesh, **_) -> None:
    """A mesh file must exist (the unit square of ``resolution`` nodes per side is made)."""
    from pathlib import Path

    if mesh and not Path(mesh).is_file():
        raise FileNotFoundError(f"mesh file {mesh!r} not found; give a file pdekit.meshes.read reads "
                                f"(.msh, .vtu, .xdmf), or no --mesh for the unit square")


def _darcy_fem_solve(rng, resolution, *, mesh, degree, coefficient, length_scale, kernel,
                     n_features, a_high, a_low, scale, f, solver, preconditioner) -> Sample:
    from pdekit.meshes import cell_centroids
    from pdekit.solvers.fem import poisson
    from pdekit.solvers.random_fields import coefficient_from_field, draw_random_field

    m = load_mesh(resolution, mesh)
    field = draw_random_field(rng, m.dim, length_scale=length_scale, kernel=kernel,
                              n_features=n_features)
    kw = dict(a_high=a_high, a_low=a_low, scale=scale)
    a_cells = coefficient_from_field(field(cell_centroids(m.points, m.cells).T), coefficient, **kw)
    a_nodes = coefficient_from_field(field(np.ascontiguousarray(m.points.T)), coefficient, **kw)
    p = poisson(m, f=f, a=a_cells, degree=degree, solver=solver,
                preconditioner=resolve_preconditioner(preconditioner))
    return Sample(inputs=a_nodes[:, None], outputs=p.point_values()[:, None])


def _darcy_fem_coordinates(resolution, *, mesh, **_) -> dict:
    m = load_mesh(resolution, mesh)
    return {"points": m.points, "cells": m.cells}


register_problem(Problem(
    name="darcy-fem",
    summary="Darcy flow on a triangle/tetra mesh (FEM P1/P2): random permeability -> pressure",
    defaults={"mesh": "", "degree": 1, "coefficient": "threshold", "length_scale": 0.1,
              "kernel": "gaussian", "n_features": 256, "a_high": 12.0, "a_low": 3.0,
              "scale": 1.0, "f": 1.0, "solver": "auto", "preconditioner": ""},
    solve=_darcy_fem_solve, coordinates=_darcy_fem_coordinates,
    input_names=("a",), output_names=("p",),
    limits={"degree": L.one_of(1, 2), "coefficient": L.one_of("threshold", "lognormal"),
            "length_scale": L.positive, "kernel": L.one_of("gaussian", "matern"),
            "n_features": L.at_least(1), "a_high": L.positive, "a_low": L.positive,
            "scale": L.positive, "solver": L.one_of(*SOLVE_METHODS),
            "preconditioner": preconditioner_name},
    resolution_range=(2, 2049), check=_mesh_check,
    boundary_conditions={"boundary": "dirichlet p = 0"},
), replace=True)


def record_steps(t_final: float, dt: float, n_records: int) -> tuple[int, float]:
    """Steps per record and the step size that put ``n_records`` records on ``(0, t_final]``
    with a step no larger than ``dt``."""
    if not t_final > 0 or not dt > 0:
        raise ValueError(f"t_final and dt must be positive; got t_final={t_final}, dt={dt}")
    if int(n_records) < 1:
        raise ValueError(f"n_records must be >= 1; got {n_records}")
    per = max(1, int(np.ceil(t_final / (dt * int(n_records)) - 1e-9)))
    return per, t_final / (per * int(n_records))


def _wave_fem_solve(rng, resolution, *, mesh, degree, c, t_final, n_records, dt, length_scale,
                    kernel, n_features) -> Sample:
    from pdekit.solvers.fem import wave
    from pdekit.solvers.random_fields import draw_random_field

    m = load_mesh(resolution, mesh)
    per, step = record_steps(t_final, dt, n_records)
    u0 = draw_random_field(rng, m.dim, length_scale=length_scale, kernel=kernel,
                           n_features=n_features)
    tr = wave(m, u0=u0, c=c, dt=step, n_steps=per * int(n_records), degree=degree, save_every=per)
    k = m.n_points
    return Sample(inputs=tr.values[0, :k, None], outputs=tr.values[1:, :k, None])


def _wave_fem_coordinates(resolution, *, mesh, t_final, n_records, **_) -> dict:
    m = load_mesh(resolution, mesh)
    t = float(t_final) * np.arange(1, int(n_records) + 1) / int(n_records)
    return {"points": m.points, "cells": m.cells, "t": t}


register_problem(Problem(
    name="wave-fem",
    summary="2D/3D wave equation on a mesh (FEM, Newmark): random initial displacement -> u(t)",
    defaults={"mesh": "", "degree": 1, "c": 1.0, "t_final": 1.0, "n_records": 10, "dt": 0.01,
              "length_scale": 0.1, "kernel": "gaussian", "n_features": 256},
    solve=_wave_fem_solve, coordinates=_wave_fem_coordinates,
    input_names=("u0",), output_names=("u",),
    limits={"degree": L.one_of(1, 2), "c": L.positive, "t_final": L.positive, "n_records": L.at_least(1),
            "dt": L.positive, "length_scale": L.positive, "kernel": L.one_of("gaussian", "matern"),
            "n_features": L.at_least(1)},
    resolution_range=(2, 2049), check=_mesh_check,
    boundary_conditions={"boundary": "dirichlet u = 0"},
), replace=True)
