"""Darcy flow -div(a grad u) = f on the unit square or cube, on the node grid of ``a``.

The matrix comes from :func:`pdekit.solvers.fd.poisson_system`'s assembly (one
implementation): the sparsity pattern is built once per grid and boundary condition, and a new
coefficient only refills the CSR data array. The solve goes through
:func:`pdekit.solvers.linear.solve` (``solver=`` and ``preconditioner=`` mean what they mean
there). Its default, ``"auto"``, is the measured fastest choice: sparse LU on small grids,
conjugate gradients preconditioned by smoothed-aggregation AMG above them. The AMG transfers
are built once per grid from the a = 1 operator and kept; for each new ``a`` only the Galerkin
coarse operators are recomputed, so every sample of a dataset costs a fraction of a full setup
and its answer does not depend on the samples solved before it. Coefficients of contrast
``max(a) / min(a)`` above ``1e3`` get a full setup of their own.

The system is solved for ``a / max(a)`` and the solution divided by ``max(a)`` (the matrix is
linear in ``a``), so coefficients near the ends of the floating-point range (``1e160``,
``1e-300``) are solved as accurately as ``a = 1``; a solution that does not fit in float64 is
an error, never NaN.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from pdekit._validation import check_ndim, check_positive
from pdekit.solvers.fd import poisson as _poisson

__all__ = ["darcy"]

_REUSE_CONTRAST = 1e3


def _real(name: str, value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real; got complex values (dtype {arr.dtype})")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}")
    return arr.astype(float, copy=False)


def darcy(
    a: np.ndarray,
    f: float | np.ndarray = 1.0,
    *,
    bc: str | Mapping[str, str] = "dirichlet",
    face_average: str = "harmonic",
    solver: str = "auto",
    preconditioner: Any = None,
    rtol: float = 1e-10,
    maxiter: int | None = None,
    method: str | None = None,
) -> np.ndarray:
    """Solve -div(a grad u) = f on the unit square or cube with the 5-/7-point scheme.

    Second order in h = 1 / (s - 1) for smooth ``a``. Nodes on Dirichlet sides hold u = 0.

    Parameters
    ----------
    a : (s1, s2) or (s1, s2, s3) array
        Positive, finite, real coefficient at the grid nodes, boundary nodes included (the FNO
        layout: ``a[i, j]`` at x = i h, y = j h).
    f : float or array of the shape of ``a``
        Source term (real).
    bc : {"dirichlet", "neumann"} or mapping side -> kind
        Homogeneous boundary conditions, see :func:`poisson_system` (pure Neumann is
        rejected as singular).
    face_average : {"harmonic", "arithmetic"}
        Mean of the nodal coefficients on each face.
    solver : {"auto", "direct", "cg", "pcg", "fcg", "dcdm"}
        The method of :func:`pdekit.solvers.linear.solve` (``"amg"`` is the former name of
        ``"pcg"`` with AMG).
    preconditioner : str, Preconditioner, network or callable, optional
        As in :func:`pdekit.solvers.linear.solve`; a grid network (e.g.
        ``pdekit.operators.pretrained("dcdm-poisson-2d")``) runs DCDM on this grid.
    rtol : float
        Relative residual at which the iterative methods stop (the direct solver is checked
        against it too).
    maxiter : int, optional
        Iteration limit.
    method : str, optional
        Former name of ``solver`` (deprecated).

    Returns
    -------
    u : array of the shape of ``a``

    Raises
    ------
    ValueError
        Bad shapes, non-positive or non-finite ``a``, a pure Neumann problem, bad solver
        options, or a solution too large for float64.
    TypeError
        Complex (or non-numeric) ``a`` or ``f``.
    pdekit.solvers.linear.ConvergenceError
        The iterative solver did not reach ``rtol``.

    Examples
    --------
    >>> import numpy as np
    >>> u = darcy(np.ones((33, 33)))
    >>> round(float(u.max()), 3)   # continuum value 0.07367...
    0.074
    """
    from pdekit.solvers.linear import solve

    if method is not None:
        warnings.warn("darcy(method=...) is now darcy(solver=...)", DeprecationWarning, stacklevel=2)
        solver = method
    a = _real("coefficient a", a)
    check_ndim("coefficient a", a, (2, 3), what="(a 2D or 3D node grid)")
    rtol = float(check_positive("rtol", rtol))
    shape, pattern = _poisson._prepare(a.shape, bc, None, face_average)
    a = _poisson._check_coefficient(a, shape)
    f = _real("source f", f)
    f_val = _poisson._check_source(float(f) if f.ndim == 0 else f, shape)
    n = pattern.n
    scale = float(a.max())
    contrast = scale / float(a.min())
    data = _poisson._matrix_data(pattern, a / scale, face_average)
    matrix = sp.csr_matrix((data, pattern.indices, pattern.indptr), shape=(n, n))
    matrix.has_sorted_indices = True
    rhs = (pattern.volume * f_val)[pattern.unknowns]

    def reference():
        ref_data = _poisson._matrix_data(pattern, None, face_average)
        return sp.csr_matrix((ref_data, pattern.indices, pattern.indptr), shape=(n, n))

    x, _ = solve(matrix, rhs, method=solver, preconditioner=preconditioner, rtol=rtol, maxiter=maxiter,
                 check_symmetry=False, reuse=contrast <= _REUSE_CONTRAST, reference=reference,
                 unknowns=pattern.unknowns)
    with np.errstate(over="ignore"):
        x = x / scale
    if not np.isfinite(x).all():
        raise ValueError(f"the solution does not fit in float64: u ~ f / a with min(a) = {a.min():.3g} and "
                         f"max |f| = {np.abs(f_val).max():.3g} overflows; rescale the problem")
    u = np.zeros(shape)
    u[pattern.unknowns] = x
    return u
