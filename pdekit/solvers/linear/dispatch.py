"""The one entry point of linear solves: ``solve(A, b, method=, preconditioner=)``.

Every SPD solve of pdekit goes through here: the finite-difference and finite-element solvers,
data generation, the command line. :func:`solve` returns ``(x, SolveInfo)``; one policy covers
non-convergence (``throw=True`` raises :class:`~pdekit.solvers.linear.ConvergenceError`,
``throw=False`` warns). :class:`LinearSolver` is the same thing prepared once for many
right-hand sides (time stepping) or re-set-up for new values of the same matrix pattern.

Methods
-------
``"direct"``
    Sparse LU (SuperLU, minimum degree on ``A + A^T``), with a residual check.
``"cg"``
    Conjugate gradients, no preconditioner.
``"pcg"``
    Preconditioned CG; the preconditioner must be linear and SPD (Jacobi, IC(0), AMG).
``"fcg"``
    Flexible CG(k): any preconditioner, nonlinear or non-symmetric included.
``"dcdm"``
    Deep conjugate directions: flexible CG with a learned network (``preconditioner`` is a
    network with ``bind(A, ...)``, e.g. ``pdekit.operators.pretrained("dcdm-poisson-2d")``, or
    a plain callable ``r -> d``).
``"auto"`` (default)
    The fastest measured choice for the size (``benchmarks/bench_linear_auto.py``): the direct
    solver for small systems, AMG-preconditioned CG above them (see :func:`prefers_direct`:
    up to 2,000 unknowns always, up to 6,000 when the matrix graph is two-dimensional, whose
    factorisation fills in far less than a 3D one's); with a network, DCDM; with another
    preconditioner, PCG (a name or pdekit's Preconditioner) or FCG (a callable).

Preconditioners
---------------
``preconditioner`` is a name (``"jacobi"``, ``"ic0"``, ``"amg"`` = ``"sa-amg"``, ``"rs-amg"``),
a :class:`~pdekit.solvers.linear.Preconditioner`, a network with ``bind``, or a callable
``r -> z``. A named preconditioner is cached per sparsity pattern (``reuse=True``): the next
matrix with the same pattern (a new coefficient on the same grid or mesh) re-sets it up with
``update`` (for AMG: the aggregates and transfers are kept, the coarse operators recomputed), so
a dataset of N samples pays the expensive setup once. The transfers come from the first matrix
of the pattern, or from ``reference`` (a matrix of the same pattern, e.g. the a = 1 operator,
or a function returning it): then every solve's answer is independent of which matrices came
before, which keeps generated data reproducible whatever the order of the samples. Without a
reference, when a re-set-up AMG needs clearly more iterations than the fresh one did
(``max(fresh + 3, 1.5 fresh)``), the next solve rebuilds it. The cache holds the
preconditioners of at most :data:`CACHE_SIZE` patterns per process.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100))
>>> A = (sp.kron(sp.identity(100), T) + sp.kron(T, sp.identity(100))).tocsr()
>>> x, info = solve(A, np.ones(10_000), rtol=1e-10)
>>> info.method, info.preconditioner, info.converged
('pcg', 'sa-amg', True)
>>> x, info = solve(A, np.ones(10_000), method="direct")
>>> info.method, info.iterations, info.converged
('direct', 0, True)
>>> 1.8 < graph_dimension(A) < 2.1, prefers_direct(A[:5000, :5000])
(True, True)
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
import zlib
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit._validation import check_choice
from pdekit.solvers.linear._base import Preconditioner, as_csr_matrix
from pdekit.solvers.linear._common import SolveInfo, _is_torch, as_preconditioner_fn, as_system, finish
from pdekit.solvers.linear.direct import DirectSolver
from pdekit.solvers.linear.krylov import flexible_cg, preconditioned_cg
from pdekit.solvers.linear.preconditioners import PRECONDITIONERS, make_preconditioner

__all__ = ["solve", "LinearSolver", "prefers_direct", "graph_dimension", "clear_preconditioner_cache",
           "METHODS", "CACHE_SIZE"]

#: the methods of :func:`solve`
METHODS = ("auto", "direct", "cg", "pcg", "fcg", "dcdm")
#: sparsity patterns whose preconditioners are kept (per process)
CACHE_SIZE = 4
#: measured crossovers of ``method="auto"`` (``benchmarks/bench_linear_auto.py``): below the first
#: the direct solver wins in 2D and 3D, above the second AMG-PCG wins; in between the direct solver
#: wins for two-dimensional matrix graphs only. For one matrix with many right-hand sides (time
#: steps) one factorisation is amortised: 2D graphs take it up to ``DIRECT_2D_REPEATED`` unknowns.
DIRECT_ALWAYS, DIRECT_2D, DIRECT_2D_REPEATED = 2_000, 6_000, 250_000
_AMG_NAMES = ("amg", "sa-amg", "rs-amg")
_DIMENSIONS: collections.OrderedDict = collections.OrderedDict()


def graph_dimension(A: sp.spmatrix) -> float:
    """Growth dimension of the matrix graph: ``log2(N(2r) / N(r))`` for the balls of radius ``r``
    (a quarter of the graph's radius) around a central node; about 2 for planar grids and
    meshes whatever the stencil, about 2.2-3 for 3D ones (small 3D graphs read low)."""
    from scipy.sparse.csgraph import shortest_path

    G = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape)

    def distances(i):
        d = shortest_path(G, method="D", unweighted=True, directed=False, indices=i)
        d[~np.isfinite(d)] = -1
        return d

    d1 = distances(int(distances(0).argmax()))
    d2 = distances(int(d1.argmax()))
    centre = int(np.argmin(np.abs(d1 - d2) + np.abs(d1 + d2 - d1.max())))
    dc = distances(centre)
    r = max(1, int(dc.max() // 4))
    return float(np.log2(np.count_nonzero(dc <= 2 * r) / np.count_nonzero(dc <= r)))


def prefers_direct(A: sp.spmatrix, *, repeated: bool = False) -> bool:
    """Whether ``method="auto"`` takes the direct solver for ``A`` (see the module doc).

    Up to :data:`DIRECT_ALWAYS` unknowns: yes; above :data:`DIRECT_2D` (``DIRECT_2D_REPEATED``
    when the factorisation serves many right-hand sides, ``repeated=True``): no; in between,
    yes when :func:`graph_dimension` is below 2.1 (computed once per sparsity pattern).
    """
    n = A.shape[0]
    upper = DIRECT_2D_REPEATED if repeated else DIRECT_2D
    if n <= DIRECT_ALWAYS or n > upper:
        return n <= DIRECT_ALWAYS
    A = sp.csr_matrix(A)
    key = (n, A.nnz, zlib.crc32(np.ascontiguousarray(A.indptr)), zlib.crc32(np.ascontiguousarray(A.indices)))
    with _CACHE_LOCK:
        dim = _DIMENSIONS.get(key)
    if dim is None:
        dim = graph_dimension(A)
        with _CACHE_LOCK:
            _DIMENSIONS[key] = dim
            while len(_DIMENSIONS) > 16:
                _DIMENSIONS.popitem(last=False)
    return dim < 2.1


# ---------------------------------------------------------------------- preconditioner cache
@dataclasses.dataclass
class _Cached:
    M: Preconditioner
    lock: threading.Lock
    from_reference: bool = False
    fresh_iterations: int | None = None


_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()


def clear_preconditioner_cache() -> None:
    """Forget the preconditioners :func:`solve` keeps per sparsity pattern (``reuse=True``)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _pattern_key(name: str, A: sp.csr_matrix, options: dict, from_reference: bool) -> tuple:
    extra = tuple(sorted((k, zlib.crc32(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else repr(v))
                         for k, v in options.items()))
    return (name, from_reference, A.shape[0], A.nnz, zlib.crc32(A.indptr), zlib.crc32(A.indices), extra)


def _matches(M: Preconditioner, A: sp.csr_matrix) -> bool:
    same = getattr(M, "same_pattern", None)
    return M.shape == A.shape and (same is None or same(A))


# ---------------------------------------------------------------------- method choice
def _is_network(p: Any) -> bool:
    return hasattr(p, "bind") and callable(p.bind)


#: former names of PDE solvers' ``solver=`` choices, kept working: AMG-preconditioned CG
LEGACY_METHODS = {"amg": "pcg", "amg-cg": "pcg"}


def _choose(A: Any, method: str, preconditioner: Any) -> tuple[str, Any]:
    """Resolve ``method="auto"`` and the default preconditioner; check the combination."""
    if method in LEGACY_METHODS:
        method, preconditioner = LEGACY_METHODS[method], "amg" if preconditioner is None else preconditioner
    check_choice("method", method, METHODS)
    explicit = sp.issparse(A) or isinstance(A, np.ndarray)
    if isinstance(preconditioner, str) and preconditioner not in PRECONDITIONERS:
        raise ValueError(f"unknown preconditioner {preconditioner!r}; expected one of {sorted(PRECONDITIONERS)}, "
                         "a Preconditioner, a callable r -> z, or a network object (a shipped one is "
                         f"pdekit.operators.pretrained({preconditioner!r}))")
    if method == "auto":
        if preconditioner is None:
            if not explicit:  # a LinearOperator or a torch matrix: no factorisation, no AMG
                return ("pcg", "jacobi") if _is_torch(A) else ("cg", None)
            return ("direct", None) if prefers_direct(sp.csr_matrix(A) if not sp.issparse(A) else A) else ("pcg", "amg")
        if _is_network(preconditioner):
            return "dcdm", preconditioner
        if isinstance(preconditioner, (str, Preconditioner)):
            return "pcg", preconditioner
        return "fcg", preconditioner
    if method in ("direct", "cg") and preconditioner is not None:
        raise ValueError(f"method={method!r} takes no preconditioner; use 'pcg' (linear SPD), 'fcg' "
                         "(any) or 'dcdm' (a network)")
    if method == "direct" and not explicit:
        raise TypeError(f"method='direct' needs an explicit matrix; got {type(A).__name__}")
    if method in ("pcg", "fcg") and preconditioner is None:
        preconditioner = "amg" if explicit else "jacobi"
    if method == "dcdm":
        if preconditioner is None or isinstance(preconditioner, (str, Preconditioner)):
            raise ValueError("method='dcdm' needs a learned network (e.g. pdekit.operators.pretrained("
                             "'dcdm-poisson-2d')) or a callable r -> d as preconditioner; for a classical "
                             "preconditioner use 'pcg' or 'fcg'")
    if method == "pcg" and _is_network(preconditioner):
        raise ValueError("a learned network is not a linear SPD preconditioner: use method='dcdm' or 'fcg'")
    return method, preconditioner


def _check_spd_map(M: Callable, system, name: str) -> None:
    """Probe a user callable for PCG: symmetric (u.Mv = v.Mu) and positive (u.Mu > 0)."""
    rng = np.random.default_rng(12345)
    if system.backend == "torch":
        return  # probing moves data off the device; trust the caller
    u, v = rng.standard_normal((2, system.n)).astype(system.dtype)
    Mu, Mv = np.asarray(M(u)).reshape(-1), np.asarray(M(v)).reshape(-1)
    if Mu.shape != (system.n,):
        raise ValueError(f"the preconditioner returned {Mu.size} entries; expected {system.n}")
    a, b = float(np.real(np.vdot(u, Mv))), float(np.real(np.vdot(v, Mu)))
    scale = max(np.linalg.norm(u) * np.linalg.norm(Mv), np.finfo(float).tiny)
    if abs(a - b) > 1e-6 * scale:
        raise ValueError(f"the preconditioner {name} is not symmetric (u.Mv = {a:.6g} but v.Mu = {b:.6g}); "
                         "PCG needs a linear SPD preconditioner: use method='fcg', which accepts any")
    if not float(np.real(np.vdot(u, Mu))) > 0:
        raise ValueError(f"the preconditioner {name} is not positive definite (u.Mu <= 0); PCG needs a "
                         "linear SPD preconditioner: use method='fcg', which accepts any")


class LinearSolver:
    """A linear solve prepared for one matrix: many right-hand sides, or new values of its pattern.

    Parameters
    ----------
    A : (n, n) SPD matrix
        scipy sparse, numpy array, scipy LinearOperator (no ``direct``, no AMG) or torch sparse
        tensor (Krylov methods run on its device).
    method, preconditioner, rtol, atol, maxiter, throw, reuse, check_symmetry
        See :func:`solve`.
    shape, unknowns
        The grid of a grid network (``"dcdm"`` with :class:`pdekit.operators.VCycleNet`).
    near_null_space : (n, k) array, optional
        For the AMG preconditioners (rigid-body modes for elasticity).
    k : int
        Directions kept by ``"fcg"`` and ``"dcdm"``.
    reference : sparse matrix or callable, optional
        A matrix with the sparsity pattern of ``A`` (or a function returning one) from which a
        named preconditioner is built when its pattern is not cached yet (see the module doc).
    repeated : bool
        The solver will serve many right-hand sides (time steps): ``"auto"`` then weighs one
        factorisation against many iterative solves (:func:`prefers_direct` ``repeated=True``).

    Attributes
    ----------
    method : str
        The method that runs (``"auto"`` resolved).
    preconditioner : object or None
        What preconditions it: a Preconditioner, a bound network, a callable, a DirectSolver.
    setup_time : float
        Seconds spent preparing (building or re-setting up the preconditioner, factorising).
    """

    def __init__(self, A: Any, *, method: str = "auto", preconditioner: Any = None, rtol: float = 1e-8,
                 atol: float = 0.0, maxiter: int | None = None, throw: bool = True, reuse: bool = True,
                 check_symmetry: bool = True, shape: Sequence[int] | None = None,
                 unknowns: np.ndarray | None = None, near_null_space: np.ndarray | None = None, k: int = 2,
                 reference: Any = None, repeated: bool = False) -> None:
        self.system = as_system(A, check_symmetry=check_symmetry)
        if self.system.n == 0:
            raise ValueError("A is empty (0 x 0): there is nothing to solve")
        if method == "auto" and repeated and preconditioner is None and sp.issparse(A):
            method = "direct" if prefers_direct(A, repeated=True) else "pcg"
        self.method, spec = _choose(A, method, preconditioner)
        self.rtol, self.atol, self.maxiter, self.throw = rtol, atol, maxiter, bool(throw)
        self.reuse, self.k = bool(reuse), int(k)
        self._grid = {key: v for key, v in (("shape", shape), ("unknowns", unknowns)) if v is not None}
        self._options = {} if near_null_space is None else {"near_null_space": np.asarray(near_null_space)}
        self._spec = spec
        self._reference = reference
        self._cached: _Cached | None = None
        self._A = A
        self.preconditioner: Any = None
        self.setup_time = 0.0
        self._prepare(A, fresh=True)

    # ------------------------------------------------------------------ setup
    def _prepare(self, A: Any, *, fresh: bool) -> None:
        t = time.perf_counter()
        spec, method = self._spec, self.method
        if method == "direct":
            self.preconditioner = DirectSolver(A)
        elif method == "cg":
            self.preconditioner = None
        elif isinstance(spec, str):
            self.preconditioner = self._named(spec, A, fresh)
        elif isinstance(spec, Preconditioner):
            if spec.shape != (self.system.n, self.system.n):
                raise ValueError(f"the preconditioner was built for a matrix of shape {spec.shape}; A has "
                                 f"shape {(self.system.n, self.system.n)}")
            if not fresh:
                spec.update(A)
            self.preconditioner = spec
        elif _is_network(spec):
            self.preconditioner = spec.bind(A, **self._grid)
        elif callable(spec) or hasattr(spec, "matvec") or sp.issparse(spec) or isinstance(
                spec, (np.ndarray, spla.LinearOperator)):
            self.preconditioner = spec
            if method == "pcg" and fresh:
                fn = as_preconditioner_fn(spec, self.system)
                _check_spd_map(fn, self.system, type(spec).__name__)
        else:
            raise TypeError(f"preconditioner must be a name {sorted(PRECONDITIONERS)}, a Preconditioner, a "
                            f"network with bind(), or a callable r -> z; got {type(spec).__name__}")
        self.setup_time = time.perf_counter() - t

    def _named(self, name: str, A: Any, fresh: bool) -> Preconditioner:
        if _is_torch(A) or isinstance(A, spla.LinearOperator):
            if name != "jacobi":
                raise TypeError(f"preconditioner {name!r} needs an explicit scipy/numpy matrix; got "
                                f"{type(A).__name__} (use 'jacobi', or pass a Preconditioner)")
            return make_preconditioner(name, A)
        A = as_csr_matrix(A)
        options = self._options if name in _AMG_NAMES else {}
        if not self.reuse:
            return make_preconditioner(name, A, **options)
        key = _pattern_key(name, A, options, self._reference is not None)
        with _CACHE_LOCK:
            entry = _CACHE.get(key)
            if entry is not None:
                _CACHE.move_to_end(key)
        if entry is not None and entry.lock.acquire(blocking=False):
            try:
                if _matches(entry.M, A):
                    entry.M.update(A)
                    self._cached = entry
                    return entry.M
            finally:
                entry.lock.release()
        if self._reference is None:
            M = make_preconditioner(name, A, **options)
        else:
            reference = self._reference() if callable(self._reference) else self._reference
            reference = as_csr_matrix(reference, "reference")
            if reference.shape != A.shape:
                raise ValueError(f"reference must have the shape {A.shape} of A; got {reference.shape}")
            M = make_preconditioner(name, reference, **options)
            try:
                M.update(A)
            except ValueError:  # the reference's pattern differs (entries that cancelled): use A's own
                M = make_preconditioner(name, A, **options)
        entry = _Cached(M, threading.Lock(), from_reference=self._reference is not None and M.updates > 0
                        if hasattr(M, "updates") else self._reference is not None)
        with _CACHE_LOCK:
            _CACHE[key] = entry
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        self._cached = entry
        return M

    def update(self, A: Any) -> "LinearSolver":
        """Prepare for new values of the matrix (same size, and same sparsity pattern for a
        preconditioner that keeps its structure); returns ``self``."""
        system = as_system(A, check_symmetry=False)
        if system.n != self.system.n:
            raise ValueError(f"update needs a matrix with {self.system.n} rows; got {system.n}")
        self.system, self._A = system, A
        self._prepare(A, fresh=False)
        return self

    # ------------------------------------------------------------------ solve
    def solve(self, b: Any, *, x0: Any = None, callback: Callable | None = None) -> tuple[Any, SolveInfo]:
        """Solve ``A x = b``; returns ``(x, info)`` (see :func:`solve`)."""
        M, method = self.preconditioner, self.method
        if method == "direct":
            self.system.vector(b, "b")  # shape and finiteness, with the Krylov solvers' messages
            x, info = M.solve(np.asarray(b), rtol=self.rtol, atol=self.atol)
            return finish(info, x, info.status, throw=self.throw)
        lock = self._cached.lock if self._cached is not None else None
        if lock is not None:
            lock.acquire()
        try:
            if method in ("cg", "pcg"):
                apply_M = as_preconditioner_fn(M, self.system)
                x, info = preconditioned_cg(self.system, b, x0, rtol=self.rtol, atol=self.atol,
                                            maxiter=self.maxiter, apply_M=apply_M, callback=callback,
                                            method=method, true_residuals=False, setup_time=self.setup_time)
            else:
                apply_M = as_preconditioner_fn(M, self.system)
                x, info = flexible_cg(self.system, b, x0, rtol=self.rtol, atol=self.atol, maxiter=self.maxiter,
                                      direction=apply_M, m=self.k, callback=callback,
                                      method=f"{method}({self.k})", normalize=method == "dcdm",
                                      setup_time=self.setup_time, true_residuals=True)
        finally:
            if lock is not None:
                lock.release()
        info.preconditioner = _describe(self._spec, M)
        self._watch_reuse(info)
        return finish(info, x, info.status, throw=self.throw)

    __call__ = solve

    def _watch_reuse(self, info: SolveInfo) -> None:
        """Record the fresh AMG's iterations; drop a re-set-up one that has clearly degraded."""
        entry = self._cached
        if entry is None or entry.from_reference or not isinstance(self._spec, str) or self._spec not in _AMG_NAMES:
            return
        if entry.M.updates == 0 or entry.fresh_iterations is None:
            if info.converged:
                entry.fresh_iterations = info.iterations
            return
        fresh = entry.fresh_iterations
        if info.iterations > max(fresh + 3, 1.5 * fresh):
            with _CACHE_LOCK:
                for key, value in list(_CACHE.items()):
                    if value is entry:
                        del _CACHE[key]


def _describe(spec: Any, M: Any) -> str:
    if spec is None:
        return "none"
    if isinstance(spec, str):
        return getattr(M, "name", spec)
    name = getattr(spec, "name", None)
    return name if isinstance(name, str) else str(getattr(spec, "__name__", type(spec).__name__))


def solve(A: Any, b: Any, *, method: str = "auto", preconditioner: Any = None, rtol: float = 1e-8,
          atol: float = 0.0, maxiter: int | None = None, x0: Any = None, throw: bool = True,
          reuse: bool = True, check_symmetry: bool = True, callback: Callable | None = None,
          shape: Sequence[int] | None = None, unknowns: np.ndarray | None = None,
          near_null_space: np.ndarray | None = None, k: int = 2, reference: Any = None) -> tuple[Any, SolveInfo]:
    """Solve the symmetric (Hermitian) positive definite system ``A x = b``.

    Parameters
    ----------
    A : (n, n) SPD matrix
        scipy sparse or numpy array; a scipy LinearOperator or a torch sparse tensor (GPU)
        for the Krylov methods with a Jacobi or callable preconditioner.
    b : (n,) array or tensor
    method : {"auto", "direct", "cg", "pcg", "fcg", "dcdm"}
        See the module doc; ``"auto"`` is the fastest measured choice for the size. The former
        names ``"amg"`` and ``"amg-cg"`` of the PDE solvers mean ``"pcg"`` with ``"amg"``.
    preconditioner : str, Preconditioner, network or callable, optional
        A name (``"jacobi"``, ``"ic0"``, ``"amg"``/``"sa-amg"``, ``"rs-amg"``), a
        :class:`~pdekit.solvers.linear.Preconditioner`, a network with ``bind`` (DCDM) or a
        callable ``r -> z``. Default for ``"pcg"``/``"fcg"``: ``"amg"``.
    rtol, atol : float
        Stop when the true residual ``||b - A x|| <= max(rtol ||b||, atol)``.
    maxiter : int, optional
        Iteration limit (``10 n`` by default).
    x0 : (n,) array or ``"Mb"``, optional
        Initial guess of the iterative methods.
    throw : bool
        Raise :class:`~pdekit.solvers.linear.ConvergenceError` when the tolerance is not met
        (default), or warn with :class:`~pdekit.solvers.linear.ConvergenceWarning` and return.
    reuse : bool
        Keep a named preconditioner per sparsity pattern and re-set it up for the next matrix
        with that pattern (see the module doc); False builds it afresh every call.
    check_symmetry : bool
        Refuse an explicit ``A`` that is not symmetric (Hermitian); solvers that assemble
        symmetric matrices by construction pass False to skip the cost.
    callback : callable, optional
        ``callback(xk)`` after every iteration.
    shape, unknowns
        The grid of a grid network (``unknowns``: bool mask of the unknown nodes, C order).
    near_null_space : (n, k) array, optional
        Near-null space of the AMG preconditioners (rigid-body modes for elasticity).
    k : int
        Directions kept by ``"fcg"`` and ``"dcdm"``.
    reference : sparse matrix or callable, optional
        Build a named preconditioner's structure (AMG transfers) from this matrix of the same
        pattern, e.g. the a = 1 operator, so that answers do not depend on earlier solves.

    Returns
    -------
    x : (n,) array or tensor
    info : SolveInfo
        ``method``, ``preconditioner``, ``iterations``, true relative ``residuals``,
        ``setup_time`` (preconditioner build or re-setup, factorisation), ``solve_time``.

    Raises
    ------
    ValueError
        A non-square, non-symmetric, NaN/inf or empty ``A``; a ``b`` that does not match; an
        unknown method or preconditioner name or a combination that cannot work (a
        preconditioner with ``"cg"``, a network with ``"pcg"``, a preconditioner that PCG
        finds not SPD: it says to use ``"fcg"``); a network bound to a matrix of another size.
    TypeError
        ``A`` or ``preconditioner`` of an unsupported kind.
    ConvergenceError
        With ``throw=True``, when the tolerance was not met (indefinite ``A``, too few
        iterations, an inaccurate direct solve).
    """
    solver = LinearSolver(A, method=method, preconditioner=preconditioner, rtol=rtol, atol=atol,
                          maxiter=maxiter, throw=throw, reuse=reuse, check_symmetry=check_symmetry,
                          shape=shape, unknowns=unknowns, near_null_space=near_null_space, k=k,
                          reference=reference)
    return solver.solve(b, x0=x0, callback=callback)
