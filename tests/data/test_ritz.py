"""Lanczos, Ritz pairs and Ritz right-hand sides."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit.data.ritz import lanczos, ritz_pairs, ritz_rhs
from tests.solvers.linear._systems import laplacian_2d


@pytest.fixture(scope="module")
def A():
    return laplacian_2d(20)


def test_lanczos_basis_is_orthonormal_and_tridiagonalises(A):
    alpha, beta, V = lanczos(A, 30, seed=1)
    assert V.shape == (400, 30) and alpha.shape == (30,) and beta.shape == (29,)
    assert np.abs(V.T @ V - np.eye(30)).max() < 1e-12
    T = V.T @ (A @ V)
    expected = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    assert np.abs(T - expected).max() < 1e-10


def test_extreme_ritz_values_approximate_extreme_eigenvalues(A):
    values, vectors = ritz_pairs(A, 60, seed=0)
    lam = np.linalg.eigvalsh(A.toarray())
    assert np.all(np.diff(values) >= 0)
    assert lam[0] <= values[0] < lam[0] * 1.05 and lam[-1] * 0.999 < values[-1] <= lam[-1] + 1e-9
    residual = np.linalg.norm(A @ vectors[:, -1] - values[-1] * vectors[:, -1])
    assert residual < 1e-2 * values[-1]


def test_invariant_subspace_stops_early():
    A = sp.diags([1.0, 1.0, 2.0, 2.0, 3.0]).tocsr()  # three distinct eigenvalues
    alpha, beta, V = lanczos(A, 5, seed=0)
    assert len(alpha) == 3


def test_rhs_are_unit_and_weighted_to_the_low_end(A):
    pairs = ritz_pairs(A, 60, seed=0)
    low = ritz_rhs(A, 64, pairs=pairs, seed=3)
    flat = ritz_rhs(A, 64, pairs=pairs, seed=3, low_weight=1.0)
    assert low.shape == (64, 400) and np.allclose(np.linalg.norm(low, axis=1), 1.0)
    rayleigh = lambda b: np.einsum("ij,ij->i", b, (A @ b.T).T).mean()  # noqa: E731
    assert rayleigh(low) < 0.5 * rayleigh(flat)
    assert np.array_equal(ritz_rhs(A, 4, n_ritz=20, seed=5), ritz_rhs(A, 4, n_ritz=20, seed=5))
    assert np.allclose(ritz_rhs(spla.aslinearoperator(A), 2, n_ritz=20, seed=5), ritz_rhs(A, 2, n_ritz=20, seed=5))


def test_bad_input(A):
    with pytest.raises(ValueError, match="Lanczos steps"):
        lanczos(A, 401)
    with pytest.raises(ValueError, match="square"):
        lanczos(sp.random(3, 4, 0.5, format="csr"), 2)
    with pytest.raises(TypeError, match="scipy sparse"):
        lanczos([[1.0]], 1)
    with pytest.raises(ValueError, match="n_samples"):
        ritz_rhs(A, 0)
    with pytest.raises(ValueError, match="low_fraction"):
        ritz_rhs(A, 2, low_fraction=0.0)
    with pytest.raises(ValueError, match="low_weight"):
        ritz_rhs(A, 2, low_weight=-9.0)
