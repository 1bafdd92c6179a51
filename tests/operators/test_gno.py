"""The quadrature-weighted kernel integral converges to the exact integral under refinement."""

import numpy as np
import pytest
import torch

from pdekit import meshes
from pdekit.operators.gno import KernelIntegral, ball_volume, edge_features, fourier_features, n_edge_features
from pdekit.operators.mesh_geometry import MeshGeometry
from pdekit.operators.neighborhoods import radius_neighborhoods

RADIUS = 0.2
TARGETS = np.array([[0.5, 0.5], [0.33, 0.61], [0.7, 0.28]])  # balls inside the unit square
BOX = np.array([[0.0, 1.0], [0.0, 1.0]])


def f(y):
    return np.sin(np.pi * y[:, 0]) * np.cos(2 * y[:, 1]) + y[:, 0] ** 2


def exact_mean(profile):
    """1/|B_r| int_{B_r(x)} k(|y - x| / r) f(y) dy, Gauss-Legendre in the radius, trapezoid in the angle."""
    s, ws = np.polynomial.legendre.leggauss(40)
    rho, w_rho = 0.5 * (s + 1) * RADIUS, 0.5 * ws * RADIUS
    theta = 2 * np.pi * np.arange(256) / 256
    R, T = np.meshgrid(rho, theta, indexing="ij")
    w = (w_rho[:, None] * R * 2 * np.pi / 256).ravel()
    out = []
    for x in TARGETS:
        y = np.stack([x[0] + R * np.cos(T), x[1] + R * np.sin(T)], -1).reshape(-1, 2)
        out.append((profile(R.ravel() / RADIUS) * f(y) * w).sum() / ball_volume(RADIUS, 2))
    return np.array(out)


def errors(profile, levels=5):
    """Max error over the targets on a perturbed mesh refined 0 .. levels-1 times."""
    exact = exact_mean(profile)
    layer = KernelIntegral(1, 2, kernel=lambda e: profile(e[:, 2:3]))  # e[:, 2] = |y - x| / r
    base = meshes.perturb(meshes.unit_square(8), 0.3, rng=1)
    out = []
    for level in range(levels):
        g = MeshGeometry.from_mesh(meshes.refine(base, level))
        nb = radius_neighborhoods(g.points, TARGETS, RADIUS)
        feats = torch.as_tensor(edge_features(g.points, TARGETS, nb, RADIUS, BOX))
        v = layer(torch.as_tensor(f(g.points))[None, :, None], feats, nb,
                  torch.as_tensor(g.weights / ball_volume(RADIUS, 2)))
        out.append(np.abs(v[0, :, 0].numpy() - exact).max())
    return np.array(out)


def test_smooth_kernel_integral_converges_at_second_order():
    # a kernel vanishing smoothly at the ball's edge: the vertex quadrature is second order
    err = errors(lambda s: (1 - s ** 2) ** 2)
    rates = np.log2(err[:-1] / err[1:])
    assert err[-1] < 5e-5
    assert rates.min() > 1.8, rates


def test_ball_indicator_integral_converges():
    # the indicator of the ball cuts cells: first order at worst, erratic from level to level
    err = errors(lambda s: s * 0 + 1)
    slope = -np.polyfit(np.arange(len(err)), np.log2(err), 1)[0]
    assert err[-1] < 1e-3
    assert slope > 1.0, (err, slope)


def test_learned_kernel_shapes_and_gradients():
    mesh = meshes.unit_square(6)
    g = MeshGeometry.from_mesh(mesh)
    targets = np.random.default_rng(0).random((5, 2))
    nb = radius_neighborhoods(g.points, targets, 0.3)
    feats = torch.as_tensor(edge_features(g.points, targets, nb, 0.3, BOX), dtype=torch.float32)
    assert feats.shape == (nb.n_edges, n_edge_features(2))
    layer = KernelIntegral(4, 2, kernel_width=8)
    fx = torch.randn(3, g.n_points, 4, requires_grad=True)
    out = layer(fx, feats, nb, torch.tensor(g.weights, dtype=torch.float32))
    assert out.shape == (3, 5, 4)
    out.sum().backward()
    assert fx.grad is not None and all(p.grad is not None for p in layer.parameters())
    with pytest.raises(ValueError, match=r"f must have shape \(batch, 49, 4\)"):
        layer(torch.randn(3, 48, 4), feats, nb, torch.ones(49))


def test_fourier_features_of_the_kernel_inputs():
    e = torch.tensor([[0.0, 0.5], [1.0, -0.25]], dtype=torch.float64)
    assert fourier_features(e, 0) is e
    out = fourier_features(e, 3)
    assert out.shape == (2, 2 * 7)
    angles = torch.tensor([[0.0, 0.0, 0.0, 0.5, 1.0, 2.0], [1.0, 2.0, 4.0, -0.25, -0.5, -1.0]], dtype=torch.float64) * np.pi
    torch.testing.assert_close(out, torch.cat([e, angles.sin(), angles.cos()], 1))
    layer = KernelIntegral(3, 2, kernel_width=8, frequencies=3)
    assert layer.kernel.layers[0].in_features == n_edge_features(2) * 7
    with pytest.raises(ValueError, match="frequencies must be a non-negative int"):
        KernelIntegral(3, 2, frequencies=-1)


def test_nonlinear_kernel_sees_the_function_at_the_source():
    # k(x, y, f(y)) = f(y): the layer integrates f^2, as the linear layer does with f^2 as its input
    g = MeshGeometry.from_mesh(meshes.perturb(meshes.unit_square(16), 0.3, rng=2))
    nb = radius_neighborhoods(g.points, TARGETS, RADIUS)
    feats = torch.as_tensor(edge_features(g.points, TARGETS, nb, RADIUS, BOX))
    w = torch.as_tensor(g.weights / ball_volume(RADIUS, 2))
    fy = torch.as_tensor(f(g.points))[None, :, None]
    square = KernelIntegral(1, 2, transform="nonlinear", kernel=lambda e: e[..., -1:])
    mean = KernelIntegral(1, 2, kernel=lambda e: torch.ones(len(e), 1, dtype=e.dtype))
    v = square(torch.cat([fy, 2 * fy]), feats, nb, w)
    torch.testing.assert_close(v, mean(torch.cat([fy ** 2, 4 * fy ** 2]), feats, nb, w))
    assert float(v[0].min()) > 0.05  # f^2 is not small over these balls
    layer = KernelIntegral(4, 2, kernel_width=8, transform="nonlinear")
    assert layer.kernel.layers[0].in_features == n_edge_features(2) + 4
    fx = torch.randn(3, g.n_points, 4, requires_grad=True)
    layer(fx, feats.float(), nb, w.float()).square().sum().backward()
    assert fx.grad.abs().sum() > 0 and all(p.grad is not None for p in layer.parameters())
    with pytest.raises(ValueError, match="transform must be one of"):
        KernelIntegral(3, 2, transform="quadratic")
