"""Lp and H1 losses: exact integrals, quadrature convergence rates, relative scaling, errors."""

import math

import numpy as np
import pytest
import torch

from pdekit.operators import H1Loss, LpLoss
from pdekit.operators.losses import quadrature_weights

pytestmark = pytest.mark.usefixtures("one_thread")


def _sin2d(n, k=1, dtype=torch.float64):
    x = torch.arange(n, dtype=dtype) / n
    return (torch.sin(2 * math.pi * k * x)[:, None] * torch.sin(2 * math.pi * x)[None, :])[None, None]


def test_l2_norm_of_a_periodic_field_is_exact():
    # ||sin(2 pi k x) sin(2 pi y)||_L2((0,1)^2) = 1/2, for any resolution
    for n in (8, 33, 64):
        assert LpLoss(relative=False).norm(_sin2d(n, 3)).item() == pytest.approx(0.5, abs=1e-12)
    # domain (0,2)x(0,1): the integral doubles, the norm grows by sqrt(2)
    u = _sin2d(16)
    assert LpLoss(relative=False, domain_size=(2.0, 1.0)).norm(u).item() == pytest.approx(0.5 * math.sqrt(2), abs=1e-12)


def test_trapezoidal_rule_converges_at_second_order():
    errors, sizes = [], [17, 33, 65, 129]
    for n in sizes:
        x = torch.linspace(0, 1, n, dtype=torch.float64)
        u = torch.exp(x).reshape(1, 1, n)
        # ||e^x||_2^2 = (e^2 - 1) / 2 on (0, 1)
        norm = LpLoss(relative=False, periodic=False).norm(u).item()
        errors.append(abs(norm - math.sqrt((math.e ** 2 - 1) / 2)))
    rate = -np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert 1.9 < rate < 2.15


def test_relative_loss_and_reductions():
    torch.manual_seed(0)
    target = torch.randn(4, 2, 16, 16)
    pred = target + 0.1 * torch.randn(4, 2, 16, 16)
    loss = LpLoss(2)
    per_sample = LpLoss(2, reduction="none")(pred, target)
    assert per_sample.shape == (4,)
    expected = (pred - target).flatten(1).norm(dim=1) / target.flatten(1).norm(dim=1)
    assert torch.allclose(per_sample, expected, atol=1e-6)
    assert loss(pred, target).item() == pytest.approx(per_sample.mean().item(), rel=1e-6)
    assert LpLoss(2, reduction="sum")(pred, target).item() == pytest.approx(per_sample.sum().item(), rel=1e-6)
    assert loss(3 * pred, 3 * target).item() == pytest.approx(loss(pred, target).item(), rel=1e-5)
    l1 = LpLoss(p=1, relative=False, reduction="none")(pred, target)
    assert torch.allclose(l1, (pred - target).abs().flatten(1).sum(1) / 256, atol=1e-6)


def test_h1_norm_of_a_fourier_mode():
    # u = sin(2 pi k x) sin(2 pi y): ||u||^2 = 1/4, ||du/dx||^2 = (2 pi k)^2 / 4, ||du/dy||^2 = (2 pi)^2 / 4
    n, k = 32, 3
    exact = math.sqrt(0.25 * (1 + (2 * math.pi * k) ** 2 + (2 * math.pi) ** 2))
    u = _sin2d(n, k)
    assert H1Loss(relative=False, derivative="spectral").norm(u).item() == pytest.approx(exact, rel=1e-12)
    semi = H1Loss(relative=False, derivative="spectral", semi_norm=True).norm(u).item()
    assert semi == pytest.approx(math.sqrt(0.25 * ((2 * math.pi * k) ** 2 + (2 * math.pi) ** 2)), rel=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
def test_finite_difference_h1_converges_at_second_order(periodic):
    errors, sizes = [], [16, 32, 64, 128]
    for n in sizes:
        if periodic:
            x = torch.arange(n, dtype=torch.float64) / n
            u = torch.sin(2 * math.pi * x).reshape(1, 1, n)
            exact = math.sqrt(0.5 * (1 + (2 * math.pi) ** 2))
        else:
            x = torch.linspace(0, 1, n, dtype=torch.float64)
            u = torch.exp(x).reshape(1, 1, n)
            exact = math.sqrt(math.e ** 2 - 1)  # ||e^x||^2 + ||(e^x)'||^2 = 2 * (e^2 - 1) / 2
        errors.append(abs(H1Loss(relative=False, periodic=periodic).norm(u).item() - exact))
    rate = -np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert 1.8 < rate < 2.2


def test_relative_h1_loss_is_zero_for_equal_fields_and_scales():
    u = _sin2d(16, 2).float().repeat(3, 2, 1, 1)
    loss = H1Loss(2)
    assert loss(u, u).item() == 0.0
    assert loss(1.1 * u, u).item() == pytest.approx(0.1, rel=1e-5)


def test_quadrature_weights_sum_to_the_domain():
    w = quadrature_weights((5, 8), domain_size=(2.0, 3.0), periodic=False)
    assert w[0].sum().item() == pytest.approx(2.0) and w[1].sum().item() == pytest.approx(3.0)
    assert w[0][0].item() == pytest.approx(0.25)


def test_bad_inputs():
    with pytest.raises(ValueError, match="same shape"):
        LpLoss()(torch.zeros(2, 1, 8), torch.zeros(2, 1, 9))
    with pytest.raises(ValueError, match="built for 2-D fields"):
        LpLoss(2)(torch.zeros(2, 1, 8), torch.zeros(2, 1, 8))
    with pytest.raises(ValueError, match="p must be >= 1"):
        LpLoss(p=0.5)
    with pytest.raises(ValueError, match="spectral derivatives assume periodic"):
        H1Loss(periodic=False, derivative="spectral")
    with pytest.raises(ValueError, match="unknown reduction"):
        LpLoss(reduction="max")
    with pytest.raises(ValueError, match="domain_size must be"):
        LpLoss(domain_size=(1.0, -1.0)).norm(torch.zeros(1, 1, 4, 4))
