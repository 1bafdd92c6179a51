"""The ``on_step`` callback of pdekit's time-dependent solvers: one convention for all of them.

Every time-dependent solver (FD heat, advection-diffusion, Burgers, Navier-Stokes, wave; FEM
heat and wave) takes a keyword-only ``on_step`` and, after each time step ``k = 1, ..., n_steps``,
calls::

    on_step(k, t_k, state)

* ``k`` (int): the number of steps taken so far (1 after the first step);
* ``t_k`` (float): the time reached, ``k * dt`` with the solver's (possibly shrunk) step;
* ``state`` (array): exactly the array the solver would return for that step when recording
  every step (same shape, dtype and values), as a **read-only view** valid during the call:
  copy it to keep it. Torch tensors (Navier-Stokes on a GPU) are passed as they are.

The return value is ignored. An exception raised by the callback stops the solve and
propagates to the caller (a streaming client uses this to abandon a run). The callback is how a
solver streams its trajectory (see :mod:`pdekit.streaming`) without importing anything: solver
kernels stay pure.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["OnStep", "check_on_step", "readonly", "step_hook"]

#: ``on_step(step, t, state)``
OnStep = Callable[[int, float, Any], Any]


def check_on_step(on_step: OnStep | None) -> OnStep | None:
    """Return ``on_step`` after checking it is None or callable."""
    if on_step is not None and not callable(on_step):
        raise TypeError(f"on_step must be a callable on_step(step, t, state) or None; "
                        f"got {type(on_step).__name__}")
    return on_step


def readonly(state: Any) -> Any:
    """A read-only numpy view of ``state`` (other array types are returned unchanged)."""
    if isinstance(state, np.ndarray):
        view = state.view()
        view.flags.writeable = False
        return view
    return state


def step_hook(on_step: OnStep | None, dt: float,
              to_state: Callable[[Any], Any] = lambda u: u) -> Callable[[int, Any], None] | None:
    """``hook(k, u)`` calling ``on_step(k, k * dt, readonly(to_state(u)))``; None without a callback.

    ``to_state`` maps the solver's internal state (a flat vector, Fourier coefficients) to the
    array it returns; it is evaluated only when there is a callback.
    """
    on_step = check_on_step(on_step)
    if on_step is None:
        return None
    dt = float(dt)

    def hook(k: int, u: Any) -> None:
        on_step(k, k * dt, readonly(to_state(u)))

    return hook
