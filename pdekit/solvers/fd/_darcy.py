"""Darcy flow -div(a grad u) = f on the unit square or cube, on the node grid of ``a``.

The matrix comes from :func:`pdekit.solvers.fd.poisson_system`'s assembly (one
implementation): the sparsity pattern is built once per grid and boundary condition, and a new
coefficient only refills the CSR data array. Two solvers:

* ``"direct"``: sparse LU (SuperLU, minimum-degree ordering on A + A^T, no pivoting: the
  matrix is symmetric positive definite);
* ``"amg"``: conjugate gradients preconditioned by one V-cycle of smoothed-aggregation AMG
  (:mod:`pdekit.solvers.fd._amg`, on pyamg's aggregation and relaxation kernels). The
  aggregates and prolongators are built once per grid from the a = 1 operator and kept; for
  each new ``a`` only the Galerkin coarse operators R A P are recomputed, which costs a
  fraction of a full AMG setup. Coefficients of contrast max(a)/min(a) above ``1e3`` get a
  full setup instead.

``method="auto"`` takes the direct solver for small systems (up to 5,000 unknowns in 2D,
3,000 in 3D) and AMG above.
"""

from __future__ import annotations

import collections
import threading
from typing import Callable, Mapping

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit._validation import check_choice, check_ndim, check_positive
from pdekit.solvers.fd import poisson as _poisson
from pdekit.solvers.fd._amg import GalerkinHierarchy, pcg

__all__ = ["darcy", "solve_spd"]

_METHODS = ("direct", "amg", "auto")
_DIRECT_MAX = {2: 5_000, 3: 3_000}
_REUSE_CONTRAST = 1e3

_AMG_CACHE: collections.OrderedDict = collections.OrderedDict()
_AMG_CACHE_SIZE = 4
_AMG_LOCK = threading.Lock()


def _reference_hierarchy(key, reference) -> GalerkinHierarchy:
    """The SA transfers of ``reference`` (a matrix or a function returning one), cached under ``key``."""
    with _AMG_LOCK:
        if key in _AMG_CACHE:
            _AMG_CACHE.move_to_end(key)
            return _AMG_CACHE[key]
    if callable(reference):
        reference = reference()
    hierarchy = GalerkinHierarchy(reference)
    with _AMG_LOCK:
        _AMG_CACHE[key] = hierarchy
        while len(_AMG_CACHE) > _AMG_CACHE_SIZE:
            _AMG_CACHE.popitem(last=False)
    return hierarchy


def solve_spd(
    matrix: sp.csr_matrix,
    rhs: np.ndarray,
    *,
    method: str = "direct",
    rtol: float = 1e-10,
    maxiter: int | None = None,
    reference: sp.csr_matrix | Callable[[], sp.csr_matrix] | None = None,
    cache_key=None,
) -> np.ndarray:
    """Solve a sparse symmetric positive definite system by sparse LU or AMG-preconditioned CG.

    Parameters
    ----------
    matrix : (n, n) sparse matrix
        Symmetric positive definite.
    rhs : (n,) array
    method : {"direct", "amg"}
    rtol : float
        Relative residual ||b - A x|| / ||b|| at which CG stops (``"amg"`` only).
    maxiter : int, optional
        CG iteration limit (default 200).
    reference, cache_key : optional
        A matrix with the same sparsity pattern (e.g. the a = 1 operator), or a function
        returning it, whose AMG transfers are cached under ``cache_key`` and reused; without
        them AMG is set up on ``matrix`` itself.

    Returns
    -------
    (n,) array

    Raises
    ------
    RuntimeError
        If CG does not reach ``rtol`` within ``maxiter`` iterations.
    """
    check_choice("method", method, ("direct", "amg"))
    if method == "direct":
        return spla.spsolve(sp.csc_matrix(matrix), rhs, permc_spec="MMD_AT_PLUS_A")
    matrix = sp.csr_matrix(matrix)
    if reference is not None and cache_key is not None:
        hierarchy = _reference_hierarchy(cache_key, reference)
    else:
        hierarchy = GalerkinHierarchy(matrix)
    maxiter = 200 if maxiter is None else int(maxiter)
    x, _, res = pcg(matrix, np.asarray(rhs, dtype=float), hierarchy.preconditioner(matrix),
                    rtol=rtol, maxiter=maxiter)
    if res > rtol:
        raise RuntimeError(
            f"AMG-preconditioned CG did not reach rtol={rtol:g} in {maxiter} iterations "
            f"(relative residual {res:.3g}); try method='direct', a larger maxiter, or a looser "
            f"rtol (round-off limits the attainable residual to about eps * cond(A))"
        )
    return x


def darcy(
    a: np.ndarray,
    f: float | np.ndarray = 1.0,
    *,
    bc: str | Mapping[str, str] = "dirichlet",
    face_average: str = "harmonic",
    method: str = "direct",
    rtol: float = 1e-10,
    maxiter: int | None = None,
) -> np.ndarray:
    """Solve -div(a grad u) = f on the unit square or cube with the 5-/7-point scheme.

    Second order in h = 1 / (s - 1) for smooth ``a``. Nodes on Dirichlet sides hold u = 0.

    Parameters
    ----------
    a : (s1, s2) or (s1, s2, s3) array
        Positive, finite coefficient at the grid nodes, boundary nodes included (the FNO
        layout: ``a[i, j]`` at x = i h, y = j h).
    f : float or array of the shape of ``a``
        Source term.
    bc : {"dirichlet", "neumann"} or mapping side -> kind
        Homogeneous boundary conditions, see :func:`poisson_system` (pure Neumann is
        rejected as singular).
    face_average : {"harmonic", "arithmetic"}
        Mean of the nodal coefficients on each face.
    method : {"direct", "amg", "auto"}
        Sparse LU, AMG-preconditioned CG, or the faster of the two for the grid size.
    rtol : float
        CG stopping tolerance on the relative residual (``"amg"``).
    maxiter : int, optional
        CG iteration limit.

    Returns
    -------
    u : array of the shape of ``a``

    Examples
    --------
    >>> import numpy as np
    >>> u = darcy(np.ones((33, 33)))
    >>> round(float(u.max()), 3)   # continuum value 0.07367...
    0.074
    """
    a = np.asarray(a, dtype=float)
    check_ndim("coefficient a", a, (2, 3), what="(a 2D or 3D node grid)")
    check_choice("method", method, _METHODS)
    rtol = float(check_positive("rtol", rtol))
    shape, pattern = _poisson._prepare(a.shape, bc, None, face_average)
    a = _poisson._check_coefficient(a, shape)
    f_val = _poisson._check_source(f, shape)
    n = pattern.n
    if method == "auto":
        method = "direct" if n <= _DIRECT_MAX[len(shape)] else "amg"
    data = _poisson._matrix_data(pattern, a, face_average)
    matrix = sp.csr_matrix((data, pattern.indices, pattern.indptr), shape=(n, n))
    matrix.has_sorted_indices = True
    rhs = (pattern.volume * f_val)[pattern.unknowns]
    reference = None
    if method == "amg" and a.max() <= _REUSE_CONTRAST * a.min():
        def reference():
            ref_data = _poisson._matrix_data(pattern, None, face_average)
            return sp.csr_matrix((ref_data, pattern.indices, pattern.indptr), shape=(n, n))

    x = solve_spd(matrix, rhs, method=method, rtol=rtol, maxiter=maxiter,
                  reference=reference, cache_key=("darcy",) + pattern.key)
    u = np.zeros(shape)
    u[pattern.unknowns] = x
    return u
