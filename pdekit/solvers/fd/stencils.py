"""Sparse finite-difference operators on uniform grids of the unit interval, square or cube.

Grid conventions shared by the time-dependent solvers of :mod:`pdekit.solvers.fd`:

* ``bc="periodic"``: s points x_j = j / s on [0, 1) per axis, spacing h = 1 / s;
* ``bc="dirichlet"``: s nodes x_j = j / (s - 1) on [0, 1], boundary nodes included; the
  operator rows of boundary nodes are zero, so time stepping holds them at their initial values;
* ``bc="neumann"``: same nodes, homogeneous Neumann by mirror ghost nodes (u_{-1} = u_1).

Fields are flattened in C order; axis i of an array is coordinate i.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit._progress import as_progress
from pdekit._validation import check_choice, check_finite, check_positive

__all__ = ["grid_spacing", "grid_coordinates", "laplacian", "first_derivative"]

BCS = ("periodic", "dirichlet", "neumann")


def grid_spacing(s: int, bc: str) -> float:
    """Spacing of an s-point grid: 1/s for periodic grids, 1/(s-1) for node grids."""
    check_choice("bc", bc, BCS)
    return 1.0 / s if bc == "periodic" else 1.0 / (s - 1)


def grid_coordinates(s: int, bc: str) -> np.ndarray:
    """Coordinates (s,) of the grid points along one axis (see the module conventions)."""
    return np.arange(s) * grid_spacing(s, bc)


def _check_shape(shape: Sequence[int], bc: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if not 1 <= len(shape) <= 3:
        raise ValueError(f"grid shape must be 1D, 2D or 3D; got {shape}")
    if min(shape) < 3:
        raise ValueError(f"every grid size must be >= 3 points; got shape {shape}")
    check_choice("bc", bc, BCS)
    return shape


def _laplacian_1d(s: int, bc: str) -> sp.csr_matrix:
    h = grid_spacing(s, bc)
    main, off = -2.0 * np.ones(s), np.ones(s - 1)
    lap = sp.diags([off, main, off], [-1, 0, 1], format="lil")
    if bc == "periodic":
        lap[0, s - 1] = lap[s - 1, 0] = 1.0
    elif bc == "dirichlet":
        lap[0, :] = 0.0
        lap[s - 1, :] = 0.0
    else:
        lap[0, 1] = lap[s - 1, s - 2] = 2.0
    return sp.csr_matrix(lap) / h**2


def _kron_axis(op: sp.spmatrix, shape: tuple[int, ...], axis: int, bc: str) -> sp.csr_matrix:
    out = None
    for i, s in enumerate(shape):
        if i == axis:
            factor = op
        else:
            eye = np.ones(s)
            if bc == "dirichlet":  # zero rows on every boundary node, not only this axis's
                eye[[0, -1]] = 0.0
            factor = sp.diags(eye)
        out = factor if out is None else sp.kron(out, factor, format="csr")
    return sp.csr_matrix(out)


def laplacian(shape: Sequence[int], *, bc: str = "periodic") -> sp.csr_matrix:
    """Second-order (2d+1)-point Laplacian on the grid of ``shape``.

    Parameters
    ----------
    shape : (s,), (s1, s2) or (s1, s2, s3)
    bc : {"periodic", "dirichlet", "neumann"}
        See the module conventions; Dirichlet boundary rows are zero.

    Returns
    -------
    (N, N) csr_matrix, N = prod(shape), acting on C-order flattened fields.
    """
    shape = _check_shape(shape, bc)
    ops = [_kron_axis(_laplacian_1d(s, bc), shape, axis, bc) for axis, s in enumerate(shape)]
    return sp.csr_matrix(sum(ops[1:], ops[0]))


def first_derivative(
    shape: Sequence[int], axis: int, *, bc: str = "periodic", scheme: str = "central",
    velocity_sign: np.ndarray | None = None,
) -> sp.csr_matrix:
    """d/dx_axis: second-order central, or first-order upwind for a velocity of given sign.

    Parameters
    ----------
    shape : grid shape
    axis : int
    bc : {"periodic", "dirichlet"}
        Dirichlet boundary rows are zero.
    scheme : {"central", "upwind"}
    velocity_sign : array of grid shape, optional
        Sign (or value) of the advecting velocity component; ``upwind`` takes the backward
        difference where it is >= 0 and the forward one elsewhere.

    Returns
    -------
    (N, N) csr_matrix
    """
    shape = _check_shape(shape, bc)
    check_choice("bc", bc, ("periodic", "dirichlet"))
    check_choice("scheme", scheme, ("central", "upwind"))
    s = shape[axis]
    h = grid_spacing(s, bc)

    def one_d(offsets, values):
        op = sp.diags([np.full(s - abs(o), v) for o, v in zip(offsets, values)], offsets,
                      format="lil")
        if bc == "periodic":
            for o, v in zip(offsets, values):
                if o > 0:
                    op[s - o, 0] = v
                elif o < 0:
                    op[0, s + o] = v
        else:
            op[0, :] = 0.0
            op[s - 1, :] = 0.0
        return _kron_axis(sp.csr_matrix(op) / h, shape, axis, bc)

    if scheme == "central":
        return one_d([-1, 1], [-0.5, 0.5])
    backward, forward = one_d([-1, 0], [-1.0, 1.0]), one_d([0, 1], [-1.0, 1.0])
    if velocity_sign is None:
        return backward
    positive = (np.asarray(velocity_sign).ravel() >= 0).astype(float)
    return sp.csr_matrix(sp.diags(positive) @ backward + sp.diags(1.0 - positive) @ forward)


# ---- helpers shared by the time steppers -------------------------------------------------


def time_steps(t_final: float, dt: float, record_every: int | None) -> tuple[int, float]:
    """Number of steps and the step that lands exactly on ``t_final`` (dt shrinks slightly)."""
    t_final = float(check_positive("t_final", t_final))
    dt = float(check_positive("dt", dt))
    n = max(1, math.ceil(t_final / dt - 1e-9))
    if record_every is not None:
        record_every = int(record_every)
        if record_every < 1 or n % record_every:
            raise ValueError(
                f"record_every must be a positive divisor of the number of steps {n} "
                f"(t_final / dt); got {record_every}"
            )
    return n, t_final / n


def integrate(step: Callable[[np.ndarray], np.ndarray], u: np.ndarray, n_steps: int,
              record_every: int | None, *, progress=None, desc: str = "time steps",
              after_step: Callable[[int, np.ndarray], None] | None = None) -> np.ndarray:
    """Apply ``step`` n_steps times; return the last state or the (T, ...) recorded states.

    ``progress`` (see :mod:`pdekit._progress`) is told about the steps about 100 times.
    ``after_step(i, u)`` is called after step ``i`` (1-based) with the advanced state (the
    solvers turn it into their public ``on_step(step, t, state)``, see
    :mod:`pdekit.solvers._on_step`). States are numpy arrays, or torch tensors (stacked with
    ``torch.stack``).
    """
    bar = as_progress(progress)
    bar.start(n_steps, desc)
    chunk = max(1, n_steps // 100)
    records = []
    try:
        for i in range(1, n_steps + 1):
            u = step(u)
            if after_step is not None:
                after_step(i, u)
            if record_every is not None and i % record_every == 0:
                records.append(u.clone() if hasattr(u, "clone") else u.copy())
            if i % chunk == 0 or i == n_steps:
                bar.update(chunk if i % chunk == 0 else i % chunk)
    finally:
        bar.close()
    if record_every is None:
        return u
    if hasattr(u, "clone"):  # torch tensors (navier_stokes accepts them)
        import torch

        return torch.stack(records)
    return np.stack(records)


def node_weights(shape: Sequence[int], bc: str) -> np.ndarray:
    """Positive weights ``w (N,)`` that make ``diag(w) @ laplacian(shape, bc=bc)`` symmetric on
    the rows it does not hold fixed: 1/2 per axis on which a Neumann node lies on the boundary
    (the trapezoid weights of the mirror-ghost scheme), 1 elsewhere."""
    shape = _check_shape(shape, bc)
    w = np.ones(1)
    for s in shape:
        w1 = np.ones(s)
        if bc == "neumann":
            w1[[0, -1]] = 0.5
        w = np.kron(w, w1)
    return w


def implicit_solver(matrix: sp.csr_matrix, *, weights: np.ndarray | None = None, solver: str = "auto",
                    preconditioner=None, rtol: float = 1e-10) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``solve(rhs, guess)`` for the implicit matrix of a time step, prepared once for every step.

    Rows of ``matrix`` that are unit rows (Dirichlet nodes held fixed) are eliminated; when
    ``diag(weights)`` times the rest is symmetric (diffusion: it is then positive definite) it
    goes through :class:`pdekit.solvers.linear.LinearSolver` (``solver`` and ``preconditioner``
    as in :func:`pdekit.solvers.linear.solve`; ``"auto"`` weighs one factorisation against many
    iterative solves, and iterative solves start from ``guess``, the previous state). A
    non-symmetric matrix (advection) is factorised by sparse LU (``solver`` must be ``"auto"``
    or ``"direct"``).
    """
    from pdekit.solvers.linear import LinearSolver

    matrix = sp.csr_matrix(matrix)
    matrix.eliminate_zeros()
    n = matrix.shape[0]
    rows = np.repeat(np.arange(n), np.diff(matrix.indptr))
    unit = np.zeros(n, dtype=bool)  # a row whose only entry is a diagonal 1
    unit[rows[(rows == matrix.indices) & (matrix.data == 1.0)]] = True
    unit &= np.diff(matrix.indptr) == 1
    free = np.flatnonzero(~unit)
    fixed = np.flatnonzero(unit)
    if free.size == 0:  # nothing implicit (no diffusion, every node fixed)
        return lambda rhs, guess: rhs.copy()
    w = np.ones(free.size) if weights is None else np.asarray(weights, dtype=float)[free]
    block = matrix[free][:, free]
    A = sp.csr_matrix(sp.diags(w) @ block)
    if abs(A - A.T).max() <= 1e-12 * abs(A).max():
        coupling = sp.csr_matrix(sp.diags(w) @ matrix[free][:, fixed])
        linear = LinearSolver(A, method=solver, preconditioner=preconditioner, rtol=rtol, check_symmetry=False,
                              repeated=True, reuse=False)

        def solve(rhs: np.ndarray, guess: np.ndarray) -> np.ndarray:
            out = rhs.copy()
            b = w * rhs[free] - coupling @ rhs[fixed] if fixed.size else w * rhs[free]
            out[free] = linear.solve(b, x0=guess[free] if linear.method != "direct" else None)[0]
            return out

        return solve
    if solver not in ("auto", "direct") or preconditioner is not None:
        raise ValueError(f"the implicit step matrix is not symmetric (advection): only the direct solver "
                         f"applies (solver='auto' or 'direct', no preconditioner); got solver={solver!r}"
                         + ("" if preconditioner is None else " with a preconditioner"))
    lu = spla.splu(matrix.tocsc())
    return lambda rhs, guess: lu.solve(rhs)


