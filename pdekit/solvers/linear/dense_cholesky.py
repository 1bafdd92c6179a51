"""Cholesky factorisation of a small dense SPD matrix that gives the same bits at any thread count.

Multigrid hierarchies end in a dense coarsest matrix (tens to a few hundred unknowns) solved
exactly at every cycle. LAPACK's ``potrf`` and the BLAS behind ``potrs`` split matrices of more
than about a hundred rows across threads, so the rounding of ``scipy.linalg.cho_factor`` /
``cho_solve`` depends on how many threads the process has: a pool worker (one thread) and a
serial run (all of them) would precondition with different bits, and generated datasets could
not be byte-identical whatever the process layout. :class:`DenseCholesky` makes every LAPACK
and BLAS call on tiles of at most :data:`TILE` rows (a blocked right-looking factorisation,
blocked substitutions for ``A^-1``, then solves as products with row tiles of ``A^-1`` of at
most 8,192 entries), below the sizes at which BLAS uses threads, so its answers depend on the
matrix and the right-hand side only.

Examples
--------
>>> import numpy as np
>>> A = np.diag(np.arange(1.0, 101.0)) + 0.1
>>> C = DenseCholesky(A)
>>> x = C.solve(np.ones(100))
>>> bool(np.allclose(A @ x, 1.0))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg.lapack import dtrtri

__all__ = ["DenseCholesky", "TILE"]

#: rows of the tiles every LAPACK/BLAS call of the factorisation works on
TILE = 32
#: entries of the matrix in one matrix-vector product of a solve (OpenBLAS threads above 9,216)
_GEMV_ENTRIES = 8192


class DenseCholesky:
    """``A = L L^T`` of a dense SPD matrix, factorised and solved tile by tile.

    Parameters
    ----------
    A : (n, n) array
        Symmetric positive definite (its lower triangle is read).

    Attributes
    ----------
    L : (n, n) array
        The lower Cholesky factor.

    Raises
    ------
    numpy.linalg.LinAlgError
        ``A`` is not positive definite.
    """

    def __init__(self, A: Any) -> None:
        A = np.array(A, dtype=np.float64, order="C", copy=True)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix; got shape {A.shape}")
        n = A.shape[0]
        self._tiles = tiles = [slice(s, min(s + TILE, n)) for s in range(0, n, TILE)]
        L = np.zeros_like(A)
        inverses = []  # L_kk^-1 of the diagonal tiles: substitutions become small products
        for k, kk in enumerate(tiles):
            L[kk, kk] = np.linalg.cholesky(A[kk, kk])
            inverse, info = dtrtri(L[kk, kk], lower=1)
            if info != 0:
                raise np.linalg.LinAlgError("the Cholesky factor is singular")
            inverses.append(np.ascontiguousarray(inverse))
            below = tiles[k + 1:]
            for ii in below:  # the panel: L_ik = A_ik L_kk^-T
                L[ii, kk] = A[ii, kk] @ inverses[k].T
            for i, ii in enumerate(below):  # the trailing lower triangle: A_ij -= L_ik L_jk^T
                for jj in below[:i + 1]:
                    A[ii, jj] -= L[ii, kk] @ L[jj, kk].T
        self.L = L
        self.shape = A.shape
        self._inverses = inverses
        # A^-1 once, then every solve is a few row-tile products with it (fast and tile-sized)
        inverse = np.concatenate([self._substitute(np.eye(n)[:, j:j + TILE]) for j in range(0, n, TILE)], axis=1)
        step = max(1, min(TILE, _GEMV_ENTRIES // max(n, 1)))
        self._rows = [np.ascontiguousarray(inverse[i:i + step]) for i in range(0, n, step)]

    def _substitute(self, b: np.ndarray) -> np.ndarray:
        """``L^-T L^-1 b`` by blocked substitution (``b`` of at most TILE columns)."""
        tiles, L, inverses = self._tiles, self.L, self._inverses
        y = [b[kk].copy() for kk in tiles]
        for k, kk in enumerate(tiles):  # L y = b
            for j in range(k):
                y[k] -= L[kk, tiles[j]] @ y[j]
            y[k] = inverses[k] @ y[k]
        for k in range(len(tiles) - 1, -1, -1):  # L^T x = y
            for j in range(k + 1, len(tiles)):
                y[k] -= L[tiles[j], tiles[k]].T @ y[j]
            y[k] = inverses[k].T @ y[k]
        return np.concatenate(y)

    def solve(self, b: Any) -> np.ndarray:
        """``A^-1 b`` for ``b`` of shape ``(n,)`` or ``(n, k)``."""
        b = np.asarray(b, dtype=np.float64)
        if b.ndim not in (1, 2) or b.shape[0] != self.shape[0]:
            raise ValueError(f"b must have shape ({self.shape[0]},) or ({self.shape[0]}, k); got {b.shape}")
        if b.ndim == 2 and b.shape[1] > TILE:  # keep every product tile-sized
            return np.concatenate([self.solve(b[:, j:j + TILE]) for j in range(0, b.shape[1], TILE)], axis=1)
        b = np.ascontiguousarray(b)
        return np.concatenate([rows @ b for rows in self._rows])

    def inverse(self) -> np.ndarray:
        """``A^-1`` as a dense ``(n, n)`` array."""
        return np.concatenate(self._rows)

    __call__ = solve
