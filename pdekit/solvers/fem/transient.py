"""Time-dependent problems: the heat equation (theta scheme) and the wave equation (Newmark).

Both assemble once, condense the (time-independent) Dirichlet conditions once, prepare the
step matrix once (:class:`pdekit.solvers.linear.LinearSolver`: by default a sparse LU factorisation
for 2D meshes, AMG-preconditioned CG started from the previous step for 3D ones, the measured
faster choice for many steps; ``solver=`` and ``preconditioner=`` choose as in
:func:`pdekit.solvers.linear.solve`), and then march with one solve per step.

* Heat: ``c du/dt - div(a grad u) = f``; ``theta = 1/2`` is Crank–Nicolson (second order),
  ``theta = 1`` backward Euler (first order, L-stable).
* Wave: ``d2u/dt2 - div(c^2 grad u) = f``; Newmark's average-acceleration scheme
  (``beta = 1/4, gamma = 1/2``): second order, unconditionally stable, and it conserves the
  discrete energy ``(v.M v + u.K u) / 2`` exactly when ``f = 0``. This is the setting of
  finite-element wave data for surrogate training (e.g. :func:`wave` with a random pulse).

Examples
--------
>>> import numpy as np
>>> from pdekit.meshes import unit_square
>>> tr = heat(unit_square(8), u0=lambda x: np.sin(np.pi * x[0]) * np.sin(np.pi * x[1]),
...           dt=0.01, n_steps=10)
>>> tr.values.shape, float(tr.times[-1])
((11, 81), 0.1)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pdekit._progress import as_progress
from pdekit._validation import check_positive
from pdekit.solvers._on_step import OnStep, step_hook

from .boundary import condense, dirichlet_values
from .diffusion import dirichlet_dofs
from .forms import load_vector, mass_matrix, stiffness_matrix
from .function import FEFunction, interpolate
from .space import FunctionSpace, function_space

__all__ = ["Trajectory", "heat", "wave"]


@dataclasses.dataclass
class Trajectory:
    """Saved states of a time-dependent solve.

    Attributes
    ----------
    space : FunctionSpace
    times : (k,) float array
    values : (k, n_dofs) float array
        Dofs at each saved time (the initial state first).
    velocities : (k, n_dofs) float array or None
        Time derivatives at the saved times (wave equation); None for the heat equation.
    """

    space: FunctionSpace
    times: np.ndarray
    values: np.ndarray
    velocities: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, i: int) -> FEFunction:
        """The state at saved step ``i`` as an :class:`FEFunction`."""
        return FEFunction(self.space, self.values[i])


def _check_steps(dt: float, n_steps: int, save_every: int) -> None:
    check_positive("dt", dt)
    for name, v in (("n_steps", n_steps), ("save_every", save_every)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")


def _step_solver(A, solver: str, preconditioner, rtol: float):
    """The step matrix prepared once for every step's solve (see the module doc)."""
    from pdekit.solvers.linear import LinearSolver

    return LinearSolver(A, method=solver, preconditioner=preconditioner, rtol=rtol, check_symmetry=False,
                        repeated=True, reuse=False)


def _solve_step(step_solver, rhs, previous):
    x0 = previous if step_solver.method != "direct" else None
    return step_solver.solve(rhs, x0=x0)[0]


