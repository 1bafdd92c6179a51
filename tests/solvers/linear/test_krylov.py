"""CG, PCG and FCG: agreement with a direct solve, with scipy, with each other; honest failures."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from pdekit.solvers.linear import ConvergenceWarning, cg, fcg, ic0, jacobi, pcg
from tests.solvers.linear._systems import laplacian_2d


@pytest.fixture(scope="module")
def system():
    A = laplacian_2d(24, coefficient_seed=3)
    b = np.random.default_rng(0).normal(size=A.shape[0])
    return A, b, spla.spsolve(A.tocsc(), b)


def test_cg_matches_direct_solve(system):
    A, b, x_direct = system
    x, info = cg(A, b, rtol=1e-10)
    assert info.converged and info.status == "converged"
    assert np.linalg.norm(x - x_direct) / np.linalg.norm(x_direct) < 1e-8
    true = np.linalg.norm(b - A @ x) / np.linalg.norm(b)
    assert true <= 1e-10 and info.residuals[-1] == pytest.approx(true, rel=1e-12)
    assert info.residuals[0] == 1.0 and len(info.residuals) == info.iterations + 1
    assert len(info.times) == len(info.residuals) and np.all(np.diff(info.times) >= 0)


@pytest.mark.parametrize("method", ["cg", "pcg", "fcg"])
def test_recorded_residuals_are_true_residuals(system, method):
    A, b, _ = system
    iterates = []
    solver = {"cg": cg, "pcg": pcg, "fcg": fcg}[method]
    kwargs = {} if method == "cg" else {"M": ic0(A)}
    _, info = solver(A, b, rtol=1e-12, callback=lambda xk: iterates.append(xk.copy()), **kwargs)
    true = [np.linalg.norm(b - A @ xk) / np.linalg.norm(b) for xk in iterates]
    assert info.converged and true[-1] <= 1e-12
    assert np.allclose(info.residuals[1:], true, rtol=1e-12, atol=0)
    _, cheap = solver(A, b, rtol=1e-12, true_residuals=False, **kwargs)
    assert cheap.converged and abs(cheap.iterations - info.iterations) <= 1


def test_cg_iteration_count_matches_scipy(system):
    A, b, _ = system
    count = []
    spla.cg(A, b, rtol=1e-8, callback=lambda xk: count.append(1))
    _, info = cg(A, b, rtol=1e-8)
    assert abs(info.iterations - len(count)) <= 1


def test_x0_and_atol(system):
    A, b, x_direct = system
    x0 = x_direct + 1e-3
    x, info = cg(A, b, x0, rtol=0.0, atol=1e-9 * np.linalg.norm(b))
    assert info.residuals[0] == pytest.approx(np.linalg.norm(b - A @ x0) / np.linalg.norm(b))
    assert np.linalg.norm(b - A @ x) <= 1e-9 * np.linalg.norm(b)


def test_operator_kinds_agree(system):
    A, b, x_direct = system
    x_lo, _ = cg(spla.aslinearoperator(A), b, rtol=1e-10)
    x_dense, _ = cg(A.toarray(), b, rtol=1e-10)
    coo = A.tocoo()
    At = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape).to_sparse_csr()
    x_t, info_t = cg(At, torch.from_numpy(b), rtol=1e-10, M=jacobi(A))
    assert isinstance(x_t, torch.Tensor) and info_t.converged
    for x in (x_lo, x_dense, x_t.numpy()):
        assert np.linalg.norm(x - x_direct) / np.linalg.norm(x_direct) < 1e-8


def test_preconditioning_reduces_iterations(system):
    A, b, _ = system
    _, plain = cg(A, b, rtol=1e-8)
    _, with_ic = pcg(A, b, rtol=1e-8, M=ic0(A))
    assert with_ic.method == "pcg" and plain.method == "cg"
    assert with_ic.iterations < 0.6 * plain.iterations
    assert with_ic.preconditioner_time > 0.0


@pytest.mark.parametrize("make_M", [jacobi, ic0])
def test_fcg_with_linear_spd_preconditioner_gives_pcg_iterates(system, make_M):
    A, b, _ = system
    M = make_M(A)
    xs_pcg, xs_fcg = [], []
    pcg(A, b, rtol=1e-10, M=M, callback=lambda xk: xs_pcg.append(xk.copy()))
    _, info = fcg(A, b, rtol=1e-10, M=M, m=2, callback=lambda xk: xs_fcg.append(xk.copy()))
    assert info.method == "fcg(2)" and info.converged
    assert abs(len(xs_pcg) - len(xs_fcg)) <= 1
    for x_p, x_f in list(zip(xs_pcg, xs_fcg))[:20]:
        assert np.linalg.norm(x_p - x_f) <= 1e-8 * np.linalg.norm(x_p)


def test_fcg_handles_a_nonlinear_preconditioner(system):
    A, b, x_direct = system
    Mj = jacobi(A)

    def inner_cg(r):  # three steps of inner Jacobi-PCG: a nonlinear map of r
        z, _ = spla.cg(A, r, maxiter=3, M=Mj.as_linear_operator())
        return z

    x, info = fcg(A, b, rtol=1e-9, M=inner_cg, m=5)
    assert info.converged and np.linalg.norm(x - x_direct) < 1e-7 * np.linalg.norm(x_direct)
    _, plain = cg(A, b, rtol=1e-9)
    assert info.iterations < plain.iterations / 2


def test_non_convergence_is_reported(system):
    A, b, _ = system
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        x, info = cg(A, b, rtol=1e-12, maxiter=5)
    assert not info.converged and info.status == "maxiter" and info.iterations == 5
    assert info.residuals[-1] > 1e-12


def test_indefinite_matrix_breaks_down_honestly():
    A = sp.diags([1.0, 2.0, -3.0, 4.0]).tocsr()
    with pytest.warns(ConvergenceWarning):
        _, info = cg(A, np.ones(4), rtol=1e-10)
    assert not info.converged and "breakdown" in info.status


def test_zero_rhs_gives_zero():
    x, info = cg(laplacian_2d(4), np.zeros(16))
    assert info.converged and info.iterations == 0 and not x.any()


@pytest.mark.parametrize(
    "A, b, match",
    [
        (sp.random(4, 5, 0.5, random_state=0, format="csr"), np.ones(4), "square"),
        (sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 2.0]])), np.ones(2), "symmetric"),
        (sp.csr_matrix(np.array([[2.0, np.nan], [np.nan, 2.0]])), np.ones(2), "finite"),
        (sp.identity(3, format="csr"), np.array([1.0, np.nan, 0.0]), "b must be finite"),
        (sp.identity(3, format="csr"), np.ones(4), "3 entries"),
    ],
)
def test_bad_systems_are_refused(A, b, match):
    for solver in (cg, pcg, fcg):
        with pytest.raises(ValueError, match=match):
            solver(A, b)


def test_bad_options_are_refused():
    A = laplacian_2d(3)
    with pytest.raises(ValueError, match="rtol"):
        cg(A, np.ones(9), rtol=-1.0)
    with pytest.raises(ValueError, match="both 0"):
        cg(A, np.ones(9), rtol=0.0, atol=0.0)
    with pytest.raises(ValueError, match="maxiter"):
        cg(A, np.ones(9), maxiter=2.5)
    with pytest.raises(ValueError, match="kept directions"):
        fcg(A, np.ones(9), m=0)
    with pytest.raises(TypeError, match="preconditioner M"):
        cg(A, np.ones(9), M="jacobi")
    with pytest.raises(TypeError, match="A must be"):
        cg([[1.0]], np.ones(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, info = cg(A, np.ones(9), check_symmetry=False)
    assert info.converged


def test_torch_systems_are_checked_too():
    nonsym = torch.tensor([[2.0, 1.0], [0.0, 2.0]], dtype=torch.float64).to_sparse()
    with pytest.raises(ValueError, match="symmetric"):
        cg(nonsym, torch.ones(2, dtype=torch.float64))
    bad = torch.tensor([[2.0, float("nan")], [float("nan"), 2.0]], dtype=torch.float64).to_sparse()
    with pytest.raises(ValueError, match="finite"):
        cg(bad, torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="square"):
        cg(torch.ones(2, 3, dtype=torch.float64).to_sparse(), torch.ones(2, dtype=torch.float64))


def test_throw_raises_with_the_last_iterate(system):
    from pdekit.solvers.linear import ConvergenceError

    A, b, _ = system
    with pytest.raises(ConvergenceError, match="cg did not converge: maxiter") as caught:
        cg(A, b, rtol=1e-12, maxiter=4, throw=True)
    err = caught.value
    assert err.info.iterations == 4 and not err.info.converged and err.x.shape == b.shape
    assert np.linalg.norm(b - A @ err.x) / np.linalg.norm(b) == pytest.approx(err.info.final_residual)


@pytest.mark.parametrize("solver", [cg, fcg])
def test_single_precision_in_gives_single_precision_out(system, solver):
    A, b, x_direct = system
    x, info = solver(A.astype(np.float32), b.astype(np.float32), rtol=1e-5)
    assert x.dtype == np.float32 and info.converged
    assert np.linalg.norm(x - x_direct) <= 1e-3 * np.linalg.norm(x_direct)
    x64, _ = solver(A.astype(np.float32), b, rtol=1e-5)  # float64 b: the iteration runs in float64
    assert x64.dtype == np.float64


@pytest.mark.parametrize("solver", [cg, fcg])
def test_complex_hermitian_systems(solver):
    rng = np.random.default_rng(4)
    B = rng.normal(size=(12, 12)) + 1j * rng.normal(size=(12, 12))
    A = B @ B.conj().T + 12 * np.eye(12)
    b = rng.normal(size=12) + 1j * rng.normal(size=12)
    x, info = solver(A, b, rtol=1e-12)
    assert info.converged and np.iscomplexobj(x)
    assert np.linalg.norm(A @ x - b) <= 1e-11 * np.linalg.norm(b)
    x_real_rhs, _ = solver(A, b.real, rtol=1e-12)  # a real b for a complex A
    assert np.allclose(A @ x_real_rhs, b.real, atol=1e-9)
    with pytest.raises(ValueError, match="Hermitian"):
        solver(A + 1j * np.eye(12) * np.arange(12), b)
    S = A.real + A.real.T  # a real A with a complex b: the iteration becomes complex (scipy's rule)
    x, _ = solver(S, b, rtol=1e-12)
    assert np.iscomplexobj(x) and np.allclose(S @ x, b, atol=1e-9)
    with pytest.raises(TypeError, match="x0 is complex but the system is real"):
        solver(S, b.real, x0=b)


def test_scipy_start_and_tolerance_conventions(system):
    A, b, _ = system
    M = jacobi(A)
    x, info = pcg(A, b, x0="Mb", rtol=1e-8, M=M)
    assert info.converged
    assert info.residuals[0] == pytest.approx(np.linalg.norm(b - A @ M(b)) / np.linalg.norm(b))
    x, info = cg(A, b, rtol=np.inf)  # any residual is accepted: the start is the answer
    assert info.converged and info.iterations == 0 and not x.any()
    for bad in (None, "legacy", -1.0, np.nan, True):
        with pytest.raises(ValueError, match="atol must be a number >= 0"):
            cg(A, b, atol=bad)
    with pytest.raises(ValueError, match="x0 must be an array or 'Mb'"):
        cg(A, b, x0="b")
    with pytest.raises(TypeError):
        cg(A, b, None, 1e-5)  # tolerances are keyword-only, as in scipy


def test_linear_operator_psolve_is_scipy_preconditioner(system):
    A, b, _ = system
    op = spla.aslinearoperator(A)
    calls = []
    op.psolve = lambda r: calls.append(1) or r / A.diagonal()
    _, info = cg(op, b, rtol=1e-8)
    assert info.method == "pcg" and calls and info.converged


def test_unattainable_tolerance_stops_with_a_stagnation_status():
    """Round-off bounds the true residual near eps cond(A); the recurrence keeps claiming less."""
    from pdekit.meshes import unit_square
    from pdekit.solvers.fem import (condense, dirichlet_dofs, elasticity_matrix, function_space,
                                    lame_parameters, load_vector)

    lam, mu = lame_parameters(1000.0, 0.3)
    V = function_space(unit_square(8), 2, n_components=2)
    s = condense(elasticity_matrix(V, lam, mu), load_vector(V, np.array([0.0, -1.0])),
                 dirichlet_dofs(V, "left"), 0.0)
    with pytest.warns(ConvergenceWarning, match="stagnated at relative residual"):
        x, info = pcg(s.matrix, s.rhs, rtol=1e-15, M=ic0(s.matrix))
    assert info.iterations < 1000 and 1e-15 < info.final_residual < 1e-10
