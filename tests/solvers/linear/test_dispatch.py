"""``solve``: every method and preconditioner on FD and FEM matrices, auto, reuse, policy, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit.meshes import unstructured_square
from pdekit.solvers import fem
from pdekit.solvers.fd import poisson_system
from pdekit.solvers.linear import (ConvergenceError, ConvergenceWarning, LinearSolver, clear_preconditioner_cache,
                                   graph_dimension, ic0, jacobi, prefers_direct, solve)
from pdekit.solvers.linear import dispatch
from tests.solvers.linear._systems import laplacian_2d


def _fd():
    obstacle = np.zeros((31, 31), bool)
    obstacle[10:15, 8:20] = True
    s = poisson_system((31, 31), a=1.0 + np.random.default_rng(0).uniform(0, 9, (31, 31)), obstacle=obstacle,
                       bc={"left": "neumann"})
    return s.matrix, s.rhs


def _fem(degree):
    V = fem.function_space(unstructured_square(12, rng=0), degree)
    a = np.random.default_rng(1).uniform(1, 10, V.n_cells)
    s = fem.condense(fem.stiffness_matrix(V, a), fem.load_vector(V, 1.0), fem.dirichlet_dofs(V), 0.0)
    return s.matrix, s.rhs


SYSTEMS = {"fd": _fd(), "p1": _fem(1), "p2": _fem(2)}
COMBINATIONS = [("direct", None), ("cg", None), ("pcg", "jacobi"), ("pcg", "ic0"), ("pcg", "amg"),
                ("pcg", "rs-amg"), ("pcg", "object"), ("pcg", "callable"), ("fcg", "amg"),
                ("fcg", "callable"), ("auto", None)]


@pytest.mark.parametrize("method, preconditioner", COMBINATIONS)
@pytest.mark.parametrize("kind", sorted(SYSTEMS))
def test_every_method_and_preconditioner_gives_the_solution(kind, method, preconditioner):
    A, b = SYSTEMS[kind]
    x_ref = spla.spsolve(A.tocsc(), b)
    if preconditioner == "object":
        preconditioner = ic0(A)
    elif preconditioner == "callable":
        d = A.diagonal()
        preconditioner = lambda r: r / d  # noqa: E731  (linear, SPD)
    x, info = solve(A, b, method=method, preconditioner=preconditioner, rtol=1e-10)
    assert info.converged and info.final_residual <= 1e-10
    assert np.linalg.norm(b - A @ x) <= 1.0001e-10 * np.linalg.norm(b)
    assert np.linalg.norm(x - x_ref) <= 1e-7 * np.linalg.norm(x_ref)
    expected = {"direct": "direct", "cg": "cg", "pcg": "pcg", "fcg": "fcg(2)"}.get(method)
    if expected:
        assert info.method == expected


def test_dcdm_with_a_grid_network_and_a_callable():
    from pdekit.operators import pretrained

    s = poisson_system((33, 33), bc={"left": "neumann"})
    x, info = solve(s.matrix, s.rhs, preconditioner=pretrained("dcdm-poisson-2d"), unknowns=s.unknowns,
                    rtol=1e-9)
    assert info.method == "dcdm(2)" and info.converged and info.iterations <= 10
    lu = spla.splu(s.matrix.tocsc())
    _, info = solve(s.matrix, s.rhs, method="dcdm", preconditioner=lambda r: 5 * lu.solve(r), rtol=1e-9)
    assert info.iterations == 1


def test_auto_takes_the_measured_fastest_choice():
    small = laplacian_2d(30)
    assert solve(small, np.ones(900))[1].method == "direct"
    big = laplacian_2d(90)  # 8,100 unknowns: above every direct limit
    x, info = solve(big, np.ones(8100))
    assert (info.method, info.preconditioner) == ("pcg", "sa-amg")
    plane = poisson_system((72, 72)).matrix  # 4,900 unknowns, 2D graph: direct
    cube = poisson_system((19, 19, 19)).matrix  # 4,913 unknowns, 3D graph: AMG
    assert graph_dimension(plane) < 2.1 < graph_dimension(cube)
    assert prefers_direct(plane) and not prefers_direct(cube)
    assert solve(cube, np.ones(cube.shape[0]))[1].method == "pcg"
    assert solve(small, np.ones(900), preconditioner=lambda r: r)[1].method == "fcg(2)"
    assert solve(small, np.ones(900), preconditioner="jacobi")[1].method == "pcg"


def test_reuse_re_sets_up_the_cached_hierarchy():
    clear_preconditioner_cache()
    s1 = poisson_system((81, 81), a=np.random.default_rng(0).uniform(3, 12, (81, 81)))
    s2 = poisson_system((81, 81), a=np.random.default_rng(1).uniform(3, 12, (81, 81)))
    solver1 = LinearSolver(s1.matrix, preconditioner="amg")
    solver2 = LinearSolver(s2.matrix, preconditioner="amg")
    assert solver2.preconditioner is solver1.preconditioner and solver2.preconditioner.updates == 1
    x, info = solver2.solve(s2.rhs)
    assert info.converged and info.setup_time == solver2.setup_time
    fresh = LinearSolver(s2.matrix, preconditioner="amg", reuse=False)
    assert fresh.preconditioner is not solver1.preconditioner and fresh.preconditioner.updates == 0
    assert abs(fresh.solve(s2.rhs)[1].iterations - info.iterations) <= 3


def test_reference_makes_answers_independent_of_earlier_solves():
    clear_preconditioner_cache()
    shape = (65, 65)
    systems = [poisson_system(shape, a=np.random.default_rng(k).uniform(1, 12, shape)) for k in range(3)]
    reference = lambda: poisson_system(shape).matrix  # noqa: E731  (a = 1, same pattern)
    x_after_0 = [solve(s.matrix, s.rhs, preconditioner="amg", reference=reference)[0] for s in systems][2]
    clear_preconditioner_cache()
    x_alone = solve(systems[2].matrix, systems[2].rhs, preconditioner="amg", reference=reference)[0]
    assert np.array_equal(x_after_0, x_alone)


def test_a_degraded_re_set_up_hierarchy_is_rebuilt():
    clear_preconditioner_cache()
    s1 = poisson_system((65, 65))
    s2 = poisson_system((65, 65), a=np.random.default_rng(3).uniform(1, 12, (65, 65)))
    solve(s1.matrix, s1.rhs, preconditioner="amg")
    (entry,) = dispatch._CACHE.values()
    assert entry.fresh_iterations is not None
    entry.fresh_iterations = 1  # pretend the fresh hierarchy needed one iteration
    solve(s2.matrix, s2.rhs, preconditioner="amg")  # re-set-up: more than max(1 + 3, 1.5): dropped
    assert not dispatch._CACHE
    solve(s2.matrix, s2.rhs, preconditioner="amg")
    (entry,) = dispatch._CACHE.values()
    assert entry.M.updates == 0


def test_one_solver_many_right_hand_sides_and_new_values():
    A = laplacian_2d(20, coefficient_seed=4)
    for method in ("direct", "pcg"):
        solver = LinearSolver(A, method=method, rtol=1e-10)
        for b in np.eye(400)[:3]:
            x, info = solver(b)
            assert np.linalg.norm(A @ x - b) <= 1e-10
        solver.update(2.0 * A)
        x, _ = solver(np.ones(400))
        assert np.allclose(2.0 * A @ x, 1.0, atol=1e-8)


def test_non_convergence_policy():
    A = laplacian_2d(20, coefficient_seed=1)
    b = np.ones(400)
    with pytest.raises(ConvergenceError, match="did not converge: maxiter") as caught:
        solve(A, b, method="cg", maxiter=3)
    assert caught.value.info.iterations == 3 and caught.value.x.shape == (400,)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        x, info = solve(A, b, method="cg", maxiter=3, throw=False)
    assert not info.converged and info.status == "maxiter"


def test_torch_matrices_use_jacobi_on_their_device():
    import torch

    A = laplacian_2d(10)
    coo = A.tocoo()
    At = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's sparse beta notices
        x, info = solve(At, torch.ones(100, dtype=torch.float64), rtol=1e-10)
    assert isinstance(x, torch.Tensor) and info.preconditioner == "jacobi" and info.converged


@pytest.mark.parametrize("A, kwargs, error, message", [
    (sp.csr_matrix(np.ones((3, 4))), {}, ValueError, "square"),
    (sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 2.0]])), {}, ValueError, "symmetric"),
    (sp.diags([1.0, np.nan]).tocsr(), {}, ValueError, "finite"),
    (sp.csr_matrix((0, 0)), {}, ValueError, "empty"),
    (-laplacian_2d(4), {"method": "direct"}, ValueError, "not positive definite"),
    (-laplacian_2d(4), {"method": "cg"}, ConvergenceError, "not positive definite"),
    (laplacian_2d(4), {"method": "cg", "preconditioner": "ic0"}, ValueError, "takes no preconditioner"),
    (laplacian_2d(4), {"method": "pcg", "preconditioner": "ilu"}, ValueError, "unknown preconditioner 'ilu'"),
    (laplacian_2d(4), {"method": "lu"}, ValueError, "unknown method 'lu'"),
    (laplacian_2d(4), {"method": "dcdm", "preconditioner": "amg"}, ValueError, "needs a learned network"),
    (laplacian_2d(4), {"method": "pcg", "preconditioner": lambda r: np.cumsum(r)}, ValueError,
     "not symmetric.*use method='fcg'"),
    (laplacian_2d(4), {"method": "pcg", "preconditioner": lambda r: -r}, ValueError,
     "not positive definite.*use method='fcg'"),
    (laplacian_2d(4), {"method": "pcg", "preconditioner": 3}, TypeError, "preconditioner must be"),
    (laplacian_2d(4), {"method": "dcdm", "preconditioner": jacobi(laplacian_2d(5))}, ValueError,
     "needs a learned network"),
    (laplacian_2d(4), {"method": "fcg", "preconditioner": jacobi(laplacian_2d(5))}, ValueError,
     r"built for a matrix of shape \(25, 25\); A has shape \(16, 16\)"),
])
def test_bad_input_gets_a_clear_error(A, kwargs, error, message):
    with pytest.raises(error, match=message):
        solve(A, np.ones(A.shape[0]), **kwargs)


def test_a_network_bound_to_another_matrix_is_refused():
    from pdekit.operators import pretrained

    net = pretrained("dcdm-poisson-2d")
    s = poisson_system((17, 17))
    other = poisson_system((19, 19))
    with pytest.raises(ValueError, match="unknowns but A has"):
        solve(s.matrix, s.rhs, preconditioner=net, shape=(17, 17))
    with pytest.raises(ValueError, match="bound to a matrix with 289 unknowns; got a residual of 225"):
        solve(s.matrix, s.rhs, method="dcdm", preconditioner=net.bind(other.matrix, unknowns=other.unknowns))
    with pytest.raises(ValueError, match="a learned network is not a linear SPD preconditioner"):
        solve(s.matrix, s.rhs, method="pcg", preconditioner=net)
