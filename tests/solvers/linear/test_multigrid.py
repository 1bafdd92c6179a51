"""AMG preconditioner: SPD cycle, grid-independent PCG, re-set-up on a fixed pattern."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pdekit.solvers.fd import poisson_system
from pdekit.solvers.linear import AMGPreconditioner, amg, pcg
from pdekit.solvers.random_fields import gaussian_random_field, lognormal_coefficient
from tests.solvers.linear._systems import laplacian_2d


def _darcy(s, seed=0, scale=1.0):
    g = gaussian_random_field((s, s), alpha=2.0, tau=3.0, bc="neumann", rng=np.random.default_rng(seed))
    return poisson_system((s, s), a=lognormal_coefficient(g, scale=scale))


@pytest.mark.parametrize("kind, cycle", [("sa", "V"), ("rs", "V"), ("sa", "W")])
def test_cycle_is_symmetric_positive_definite(kind, cycle):
    system = _darcy(33)
    M = amg(system.matrix, kind=kind, cycle=cycle)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, system.rhs.size))
    assert x @ M(y) == pytest.approx(y @ M(x), rel=1e-10)
    assert x @ M(x) > 0 and M.levels >= 2


@pytest.mark.parametrize("kind, bound", [("sa", 12), ("rs", 10)])
def test_pcg_iterations_are_few_and_mesh_independent(kind, bound):
    counts = []
    for n in (32, 64):
        A = laplacian_2d(n)
        M = amg(A, kind=kind)
        _, info = pcg(A, np.ones(n * n), rtol=1e-8, M=M)
        assert info.converged and M.setup_time > 0
        counts.append(info.iterations)
    assert max(counts) <= bound and counts[1] <= counts[0] + 2


def test_update_equals_a_fresh_setup_when_the_transfers_are_the_same():
    # smoothed aggregation is scale invariant: the hierarchy of 7 A has the transfers of A's
    A = _darcy(65).matrix
    b = np.random.default_rng(2).normal(size=A.shape[0])
    fresh = amg(7.0 * A)
    x_fresh, info_fresh = pcg(7.0 * A, b, rtol=1e-10, M=fresh)
    reused = amg(A).update(7.0 * A)
    x_reused, info_reused = pcg(7.0 * A, b, rtol=1e-10, M=reused)
    assert reused.updates == 1 and info_reused.iterations == info_fresh.iterations
    assert np.linalg.norm(x_reused - x_fresh) <= 1e-9 * np.linalg.norm(x_fresh)
    r = np.random.default_rng(3).normal(size=A.shape[0])
    assert np.allclose(reused(r), fresh(r), rtol=1e-10, atol=1e-14 * np.abs(fresh(r)).max())


def test_update_on_new_values_keeps_convergence_close_to_fresh():
    first, second = _darcy(65, seed=0).matrix, _darcy(65, seed=1, scale=1.5).matrix
    b = np.ones(first.shape[0])
    M = amg(first)
    levels = [P.shape for P, _ in M.transfers]
    x, info = pcg(second, b, rtol=1e-10, M=M.update(second))
    _, fresh = pcg(second, b, rtol=1e-10, M=amg(second))
    assert info.converged and info.iterations <= fresh.iterations + 3
    assert [P.shape for P, _ in M.transfers] == levels  # aggregates and transfers kept
    assert np.linalg.norm(second @ x - b) <= 1e-10 * np.linalg.norm(b)
    back = M.update(first)  # and back: exactly the first hierarchy again
    r = np.arange(first.shape[0], dtype=float)
    assert np.allclose(back(r), amg(first)(r), rtol=1e-12, atol=0)


def test_update_refuses_another_pattern():
    A = laplacian_2d(8)
    M = amg(A)
    with pytest.raises(ValueError, match="same sparsity pattern|sparsity pattern of the one"):
        M.update(laplacian_2d(9))
    B = A.tolil()
    B[0, 10] = B[10, 0] = -0.1
    with pytest.raises(ValueError, match="build a new preconditioner"):
        M.update(B.tocsr())


def test_near_null_space_for_elasticity():
    from pdekit.meshes import unit_square
    from pdekit.solvers.fem import dirichlet_dofs, elasticity_matrix, function_space, rigid_body_modes
    from pdekit.solvers.fem.boundary import condense

    V = function_space(unit_square(24), 1, n_components=2)
    K = elasticity_matrix(V, lam=1.0, mu=1.0)
    s = condense(K, np.ones(V.n_dofs), dirichlet_dofs(V, "left"), 0.0)
    B = rigid_body_modes(V)[s.free]
    _, with_modes = pcg(s.matrix, s.rhs, rtol=1e-8, M=AMGPreconditioner(s.matrix, near_null_space=B))
    _, without = pcg(s.matrix, s.rhs, rtol=1e-8, M=AMGPreconditioner(s.matrix))
    assert with_modes.converged and with_modes.iterations < without.iterations


def test_bad_options():
    with pytest.raises(ValueError, match="AMG kind"):
        amg(laplacian_2d(4), kind="ua")
    with pytest.raises(ValueError, match="AMG cycle"):
        amg(laplacian_2d(4), cycle="F")
    with pytest.raises(ValueError, match="smoothed aggregation"):
        amg(laplacian_2d(4), kind="rs", near_null_space=np.ones(16))
    with pytest.raises(ValueError, match="max_coarse"):
        amg(laplacian_2d(4), max_coarse=0)
    with pytest.raises(ValueError, match="finite"):
        amg(sp.diags([1.0, np.nan]).tocsr())


def test_own_jacobi_smoothing_builds_pyamgs_hierarchy():
    # pdekit smooths the tentative prolongators itself (a thread-count-independent spectral
    # estimate); the hierarchy is pyamg's smoothed aggregation up to that estimate
    import pyamg

    A = _darcy(65).matrix
    own = amg(A, max_coarse=10)
    ml = pyamg.smoothed_aggregation_solver(A, symmetry="hermitian", max_coarse=10)
    assert len(own.transfers) == len(ml.levels) - 1
    r = np.random.default_rng(4).standard_normal(A.shape[0])
    for (P, R), level in zip(own.transfers, ml.levels[:-1]):
        assert P.shape == level.P.shape and (R != P.T).nnz == 0
    P, theirs = own.transfers[0][0], sp.csr_matrix(ml.levels[0].P)  # the weights differ by the estimate only
    assert P.nnz == theirs.nnz and abs(P - theirs).max() <= 0.02 * abs(theirs).max()
    _, mine = pcg(A, r, rtol=1e-8, M=own)
    _, pyamgs = pcg(A, r, rtol=1e-8, M=ml.aspreconditioner())
    assert mine.iterations <= pyamgs.iterations + 1
    # any other smoother is pyamg's own
    assert amg(A, smooth=("jacobi", {"omega": 1.0, "weighting": "local"})).levels >= 2