def heat(mesh, *, u0, dt: float, n_steps: int, f=0.0, a=1.0, c=1.0, theta: float = 0.5,
         dirichlet=0.0, dirichlet_tag=None, degree: int = 1, save_every: int = 1,
         progress=None, on_step: OnStep | None = None, solver: str = "auto", preconditioner=None,
         rtol: float = 1e-10) -> Trajectory:
    """Solve ``c du/dt - div(a grad u) = f`` with the theta scheme.

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
    u0 : number, callable ``u0(x)`` (``x (d, n)``) or array ``(n_dofs,)``
        Initial condition (interpolated).
    dt : float
        Time step (> 0).
    n_steps : int
    f, a, c : coefficients (number, callable, per-cell array, ...)
        Source (time-independent), conductivity (> 0) and heat capacity (> 0).
    theta : float in [0.5, 1]
        0.5 Crank–Nicolson, 1 backward Euler.
    dirichlet : number, callable or None
        Boundary value on ``dirichlet_tag`` (None: insulated, pure Neumann).
    dirichlet_tag : str, int, sequence or None
        None is the whole boundary.
    degree : {1, 2}
    save_every : int
        Keep every ``save_every``-th state (and the initial one).
    progress : progress object, optional
        Receives one update per step.
    on_step : callable, optional
        ``on_step(step, t, u)`` after every time step, with ``u (n_dofs,)`` the dofs that
        ``Trajectory.values`` holds for that step with ``save_every=1`` (a read-only view;
        see :mod:`pdekit.solvers._on_step`).
    solver, preconditioner : optional
        How each step's SPD system ``(M + theta dt K) u = ...`` is solved, as in
        :func:`pdekit.solvers.linear.solve` (see the module doc for ``"auto"``).
    rtol : float
        Relative residual of the iterative step solves.

    Returns
    -------
    Trajectory
    """
    _check_steps(dt, n_steps, save_every)
    if not 0.5 <= theta <= 1.0:
        raise ValueError(f"theta must lie in [0.5, 1] (stable schemes); got {theta}")
    space = function_space(mesh, degree)
    K = stiffness_matrix(space, _positive(space, a, "a"))
    M = mass_matrix(space, _positive(space, c, "c"))
    b = load_vector(space, f)
    u = interpolate(space, u0, name="u0").values
    lhs = (M + theta * dt * K).tocsr()
    rhs_op = (M - (1.0 - theta) * dt * K).tocsr()
    if dirichlet is None:
        free, dofs, g = np.arange(space.n_dofs), np.zeros(0, dtype=np.int64), np.zeros(0)
        A = lhs
    else:
        dofs = dirichlet_dofs(space, dirichlet_tag)
        g = dirichlet_values(space, dofs, dirichlet)
        system = condense(lhs, np.zeros(space.n_dofs), dofs, g)
        A, free = system.matrix, system.free
        lift_rhs = system.rhs  # -A_FD g
        u[dofs] = g
    step_solver = _step_solver(A, solver, preconditioner, rtol)
    return _march(space, u, dt, n_steps, save_every, progress, "heat", on_step,
                  lambda u: _heat_step(u, step_solver, rhs_op, b, dt, free, dofs, g,
                                       lift_rhs if dirichlet is not None else 0.0))


def _heat_step(u, step_solver, rhs_op, b, dt, free, dofs, g, lift_rhs):
    r = rhs_op @ u + dt * b
    new = u.copy()
    new[free] = _solve_step(step_solver, r[free] + lift_rhs, u[free])
    new[dofs] = g
    return new


def _positive(space, coef, name):
    from .function import at_quadrature

    rule = space.quadrature(3 * space.degree)
    at_quadrature(space, coef, rule, name=name, positive=True)
    return coef


def _march(space, state, dt, n_steps, save_every, progress, desc, on_step, step) -> Trajectory:
    """Run ``step`` n_steps times; ``state`` is an array or a tuple (u, v, ...)."""
    pair = isinstance(state, tuple)
    hook = step_hook(on_step, dt, (lambda s: s[0]) if pair else (lambda s: s))
    prog = as_progress(progress)
    prog.start(n_steps, desc)
    times, saved, vel = [0.0], [(state[0] if pair else state).copy()], [state[1].copy()] if pair else []
    try:
        for k in range(1, n_steps + 1):
            state = step(state)
            if hook is not None:
                hook(k, state)
            if k % save_every == 0 or k == n_steps:
                times.append(k * dt)
                saved.append((state[0] if pair else state).copy())
                if pair:
                    vel.append(state[1].copy())
            prog.update(1)
    finally:
        prog.close()
    return Trajectory(space, np.array(times), np.array(saved), np.array(vel) if pair else None)


