"""VCycleNet: hierarchy, agreement of the scipy and torch paths, cost, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from pdekit.operators import VCycleNet, load
from pdekit.operators.dcdm_levels import build_hierarchy, stencil_offsets
from pdekit.solvers.fd import poisson_system
from pdekit.solvers.linear import ConvergenceWarning, dcdm


@pytest.fixture(scope="module")
def obstacle_system():
    shape = (49, 41)
    x, y = np.meshgrid(np.linspace(0, 1, shape[0]), np.linspace(0, 1, shape[1]), indexing="ij")
    obstacle = (x - 0.4) ** 2 + (y - 0.6) ** 2 < 0.15 ** 2
    a = np.where(x + y > 1.0, 8.0, 1.0)
    return poisson_system(shape, a=a, obstacle=obstacle, bc={"left": "neumann", "top": "neumann"})


def test_hierarchy_levels_masks_and_galerkin(obstacle_system):
    s = obstacle_system
    h = build_hierarchy(s.matrix, s.unknowns, coarse_size=100)
    shapes = [lev.shape for lev in h.levels]
    assert shapes[:3] == [(49, 41), (25, 21), (13, 11)]
    assert h.levels[-1].n <= 100
    for fine, coarse in zip(h.levels[:-1], h.levels[1:]):
        P = fine.prolongation
        assert P.shape == (fine.n, coarse.n) and coarse.mask.sum() == coarse.n
        # a coarse node is an unknown exactly when the fine node it sits on is one
        positions = [np.unique(np.r_[np.arange(0, n, 2), n - 1]) for n in fine.shape]
        assert np.array_equal(coarse.mask, fine.mask[np.ix_(*positions)])
        assert abs(coarse.matrix - (P.T @ fine.matrix @ P)).max() < 1e-9 * abs(coarse.matrix).max()
        assert abs(coarse.matrix - coarse.matrix.T).max() < 1e-9 * abs(coarse.matrix).max()
        # injection at fine nodes under coarse unknowns; weights <= 1 elsewhere (less near walls)
        ones = P @ np.ones(coarse.n)
        on_coarse = np.zeros(fine.shape, bool)
        on_coarse[np.ix_(*positions)] = coarse.mask
        assert np.all(ones[on_coarse[fine.mask]] == 1.0)
        assert ones.min() >= 0.0 and ones.max() <= 1.0 + 1e-12
    # level 0: constants are interpolated exactly two nodes or more away from any Dirichlet/obstacle node
    walls = np.pad(~s.unknowns, 1, constant_values=False)
    near = np.zeros_like(walls)
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            near |= np.roll(np.roll(walls, dx, 0), dy, 1)
    far = ~near[1:-1, 1:-1][s.unknowns]
    assert far.mean() > 0.5
    assert np.allclose((h.levels[0].prolongation @ np.ones(h.levels[1].n))[far], 1.0, atol=1e-12)
    assert np.linalg.eigvalsh(h.levels[-1].matrix.toarray()).min() > 0


def test_operator_interpolation_follows_coefficient_jumps_and_linear_is_bilinear():
    shape = (17, 17)
    x = np.linspace(0, 1, 17)[:, None] * np.ones((1, 17))
    a = np.where(x < 0.4, 1.0, 100.0)  # jump between fine rows 6 and 7 (coarse rows at 6 and 8)
    s = poisson_system(shape, a=a)
    P = build_hierarchy(s.matrix, s.unknowns, coarse_size=10).levels[0].prolongation
    number = -np.ones(shape, int)
    number[s.unknowns] = np.arange(s.matrix.shape[0])
    coarse = -np.ones((9, 9), int)
    coarse[1:-1, 1:-1] = np.arange(49).reshape(7, 7)
    row = P[number[7, 8]].toarray().ravel()  # between coarse (3, 4) (soft side) and (4, 4) (stiff side)
    assert row[coarse[4, 4]] > 0.9 and row[coarse[3, 4]] < 0.1 and row.sum() == pytest.approx(1.0)
    # constant coefficient: operator-dependent and bilinear interpolation coincide
    s1 = poisson_system(shape, bc={"left": "neumann"})
    Po = build_hierarchy(s1.matrix, s1.unknowns, coarse_size=10).levels[0].prolongation
    Pl = build_hierarchy(s1.matrix, s1.unknowns, coarse_size=10, interpolation="linear").levels[0].prolongation
    assert abs(Po - Pl).max() < 1e-12 and set(np.unique(Pl.data).round(12)) <= {0.25, 0.5, 1.0}
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'"):
        build_hierarchy(s1.matrix, s1.unknowns, interpolation="cubic")


def test_stability_safeguard_damps_a_divergent_smoother(obstacle_system):
    s = obstacle_system
    net = VCycleNet(2)
    with torch.no_grad():
        net.pre.mul_(2.5)  # Jacobi weight 5/3: I - S A diverges (lambda_max(S A) near 10/3)
    bound = net.bind(s.matrix, unknowns=s.unknowns)
    assert all(0.5 < w < 0.8 for w in bound.smoother_scales)
    _, info = dcdm(s.matrix, s.rhs, network=bound, rtol=1e-8, maxiter=40)
    assert info.converged and info.iterations <= 24
    unsafe = VCycleNet(2, stability_cap=0.0)
    unsafe.load_state_dict(net.state_dict())
    bound = unsafe.bind(s.matrix, unknowns=s.unknowns)
    assert bound.smoother_scales == [1.0] * (bound.n_levels - 1)
    with pytest.warns(ConvergenceWarning):
        _, info_unsafe = dcdm(s.matrix, s.rhs, network=bound, rtol=1e-8, maxiter=40)
    assert not info_unsafe.converged and info_unsafe.final_residual > 1e-2
    with pytest.raises(ValueError, match="stability_cap"):
        VCycleNet(2, stability_cap=-1.0)


def test_scipy_and_torch_paths_agree(obstacle_system):
    s = obstacle_system
    torch.manual_seed(0)
    net = VCycleNet(2, smoothing_steps=2)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    r = np.random.default_rng(1).normal(size=s.matrix.shape[0])
    d_scipy = net.bind(s.matrix, unknowns=s.unknowns)(r)
    d_torch = net(net.hierarchy(s.matrix, unknowns=s.unknowns), torch.from_numpy(r)).detach().numpy()
    assert np.abs(d_scipy - d_torch).max() < 1e-10 * np.abs(d_scipy).max()
    coo = s.matrix.tocoo()
    At = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data, coo.shape)
    d_device = net.bind(At, unknowns=s.unknowns)(torch.from_numpy(r))
    assert isinstance(d_device, torch.Tensor)
    assert np.abs(d_device.numpy() - d_scipy).max() < 1e-10 * np.abs(d_scipy).max()


def test_default_weights_are_a_working_v_cycle_and_linear(obstacle_system):
    s = obstacle_system
    bound = VCycleNet(2).bind(s.matrix, unknowns=s.unknowns)
    r1, r2 = np.random.default_rng(2).normal(size=(2, s.matrix.shape[0]))
    assert np.allclose(bound(2 * r1 - r2), 2 * bound(r1) - bound(r2))
    _, info = dcdm(s.matrix, s.rhs, network=bound, rtol=1e-8, maxiter=40)
    assert info.converged and info.iterations <= 16


@pytest.mark.parametrize("ndim, stencil, size, low, high", [(2, "box", 129, 8, 13), (3, "star", 17, 4, 9),
                                                           (3, "box", 17, 8, 16)])
def test_cost_is_a_few_spmvs(ndim, stencil, size, low, high):
    s = poisson_system((size,) * ndim)
    bound = VCycleNet(ndim, stencil=stencil).bind(s.matrix, unknowns=s.unknowns)
    assert low <= bound.spmv_equivalents <= high
    assert bound.flops == pytest.approx(bound.spmv_equivalents * 2 * s.matrix.nnz)


def test_save_and_load_roundtrip(tmp_path, obstacle_system):
    net = VCycleNet(2, stencil="star", smoothing_steps=2, coarse_size=64)
    with torch.no_grad():
        net.pre.mul_(0.9)
    net.save(tmp_path / "net.pt")
    back = load(tmp_path / "net.pt")
    assert isinstance(back, VCycleNet) and back.config == net.config
    s = obstacle_system
    r = np.ones(s.matrix.shape[0])
    assert np.array_equal(back.bind(s.matrix, unknowns=s.unknowns)(r), net.bind(s.matrix, unknowns=s.unknowns)(r))


def test_bad_input():
    with pytest.raises(ValueError, match="ndim must be 2 or 3"):
        VCycleNet(4)
    with pytest.raises(ValueError, match="smoothing_steps"):
        VCycleNet(2, smoothing_steps=0)
    with pytest.raises(ValueError, match="unknown stencil"):
        stencil_offsets(2, "hex")
    s = poisson_system((9, 9))
    with pytest.raises(ValueError, match="3D grids"):
        VCycleNet(3).bind(s.matrix, unknowns=s.unknowns)
    with pytest.raises(ValueError, match="give shape= .* or unknowns="):
        VCycleNet(2).bind(s.matrix)
    with pytest.raises(ValueError, match="has 81 unknowns but A has 49 rows"):
        VCycleNet(2).bind(s.matrix, shape=(9, 9))
    with pytest.raises(ValueError, match="positive diagonal"):
        VCycleNet(2).bind(-s.matrix, shape=(7, 7))
    with pytest.raises(TypeError, match="scipy sparse"):
        VCycleNet(2).bind("A", shape=(7, 7))


@pytest.mark.parametrize("shape", [(13, 11), (9, 7, 9)])
def test_symmetric_network_is_a_symmetric_operator_and_untied_is_not(shape):
    s = poisson_system(shape, bc={"left": "neumann"})
    n = s.matrix.shape[0]
    torch.manual_seed(1)
    for symmetric in (True, False):
        net = VCycleNet(len(shape), smoothing_steps=2, coarse_size=20, symmetric=symmetric)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.1 * torch.randn_like(p))
        bound = net.bind(s.matrix, unknowns=s.unknowns)
        M = np.column_stack([bound(e) for e in np.eye(n)])
        asymmetry = np.abs(M - M.T).max() / np.abs(M).max()
        assert (asymmetry < 1e-13) if symmetric else (asymmetry > 1e-3)
    assert set(dict(net.named_parameters())) == {"pre", "post_weights", "coarse_weight"}
