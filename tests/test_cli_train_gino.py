"""``pdekit train --model gino`` on darcy-fem mesh data, and ``pdekit evaluate`` on another mesh."""

from __future__ import annotations

import json

import pytest
import torch

from pdekit import meshes
from pdekit.cli import main
from pdekit.data.generation import generate
from pdekit.training.metrics import read_metrics
from tests.training._mesh_data import darcy_fem_files
from tests.training._toy import one_thread  # noqa: F401 (fixture)

SMALL = ["--modes", "4", "--width", "8", "--layers", "2", "--latent-shape", "12", "--batch-size", "8", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = darcy_fem_files(tmp_path_factory.mktemp("cli-gino"), mesh_n=3, n_coarse=20, n_fine=6)
    generate("darcy", d / "grid.h5", n=4, resolution=9, seed=0, workers=0)
    return d


def test_train_gino_then_evaluate_on_the_training_mesh_and_a_refined_one(files, tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    assert main(["train", "--model", "gino", "--data", str(files / "coarse.h5"), "--out", str(run),
                 "--epochs", "2", "--gno-frequencies", "2", *SMALL]) == 0
    n_coarse, n_fine = (meshes.read(files / f"{k}.vtu").n_points for k in ("coarse", "fine"))
    records = read_metrics(run / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2] and f"test/l2@{n_coarse}" in records[-1]
    assert json.loads((run / "config.json").read_text())["model"] == "gino"
    saved = torch.load(run / "model.pt", weights_only=True)
    assert "gno_frequencies': 2" in repr(saved["config"])
    capsys.readouterr()
    assert main(["evaluate", str(run), str(files / "coarse.h5"), str(files / "fine.h5"), "--split", "test",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # held out: the run's test tail of its training file, all of the other file
    assert [(r["resolution"], r["stride"], r["n"]) for r in rows] == [(n_coarse, 1, 4), (n_fine, 1, 6)]
    # the saved model (normalizers inside, re-bound to the mesh of the data) reproduces the run's score
    assert rows[0]["relative_l2"] == pytest.approx(records[-1][f"test/l2@{n_coarse}"], rel=1e-5)
    assert 0 < rows[1]["relative_l2"] < 1.5
    assert main(["evaluate", str(run / "model.pt"), str(files / "fine.h5")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("scored all samples") and table[2].split()[:3] == [str(n_fine), "1", "6"]


def test_test_data_on_another_mesh_and_exact_resume(files, tmp_path, one_thread):
    args = ["train", "--model", "gino", "--data", str(files / "coarse.h5"), "--test-data", str(files / "fine.h5"),
            *SMALL]
    assert main([*args, "--out", str(tmp_path / "full"), "--epochs", "2"]) == 0
    assert main([*args, "--out", str(tmp_path / "part"), "--epochs", "1"]) == 0
    assert main([*args, "--out", str(tmp_path / "part"), "--epochs", "2", "--resume"]) == 0
    full, part = (read_metrics(tmp_path / k / "metrics.jsonl") for k in ("full", "part"))
    n_fine = meshes.read(files / "fine.vtu").n_points
    assert [r["epoch"] for r in part] == [1, 2] and f"test/l2@{n_fine}" in part[-1]
    assert part[-1][f"test/l2@{n_fine}"] == full[-1][f"test/l2@{n_fine}"]
    a, b = (torch.load(tmp_path / k / "model.pt", weights_only=True)["state_dict"] for k in ("full", "part"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_mesh_and_grid_mismatches_are_one_line_errors(files, tmp_path, capsys, one_thread):
    coarse, grid = str(files / "coarse.h5"), str(files / "grid.h5")
    assert main(["train", "--model", "fno", "--data", coarse, "--out", str(tmp_path / "a"), *SMALL]) == 2
    assert "fno trains on grids; mesh data (samples at mesh points) need --model gino" in capsys.readouterr().err
    assert main(["train", "--model", "fno", "--data", grid, "--out", str(tmp_path / "a"), *SMALL,
                 "--gno-frequencies", "3"]) == 2
    assert "--gno-frequencies applies to the graph kernels of --model gino, not to fno" in capsys.readouterr().err
    assert main(["train", "--model", "gino", "--data", grid, "--out", str(tmp_path / "b"), *SMALL]) == 2
    assert "gino trains on mesh data and needs the mesh's points" in capsys.readouterr().err
    assert main(["train", "--model", "gino", "--data", coarse, "--out", str(tmp_path / "c"),
                 "--eval-resolutions", "5", *SMALL]) == 2
    assert "mesh data are scored at their own points" in capsys.readouterr().err
    for radius in ("0", "-0.1"):
        assert main(["train", "--model", "gino", "--data", coarse, "--out", str(tmp_path / "r"),
                     "--radius", radius, *SMALL]) == 2
        assert "radius must be a positive distance in the units of the mesh points" in capsys.readouterr().err
    assert main(["train", "--model", "gino", "--data", coarse, "--out", str(tmp_path / "r"), *SMALL,
                 "--latent-shape", "12", "12", "12"]) == 2
    assert "give one latent grid size or one per spatial dimension (2); got [12, 12, 12]" in capsys.readouterr().err
    assert not (tmp_path / "r" / "model.pt").exists()
    run = tmp_path / "run"
    assert main(["train", "--model", "gino", "--data", coarse, "--out", str(run), "--epochs", "1", *SMALL]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), grid]) == 2
    assert "holds grid data but the model is a mesh operator (GINO)" in capsys.readouterr().err
    assert main(["evaluate", str(run), coarse, "--resolution", "10"]) == 2
    assert "--resolution applies to grids" in capsys.readouterr().err
    fno = tmp_path / "fno"
    assert main(["train", "--model", "fno", "--data", grid, "--out", str(fno), "--epochs", "1", *SMALL]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(fno), coarse]) == 2
    assert "holds mesh data but the model is a grid operator; train a GINO" in capsys.readouterr().err
