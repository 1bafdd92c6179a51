"""`pdekit stream` bad input: one line on stderr, exit code 2, nothing the user had is lost."""

import json

import pytest

from pdekit.cli import main


def run(argv, capsys):
    code = main(["stream", *argv])
    return code, capsys.readouterr().err


BASE = ["--simulations", "2", "--steps", "3"]


@pytest.mark.parametrize("argv, match", [
    (["--pde", "heat", "--resolution", "16", "--out", "r"], "--simulations is required"),
    (["--command", "no_such_solver_xyz", *BASE, "--out", "r"], "solver command 'no_such_solver_xyz'"),
    (["--command", "true", "--parameter", "alpha=oops", *BASE, "--out", "r"], "--parameter 'alpha=oops' does not parse"),
    (["--pde", "heat", "--resolution", "64", "--memory", "10kB", *BASE, "--out", "r"], "smaller than one training sample"),
    (["--pde", "burgers", "--resolution", "64", *BASE, "--out", "r"], "has no time steps to stream"),
    (["--pde", "heat", "--command", "true", "--resolution", "8", *BASE, "--out", "r"], "not both"),
    (["--command", "true", "--launcher", "slurm", *BASE, "--out", "r"], "SLURM is not reachable"),
    (["--command", "true", "--memory", "lots", *BASE, "--out", "r"], "--memory 'lots' does not parse"),
])
def test_bad_input_is_one_line_and_exit_code_2(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run(argv, capsys)
    assert code == 2
    assert err.startswith("pdekit stream: error:") and err.count("\n") == 1
    assert __import__("re").search(match, err), err
    assert not (tmp_path / "r").exists()  # nothing was created


def test_a_folder_holding_another_run_is_refused_and_kept(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"out": str(out), "simulations": 9, "steps": 3, "command": "true"}))
    (out / "run.json").write_text(json.dumps({"format": "pdekit-stream-run-1", "run": "abc"}))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, err = run(["--command", "true", *BASE, "--out", str(out)], capsys)
    assert code == 2 and "already holds another run" in err and "simulations (9 before, 2 now)" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_folder_with_other_files_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    code, err = run(["--command", "true", *BASE, "--out", str(tmp_path)], capsys)
    assert code == 2 and "other files in it" in err and (tmp_path / "notes.txt").read_text() == "mine"


def test_config_file_supplies_the_settings(tmp_path, capsys):
    cfg = tmp_path / "stream.toml"
    cfg.write_text('command = "no_such_solver_xyz"\nsimulations = 2\nsteps = 3\nout = "r"\n')
    code, err = run(["--config", str(cfg)], capsys)
    assert code == 2 and "no_such_solver_xyz" in err  # read from the file, then checked
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    code, err = run(["--config", str(cfg), "--command", "true", "--out", str(busy)], capsys)
    assert code == 2 and "other files in it" in err  # the command line overrides the file's command
