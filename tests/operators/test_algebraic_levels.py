import numpy as np
import pytest
import scipy.sparse as sp

from pdekit.meshes import unstructured_square
from pdekit.operators.algebraic_levels import build_algebraic_hierarchy
from pdekit.solvers import fem


def _p2_system():
    V = fem.function_space(unstructured_square(40, rng=0), 2)
    a = np.random.default_rng(0).uniform(1, 10, V.n_cells)
    return fem.condense(fem.stiffness_matrix(V, a), fem.load_vector(V, 1.0), fem.dirichlet_dofs(V), 0.0).matrix


def test_levels_are_galerkin_products_down_to_an_exact_coarse_solve():
    A = _p2_system()
    h = build_algebraic_hierarchy(A, coarse_size=32)
    sizes = [lev.n for lev in h.levels]
    assert sizes[0] == A.shape[0] and sizes == sorted(sizes, reverse=True) and len(sizes) >= 3
    assert sizes[-1] <= 32 < sizes[-2]
    for fine, coarse in zip(h.levels[:-1], h.levels[1:]):
        P = fine.prolongation
        assert P.shape == (fine.n, coarse.n)
        galerkin = (P.T @ fine.matrix @ P).toarray()
        assert np.allclose(coarse.matrix.toarray(), galerkin, rtol=1e-10, atol=1e-12 * np.abs(galerkin).max())
    r = np.random.default_rng(1).normal(size=sizes[-1])
    assert np.allclose(h.levels[-1].matrix @ h.coarse_solve(r), r)


def test_couplings_are_normalised_off_diagonal_entries():
    A = _p2_system()
    lev = build_algebraic_hierarchy(A).levels[0]
    dense = A.toarray()
    d = np.sqrt(np.diag(dense))
    expect = dense[lev.rows, lev.cols] / (d[lev.rows] * d[lev.cols])
    assert np.allclose(lev.couplings, expect) and np.all(lev.rows != lev.cols)
    assert np.abs(lev.couplings).max() < 1.0  # SPD: |a_ij| < sqrt(a_ii a_jj)
    assert (lev.couplings > 0).any()  # P2 has positive couplings: no M-matrix is assumed
    assert lev.diagonal.size == A.shape[0] and lev.off_diagonal.size + lev.diagonal.size == A.nnz


def test_small_matrix_is_one_exact_level_and_bad_input():
    A = sp.diags([2.0, 3.0, 4.0]).tocsr()
    h = build_algebraic_hierarchy(A)
    assert len(h.levels) == 1 and np.allclose(h.coarse_solve(np.ones(3)), [0.5, 1 / 3, 0.25])
    with pytest.raises(ValueError, match="positive diagonal"):
        build_algebraic_hierarchy(sp.diags([1.0, -1.0]).tocsr())
    with pytest.raises(ValueError, match="square"):
        build_algebraic_hierarchy(sp.csr_matrix(np.ones((2, 3))))