def theta_stepper(op: sp.csr_matrix, dt: float, theta: float, *, weights: np.ndarray | None = None,
                  solver: str = "auto", preconditioner=None, rtol: float = 1e-10) -> Callable[[np.ndarray], np.ndarray]:
    """One theta-method step of du/dt = op u (theta = 1/2: Crank-Nicolson, 1: backward Euler).

    The implicit system ``(I - theta dt op) u_new = (I + (1 - theta) dt op) u`` is solved by
    :func:`implicit_solver` (``weights``, ``solver``, ``preconditioner``, ``rtol``: see there).
    """
    theta = float(theta)
    if not 0.0 <= theta <= 1.0:
        raise ValueError(f"theta must lie in [0, 1]; got {theta}")
    n = op.shape[0]
    eye = sp.identity(n, format="csr")
    explicit = (eye + (1.0 - theta) * dt * op).tocsr()
    if theta == 0.0:
        return lambda u: explicit @ u
    solve = implicit_solver((eye - theta * dt * op).tocsr(), weights=weights, solver=solver,
                            preconditioner=preconditioner, rtol=rtol)
    return lambda u: solve(explicit @ u, u)


def check_field(name: str, u, ndims=(1, 2, 3)) -> np.ndarray:
    """A finite float array with 1 to 3 dimensions."""
    u = np.asarray(u, dtype=float)
    if u.ndim not in ndims:
        exp = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must be a {exp}-dimensional grid field; got shape {u.shape}")
    return check_finite(name, u)
