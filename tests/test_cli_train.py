"""``pdekit train`` and ``pdekit evaluate`` end to end on a small Darcy file, and their errors."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from pdekit.cli import main
from pdekit.data.generation import generate
from pdekit.data.problems import Problem, Sample
from pdekit.training.metrics import read_metrics
from tests.training._toy import one_thread  # noqa: F401 (fixture)

SMALL = ["--modes", "4", "--width", "8", "--layers", "2", "--batch-size", "8", "--quiet"]


@pytest.fixture(scope="module")
def darcy(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    generate("darcy", d / "darcy.h5", n=20, resolution=17, seed=0, workers=0)
    return d / "darcy.h5"


def _two_channel_problem() -> Problem:
    def solve(rng, resolution):
        a = rng.standard_normal((resolution, resolution, 2))
        return Sample(a, a[..., :1] * 2)

    return Problem("two-channel", "test problem", {}, solve,
                   lambda resolution: {"x": np.linspace(0, 1, resolution), "y": np.linspace(0, 1, resolution)},
                   input_names=("a", "b"), output_names=("u",))


def test_train_then_evaluate_at_two_resolutions(darcy, tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    assert main(["train", "--model", "tfno", "--data", str(darcy), "--out", str(run), "--epochs", "2",
                 "--eval-resolutions", "17", "9", *SMALL]) == 0
    records = read_metrics(run / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]
    assert {"test/l2@17", "test/l2@9"} <= set(records[-1])
    assert json.loads((run / "config.json").read_text())["model"] == "tfno"
    capsys.readouterr()
    assert main(["evaluate", str(run), str(darcy), "--split", "test", "--resolution", "17", "9", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["resolution"], r["stride"], r["n"]) for r in rows] == [(17, 1, 4), (9, 2, 4)]
    # the saved model (with its normalizer) reproduces the training run's last scores
    assert rows[0]["relative_l2"] == pytest.approx(records[-1]["test/l2@17"], rel=1e-5)
    assert main(["evaluate", str(run / "model.pt"), str(darcy)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["resolution", "stride", "samples", "relative", "L2"]
    assert table[1].split()[:3] == ["17", "1", "20"]


def test_resume_continues_the_run(darcy, tmp_path, one_thread):
    run = tmp_path / "run"
    args = ["train", "--model", "fno", "--data", str(darcy), "--out", str(run), *SMALL]
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    records = read_metrics(run / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2] and records[-1]["step"] == 2 * 2
    assert torch.load(run / "checkpoint.pt", weights_only=True)["epoch"] == 2


def test_errors(darcy, tmp_path, capsys, one_thread):
    # unknown model name
    with pytest.raises(SystemExit):
        main(["train", "--model", "unet", "--data", str(darcy), "--out", str(tmp_path)])
    assert "invalid choice: 'unet'" in capsys.readouterr().err
    # a checkpoint of another model
    run = tmp_path / "run"
    assert main(["train", "--model", "fno", "--data", str(darcy), "--out", str(run), "--epochs", "1",
                 "--eval-strides", "1", "2", *SMALL]) == 0
    assert {"test/l2@17", "test/l2@9"} <= set(read_metrics(run / "metrics.jsonl")[0])
    capsys.readouterr()
    assert main(["train", "--model", "tfno", "--data", str(darcy), "--out", str(run), "--epochs", "2",
                 "--resume", *SMALL]) == 2
    err = capsys.readouterr().err
    assert "(written for NormalizedOperator) does not fit" in err and "missing" in err
    # a file without the expected fields
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["u"] = np.zeros((3, 4))
    assert main(["train", "--model", "fno", "--data", str(tmp_path / "other.h5"), "--out",
                 str(tmp_path / "r2"), *SMALL]) == 2
    assert "pdekit train: error:" in capsys.readouterr().err
    # a dataset whose channel count does not match the model
    generate(_two_channel_problem(), tmp_path / "two.h5", n=2, resolution=17, seed=0, workers=0)
    assert main(["evaluate", str(run), str(tmp_path / "two.h5")]) == 2
    assert "the model takes 1 input channels" in capsys.readouterr().err
    # a resolution the data cannot be strided to
    assert main(["evaluate", str(run), str(darcy), "--resolution", "12"]) == 2
    assert "cannot be strided to 12 points" in capsys.readouterr().err
    # a model file that is not a model
    assert main(["evaluate", str(run / "checkpoint.pt"), str(darcy)]) == 2
    assert "not a pdekit operator checkpoint" in capsys.readouterr().err


def test_demo_surrogate_trains_scores_and_times(darcy, tmp_path, one_thread):
    from pdekit._commands._demo_surrogate import format_summary, train_demo_surrogate
    from pdekit.training.normalization import load_model

    m = train_demo_surrogate(darcy, tmp_path / "demo", epochs=6, budget_seconds=3, modes=4, width=8,
                             layers=2, batch_size=4, solver_reps=1)
    assert 2 <= m["epochs"] <= 6 and m["steps"] == m["epochs"] * 4
    assert (m["n_train"], m["n_test"], m["train_resolution"]) == (16, 4, 17)
    assert set(m["test_l2"]) == {17} and 0 < m["test_l2"][17] < 1.0
    assert m["speedup"] == pytest.approx(m["solver_seconds"] / m["surrogate_seconds"])
    assert m["n_parameters"] == load_model(m["model_path"]).n_parameters()
    text = format_summary(m)
    assert f"TFNO with {m['n_parameters']:,} parameters" in text and "relative L2" in text
