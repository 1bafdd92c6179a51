"""Deep conjugate directions with the shipped network, a random one, and plain callables."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from pdekit.operators import pretrained
from pdekit.solvers.fd import poisson_system
from pdekit.solvers.linear import ConvergenceWarning, amg, dcdm, pcg
from pdekit.training.dcdm import random_grid_system
from tests.solvers.linear._systems import laplacian_2d


@pytest.fixture(scope="module")
def held_out_2d():
    """Geometries, boundary conditions and coefficients drawn with a seed training never used."""
    rng = np.random.default_rng(2024)
    systems = [random_grid_system(2, size, rng, darcy_probability=0.5) for size in (129, 193)]
    rhs = [rng.normal(size=s.matrix.shape[0]) for s in systems]
    return systems, rhs


def test_exact_inverse_converges_in_one_iteration():
    A = laplacian_2d(12, coefficient_seed=1)
    lu = spla.splu(A.tocsc())
    b = np.random.default_rng(0).normal(size=144)
    x, info = dcdm(A, b, network=lambda r: 3.0 * lu.solve(r), rtol=1e-10)
    assert info.converged and info.iterations == 1 and info.method == "dcdm(2)"


def test_shape_reshapes_the_residual_into_a_field():
    A = laplacian_2d(6)
    seen = []

    def network(field):
        seen.append(field.shape)
        return field
    _, info = dcdm(A, np.ones(36), network=network, shape=(6, 6), rtol=1e-8)
    assert info.converged and set(seen) == {(6, 6)}


def test_unknowns_mask_scatters_the_residual_onto_the_grid():
    mask = np.zeros((24, 24), dtype=bool)
    mask[8:14, 5:18] = True
    system = poisson_system((24, 24), obstacle=mask, bc={"left": "neumann", "right": "dirichlet",
                                                          "bottom": "dirichlet", "top": "dirichlet"})
    seen = []
    inverse_diag = system.to_grid(1.0 / system.matrix.diagonal())

    def network(field):  # a grid map: Jacobi on the field, zero off the unknowns
        seen.append((field.shape, float(np.abs(field[~system.unknowns]).max())))
        return field * inverse_diag
    x, info = dcdm(system.matrix, system.rhs, network=network, unknowns=system.unknowns, rtol=1e-8)
    assert info.converged and {shape for shape, _ in seen} == {(24, 24)}
    assert max(off for _, off in seen) == 0.0
    assert np.allclose(x, spla.spsolve(system.matrix.tocsc(), system.rhs), rtol=1e-6, atol=1e-12)
    x_net, info_net = dcdm(system.matrix, system.rhs, network=pretrained("dcdm-poisson-2d"),
                           unknowns=system.unknowns, rtol=1e-8)
    assert info_net.converged and info_net.iterations <= 8 < info.iterations
    with pytest.raises(ValueError, match="True entries"):
        dcdm(system.matrix, system.rhs, network=network, unknowns=np.ones((24, 24), dtype=bool))
    with pytest.raises(ValueError, match="differs from the shape"):
        dcdm(system.matrix, system.rhs, network=network, unknowns=system.unknowns, shape=(24, 25))


def test_pretrained_2d_reaches_tolerance_on_held_out_problems(held_out_2d):
    net = pretrained("dcdm-poisson-2d")
    counts = []
    for s, b in zip(*held_out_2d):
        x, info = dcdm(s.matrix, b, network=net.bind(s.matrix, unknowns=s.unknowns), rtol=1e-8, maxiter=50)
        assert info.converged
        assert np.linalg.norm(b - s.matrix @ x) <= 1e-8 * np.linalg.norm(b)
        assert info.preconditioner_time > 0
        counts.append(info.iterations)
    # the untrained V-cycle needs 11 and 10 here, SA-AMG-PCG 11 and 11
    assert max(counts) <= 7 and sum(counts) <= 13


def test_pretrained_beats_untrained_and_random_networks(held_out_2d):
    s, b = held_out_2d[0][0], held_out_2d[1][0]
    trained = pretrained("dcdm-poisson-2d")
    untrained = type(trained)(**trained.config)
    random = type(trained)(**trained.config)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in random.parameters():
            p.copy_(torch.randn_like(p))
    iterations = {}
    for name, net in (("trained", trained), ("untrained", untrained), ("random", random)):
        with pytest.warns(ConvergenceWarning) if name == "random" else contextlib.nullcontext():
            _, info = dcdm(s.matrix, b, network=net.bind(s.matrix, unknowns=s.unknowns), rtol=1e-8, maxiter=30)
        iterations[name] = info.iterations if info.converged else np.inf
    assert iterations["trained"] < iterations["untrained"] < iterations["random"]


def test_iterations_flat_in_grid_size_and_fewer_than_amg():
    net = pretrained("dcdm-poisson-2d")
    counts, amg_counts = [], []
    for size in (65, 257):
        s = poisson_system((size, size), bc={"left": "neumann"})
        _, info = dcdm(s.matrix, s.rhs, network=net.bind(s.matrix, unknowns=s.unknowns), rtol=1e-6)
        counts.append(info.iterations)
        amg_counts.append(pcg(s.matrix, s.rhs, M=amg(s.matrix), rtol=1e-6)[1].iterations)
    assert counts[1] <= counts[0] and max(counts) <= 6
    assert counts[0] < amg_counts[0] and counts[1] < amg_counts[1]


def test_model_is_bound_through_shape_and_runs_on_torch_matrices():
    net = pretrained("dcdm-poisson-2d")
    s = poisson_system((35, 35), bc="dirichlet")  # every node of the 33 x 33 interior an unknown
    x, info = dcdm(s.matrix, s.rhs, network=net, shape=(33, 33), rtol=1e-8)
    assert info.converged and info.setup_time > 0 and info.iterations <= 7
    coo = s.matrix.tocoo()
    At = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape).to_sparse_csr()
    xt, info_t = dcdm(At, torch.from_numpy(s.rhs), network=net, shape=(33, 33), rtol=1e-8)
    assert isinstance(xt, torch.Tensor) and info_t.converged
    assert np.allclose(xt.numpy(), x, rtol=1e-6, atol=1e-9 * np.abs(x).max())


def test_pretrained_3d_on_a_held_out_geometry():
    rng = np.random.default_rng(77)
    s = random_grid_system(3, 41, rng)
    b = rng.normal(size=s.matrix.shape[0])
    _, info = dcdm(s.matrix, b, network=pretrained("dcdm-poisson-3d").bind(s.matrix, unknowns=s.unknowns),
                   rtol=1e-6, maxiter=40)
    assert info.converged and info.iterations <= 6
    assert info.iterations < pcg(s.matrix, b, M=amg(s.matrix), rtol=1e-6)[1].iterations


@pytest.mark.parametrize("true_residuals", [True, False])
def test_residual_history_is_the_true_residual(held_out_2d, true_residuals):
    s, b = held_out_2d[0][0], held_out_2d[1][0]
    iterates = []
    x, info = dcdm(s.matrix, b, network=pretrained("dcdm-poisson-2d").bind(s.matrix, unknowns=s.unknowns),
                   rtol=1e-10, callback=lambda xk: iterates.append(xk.copy()), true_residuals=true_residuals)
    true = [np.linalg.norm(b - s.matrix @ xk) / np.linalg.norm(b) for xk in iterates]
    assert info.converged and len(true) == info.iterations == len(info.residuals) - 1
    assert info.residuals[-1] == pytest.approx(true[-1], rel=1e-12) and true[-1] <= 1e-10
    if true_residuals:
        assert np.allclose(info.residuals[1:], true, rtol=1e-12, atol=0)
    else:  # the recurrence drifts from the true residual near round-off, only the last entry is true
        assert np.allclose(info.residuals[1:-1], true[:-1], rtol=1e-2, atol=1e-13)


def test_bad_networks_and_shapes():
    A = laplacian_2d(4)
    with pytest.raises(ValueError, match="shape"):
        dcdm(A, np.ones(16), network=lambda r: r, shape=(4, 5))
    with pytest.raises(TypeError, match="network must be a callable"):
        dcdm(A, np.ones(16), network=3)
    with pytest.raises(ValueError, match="network returned 15 entries"):
        dcdm(A, np.ones(16), network=lambda r: r[:-1])
    with pytest.warns(ConvergenceWarning, match="returned NaN"):
        _, info = dcdm(A, np.ones(16), network=lambda r: r * np.nan)
    assert not info.converged and "NaN" in info.status
    with pytest.raises(ValueError, match="kept directions"):
        dcdm(A, np.ones(16), network=lambda r: r, k=0)


def test_stall_safeguard_rescues_a_blind_network():
    A = laplacian_2d(10)
    b = np.random.default_rng(3).normal(size=100)
    blind = np.arange(100) < 90  # this "network" never looks at the last ten unknowns

    def network(r):
        return np.where(blind, r, 0.0)
    with pytest.warns(ConvergenceWarning):
        _, stalled = dcdm(A, b, network=network, rtol=1e-8, maxiter=300)
    x, rescued = dcdm(A, b, network=network, rtol=1e-8, maxiter=300, stall_ratio=0.99)
    assert not stalled.converged and rescued.converged and rescued.fallback_iterations > 0
    assert np.linalg.norm(b - A @ x) <= 1e-8 * np.linalg.norm(b)
    with pytest.raises(ValueError, match="stall_ratio"):
        dcdm(A, b, network=network, stall_ratio=1.5)
