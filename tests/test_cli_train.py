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
    assert main(["evaluate", str(run / "model.pt"), str(darcy)]) == 0  # default: the test tail
    table = capsys.readouterr().out.splitlines()
    assert table[0] == f"scored the test tail (0.2 of the file) of {darcy}"
    assert table[1].split() == ["resolution", "stride", "samples", "relative", "L2"]
    assert table[2].split()[:3] == ["17", "1", "4"]
    assert float(table[2].split()[3]) == pytest.approx(rows[0]["relative_l2"], rel=1e-3)
    assert main(["evaluate", str(run), str(darcy), "--split", "all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == 20


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
    assert "--model tfno (the run uses fno)" in capsys.readouterr().err
    (run / "config.json").unlink()  # without the run's options, the checkpoint itself refuses
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


@pytest.fixture(scope="module")
def darcy_other_seed(darcy):
    path = darcy.parent / "darcy-seed5.h5"
    generate("darcy", path, n=20, resolution=17, seed=5, workers=0)
    return path


def _train(darcy, run, *extra):
    return main(["train", "--model", "fno", "--data", str(darcy), "--out", str(run), *SMALL, *extra])


def test_existing_run_is_not_replaced_without_overwrite(darcy, tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    assert _train(darcy, run, "--epochs", "1") == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert set(before) == {"config.json", "checkpoint.pt", "metrics.jsonl", "model.pt", "curves.png"}
    capsys.readouterr()
    assert _train(darcy, run, "--epochs", "2", "--lr", "0.01") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds another run" in err and "--resume" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # nothing touched
    assert _train(darcy, run, "--epochs", "2", "--resume", "--overwrite") == 2
    assert "contradict" in capsys.readouterr().err
    assert _train(darcy, run, "--epochs", "2", "--lr", "0.01", "--overwrite") == 0
    assert [r["epoch"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2]  # a new log, not appended
    assert json.loads((run / "config.json").read_text())["lr"] == 0.01
    # a resume needs a checkpoint; --out must be a folder
    assert _train(darcy, tmp_path / "empty", "--resume") == 2
    assert "nothing to resume" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert _train(darcy, tmp_path / "file") == 2
    assert "is a file" in capsys.readouterr().err


def test_resume_checks_data_and_settings_and_names_ignored_options(darcy, darcy_other_seed, tmp_path,
                                                                    capsys, one_thread):
    run = tmp_path / "run"
    assert _train(darcy, run, "--epochs", "1", "--lr", "0.002") == 0
    config = (run / "config.json").read_bytes()
    checkpoint = (run / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    # other data (same shapes, other seed): refused before anything is written
    assert _train(darcy_other_seed, run, "--epochs", "2", "--resume") == 2
    err = capsys.readouterr().err
    assert "trained on other data" in err and err.count("\n") == 1
    # a subset of the same file is other data too
    assert _train(darcy, run, "--epochs", "2", "--resume", "--n-train", "8") == 2
    assert "cannot resume" in capsys.readouterr().err
    # options that define the run
    assert _train(darcy, run, "--epochs", "2", "--resume", "--width", "6", "--seed", "3") == 2
    err = capsys.readouterr().err
    assert "--width 6 (the run uses 8)" in err and "--seed 3 (the run uses 0)" in err
    assert (run / "config.json").read_bytes() == config and (run / "checkpoint.pt").read_bytes() == checkpoint
    # the learning rate comes from the optimizer state: said, not silently claimed
    assert _train(darcy, run, "--epochs", "2", "--resume", "--lr", "0.1") == 0
    err = capsys.readouterr().err
    assert "ignoring --lr 0.1 (the run uses 0.002)" in err
    saved = json.loads((run / "config.json").read_text())
    assert saved["lr"] == 0.002 and saved["epochs"] == 2
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["optimizer"]["param_groups"][0]["initial_lr"] == pytest.approx(0.002)
    assert state["data"]["identity"].startswith("n=16 ")
    # leaving the options out continues the run as it was configured
    assert _train(darcy, run, "--epochs", "3", "--resume") == 0
    assert capsys.readouterr().err == ""
    assert [r["epoch"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]


@pytest.mark.parametrize("option, message", [
    (["--device", "foo"], "unknown device 'foo'"),
    (["--device", "meta"], "device 'meta' cannot run training"),
    (["--device", "cuda:0"] if not torch.cuda.is_available() else ["--device", "cuda:99"], "device 'cuda"),
    (["--padding", "1000"], "between 0 and 1"),
    (["--padding", "-0.1"], "between 0 and 1"),
])
def test_bad_device_and_padding_are_one_line(darcy, tmp_path, capsys, option, message, one_thread):
    assert _train(darcy, tmp_path / "run", "--epochs", "1", *option) == 2
    err = capsys.readouterr().err
    assert err.startswith("pdekit train: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "run" / "config.json").exists()
    if option[0] == "--device":
        assert main(["evaluate", str(tmp_path), str(darcy), *option]) == 2
        assert message in capsys.readouterr().err


def test_curves_and_prediction_plots(darcy, darcy_other_seed, tmp_path, capsys, one_thread):
    from matplotlib.image import imread

    run = tmp_path / "run"
    assert _train(darcy, run, "--epochs", "2", "--eval-resolutions", "17", "9") == 0
    curves = imread(run / "curves.png")
    assert curves.shape[:2] == (340, 900) and curves[..., :3].std() > 0.05
    capsys.readouterr()
    # another file is held out as a whole; the plot goes next to the model
    assert main(["evaluate", str(run), str(darcy_other_seed), "--plot"]) == 0
    out = capsys.readouterr().out
    assert "all samples (not the run's training file: held out)" in out
    assert out.split("\n")[2].split()[:3] == ["17", "1", "20"]
    panels = imread(run / "predictions.png")
    assert panels.shape[:2] == (750, 1160)  # 3 samples x (input, truth, prediction, error)
    assert main(["evaluate", str(run), str(darcy), "--plot"]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["evaluate", str(run), str(darcy), "--plot", str(tmp_path / "p.png"), "--split", "train"]) == 0
    assert "the training part" in capsys.readouterr().out and (tmp_path / "p.png").is_file()
    # mesh data cannot be drawn as grid panels: said before any work
    generate("darcy-fem", tmp_path / "fem.h5", n=2, resolution=4, seed=0, workers=0)
    assert main(["evaluate", str(run), str(tmp_path / "fem.h5"), "--plot", str(tmp_path / "m.png")]) == 2
    assert "holds mesh data" in capsys.readouterr().err and not (tmp_path / "m.png").exists()
