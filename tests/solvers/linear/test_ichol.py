"""IC(0): exact on its pattern, equal to the textbook row loop, SPD, shifted when it must be."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pdekit.solvers.linear import cg, ic0, pcg
from tests.solvers.linear._systems import laplacian_2d


def _reference_ic0(A: np.ndarray) -> np.ndarray:
    n = len(A)
    L = np.zeros_like(A)
    for i in range(n):
        for j in range(i + 1):
            if A[i, j] != 0:
                s = A[i, j] - L[i, :j] @ L[j, :j]
                L[i, j] = np.sqrt(s) if i == j else s / L[j, j]
    return L


def _random_spd_with_fill(n: int = 50, seed: int = 1) -> sp.csr_matrix:
    B = sp.random(n, n, 0.08, random_state=seed)
    return (B @ B.T + 2.0 * sp.identity(n)).tocsr()


@pytest.mark.parametrize("A", [laplacian_2d(7, coefficient_seed=2), _random_spd_with_fill()])
def test_matches_reference_and_reproduces_pattern(A):
    M = ic0(A)
    L = M.factor.toarray()
    assert M.shift == 0.0
    assert np.abs(L - _reference_ic0(A.toarray())).max() < 1e-12
    dense = A.toarray()
    on_pattern = dense != 0
    assert np.abs((L @ L.T)[on_pattern] - dense[on_pattern]).max() < 1e-12
    assert not np.triu(L, 1).any()


def test_five_point_grid_has_2n_minus_1_levels():
    assert ic0(laplacian_2d(9)).n_levels == 17


def _as_matrix(M, n):
    return np.column_stack([M(e) for e in np.eye(n)])


@pytest.mark.parametrize("A", [laplacian_2d(6, coefficient_seed=5), _random_spd_with_fill(40, 3)])
def test_preconditioner_is_spd(A):
    Minv = _as_matrix(ic0(A), A.shape[0])
    assert np.abs(Minv - Minv.T).max() < 1e-10 * np.abs(Minv).max()
    assert np.linalg.eigvalsh(0.5 * (Minv + Minv.T)).min() > 0


def test_non_m_matrix_breakdown_is_shifted_and_stays_spd():
    # SPD, but IC(0) without a shift hits a negative pivot (positive off-diagonals)
    A = sp.csr_matrix(np.array([[3.0, -2.0, 0.0, 2.0], [-2.0, 3.0, -2.0, 0.0],
                                [0.0, -2.0, 3.0, -2.0], [2.0, 0.0, -2.0, 3.0]]))
    assert np.linalg.eigvalsh(A.toarray()).min() > 0
    M = ic0(A)
    assert M.shift > 0
    Minv = _as_matrix(M, 4)
    assert np.linalg.eigvalsh(0.5 * (Minv + Minv.T)).min() > 0
    x, info = pcg(A, np.ones(4), rtol=1e-10, M=M)
    assert info.converged


def test_ic0_pcg_beats_cg_on_a_variable_coefficient_grid():
    A = laplacian_2d(40, coefficient_seed=7)
    b = np.ones(A.shape[0])
    _, plain = cg(A, b, rtol=1e-8)
    _, pre = pcg(A, b, rtol=1e-8, M=ic0(A))
    assert pre.converged and pre.iterations < 0.5 * plain.iterations


def test_bad_inputs():
    with pytest.raises(ValueError, match="positive diagonal"):
        ic0(sp.diags([1.0, 0.0, 1.0]).tocsr())
    with pytest.raises(ValueError, match="square"):
        ic0(sp.random(3, 4, 0.5, format="csr"))
    with pytest.raises(TypeError, match="scipy sparse"):
        ic0("A")


def test_compiled_triangular_solves_match_scipy_spsolve_triangular():
    A = laplacian_2d(15, coefficient_seed=4)
    M = ic0(A)
    r = np.random.default_rng(0).normal(size=A.shape[0])
    assert np.allclose(M(r), M._solve._slow(r), rtol=1e-12, atol=0.0)
    L = M.factor.toarray()
    assert np.allclose(L @ (L.T @ M(r)), r)
