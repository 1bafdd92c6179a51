import numpy as np
import pytest

from pdekit.solvers.fd import poisson_system, solve_spd
from pdekit.solvers.fd._amg import GalerkinHierarchy, pcg
from pdekit.solvers.random_fields import gaussian_random_field, lognormal_coefficient


def _system(s, seed=0, scale=1.0):
    g = gaussian_random_field((s, s), alpha=2.0, tau=3.0, bc="neumann",
                              rng=np.random.default_rng(seed))
    return poisson_system((s, s), a=lognormal_coefficient(g, scale=scale))


def test_vcycle_is_symmetric_positive_definite():
    system = _system(33)
    vcycle = GalerkinHierarchy(poisson_system((33, 33)).matrix).preconditioner(system.matrix)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, system.rhs.size))
    assert x @ vcycle(y) == pytest.approx(y @ vcycle(x), rel=1e-10)
    assert x @ vcycle(x) > 0


def test_reused_transfers_converge_fast_and_report_true_residual():
    system = _system(65, scale=1.0)
    hierarchy = GalerkinHierarchy(poisson_system((65, 65)).matrix)
    x, iterations, res = pcg(system.matrix, system.rhs,
                             hierarchy.preconditioner(system.matrix), rtol=1e-10)
    true = np.linalg.norm(system.rhs - system.matrix @ x) / np.linalg.norm(system.rhs)
    assert res == pytest.approx(true) and true <= 1e-10
    assert iterations <= 20  # grid-independent AMG convergence
    x, iterations, res = pcg(system.matrix, system.rhs,
                             hierarchy.preconditioner(system.matrix), rtol=1e-10, maxiter=3)
    assert iterations == 3 and res > 1e-10


def test_solve_spd_full_setup_and_failure():
    system = _system(33, scale=3.0)
    x = solve_spd(system.matrix, system.rhs, method="amg")
    x_direct = solve_spd(system.matrix, system.rhs, method="direct")
    np.testing.assert_allclose(x, x_direct, rtol=1e-8, atol=1e-12 * np.abs(x_direct).max())
    with pytest.raises(RuntimeError, match="did not reach rtol"):
        solve_spd(system.matrix, system.rhs, method="amg", maxiter=2)
    with pytest.raises(ValueError, match="unknown method"):
        solve_spd(system.matrix, system.rhs, method="lu")
