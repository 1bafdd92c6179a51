"""The checked direct solver: exact on SPD systems, refuses what is not SPD, reports what it cannot do."""

import numpy as np
import pytest
import scipy.sparse as sp

from pdekit.solvers.linear import DirectSolver
from tests.solvers.linear._systems import laplacian_2d


def test_solves_and_reports_a_true_residual():
    A = laplacian_2d(20, coefficient_seed=1)
    b = np.random.default_rng(0).normal(size=400)
    solver = DirectSolver(A)
    x, info = solver.solve(b, rtol=1e-12)
    assert info.converged and info.method == "direct" and info.iterations == 0
    assert info.residuals[-1] == pytest.approx(np.linalg.norm(b - A @ x) / np.linalg.norm(b))
    assert info.residuals[-1] < 1e-13 and info.preconditioner == "superlu" and info.setup_time > 0
    x2, _ = solver.solve(2 * b)  # one factorisation, many right-hand sides
    assert np.allclose(x2, 2 * x)
    z, info = solver.solve(np.zeros(400))
    assert info.converged and not z.any()


def test_complex_hermitian():
    rng = np.random.default_rng(2)
    B = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    A = sp.csr_matrix(B @ B.conj().T + np.eye(8))
    b = rng.normal(size=8) + 1j
    x, info = DirectSolver(A).solve(b, rtol=1e-12)
    assert info.converged and np.allclose(A @ x, b)


@pytest.mark.parametrize("A, message", [
    (-laplacian_2d(4), "16 non-positive pivot"),
    (sp.diags([1.0, -2.0, 3.0]).tocsr(), "1 non-positive pivot"),
    (sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]])), "zero diagonal pivot"),
    (sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]])), "singular|positive definite"),
])
def test_not_positive_definite_is_an_error(A, message):
    with pytest.raises(ValueError, match=message):
        DirectSolver(A)


def test_an_answer_that_overflows_is_a_failure_not_a_result():
    A = sp.diags([1e-310, 1.0]).tocsr()
    x, info = DirectSolver(A).solve(np.array([1e10, 1.0]))
    assert not info.converged and "NaN/inf" in info.status
