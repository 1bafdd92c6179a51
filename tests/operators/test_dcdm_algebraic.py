"""The learned cycle on algebraic hierarchies: consistent backends, SPD V-cycle, unstructured FEM solves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdekit.meshes import cell_centroids, unstructured_cube, unstructured_square
from pdekit.operators import AlgebraicVCycleNet, pretrained
from pdekit.solvers import fem
from pdekit.solvers.linear import dcdm
from pdekit.solvers.random_fields import draw_random_field, threshold_coefficient


def _fem(mesh, degree, seed=3):
    V = fem.function_space(mesh, degree)
    g = draw_random_field(np.random.default_rng(seed), mesh.dim, length_scale=0.2)
    a = threshold_coefficient(g(cell_centroids(mesh.points, mesh.cells).T), high=12.0, low=3.0)
    s = fem.condense(fem.stiffness_matrix(V, a), fem.load_vector(V, 1.0), fem.dirichlet_dofs(V), 0.0)
    return s.matrix, s.rhs


@pytest.fixture(scope="module")
def p1_2d():
    return _fem(unstructured_square(40, rng=1), 1)


@pytest.mark.parametrize("cycle", ["V", "K"])
def test_torch_training_path_equals_the_bound_scipy_path(p1_2d, cycle):
    A, _ = p1_2d
    net = AlgebraicVCycleNet(cycle=cycle, coarse_size=32)
    with torch.no_grad():
        net.smoothers[..., 1] = -0.4
        net.smoothers[..., 2] = 0.3
    bound, h = net.bind(A), net.hierarchy(A)
    r = np.random.default_rng(0).normal(size=(A.shape[0], 2))
    out = net(h, torch.from_numpy(r)).detach().numpy()
    assert bound.n_levels >= 3
    np.testing.assert_allclose(out, np.stack([bound(r[:, j]) for j in range(2)], 1), rtol=1e-10, atol=1e-14)
    loss = net(h, torch.from_numpy(r)).square().sum()
    loss.backward()
    assert net.smoothers.grad is not None and torch.isfinite(net.smoothers.grad).all()


def test_v_cycle_is_symmetric_positive_definite(p1_2d):
    A, _ = p1_2d
    M = AlgebraicVCycleNet(cycle="V").bind(A)
    u, v = np.random.default_rng(1).normal(size=(2, A.shape[0]))
    assert u @ M(v) == pytest.approx(v @ M(u), rel=1e-10)
    assert u @ M(u) > 0 and 3 < M.spmv_equivalents < 30


@pytest.mark.parametrize("mesh, degree, bound", [
    (unstructured_square(40, rng=2), 1, 16), (unstructured_square(20, rng=2), 2, 26),
    (unstructured_cube(10, rng=2), 1, 16), (unstructured_cube(5, rng=2), 2, 22)])
def test_shipped_network_solves_unstructured_fem_to_the_true_residual(mesh, degree, bound):
    A, b = _fem(mesh, degree)
    net = pretrained("dcdm-algebraic")
    x, info = dcdm(A, b, network=net, rtol=1e-8)
    assert info.converged and info.iterations <= bound
    assert np.linalg.norm(b - A @ x) <= 1e-8 * np.linalg.norm(b)
    _, untrained = dcdm(A, b, network=AlgebraicVCycleNet(**net.config), rtol=1e-8)
    assert info.iterations < untrained.iterations  # what training buys


def test_grid_arguments_are_ignored_and_bad_input_named(p1_2d):
    A, b = p1_2d
    net = AlgebraicVCycleNet()
    assert net.bind(A, shape=(3, 3)).hierarchy.levels[0].n == A.shape[0]
    with pytest.raises(ValueError, match="bound to a matrix with"):
        net.bind(A)(np.ones(A.shape[0] + 1))
    with pytest.raises(ValueError, match="cycle"):
        AlgebraicVCycleNet(cycle="W")
    with pytest.raises(ValueError, match="smoothing_steps must be an integer >= 1"):
        AlgebraicVCycleNet(smoothing_steps=0)
