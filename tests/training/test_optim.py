"""Optimizers and schedules by name."""

from __future__ import annotations

import pytest
import torch

from pdekit.training.optim import build_optimizer, build_scheduler


def _lrs(scheduler, opt, n):
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return out


def test_schedules():
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = build_optimizer("adamw", p, lr=1.0, weight_decay=0.1)
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["weight_decay"] == 0.1
    assert _lrs(build_scheduler("step", opt, epochs=10, gamma=0.5), opt, 5) == [1.0, 1.0, 0.5, 0.5, 0.25]
    opt = build_optimizer("adam", p, lr=1.0)
    assert _lrs(build_scheduler("cosine", opt, epochs=4), opt, 5) == pytest.approx(
        [1.0, 0.8535534, 0.5, 0.1464466, 0.0])
    assert build_scheduler(None, opt, epochs=3) is None


def test_errors():
    p = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match="learning rate must be positive; got 0"):
        build_optimizer("adam", p, lr=0)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        build_optimizer("adam", p, lr=1e-3, weight_decay=-1)
    opt = build_optimizer("adam", p, lr=1e-3)
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\]; got 2"):
        build_scheduler("step", opt, epochs=3, gamma=2)
