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
    assert "0/3 completed (missing: 0-2)" in text
    assert "progress        1 solved samples not merged yet, 2 missing (1-2); no run is going on" in text
    assert "rerun the generate command (without --shard) to finish and merge" in text
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
    assert (out / "surrogate" / "model.pt").is_file()
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


# -- shards, launchers and info on an unfinished dataset (issue 14) --------------------------------

SHARD_ARGS = ["toy-2d", "--n", "6", "--resolution", "4", "--seed", "2", "--quiet"]


def test_shards_on_the_command_line_then_info_then_merge(tmp_path, capsys):
    ref, out = tmp_path / "ref.h5", tmp_path / "s.h5"
    assert main(["generate", *SHARD_ARGS, "--workers", "0", "-o", str(ref)]) == 0
    assert main(["generate", "toy-2d", "--n", "6", "--resolution", "4", "--seed", "2", "--workers", "0",
                 "--shard", "0/3", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"shard 0/3 of {out}: 2 samples of its own (2 solved in" in text
    assert "2/6 samples of the dataset done. Once every shard has finished, run the same command " \
           "without --shard to merge" in text
    assert main(["generate", *SHARD_ARGS, "--workers", "0", "--shard", "2/3", "-o", str(out)]) == 0
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "0/6 completed (missing: 0-5)" in text
    assert "progress        4 solved samples not merged yet, 2 missing (1, 4); no run is going on" in text
    assert "shard 0/3     2/2 solved, 0 missing, finished (host" in text
    assert "shard 2/3     2/2 solved, 0 missing, finished (host" in text
    assert main(["info", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["journalled"] == 4 and record["missing"] == 2 and not record["merging"]
    assert [(s["shard"], s["solved"], s["missing"], s["running"]) for s in record["shards"]] == \
        [("0/3", 2, 0, False), ("2/3", 2, 0, False)]
    assert record["environment"]["numpy"] == np.__version__
    assert main(["generate", *SHARD_ARGS, "--workers", "0", "-o", str(out)]) == 0  # merges
    assert out.read_bytes() == ref.read_bytes()
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shards"] == []


@pytest.mark.parametrize("extra, message", [
    (["--shard", "3/2"], "shard index must be in 0..1 for 2 shards; got 3/2"),
    (["--shard", "0/0"], "shard count must be >= 1; got 0/0"),
    (["--shard", "x"], "shard 'x' is not understood; expected K/N"),
    (["--launcher", "local", "--jobs", "0"], "jobs must be an integer >= 1; got 0"),
    (["--launcher", "local"], "--launcher local needs --jobs N"),
    (["--jobs", "2"], "--jobs need(s) --launcher local or --launcher slurm"),
    (["--partition", "gpu"], "--partition need(s) --launcher"),
    (["--launcher", "local", "--jobs", "2", "--shard", "0/2"], "either --shard K/N"),
    (["--launcher", "local", "--jobs", "2", "--time-limit", "soon"], "time 'soon' is not understood"),
    (["--launcher", "local", "--jobs", "2", "--sbatch=--array=1"], "sets --array, which the launcher sets"),
])
def test_bad_cluster_input_is_one_line_and_touches_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "d.h5"
    assert main(["generate", *SHARD_ARGS, "--workers", "0", "--shard", "1/2", "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in [out, *out.with_name("d.h5.parts").iterdir()] if p.is_file()}
    capsys.readouterr()
    assert main(["generate", *SHARD_ARGS, "--workers", "0", "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    after = {p.name: p.read_bytes() for p in [out, *out.with_name("d.h5.parts").iterdir()] if p.is_file()}
    assert after == before


def test_launcher_slurm_without_slurm_says_what_to_do(tmp_path, capsys, monkeypatch):
    import shutil as _shutil

    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))
    assert _shutil.which("sbatch") is None
    out = tmp_path / "d.h5"
    assert main(["generate", *SHARD_ARGS, "-o", str(out), "--launcher", "slurm", "--jobs", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pdekit generate: error: SLURM is not reachable from this machine: sbatch, srun, "
                          "sacct, scancel not found on PATH")
    assert "use --launcher local" in err and "examples/slurm/generate.sbatch" in err
    assert len(err.splitlines()) == 1 and not out.exists() and not out.with_name("d.h5.parts").exists()


def test_launcher_slurm_submits_a_job_array_and_merges(tmp_path, capsys, monkeypatch):
    from tests.cluster import fake_slurm

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    folder = tmp_path / "slurm"
    monkeypatch.setenv("PATH", f"{fake_slurm.install(folder)}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_DIR", str(folder))
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.chdir(root)
    ref, out = tmp_path / "ref.h5", tmp_path / "l.h5"
    assert main(["generate", *SHARD_ARGS, "--workers", "0", "-o", str(ref)]) == 0
    try:
        assert main(["generate", *SHARD_ARGS, "-o", str(out), "--launcher", "slurm", "--jobs", "3",
                     "--partition", "debug", "--account", "proj", "--time-limit", "0:30:00",
                     "--mem-gb", "2", "--sbatch=--qos=low", "--setup", "echo ready"]) == 0
    finally:
        fake_slurm.stop_all(folder)
    assert out.read_bytes() == ref.read_bytes()
    script = next(folder.glob("*.sh")).read_text()
    for line in ("#SBATCH --array=0-2%3", "#SBATCH --partition=debug", "#SBATCH --account=proj",
                 "#SBATCH --time=30", "#SBATCH --mem=2GB", "#SBATCH --qos=low", "echo ready",
                 "#SBATCH --job-name=pdekit-toy-2d"):
        assert line in script


def test_generate_bad_sizes_and_paths_are_one_line(tmp_path, capsys):
    out = tmp_path / "d.h5"
    cases = [
        (["--n", "10000000000", "-o", str(out)], "n = 10000000000 is too large: at most 10,000,000"),
        (["--n", "2", "-o", str(tmp_path)], "is a folder; expected a file name like data.h5"),
        (["--n", "2", "-o", str(tmp_path / ("x" * 300 + ".h5"))], "output file name is 303 bytes long"),
        (["--n", "2", "-o", str(tmp_path / "no" / "d.h5")], "does not exist; create it first"),
    ]
    for extra, message in cases:
        assert main(["generate", "toy-2d", "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_info_json_into_a_closed_pipe_exits_quietly(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "d.h5"
    assert main(["generate", *SHARD_ARGS, "--workers", "0", "-o", str(out)]) == 0
    cli = f"{sys.executable} -m pdekit.cli info {out} --json"
    for reader in ("head -1", "true"):  # head reads a line; true reads nothing and leaves at once
        proc = subprocess.run(["bash", "-c", f"{cli} | {reader}; echo status=${{PIPESTATUS[0]}} >&2"],
                              capture_output=True, text=True, timeout=60)
        assert proc.stderr.strip() == "status=0", proc.stderr
        assert proc.stdout == ("{\n" if reader == "head -1" else "")


@pytest.mark.parametrize("argv, message", [
    (["heat", "--dt", "-0.01"], "parameter dt must be > 0; got -0.01"),
    (["heat", "--dt", "0"], "parameter dt must be > 0; got 0.0"),
    (["darcy-fem", "--resolution", "1000000"], "resolution 1000000 is out of range for 'darcy-fem': "
                                               "expected 2 <= resolution <= 2049"),
    (["navier-stokes", "--advection", "rk4"], "parameter advection must be one of ['euler', 'heun']"),
])
def test_out_of_range_parameters_are_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "x.h5"
    assert main(["generate", *argv, "--n", "2", "--quiet", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_problem_help_shows_ranges(capsys):
    assert main(["generate", "heat", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--dt                       default 0.01 (> 0)" in text
    assert "--theta                    default 0.5 (in [0, 1])" in text and "resolution: 2 .. 4096" in text
