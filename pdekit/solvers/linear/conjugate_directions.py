"""Deep conjugate direction method (DCDM; Kaneda et al., ICML 2023).

At every iteration a network maps the normalized residual ``r / ||r||`` to a direction, which
is A-orthogonalized against the last ``k`` search directions and followed by an exact line
search. This is flexible CG with a learned (possibly nonlinear) map in place of a
preconditioner, so it stays correct whatever the network returns; convergence is decided by the
true residual. The network approximates ``A^-1`` up to a constant factor, which the line search
absorbs.

The solver knows nothing of neural networks: ``network`` is a plain callable ``r -> d``.
pdekit's learned networks (:mod:`pdekit.operators.dcdm`) are turned into one by their
``bind(A, shape=...)`` method, which :func:`dcdm` calls when the object has it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from pdekit.solvers.linear._common import as_system, finish
from pdekit.solvers.linear.krylov import flexible_cg

__all__ = ["dcdm"]


def dcdm(A: Any, b, x0=None, *, network: Any, shape: Sequence[int] | None = None,
         unknowns: np.ndarray | None = None, rtol: float = 1e-5,
         atol: float = 0.0, maxiter: int | None = None, k: int = 2, callback: Callable | None = None,
         stall_ratio: float | None = None, check_symmetry: bool = True, true_residuals: bool = True,
         throw: bool = False):
    """Solve the SPD system ``A x = b`` by deep conjugate directions.

    Parameters
    ----------
    A : (n, n) SPD matrix
        numpy array, scipy sparse matrix, LinearOperator or torch sparse tensor.
    b : (n,) array or tensor
    x0 : (n,) array or tensor, optional
    network : callable or bindable model
        Either a callable mapping a normalized residual to a search direction, both of shape
        ``shape`` when given (the grid through which a grid network sees the residual vector as
        a field, C order) or ``(n,)`` otherwise, in the backend of ``A`` (numpy arrays, or torch
        tensors for a torch ``A``); or an object with a ``bind(A, shape=shape)`` method that
        returns such a callable over ``(n,)`` vectors (pdekit's DCDM networks). Binding time
        is reported in ``info.setup_time`` and counted in ``info.solve_time``.
    shape : sequence of int, optional
        Grid shape with ``prod(shape) == n`` (every grid node is an unknown).
    unknowns : bool array of grid shape, optional
        Mask of the grid nodes that are unknowns, numbered in C order, with ``unknowns.sum()
        == n`` (e.g. ``GridSystem.unknowns`` for grids with Dirichlet sides or obstacles): the
        network sees the residual scattered onto the grid, zero elsewhere, and its direction is
        read back at the unknowns. Implies ``shape = unknowns.shape``.
    rtol, atol : float
        Stop when ``||b - A x|| <= max(rtol * ||b||, atol)`` (true residual).
    maxiter : int, optional
        Iteration limit (``10 n`` by default).
    k : int
        Number of previous directions each new one is A-orthogonalized against.
    callback : callable, optional
        ``callback(xk)`` after every iteration.
    stall_ratio : float or None
        Safeguard: when an iteration reduced the residual norm by less than this factor, the
        next direction is the residual itself instead of the network's (counted in
        ``info.fallback_iterations``). A learned map can be blind to part of the residual
        (e.g. nodes its coarse levels do not reach, where a trained smoother is not
        positive); without this the iteration would stall there. None (the default) disables it;
        it costs iterations when the residual norm merely oscillates, so use it with care.
    check_symmetry : bool
        Refuse an explicit ``A`` that is not symmetric.
    true_residuals : bool
        Compute the residual as ``b - A x`` every iteration (one extra product, a few percent
        of an iteration whose network costs about ten), so every entry of ``info.residuals`` is
        a true relative residual and the network always sees the true residual; False uses the
        recurrence ``r -= alpha A p`` and checks the true residual when it claims convergence.
    throw : bool
        Raise :class:`~pdekit.solvers.linear.ConvergenceError` when the tolerance is not
        reached (True), or warn and return (False); see :func:`~pdekit.solvers.linear.cg`.

    Returns
    -------
    x : (n,) array or tensor
    info : SolveInfo
        ``info.method == "dcdm(k)"``; ``info.preconditioner_time`` is the time spent in the network.

    Raises
    ------
    ValueError
        Bad system (see :func:`pdekit.solvers.linear.cg`), ``prod(shape) != n``, ``unknowns``
        not a boolean mask with ``n`` True entries (or of another shape than ``shape``), or
        ``k < 1``.
    TypeError
        ``network`` is neither callable nor bindable.
    """
    system = as_system(A, check_symmetry=check_symmetry)
    if unknowns is not None:
        unknowns = np.asarray(unknowns)
        if unknowns.dtype != bool or int(unknowns.sum()) != system.n:
            raise ValueError(f"unknowns must be a boolean mask of the grid with n = {system.n} True "
                             f"entries; got dtype {unknowns.dtype} with {int(np.count_nonzero(unknowns))}")
        if shape is not None and tuple(int(s) for s in shape) != unknowns.shape:
            raise ValueError(f"shape {tuple(shape)} differs from the shape {unknowns.shape} of unknowns")
    elif shape is not None:
        shape = tuple(int(s) for s in shape)
        if any(s < 1 for s in shape) or int(np.prod(shape)) != system.n:
            raise ValueError(f"shape {shape} must hold exactly n = {system.n} unknowns (prod(shape) = "
                             f"{int(np.prod(shape)) if shape else 0})")
    if stall_ratio is not None and not 0.0 < stall_ratio <= 1.0:
        raise ValueError(f"stall_ratio must be in (0, 1] or None; got {stall_ratio}")
    t_setup = time.perf_counter()
    if hasattr(network, "bind") and callable(network.bind):
        direction = network.bind(A, shape=shape) if unknowns is None else network.bind(A, unknowns=unknowns)
    elif callable(network):
        if unknowns is not None:
            direction = _masked(network, unknowns)
        elif shape is None:
            direction = network
        else:
            def direction(r):
                return network(r.reshape(shape)).reshape(-1)
    else:
        raise TypeError(f"network must be a callable r -> d or a model with bind(A, shape); "
                        f"got {type(network).__name__}")
    setup_time = time.perf_counter() - t_setup
    x, info = flexible_cg(system, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, direction=direction, m=k,
                          callback=callback, method=f"dcdm({k})", normalize=True, setup_time=setup_time,
                          stall_ratio=stall_ratio, true_residuals=true_residuals)
    info.preconditioner = str(getattr(network, "name", None) or type(network).__name__)
    return finish(info, x, info.status, throw=throw)


def _masked(network: Callable, unknowns: np.ndarray) -> Callable:
    """``r -> network(r on the grid, 0 elsewhere)[unknowns]`` for numpy arrays or torch tensors."""
    masks: dict = {}

    def direction(r):
        if type(r).__module__.startswith("torch"):
            key = (r.device, r.dtype)
            if key not in masks:
                import torch

                masks[key] = torch.as_tensor(unknowns, device=r.device)
            mask = masks[key]
            field = r.new_zeros(unknowns.shape)
        else:
            mask = unknowns
            field = np.zeros(unknowns.shape, dtype=r.dtype)
        field[mask] = r
        return network(field)[mask]

    return direction
