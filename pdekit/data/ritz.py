"""Right-hand sides from Lanczos Ritz vectors, weighted toward the low end of the spectrum.

DCDM (Kaneda et al., ICML 2023) trains its network without labels on right-hand sides that
are random combinations of approximate eigenvectors of the system matrix: ``m`` steps of
Lanczos give Ritz pairs, and a right-hand side is ``b = sum_i c_i v_i`` with ``c_i ~ N(0, 1)``,
the coefficients of the lowest part of the spectrum multiplied by 9. Smooth, slowly converging
error modes thus dominate the training data, which is where a preconditioner earns its keep.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> A = sp.diags(np.arange(1.0, 201.0)).tocsr()
>>> values, vectors = ritz_pairs(A, 40, seed=0)
>>> bool(1.0 <= values[0] < 1.1 and 199.9 < values[-1] <= 200.0)  # extremes converge first
True
>>> b = ritz_rhs(A, 3, n_ritz=40, seed=0)
>>> b.shape, bool(np.allclose(np.linalg.norm(b, axis=1), 1.0))
((3, 200), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["lanczos", "ritz_pairs", "ritz_rhs"]


def _matvec(A: Any):
    if sp.issparse(A) or isinstance(A, np.ndarray):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix; got shape {A.shape}")
        return A.shape[0], (lambda v: A @ v)
    if isinstance(A, spla.LinearOperator):
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be square; got shape {A.shape}")
        return A.shape[0], A.matvec
    raise TypeError(f"A must be a scipy sparse matrix, an array or a LinearOperator; got {type(A).__name__}")


def lanczos(A: Any, m: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``m`` steps of Lanczos with full reorthogonalisation from a random start.

    Parameters
    ----------
    A : (n, n) symmetric matrix or LinearOperator
    m : int
        Number of steps (at most n); fewer are returned if an invariant subspace is found.
    seed : int
        Seed of the random starting vector.

    Returns
    -------
    alpha : (k,) float array
        Diagonal of the tridiagonal matrix ``T = V^T A V``.
    beta : (k - 1,) float array
        Its off-diagonal.
    V : (n, k) float array
        Orthonormal Lanczos basis.
    """
    n, matvec = _matvec(A)
    if int(m) != m or not 1 <= m <= n:
        raise ValueError(f"the number of Lanczos steps must be an integer in [1, n = {n}]; got {m}")
    rng = np.random.default_rng(seed)
    V = np.zeros((n, int(m)))
    v = rng.normal(size=n)
    V[:, 0] = v / np.linalg.norm(v)
    alpha, beta = [], []
    for j in range(int(m)):
        w = matvec(V[:, j])
        if not np.isfinite(w).all():
            raise ValueError("A @ v produced NaN/inf during Lanczos; A must be finite")
        alpha.append(float(V[:, j] @ w))
        w = w - V[:, : j + 1] @ (V[:, : j + 1].T @ w)  # full reorthogonalisation, twice
        w = w - V[:, : j + 1] @ (V[:, : j + 1].T @ w)
        if j + 1 == m:
            break
        b = float(np.linalg.norm(w))
        if b <= 1e-12 * max(abs(alpha[0]), 1.0):
            break
        beta.append(b)
        V[:, j + 1] = w / b
    k = len(alpha)
    return np.asarray(alpha), np.asarray(beta[: k - 1]), V[:, :k]


def ritz_pairs(A: Any, m: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values (ascending, ``(k,)``) and unit Ritz vectors (``(n, k)``) from ``m`` Lanczos steps."""
    alpha, beta, V = lanczos(A, m, seed=seed)
    T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    values, Y = np.linalg.eigh(T)
    return values, V @ Y


def ritz_rhs(A: Any, n_samples: int, *, n_ritz: int = 64, low_fraction: float = 0.5,
             low_weight: float = 9.0, seed: int = 0, pairs: tuple[np.ndarray, np.ndarray] | None = None
             ) -> np.ndarray:
    """Random unit right-hand sides ``b = sum_i c_i v_i`` over Ritz vectors ``v_i`` of ``A``.

    Parameters
    ----------
    A : (n, n) symmetric matrix or LinearOperator
    n_samples : int
        Number of right-hand sides.
    n_ritz : int
        Lanczos steps (number of Ritz vectors), at most n.
    low_fraction : float in (0, 1]
        Share of the Ritz vectors, from the low end of the spectrum, whose coefficients are
        multiplied by ``low_weight``.
    low_weight : float
        Weight of the low end (9 in the DCDM paper).
    seed : int
        Seed of the Lanczos start and of the coefficients.
    pairs : (values, vectors), optional
        Precomputed :func:`ritz_pairs` (then ``A`` and ``n_ritz`` are not used for Lanczos).

    Returns
    -------
    (n_samples, n) float array
        Each row of unit Euclidean norm.
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples}")
    if not 0.0 < low_fraction <= 1.0:
        raise ValueError(f"low_fraction must be in (0, 1]; got {low_fraction}")
    if not (np.isfinite(low_weight) and low_weight > 0):
        raise ValueError(f"low_weight must be positive; got {low_weight}")
    _, vectors = pairs if pairs is not None else ritz_pairs(A, n_ritz, seed=seed)
    k = vectors.shape[1]
    weights = np.ones(k)
    weights[: max(1, int(round(low_fraction * k)))] = low_weight
    rng = np.random.default_rng(seed + 1)
    coefficients = rng.normal(size=(int(n_samples), k)) * weights
    b = coefficients @ vectors.T
    return b / np.linalg.norm(b, axis=1, keepdims=True)
