"""Algebraic multigrid as a preconditioner that is set up once per sparsity pattern.

The transfers come from pyamg: smoothed aggregation (``kind="sa"``: strength of connection,
aggregation, a tentative prolongator smoothed by damped Jacobi; rigid-body modes or any other
near-null space through ``near_null_space``) or Ruge-Stuben (``kind="rs"``: C/F splitting and
classical interpolation). That is the expensive part of a setup. pdekit does the damped Jacobi
smoothing of the aggregation prolongators itself (:func:`smoothed_aggregation_transfers`), with
a spectral-radius estimate whose inner products are numpy's (pyamg's uses BLAS ``ddot``, which
OpenBLAS splits across threads), and factorises the coarsest level with
:class:`~pdekit.solvers.linear.dense_cholesky.DenseCholesky`: the same matrix gives the same
hierarchy and cycle, bit for bit, in any process and at any thread count. For a new matrix with
the same sparsity pattern (a new coefficient on the same mesh or grid), :meth:`AMGPreconditioner.update`
keeps the aggregates and the transfer operators and recomputes only what depends on the values:
the Galerkin coarse operators ``A_(l+1) = R_l A_l P_l``, the smoother data and the Cholesky
factor of the coarsest operator. A dataset of N samples pays the expensive setup once.

One cycle is a V-cycle (or W-cycle) with one symmetric Gauss-Seidel sweep (forward then
backward, pyamg's compiled kernel) before and after the coarse correction, and an exact
solve on the coarsest level; with ``R = P^T`` it is a symmetric positive definite operator,
so it is a valid PCG preconditioner. Transfers built for one matrix are exact Galerkin
transfers for the next only in their coarse operators, so a re-set-up hierarchy can need a
few more iterations than a fresh one; :func:`pdekit.solvers.linear.solve` watches that and
rebuilds the transfers when the iterations grow.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> from pdekit.solvers.linear import pcg
>>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(32, 32))
>>> A = (sp.kron(sp.identity(32), T) + sp.kron(T, sp.identity(32))).tocsr()
>>> M = amg(A)
>>> x, info = pcg(A, np.ones(1024), rtol=1e-8, M=M)
>>> info.converged and info.iterations < 10
True
>>> x, info = pcg(2.0 * A, np.ones(1024), rtol=1e-8, M=M.update(2.0 * A))  # same pattern
>>> info.converged and info.iterations < 10
True
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from pdekit._validation import check_choice
from pdekit.solvers.linear._base import Preconditioner, as_csr_matrix
from pdekit.solvers.linear.dense_cholesky import DenseCholesky
from pdekit.solvers.linear.reductions import inner_product, vector_norm

__all__ = ["AMGPreconditioner", "amg", "smoothed_aggregation_transfers"]


def _csr(M: Any) -> sp.csr_matrix:
    M = sp.csr_matrix(M, dtype=np.float64)
    M.sum_duplicates()
    M.sort_indices()
    if M.indices.dtype != np.int32 and max(M.shape[0], M.nnz) < 2**31 - 1:
        M.indices = M.indices.astype(np.int32)
        M.indptr = M.indptr.astype(np.int32)
    return M


#: pyamg's default prolongation smoother (damped Jacobi, weight 4/3 over the spectral radius)
_DEFAULT_SMOOTH = ("jacobi", {"omega": 4.0 / 3.0})
#: Lanczos steps of the spectral-radius estimate (pyamg's ``approximate_spectral_radius`` takes 15)
_LANCZOS_STEPS = 15


def _own_jacobi_weight(smooth: Any) -> float | None:
    """``omega`` when ``smooth`` asks for plain damped Jacobi smoothing (then pdekit smooths the
    prolongators itself, reproducibly); None for any other smoother (pyamg's own)."""
    if smooth == "jacobi":
        return 4.0 / 3.0
    if isinstance(smooth, tuple) and len(smooth) == 2 and smooth[0] == "jacobi" and isinstance(smooth[1], dict) \
            and set(smooth[1]) <= {"omega", "weighting"} and smooth[1].get("weighting", "diagonal") == "diagonal":
        return float(smooth[1].get("omega", 4.0 / 3.0))
    return None


def _jacobi_spectral_radius(A: sp.csr_matrix, diagonal: np.ndarray) -> float:
    """Estimate of the spectral radius of ``D^-1 A`` (``D`` its diagonal) by Lanczos on
    ``D^-1/2 A D^-1/2``, from a fixed start vector, with numpy's pairwise inner products: the
    same bits whatever the BLAS thread count (pyamg's estimate uses BLAS's threaded ``ddot``)."""
    from scipy.linalg import eigvalsh_tridiagonal

    scale = 1.0 / np.sqrt(diagonal)
    v = np.random.default_rng(0).random(A.shape[0])
    v /= vector_norm(v)
    v_old, beta = np.zeros_like(v), 0.0
    alphas, betas = [], []
    for _ in range(min(_LANCZOS_STEPS, A.shape[0])):
        w = scale * (A @ (scale * v)) - beta * v_old
        alpha = float(inner_product(w, v))
        w -= alpha * v
        alphas.append(alpha)
        beta = vector_norm(w)
        if beta <= 1e-12 * abs(alpha):
            break
        betas.append(beta)
        v_old, v = v, w / beta
    betas = betas[:len(alphas) - 1]
    if len(alphas) == 1:
        return abs(alphas[0])
    return float(np.abs(eigvalsh_tridiagonal(np.asarray(alphas), np.asarray(betas))).max())


def _jacobi_smoothed(A: sp.csr_matrix, T: sp.csr_matrix, omega: float) -> sp.csr_matrix:
    """``P = (I - omega / rho(D^-1 A) D^-1 A) T``: the tentative prolongator ``T`` smoothed by one
    damped Jacobi step, as pyamg's ``jacobi_prolongation_smoother`` does."""
    diagonal = A.diagonal()
    if not (diagonal > 0).all():
        raise ValueError("smoothed aggregation needs a positive diagonal (an SPD matrix); "
                         f"{int((diagonal <= 0).sum())} diagonal entries are <= 0")
    weight = omega / _jacobi_spectral_radius(A, diagonal)
    return _csr(T - sp.diags(weight / diagonal) @ (A @ T))


def smoothed_aggregation_transfers(A: Any, *, max_coarse: int = 50, max_levels: int = 10,
                                   near_null_space: np.ndarray | None = None, omega: float = 4.0 / 3.0,
                                   **options: Any) -> list:
    """Smoothed-aggregation transfers ``[(P_l (n_l, n_(l+1)), R_l = P_l^T)]`` of the SPD matrix ``A``.

    Built a level at a time: pyamg's strength of connection, aggregation, candidate
    improvement and tentative prolongator (one-level ``smoothed_aggregation_solver`` calls
    without smoothing; nothing there depends on BLAS reductions), then one damped Jacobi step
    ``P = (I - omega / rho(D^-1 A) D^-1 A) T`` with a reproducible spectral-radius estimate, and
    the Galerkin product ``P^T A P`` for the next level. The hierarchy is the one
    ``pyamg.smoothed_aggregation_solver(A, smooth=("jacobi", {"omega": omega}))`` builds, up to
    that estimate, and it is the same bits in any process and at any thread count. Coarsening
    stops at ``max_coarse`` unknowns or ``max_levels`` levels.

    Parameters
    ----------
    A : (n, n) SPD sparse matrix
    max_coarse, max_levels : int
    near_null_space : (n, k) array, optional
        Vectors the prolongators reproduce (constants by default).
    omega : float
        Jacobi damping over the spectral radius.
    **options
        ``strength``, ``aggregate``, ``improve_candidates`` and other options of
        ``pyamg.smoothed_aggregation_solver`` (per level as lists, as pyamg takes them).
    """
    import pyamg
    from pyamg.util.utils import levelize_smooth_or_improve_candidates, levelize_strength_or_aggregation

    A = _csr(as_csr_matrix(A))
    options = dict(options)
    max_levels, _, strength = levelize_strength_or_aggregation(options.pop("strength", "symmetric"),
                                                               int(max_levels), max_coarse)
    _, _, aggregate = levelize_strength_or_aggregation(options.pop("aggregate", "standard"), max_levels, max_coarse)
    improve = levelize_smooth_or_improve_candidates(
        options.pop("improve_candidates", [("block_gauss_seidel", {"sweep": "symmetric", "iterations": 4}), None]),
        max_levels)
    transfers: list = []
    B = near_null_space
    while len(transfers) + 1 < max_levels:
        level = len(transfers)
        ml = pyamg.smoothed_aggregation_solver(
            A, B=B, symmetry="hermitian", strength=[strength[level]], aggregate=[aggregate[level]],
            improve_candidates=[improve[level], None], smooth=None, max_levels=2, max_coarse=max_coarse,
            keep=True, **options)
        if len(ml.levels) < 2:
            break
        B = ml.levels[1].B
        P = _jacobi_smoothed(A, _csr(ml.levels[0].T), omega)
        R = _csr(P.T)
        transfers.append((P, R))
        A = _csr(R @ (A @ P))
    return transfers


class AMGPreconditioner(Preconditioner):
    """One AMG cycle as an SPD preconditioner, re-settable on new values of the same pattern.

    Parameters
    ----------
    A : (n, n) SPD sparse matrix
        The matrix the transfers are built from (and the first one the cycle is set up for);
        the build is deterministic, whatever the BLAS thread count (see the module doc; a
        ``smooth=`` other than damped Jacobi is pyamg's own smoothing, seeded but not
        thread-count independent).
    kind : {"sa", "rs"}
        Smoothed aggregation or classical Ruge-Stuben transfers (pyamg).
    cycle : {"V", "W"}
    near_null_space : (n, k) array, optional
        Vectors the smoothed-aggregation prolongator must reproduce (rigid-body modes for
        elasticity); constants by default.
    max_coarse : int
        Coarsening stops at this many unknowns; that level is solved by dense Cholesky.
    **options
        Passed to ``pyamg.smoothed_aggregation_solver`` / ``ruge_stuben_solver`` (they shape the
        transfers, e.g. ``strength=``, ``smooth=``).

    Attributes
    ----------
    levels : int
    operator_complexity : float
        Sum of the nonzeros of all level operators over those of ``A``.
    transfers : list of (P, R)
        Prolongation ``(n_l, n_(l+1))`` and restriction per level (kept by :meth:`update`).
    setup_time : float
        Seconds of the full setup (transfers, then the value-dependent part).
    update_time : float
        Seconds of the last :meth:`update` (0 before the first).
    updates : int
        How many times the hierarchy was re-set-up on new values.
    """

    def __init__(self, A: Any, *, kind: str = "sa", cycle: str = "V", near_null_space: np.ndarray | None = None,
                 max_coarse: int = 50, **options: Any) -> None:
        import pyamg

        check_choice("AMG kind", kind, ("sa", "rs"))
        check_choice("AMG cycle", cycle, ("V", "W"))
        if int(max_coarse) != max_coarse or max_coarse < 1:
            raise ValueError(f"max_coarse must be a positive integer; got {max_coarse!r}")
        t = time.perf_counter()
        A = _csr(as_csr_matrix(A))
        super().__init__(A.shape[0])
        self.name = f"{kind}-amg"
        self.kind, self.cycle = kind, cycle
        if near_null_space is not None:
            if kind != "sa":
                raise ValueError("near_null_space applies to smoothed aggregation (kind='sa') only")
            near_null_space = np.asarray(near_null_space, dtype=np.float64).reshape(A.shape[0], -1)
        omega = _own_jacobi_weight(options.get("smooth", _DEFAULT_SMOOTH)) if kind == "sa" else None
        if omega is not None:
            options.pop("smooth", None)
            self.transfers = smoothed_aggregation_transfers(A, near_null_space=near_null_space,
                                                            max_coarse=int(max_coarse), omega=omega, **options)
        else:
            state = np.random.get_state()  # pyamg estimates spectral radii from np.random draws:
            np.random.seed(0)  # seed them, so the same matrix always gives the same hierarchy
            try:
                if kind == "sa":
                    ml = pyamg.smoothed_aggregation_solver(A, B=near_null_space, symmetry="hermitian",
                                                           max_coarse=int(max_coarse), **options)
                else:
                    ml = pyamg.ruge_stuben_solver(A, max_coarse=int(max_coarse), **options)
            finally:
                np.random.set_state(state)
            self.transfers = [(_csr(lvl.P), _csr(lvl.R)) for lvl in ml.levels[:-1]]
        self._pattern = (A.indptr.copy(), A.indices.copy())
        self.update_time, self.updates = 0.0, 0
        self._set_values(A)
        self.setup_time = time.perf_counter() - t

    # ------------------------------------------------------------------ values
    def _set_values(self, A: sp.csr_matrix) -> None:
        operators = [A]
        for P, R in self.transfers:
            operators.append(_csr(R @ (operators[-1] @ P)))
        self._operators = operators[:-1]
        coarse = operators[-1].toarray()
        self._coarse_size = coarse.shape[0]
        try:
            self._coarse = ("cholesky", DenseCholesky(coarse)) if coarse.size else ("none", None)
        except np.linalg.LinAlgError:  # singular coarsest operator (e.g. a pure Neumann problem)
            self._coarse = ("pinv", np.linalg.pinv(coarse, hermitian=True))
        self.levels = len(operators)
        self.operator_complexity = float(sum(op.nnz for op in operators) / max(A.nnz, 1))

    def same_pattern(self, A: sp.csr_matrix) -> bool:
        """Whether ``A`` (CSR, sorted, no duplicates) has this hierarchy's sparsity pattern."""
        indptr, indices = self._pattern
        return (A.shape == self.shape and A.nnz == indices.size and np.array_equal(A.indptr, indptr)
                and np.array_equal(A.indices, indices))

    def update(self, A: Any) -> "AMGPreconditioner":
        """Re-set-up for new values of the same sparsity pattern; returns ``self``.

        The aggregates and transfer operators are kept; the Galerkin coarse operators, the
        smoother data and the coarsest factorisation are recomputed for ``A``.

        Raises
        ------
        ValueError
            ``A`` has another shape or sparsity pattern (build a new preconditioner for it), or
            holds NaN/inf.
        """
        t = time.perf_counter()
        A = _csr(as_csr_matrix(A))
        if not self.same_pattern(A):
            raise ValueError(f"AMG update needs a matrix with the sparsity pattern of the one it was built "
                             f"for ({self.shape[0]} rows, {self._pattern[1].size} nonzeros); got "
                             f"{A.shape[0]} rows, {A.nnz} nonzeros or other positions: build a new "
                             "preconditioner")
        self._set_values(A)
        self.update_time = time.perf_counter() - t
        self.updates += 1
        return self

    # ------------------------------------------------------------------ cycle
    def _smooth(self, level: int, x: np.ndarray, b: np.ndarray) -> None:
        from pyamg.amg_core import gauss_seidel

        A = self._operators[level]
        n = A.shape[0]
        gauss_seidel(A.indptr, A.indices, A.data, x, b, 0, n, 1)
        gauss_seidel(A.indptr, A.indices, A.data, x, b, n - 1, -1, -1)

    def _coarse_solve(self, b: np.ndarray) -> np.ndarray:
        how, factor = self._coarse
        if how == "cholesky":
            return factor.solve(b)
        return factor @ b if how == "pinv" else b[:0]

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        if level == len(self._operators):
            return self._coarse_solve(b)
        A = self._operators[level]
        P, R = self.transfers[level]
        x = np.zeros_like(b)
        self._smooth(level, x, b)
        for _ in range(1 if self.cycle == "V" or level == len(self._operators) - 1 else 2):
            x += P @ self._cycle(level + 1, R @ (b - A @ x))
        self._smooth(level, x, b)
        return x

    def _apply(self, r: np.ndarray) -> np.ndarray:
        return self._cycle(0, np.ascontiguousarray(r, dtype=np.float64))

    def __repr__(self) -> str:
        return (f"AMGPreconditioner(kind={self.kind!r}, n={self.shape[0]}, levels={self.levels}, "
                f"complexity={self.operator_complexity:.2f}, setup_time={self.setup_time:.3g}s, "
                f"updates={self.updates})")


def amg(A: Any, *, kind: str = "sa", cycle: str = "V", **options: Any) -> AMGPreconditioner:
    """Algebraic multigrid preconditioner (setup happens here, timed in ``setup_time``).

    Parameters
    ----------
    A : (n, n) SPD sparse matrix
    kind : {"sa", "rs"}
        Smoothed aggregation or classical Ruge-Stuben (pyamg's transfers).
    cycle : {"V", "W"}
    **options
        ``near_null_space``, ``max_coarse``, and options of pyamg's builders; see
        :class:`AMGPreconditioner`.
    """
    return AMGPreconditioner(A, kind=kind, cycle=cycle, **options)
