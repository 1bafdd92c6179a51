"""Zero fill-in incomplete Cholesky, IC(0), factorised level by level.

``A ~ L L^T`` with ``L`` restricted to the sparsity pattern of ``tril(A)``. Because ``L`` has
a positive diagonal, ``(L L^T)^-1`` is symmetric positive definite whatever the quality of the
approximation, so IC(0) is a valid PCG preconditioner (scipy's ``spilu`` is not symmetric and
stalls CG). If a pivot is not positive (possible for SPD matrices that are not M-matrices) the
factorisation is repeated on ``A + s diag(A)`` with growing ``s`` (Manteuffel's shift).

The row-oriented recurrence
``L_ij = (a_ij - sum_{k<j} L_ik L_jk) / L_jj`` and ``L_ii = sqrt(a_ii - sum_{k<i} L_ik^2)``
has row ``i`` depending on the rows ``j`` of its strictly lower entries only. Rows are
grouped into levels (a row's level is one more than the highest level it depends on) and all
rows of one level are computed at once with numpy, entry position by entry position; the
sums run over precomputed triples ``(ij, ik, jk)`` of pattern entries. A 5-point grid of
N x N unknowns has 2N - 1 levels. The triangular solves use
:func:`scipy.sparse.linalg.spsolve_triangular`.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(8, 8))
>>> A = (sp.kron(sp.identity(8), T) + sp.kron(T, sp.identity(8))).tocsr()
>>> M = ic0(A)
>>> L = M.factor.toarray()
>>> bool(np.allclose((L @ L.T)[A.toarray() != 0], A.toarray()[A.toarray() != 0]))
True
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit.solvers.linear._base import Preconditioner, as_csr_matrix

__all__ = ["IncompleteCholesky", "ic0"]


def _row_levels(S: sp.csr_matrix) -> np.ndarray:
    """Level of every row of the strictly lower matrix ``S`` (Kahn's algorithm, level by level)."""
    n = S.shape[0]
    indegree = np.diff(S.indptr).astype(np.int64)
    dependents = S.T.tocsr()  # row j lists the rows i that depend on j
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(indegree == 0)
    current = 0
    while frontier.size:
        level[frontier] = current
        starts, stops = dependents.indptr[frontier], dependents.indptr[frontier + 1]
        counts = stops - starts
        if counts.sum() == 0:
            break
        offsets = np.repeat(starts - np.cumsum(np.r_[0, counts[:-1]]), counts)
        rows = dependents.indices[np.arange(counts.sum()) + offsets]
        np.subtract.at(indegree, rows, 1)
        touched = np.unique(rows)
        frontier = touched[indegree[touched] == 0]
        current += 1
    if (level < 0).any():  # pragma: no cover - a strictly lower pattern is always acyclic
        raise RuntimeError("IC(0) level scheduling failed: dependency cycle")
    return level


class _Schedule:
    """The symbolic part of IC(0): entry order, batches and triples (depends on the pattern only)."""

    def __init__(self, S: sp.csr_matrix) -> None:
        n = S.shape[0]
        rows = np.repeat(np.arange(n), np.diff(S.indptr))
        cols = S.indices.astype(np.int64)
        position = np.arange(S.nnz) - S.indptr[rows]
        level = _row_levels(S)
        self.level = level
        self.n_levels = int(level.max()) + 1 if n else 0
        width = int(position.max()) + 1 if S.nnz else 1
        # triples: target e = (i, j), e1 = (i, k), e2 = (j, k), k < j
        before = position  # entries of the same row left of e
        e = np.repeat(np.arange(S.nnz), before)
        e1 = np.arange(before.sum()) - np.repeat(np.cumsum(before) - before, before) + S.indptr[rows[e]]
        key = cols[e] * n + cols[e1]
        all_keys = rows * n + cols  # sorted: CSR with sorted indices
        at = np.searchsorted(all_keys, key)
        at = np.minimum(at, max(S.nnz - 1, 0))
        hit = all_keys[at] == key if S.nnz else np.zeros(0, bool)
        e, e1, e2 = e[hit], e1[hit], at[hit]
        batch = level[rows] * width + position
        order = np.argsort(batch, kind="stable")
        self.entries_by_batch = order
        bounds = np.searchsorted(batch[order], np.arange(self.n_levels * width + 1))
        self.batch_bounds = bounds
        t_order = np.argsort(batch[e], kind="stable")
        self.t_target, self.t_left, self.t_right = e[t_order], e1[t_order], e2[t_order]
        self.t_bounds = np.searchsorted(batch[e][t_order], np.arange(self.n_levels * width + 1))
        self.width = width
        row_order = np.argsort(level, kind="stable")
        self.rows_by_level = row_order
        self.row_bounds = np.searchsorted(level[row_order], np.arange(self.n_levels + 1))
        self.rows, self.cols = rows, cols
        # entries grouped by the level of their row, to sum squares per row
        self.level_entries = order  # batches of one level are contiguous in `order`
        self.level_entry_bounds = bounds[:: width] if width else bounds


def _factor(sched: _Schedule, a_lower: np.ndarray, a_diag: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Numeric IC(0); return (strictly lower values, diagonal) or None on a non-positive pivot."""
    L = np.zeros_like(a_lower)
    d = np.zeros_like(a_diag)
    w = sched.width
    for lev in range(sched.n_levels):
        for pos in range(w):
            b = lev * w + pos
            ents = sched.entries_by_batch[sched.batch_bounds[b]:sched.batch_bounds[b + 1]]
            if ents.size == 0:
                continue
            vals = a_lower[ents]
            lo, hi = sched.t_bounds[b], sched.t_bounds[b + 1]
            if hi > lo:  # ents is sorted: the batch keeps CSR order
                contrib = L[sched.t_left[lo:hi]] * L[sched.t_right[lo:hi]]
                local = np.searchsorted(ents, sched.t_target[lo:hi])
                vals = vals - np.bincount(local, weights=contrib, minlength=ents.size)
            L[ents] = vals / d[sched.cols[ents]]
        rows = sched.rows_by_level[sched.row_bounds[lev]:sched.row_bounds[lev + 1]]
        ents = sched.level_entries[sched.level_entry_bounds[lev]:sched.level_entry_bounds[lev + 1]]
        pivot = a_diag[rows].copy()
        if ents.size:  # rows is sorted (stable order of levels)
            local = np.searchsorted(rows, sched.rows[ents])
            pivot -= np.bincount(local, weights=L[ents] ** 2, minlength=rows.size)
        if not (pivot > 0).all():
            return None
        d[rows] = np.sqrt(pivot)
    return L, d


class IncompleteCholesky(Preconditioner):
    """IC(0) preconditioner ``z = (L L^T)^-1 r``; SPD by construction.

    Attributes
    ----------
    factor : (n, n) scipy CSR matrix
        The lower-triangular factor ``L`` (pattern of ``tril(A)``).
    shift : float
        The diagonal shift ``s`` that was needed (``A + s diag(A)`` was factorised); 0 normally.
    n_levels : int
        Number of levels of the schedule.
    """

    name = "ic0"

    def __init__(self, A: Any, *, max_shifts: int = 30) -> None:
        t = time.perf_counter()
        A = as_csr_matrix(A)
        super().__init__(A.shape[0])
        S = sp.tril(A, k=-1, format="csr")
        S.sort_indices()
        self._lower_pattern = (S.indptr.copy(), S.indices.copy())
        self._schedule = _Schedule(S)
        self.n_levels = self._schedule.n_levels
        self.max_shifts = int(max_shifts)
        self._factorize(A, S)
        self.setup_time = time.perf_counter() - t

    def _factorize(self, A: sp.csr_matrix, S: sp.csr_matrix) -> None:
        a_diag = A.diagonal()
        if not (a_diag > 0).all():
            i = int(np.argmax(~(a_diag > 0)))
            raise ValueError(f"IC(0) needs a positive diagonal (A must be SPD); A[{i}, {i}] = {a_diag[i]:.3g}")
        self.shift = 0.0
        for attempt in range(self.max_shifts + 1):
            out = _factor(self._schedule, S.data.astype(np.float64), a_diag * (1.0 + self.shift))
            if out is not None:
                break
            self.shift = 1e-3 if self.shift == 0 else 2.0 * self.shift
        else:
            raise ValueError(f"IC(0) broke down even with a diagonal shift of {self.shift:.3g}; "
                             "is A symmetric positive definite?")
        L_vals, d = out
        n = A.shape[0]
        lower = sp.csr_matrix((L_vals, S.indices, S.indptr), shape=(n, n))
        self.factor = (lower + sp.diags(d)).tocsr()
        self.factor.sort_indices()
        self._diagonal = d
        self._solve = _TriangularSolves(self.factor, d)

    def update(self, A: Any) -> "IncompleteCholesky":
        """Refactorise for new values of the same sparsity pattern (the level schedule, the
        symbolic part, is kept); returns ``self``.

        Raises
        ------
        ValueError
            ``A`` has another sparsity pattern, or is not SPD enough to factorise.
        """
        A = as_csr_matrix(A)
        S = sp.tril(A, k=-1, format="csr")
        S.sort_indices()
        indptr, indices = self._lower_pattern
        if A.shape != self.shape or not (np.array_equal(S.indptr, indptr) and np.array_equal(S.indices, indices)):
            raise ValueError("IC(0) update needs a matrix with the sparsity pattern it was built for; "
                             "build a new preconditioner")
        self._factorize(A, S)
        return self

    def _apply(self, r: np.ndarray) -> np.ndarray:
        return self._solve(r)


class _TriangularSolves:
    """``r -> (L L^T)^-1 r`` by SuperLU's compiled triangular solves, set up once.

    ``L = L_1 D`` with ``L_1`` unit lower triangular (stored CSC once), so
    ``L y = r`` is ``y = (L_1^-1 r) / d`` and ``L^T z = y`` is ``z = L_1^-T (y / d)``.
    :func:`scipy.sparse.linalg.spsolve_triangular` calls the same routine but copies and
    rescales the matrix on every call, which costs far more than the solve; it remains the
    fallback should scipy's private ``gstrs`` not be available.
    """

    def __init__(self, L: sp.csr_matrix, d: np.ndarray) -> None:
        n = L.shape[0]
        self.n, self.d = n, d
        unit = sp.csc_matrix(L @ sp.diags(1.0 / d))
        unit.sort_indices()
        self.unit = unit
        self._idx = (unit.indices.astype(np.intc), unit.indptr.astype(np.intc))
        self._empty = (np.zeros(0), np.zeros(0, np.intc), np.zeros(n + 1, np.intc))
        self._L, self._Lt = L, L.T.tocsr()
        try:
            from scipy.sparse.linalg._dsolve import _superlu

            self._gstrs = _superlu.gstrs
            probe = np.linspace(1.0, 2.0, n)
            if not np.allclose(self._fast(probe), self._slow(probe), rtol=1e-10, atol=0.0):
                self._gstrs = None
        except Exception:  # pragma: no cover - depends on scipy internals
            self._gstrs = None

    def _fast(self, r: np.ndarray) -> np.ndarray:
        n, unit = self.n, self.unit
        w, _ = self._gstrs("N", n, unit.nnz, unit.data, *self._idx, n, 0, *self._empty, np.array(r, dtype=np.float64))
        z, _ = self._gstrs("T", n, unit.nnz, unit.data, *self._idx, n, 0, *self._empty, w / (self.d * self.d))
        return z

    def _slow(self, r: np.ndarray) -> np.ndarray:
        y = spla.spsolve_triangular(self._L, r, lower=True)
        return spla.spsolve_triangular(self._Lt, y, lower=False, overwrite_b=True)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self._fast(r) if self._gstrs is not None else self._slow(r)


def ic0(A: Any) -> IncompleteCholesky:
    """Zero fill-in incomplete Cholesky of an SPD sparse matrix ``A`` ((n, n)); see the module doc."""
    return IncompleteCholesky(A)
