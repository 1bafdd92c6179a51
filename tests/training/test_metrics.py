"""Relative L2 per sample, evaluation at several strides, the JSON-lines log."""

from __future__ import annotations

import json
import math

import pytest
import torch

from pdekit.training.metrics import MetricsLog, evaluate_model, read_metrics, relative_l2_per_sample


def test_relative_l2_per_sample_values():
    target = torch.ones(2, 1, 4, 4)
    pred = target.clone()
    pred[0] *= 1.1
    pred[1] -= 0.5
    err = relative_l2_per_sample(pred, target)
    torch.testing.assert_close(err, torch.tensor([0.1, 0.5]))
    with pytest.raises(ValueError, match=r"prediction shape \(2, 1, 4, 4\) does not match target shape \(2, 1, 4\)"):
        relative_l2_per_sample(pred, target[..., 0])


def test_evaluate_model_at_several_strides_weights_samples_equally():
    class Scale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            out = x.clone()
            out[..., ::2] *= 1.1
            return out * self.w

    x = torch.ones(3, 1, 9, 9)
    batches = [(x[:2], x[:2]), (x[2:], x[2:])]
    scores = evaluate_model(Scale(), batches, strides=(1, 2))
    # the model is off by 10% on its input's even columns: 5 of 9 at stride 1, 3 of 5 at stride 2
    assert scores[2] == {"l2": pytest.approx(0.1 * math.sqrt(3 / 5), rel=1e-6), "resolution": 5, "n": 3}
    assert scores[1]["l2"] == pytest.approx(0.1 * math.sqrt(5 / 9), rel=1e-6)
    with pytest.raises(ValueError, match="strides must be positive integers"):
        evaluate_model(Scale(), batches, strides=(0,))


def test_metrics_log_appends_lines(tmp_path):
    log = MetricsLog(tmp_path / "m.jsonl")
    log.write({"epoch": 1, "loss": 0.5})
    log.write({"epoch": 2, "loss": float("nan")})
    MetricsLog(tmp_path / "m.jsonl").write({"epoch": 3})
    assert read_metrics(tmp_path / "m.jsonl") == [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": None},
                                                  {"epoch": 3}]
    assert json.loads((tmp_path / "m.jsonl").read_text().splitlines()[0])["loss"] == 0.5
    MetricsLog(tmp_path / "off.jsonl", enabled=False).write({"a": 1})
    assert not (tmp_path / "off.jsonl").exists()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MetricsLog(tmp_path / "missing" / "m.jsonl")