def wave(mesh, *, u0, dt: float, n_steps: int, v0=0.0, c=1.0, f=0.0, dirichlet_tag=None,
         degree: int = 1, save_every: int = 1, progress=None,
         on_step: OnStep | None = None, solver: str = "auto", preconditioner=None,
         rtol: float = 1e-12) -> Trajectory:
    """Solve ``d2u/dt2 - div(c^2 grad u) = f`` with ``u = 0`` on the boundary (Newmark).

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
        Usually 2D (the setting of FE wave data for surrogates); 3D works the same.
    u0, v0 : number, callable or array ``(n_dofs,)``
        Initial displacement and velocity (interpolated; set to 0 on the boundary).
    dt : float
    n_steps : int
    c : number, callable or per-cell array
        Wave speed (> 0); the stiffness uses ``c^2``.
    f : coefficient
        Time-independent source.
    dirichlet_tag : str, int, sequence or None
        Clamped (``u = 0``) part of the boundary; None is the whole boundary.
    degree : {1, 2}
    save_every : int
    progress : progress object, optional
    on_step : callable, optional
        ``on_step(step, t, u)`` after every time step, with ``u (n_dofs,)`` the displacement
        that ``Trajectory.values`` holds for that step with ``save_every=1`` (a read-only
        view; see :mod:`pdekit.solvers._on_step`).
    solver, preconditioner : optional
        How each step's SPD system ``(M + dt^2 K / 4) a = ...`` (and the initial mass solve)
        is solved, as in :func:`pdekit.solvers.linear.solve`.
    rtol : float
        Relative residual of the iterative solves (energy is conserved to about this).

    Returns
    -------
    Trajectory
        Displacements; energy is conserved to round-off when ``f = 0`` (to ``rtol`` with an
        iterative solver).
    """
    _check_steps(dt, n_steps, save_every)
    space = function_space(mesh, degree)
    speed = _positive(space, c, "c")
    if callable(speed):
        c2 = lambda x: np.asarray(speed(x), dtype=np.float64) ** 2  # noqa: E731
    else:
        c2 = np.asarray(speed, dtype=np.float64) ** 2
    K = stiffness_matrix(space, c2)
    M = mass_matrix(space)
    b = load_vector(space, f)
    dofs = dirichlet_dofs(space, dirichlet_tag)
    mask = np.ones(space.n_dofs, dtype=bool)
    mask[dofs] = False
    free = np.flatnonzero(mask)
    Kf, Mf, bf = K[free][:, free].tocsr(), M[free][:, free].tocsr(), b[free]
    u = np.zeros(space.n_dofs)
    v = np.zeros(space.n_dofs)
    u[free] = interpolate(space, u0, name="u0").values[free]
    v[free] = interpolate(space, v0, name="v0").values[free]
    acc = np.zeros(space.n_dofs)
    acc[free] = _solve_step(_step_solver(Mf, solver, preconditioner, rtol), bf - Kf @ u[free], None)
    step_solver = _step_solver((Mf + 0.25 * dt * dt * Kf).tocsr(), solver, preconditioner, rtol)

    def step(state):
        u, v, acc = state
        pred = u[free] + dt * v[free] + 0.25 * dt * dt * acc[free]
        acc_new = np.zeros_like(acc)
        acc_new[free] = _solve_step(step_solver, bf - Kf @ pred, acc[free])
        u_new, v_new = u.copy(), v.copy()
        u_new[free] = pred + 0.25 * dt * dt * acc_new[free]
        v_new[free] = v[free] + 0.5 * dt * (acc[free] + acc_new[free])
        return u_new, v_new, acc_new

    return _march(space, (u, v, acc), dt, n_steps, save_every, progress, "wave", on_step, step)
