"""The data verbs of the command line: generate (generic problem parameters), info."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import tests.data.toy_problems  # noqa: F401  (registers the toy problems)
from pdekit._commands.generate import coerce_param, parse_problem_params
from pdekit.cli import main
from pdekit.data import get_problem, read_info


def test_generate_then_info(tmp_path, capsys):
    out = tmp_path / "t.h5"
    rc = main(["generate", "toy-2d", "--n", "5", "--resolution", "4", "--seed", "3",
               "--workers", "0", "--scale", "0.5", "-o", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert f"wrote {out}: 5/5 samples of toy-2d (5 solved in" in text and "samples/s" in text
    info = read_info(out)
    assert info.header.params["scale"] == 0.5 and info.header.seed == 3 and info.n_completed == 5
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    for piece in ("pdekit-dataset/1", "toy-2d", "5/5 completed", '"scale": 0.5',
                  "/inputs         float32 (5, 4, 4, 1) axes N,X,Y,C", "/coords/x"):
        assert piece in text
    assert main(["info", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["n_completed"] == 5 and record["outputs"]["shape"] == [5, 4, 4, 2]


def test_options_before_the_pde_and_quiet(tmp_path, capsys):
    out = tmp_path / "q.h5"
    assert main(["generate", "--n", "2", "--quiet", "toy-time", "--steps", "2", "--resolution", "3",
                 "--workers", "0", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert read_info(out).output_shape == (2, 2, 3, 1)


def test_unknown_parameter_and_pde_are_rejected(tmp_path, capsys):
    out = tmp_path / "u.h5"
    assert main(["generate", "toy-2d", "--n", "2", "--nu", "1e-3", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter --nu for toy-2d; valid parameters: --delay, --fail, --scale" in err
    assert main(["generate", "nope", "--n", "2", "-o", str(out)]) == 2
    assert "unknown PDE 'nope'" in capsys.readouterr().err
    assert main(["generate", "toy-2d", "-o", str(out)]) == 2
    assert "missing --n" in capsys.readouterr().err
    assert not out.exists()


def test_info_reports_an_interrupted_run(tmp_path, capsys):
    from pdekit.data import generate

    out = tmp_path / "i.h5"

    class Stop:
        def start(self, total, desc=""):
            pass

        def update(self, n=1, **kw):
            raise KeyboardInterrupt

        def close(self):
            pass

    with pytest.raises(KeyboardInterrupt):
        generate("toy-2d", out, n=3, resolution=3, seed=0, workers=0, progress=Stop())
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "0/3 completed (missing: 0-2)" in text and "1 more finished samples not yet in the file" in text
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["journalled"] == 1


def test_info_rejects_other_files(tmp_path, capsys):
    path = tmp_path / "o.h5"
    with h5py.File(path, "w") as f:
        f["u"] = np.zeros(2)
    assert main(["info", str(path)]) == 2
    assert "not a pdekit dataset" in capsys.readouterr().err


def test_problem_help_and_list(capsys):
    assert main(["generate", "toy-time", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--steps" in text and "default 3" in text and "outputs ['u']" in text
    assert main(["generate", "--list"]) == 0
    assert "toy-2d: random field" in capsys.readouterr().out


def test_parameter_coercion():
    toy = get_problem("toy-2d")
    assert parse_problem_params(toy, ["--scale", "2", "--fail", "--delay=0.5"]) == \
        {"scale": 2.0, "fail": True, "delay": 0.5}
    assert parse_problem_params(toy, ["--no-fail"]) == {"fail": False}
    assert coerce_param("k", "1e3", 5) == 1000
    assert coerce_param("mesh", "a.msh", "") == "a.msh"
    assert coerce_param("sizes", "1,2", [4]) == [1, 2]
    assert coerce_param("opt", "[1, 2.5]", None) == [1, 2.5]
    assert coerce_param("opt", "plain", None) == "plain"
    with pytest.raises(ValueError, match=r"parameter --k expects an integer \(default 5\); got '1.5'"):
        coerce_param("k", "1.5", 5)
    with pytest.raises(ValueError, match="expects true or false"):
        coerce_param("f", "maybe", False)
    with pytest.raises(ValueError, match="--scale needs a value"):
        parse_problem_params(toy, ["--scale"])
    with pytest.raises(ValueError, match="unexpected argument 'stray'"):
        parse_problem_params(toy, ["stray"])


def test_demo_steps_make_datasets_and_a_png(tmp_path, capsys, monkeypatch):
    from pdekit._commands import demo

    monkeypatch.setattr(demo, "DATASETS", {
        "darcy": ("toy-2d", dict(n=4, resolution=8, seed=0)),
        "navier-stokes": ("toy-2d-time", dict(n=3, resolution=8, seed=0, steps=2)),
    })
    monkeypatch.setattr(demo, "SURROGATE", dict(budget_seconds=1.0, epochs=2, modes=2, width=4,
                                                layers=1, batch_size=2, solver_reps=1))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--workers", "0"]) == 0
    text = capsys.readouterr().out
    assert "[1/4] darcy" in text and "[3/4] surrogate" in text and "[4/4] figure" in text
    assert "samples/s" in text and "parameters" in text
    assert (out / "surrogate" / "model.pt").is_file() and (out / "surrogate" / "curves.png").is_file()
    assert f"{out / 'darcy.h5'}: 4 samples, inputs (8, 8, 1) ['a']" in text
    assert read_info(out / "navier-stokes.h5").output_shape == (3, 2, 8, 8, 1)
    png = (out / "samples.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # the figure shows the surrogate next to the data; the demo says what to run next
    assert "coefficient, solution, TFNO prediction, error" in text
    from matplotlib.image import imread
    assert imread(out / "samples.png").shape[:2] == (1000, 1160)  # 1 Darcy test + 3 NS rows, 4 columns
    assert "next steps" in text and f"pdekit evaluate {out / 'surrogate'} {out / 'darcy.h5'} --plot" in text
    assert main(["evaluate", str(out / "surrogate"), str(out / "darcy.h5"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n"] == 1  # the demo's own test tail (0.2 of 4)
    ctx = demo.run_demo(out, quiet=True, workers=0, steps=demo.STEPS[:1])  # reruns from scratch
    assert capsys.readouterr().out == ""
    assert ctx.reports["darcy"].n_generated == 4 and set(ctx.datasets) == {"darcy"}


def test_failing_sample_is_reported_without_traceback(tmp_path, capsys):
    out = tmp_path / "f.h5"
    assert main(["generate", "toy-2d", "--n", "2", "--fail", "--workers", "0", "--quiet",
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "error: sample 0 (seed" in err and "ArithmeticError: toy failure requested" in err
    assert "Traceback" not in err and not out.exists()


def test_negative_values_and_known_options_among_problem_parameters(tmp_path):
    out = tmp_path / "neg.h5"
    assert main(["generate", "toy-2d", "--scale", "-0.5", "--n", "2", "--resolution", "3",
                 "--workers", "0", "--quiet", "-o", str(out), "--delay=0"]) == 0
    info = read_info(out)
    assert info.header.params["scale"] == -0.5 and info.header.n == 2 and info.header.resolution == 3
