"""Advection-diffusion u_t + v . grad u = kappa Laplacian(u) on a uniform grid."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pdekit._validation import check_choice, check_finite, check_positive
from pdekit.solvers._on_step import OnStep, step_hook
from pdekit.solvers.fd import stencils as ops

__all__ = ["advection_diffusion"]


def _velocity_field(velocity, shape: tuple[int, ...]) -> np.ndarray:
    d = len(shape)
    v = check_finite("velocity", np.asarray(velocity, dtype=float))
    if d == 1 and v.ndim == 0:
        v = v.reshape(1)
    if v.shape == (d,):
        return np.broadcast_to(v, shape + (d,))
    if v.shape == shape + (d,):
        return v
    if d == 1 and v.shape == shape:
        return v[..., None]
    raise ValueError(
        f"velocity must have shape ({d},) (constant) or {shape + (d,)} (one vector per grid "
        f"point) for a {d}D field of shape {shape}; got {v.shape}"
    )


def advection_diffusion(
    u0: np.ndarray,
    velocity: np.ndarray | float,
    kappa: float,
    t_final: float,
    *,
    dt: float,
    scheme: str = "upwind",
    time: str = "theta",
    theta: float = 0.5,
    bc: str = "periodic",
    record_every: int | None = None,
    on_step: OnStep | None = None,
    solver: str = "auto",
    preconditioner=None,
    rtol: float = 1e-10,
) -> np.ndarray:
    """Solve u_t + v . grad(u) = kappa Laplacian(u) (non-conservative form).

    Parameters
    ----------
    u0 : (s,), (s1, s2) or (s1, s2, s3) array
        Initial field (grid conventions of :mod:`pdekit.solvers.fd.stencils`).
    velocity : (d,) or (*u0.shape, d) array
        Constant or pointwise advecting velocity (a scalar is accepted in 1D).
    kappa : float
        Diffusivity (>= 0).
    t_final, dt : float
        End time and time step (shrunk to land on t_final).
    scheme : {"upwind", "central"}
        Advection differences: first-order upwind (monotone) or second-order central.
    time : {"theta", "imex"}
        ``"theta"``: theta method on advection and diffusion together; ``"imex"``: advection
        explicit (forward Euler, CFL |v| dt / h <= 1 with upwind), diffusion by the theta method.
    theta : float in [0, 1]
        Implicitness (0.5: Crank-Nicolson, second order in time with ``time="theta"``).
    bc : {"periodic", "dirichlet"}
        Dirichlet boundary nodes keep their values from ``u0``.
    record_every : int, optional
        Also return the states after every ``record_every`` steps.
    on_step : callable, optional
        ``on_step(step, t, state)`` after every time step, with ``state`` the array shaped like
        ``u0`` that recording every step would return (a read-only view; see
        :mod:`pdekit.solvers._on_step`).
    solver : {"auto", "direct", "cg", "pcg", "fcg"}
        Method of the implicit solves when their matrix is symmetric (``time="imex"``, or no
        velocity), as in :func:`pdekit.solvers.linear.solve`; the non-symmetric matrix of
        ``time="theta"`` with advection is factorised by sparse LU (``"auto"``/``"direct"`` only).
    preconditioner : str, Preconditioner or callable, optional
        As in :func:`pdekit.solvers.linear.solve`.
    rtol : float
        Relative residual of every iterative implicit solve.

    Returns
    -------
    u : array shaped like ``u0``, or (T, *u0.shape) when recording.

    Notes
    -----
    Order in space: 1 (upwind) or 2 (central); in time: 2 for ``time="theta", theta=0.5``,
    1 otherwise. Explicit central advection (``time="imex", scheme="central"``) is stable
    only with enough diffusion (cell Peclet number |v| h / kappa <= 2 and
    dt <= 2 kappa / |v|^2); prefer upwind there.
    """
    u0 = ops.check_field("u0", u0)
    kappa = float(check_finite("kappa", float(kappa)))
    if kappa < 0:
        raise ValueError(f"kappa must be >= 0; got {kappa}")
    check_choice("scheme", scheme, ("upwind", "central"))
    check_choice("time", time, ("theta", "imex"))
    check_choice("bc", bc, ("periodic", "dirichlet"))
    shape = u0.shape
    v = _velocity_field(velocity, shape)
    n_steps, dt = ops.time_steps(t_final, dt, record_every)
    n = u0.size
    advection = sp.csr_matrix((n, n))
    for axis in range(len(shape)):
        vel = v[..., axis].ravel()
        if not vel.any():
            continue
        deriv = ops.first_derivative(shape, axis, bc=bc, scheme=scheme, velocity_sign=vel)
        advection = advection + sp.diags(vel) @ deriv
    diffusion = kappa * ops.laplacian(shape, bc=bc)
    options = {"weights": ops.node_weights(shape, bc), "solver": solver, "preconditioner": preconditioner,
               "rtol": float(check_positive("rtol", rtol))}
    if time == "theta":
        step = ops.theta_stepper((diffusion - advection).tocsr(), dt, theta, **options)
    else:
        if not 0.0 <= float(theta) <= 1.0:
            raise ValueError(f"theta must lie in [0, 1]; got {theta}")
        eye = sp.identity(n, format="csr")
        explicit = (eye + dt * ((1.0 - theta) * diffusion - advection)).tocsr()
        if theta == 0.0:
            step = lambda u: explicit @ u  # noqa: E731
        else:
            solve = ops.implicit_solver((eye - theta * dt * diffusion).tocsr(), **options)
            step = lambda u: solve(explicit @ u, u)  # noqa: E731
    out = ops.integrate(step, u0.ravel(), n_steps, record_every,
                        after_step=step_hook(on_step, dt, lambda u: u.reshape(shape)))
    return out.reshape(out.shape[:-1] + shape)
