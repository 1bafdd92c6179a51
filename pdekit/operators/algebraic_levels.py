"""The algebraic hierarchy a learned V-cycle runs on when the matrix has no grid.

Levels come from smoothed aggregation, built from the matrix alone (pyamg's strength of
connection, standard aggregation, a tentative prolongator fitted to the constants and smoothed
by one damped Jacobi step: :func:`pdekit.solvers.linear.multigrid.smoothed_aggregation_transfers`,
the transfers of :class:`pdekit.solvers.linear.AMGPreconditioner`, the same bits in any process). Restriction is
the transpose of prolongation and every coarse matrix is the Galerkin product ``P^T A P``; the
coarsest level (at most ``coarse_size`` unknowns) is solved exactly.

What a learned smoother sees of a level, in place of a grid stencil, is its *normalised
couplings* ``a_ij / sqrt(a_ii a_jj)`` (numbers in [-1, 1] for an SPD matrix): a smoother is a
function of them (see :mod:`pdekit.operators.dcdm_algebraic`), so one set of weights applies to
any mesh, element degree, dimension and coefficient. Everything here depends on the matrix
only, not on learned weights: it is the setup phase, built once per matrix.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from pdekit.solvers.linear.dense_cholesky import DenseCholesky

__all__ = ["AlgebraicLevel", "AlgebraicHierarchy", "build_algebraic_hierarchy"]


@dataclasses.dataclass
class AlgebraicLevel:
    """One level of an algebraic hierarchy.

    Attributes
    ----------
    matrix : (n, n) scipy CSR
        The level's operator (the system matrix on level 0, Galerkin products below).
    inv_sqrt_diagonal : (n,) float array
        ``a_ii^-1/2``.
    rows, cols : (m,) int arrays
        The off-diagonal entries of ``matrix`` (CSR order).
    couplings : (m,) float array
        ``a_ij / sqrt(a_ii a_jj)`` of those entries.
    off_diagonal : (m,) int array
        Positions of those entries in ``matrix.data``; ``diagonal`` (n,) the positions of the
        diagonal entries (a matrix with the pattern of ``matrix`` is built by filling its data).
    coupling_scale : (m,) float array
        ``(a_ii a_jj)^-1/2`` of the off-diagonal entries.
    prolongation : (n, n_coarse) scipy CSR or None
        Interpolation from the next coarser level (None on the coarsest).
    """

    matrix: sp.csr_matrix
    inv_sqrt_diagonal: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    couplings: np.ndarray
    off_diagonal: np.ndarray
    diagonal: np.ndarray
    coupling_scale: np.ndarray
    prolongation: sp.csr_matrix | None = None

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])


@dataclasses.dataclass
class AlgebraicHierarchy:
    """All levels plus the Cholesky factor of the coarsest matrix (the same bits at any thread count)."""

    levels: list[AlgebraicLevel]
    coarse_cholesky: DenseCholesky

    def coarse_solve(self, r: np.ndarray) -> np.ndarray:
        return self.coarse_cholesky.solve(r)

    def coarse_inverse(self) -> np.ndarray:
        """Dense inverse of the coarsest matrix, ``(n_c, n_c)``."""
        return self.coarse_cholesky.inverse()


def _level(A: sp.csr_matrix) -> AlgebraicLevel:
    A = sp.csr_matrix(A, dtype=np.float64)
    A.sum_duplicates()
    A.sort_indices()
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    if np.count_nonzero(rows == A.indices) != A.shape[0]:  # store every diagonal entry
        A = (A + sp.diags(np.zeros(A.shape[0]))).tocsr()
        A.sum_duplicates()
        A.sort_indices()
        rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    d = A.diagonal()
    if not (d > 0).all():
        raise ValueError("the learned V-cycle needs an SPD matrix with a positive diagonal; found "
                         f"diagonal entry {d.min():.3g}")
    dis = 1.0 / np.sqrt(d)
    on = rows == A.indices
    off = np.flatnonzero(~on)
    rows, cols = rows[off], A.indices[off].astype(np.int64)
    scale = dis[rows] * dis[cols]
    return AlgebraicLevel(A, dis, rows, cols, A.data[off] * scale, off, np.flatnonzero(on), scale)


def build_algebraic_hierarchy(A: sp.spmatrix, *, coarse_size: int = 256, max_levels: int = 12) -> AlgebraicHierarchy:
    """Smoothed-aggregation levels of the SPD matrix ``A`` (see the module doc).

    Parameters
    ----------
    A : (n, n) SPD sparse matrix
    coarse_size : int
        Coarsen until a level has at most this many unknowns.
    max_levels : int

    Raises
    ------
    ValueError
        ``A`` is not square or has a non-positive diagonal.
    """
    from pdekit.solvers.linear.multigrid import smoothed_aggregation_transfers

    A = sp.csr_matrix(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix; got shape {A.shape}")
    levels = [_level(A)]
    if A.shape[0] > coarse_size:
        transfers = smoothed_aggregation_transfers(levels[0].matrix, max_coarse=int(coarse_size),
                                                   max_levels=int(max_levels))
        for P, R in transfers:  # Galerkin products P^T A P
            levels[-1].prolongation = sp.csr_matrix(P, dtype=np.float64)
            levels.append(_level(R @ (levels[-1].matrix @ P)))
    dense = levels[-1].matrix.toarray()
    return AlgebraicHierarchy(levels, DenseCholesky(dense))
