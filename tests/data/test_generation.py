"""Generation: reproducible bytes, parallel workers, resume after an interruption or kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from pdekit.data import generate, read_info, sample_seeds
from pdekit.data.journal import journal_dir
from tests._progress import RecordingProgress
from tests.data.toy_problems import TOY_2D

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted in-process run of 12 samples of toy-2d."""
    path = tmp_path_factory.mktemp("ref") / "ref.h5"
    report = generate("toy-2d", path, n=12, resolution=6, seed=5, workers=0, scale=2.0)
    assert (report.n, report.n_completed, report.n_generated) == (12, 12, 12)
    return path


def test_samples_are_the_problem_solved_with_the_stored_seeds(reference):
    info = read_info(reference)
    assert info.n_completed == 12 and info.header.params == {"scale": 2.0, "delay": 0.0, "fail": False}
    np.testing.assert_array_equal(info.seeds, sample_seeds(5, 12))
    with h5py.File(reference, "r") as f:
        for i in (0, 7):
            s = TOY_2D.solve(np.random.default_rng(int(f["seeds"][i])), 6, scale=2.0, delay=0.0, fail=False)
            np.testing.assert_array_equal(f["inputs"][i], s.inputs.astype(np.float32))
            np.testing.assert_array_equal(f["outputs"][i], s.outputs.astype(np.float32))
        assert not np.array_equal(f["inputs"][0], f["inputs"][1])
    assert not journal_dir(reference).exists()


def test_two_workers_give_identical_bytes_and_rerun_is_a_no_op(reference, tmp_path):
    path = tmp_path / "w2.h5"
    rec = RecordingProgress()
    generate("toy-2d", path, n=12, resolution=6, seed=5, workers=2, progress=rec, scale=2.0)
    assert path.read_bytes() == reference.read_bytes()
    assert rec.events[0] == ("start", 12, "toy-2d") and rec.events[-1] == ("close",)
    assert sum(e[1] for e in rec.events if e[0] == "update") == 12
    mtime = path.stat().st_mtime_ns
    again = generate("toy-2d", path, n=12, resolution=6, seed=5, workers=2, scale=2.0)
    assert again.n_generated == 0 and path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("stop_after, published", [(1, 0), (3, 2), (7, 4), (11, 8)])
def test_interrupted_run_leaves_a_readable_file_and_resumes_identically(reference, tmp_path,
                                                                        stop_after, published):
    path = tmp_path / "int.h5"
    with pytest.raises(KeyboardInterrupt):  # raised right after sample stop_after - 1 is journalled
        generate("toy-2d", path, n=12, resolution=6, seed=5, workers=0,
                 progress=RecordingProgress(stop_after=stop_after), scale=2.0)
    info = read_info(path)  # the last published file (publishes at 1, 2, 4, 8 samples)
    assert info.n_completed == published and info.completed[:published].all()
    assert len(list(journal_dir(path).glob("*.npz"))) == stop_after - published
    report = generate("toy-2d", path, n=12, resolution=6, seed=5, workers=0, scale=2.0)
    assert report.n_generated == 12 - stop_after  # the journalled samples are not solved again
    assert path.read_bytes() == reference.read_bytes()
    assert not journal_dir(path).exists()


def test_growing_n_extends_the_dataset(reference, tmp_path):
    path = tmp_path / "grow.h5"
    generate("toy-2d", path, n=5, resolution=6, seed=5, workers=0, scale=2.0)
    report = generate("toy-2d", path, n=12, resolution=6, seed=5, workers=0, scale=2.0)
    assert report.n_generated == 7
    assert path.read_bytes() == reference.read_bytes()


def test_resume_with_other_settings_is_refused(reference, tmp_path):
    path = tmp_path / "r.h5"
    path.write_bytes(reference.read_bytes())
    with pytest.raises(ValueError, match=r"refusing to resume .*param scale: file has 2\.0, this run asks 3\.0"):
        generate("toy-2d", path, n=12, resolution=6, seed=5, workers=0, scale=3.0)
    with pytest.raises(ValueError, match="seed: file has 5, this run asks 6"):
        generate("toy-2d", path, n=12, resolution=6, seed=6, workers=0, scale=2.0)
    with pytest.raises(ValueError, match="n may only grow"):
        generate("toy-2d", path, n=4, resolution=6, seed=5, workers=0, scale=2.0)
    with pytest.raises(ValueError, match="pde: file has 'toy-2d', this run asks 'toy-time'"):
        generate("toy-time", path, n=12, resolution=6, seed=5, workers=0)
    assert path.read_bytes() == reference.read_bytes()


def test_bad_input_errors_leave_no_file(tmp_path):
    path = tmp_path / "x.h5"
    with pytest.raises(ValueError, match=r"unknown PDE 'nope'; expected one of \[.*'toy-2d'"):
        generate("nope", path, n=2, resolution=4, seed=0)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['bogus'\].*expected some of \['delay', 'fail', 'scale'\]"):
        generate("toy-2d", path, n=2, resolution=4, seed=0, bogus=1)
    with pytest.raises(ValueError, match="n must be an integer >= 1; got 0"):
        generate("toy-2d", path, n=0, resolution=4, seed=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        generate("toy-2d", tmp_path / "no" / "x.h5", n=2, resolution=4, seed=0)
    with pytest.raises(ValueError, match="is a folder"):
        generate("toy-2d", tmp_path, n=2, resolution=4, seed=0)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.zeros(2)
    with pytest.raises(ValueError, match="not a pdekit dataset"):
        generate("toy-2d", other, n=2, resolution=4, seed=0)
    with pytest.raises(RuntimeError, match=r"sample 0 \(seed \d+\) of 'toy-2d' failed: ArithmeticError"):
        generate("toy-2d", path, n=2, resolution=4, seed=0, workers=0, fail=True)
    with pytest.raises(RuntimeError, match="failed: ArithmeticError: toy failure requested"):
        generate("toy-2d", path, n=3, resolution=4, seed=0, workers=2, fail=True)
    from pdekit.data import Problem, Sample

    wrong = Problem(name="wrong-channels", summary="", defaults={},
                    solve=lambda rng, r: Sample(inputs=np.zeros((r, 3)), outputs=np.zeros((r, 1))),
                    coordinates=lambda r: {"x": np.linspace(0, 1, r)}, input_names=("a",))
    with pytest.raises(ValueError, match=r"returned inputs of shape \(4, 3\) for sample 0; expected \(\.\.\., 1\)"):
        generate(wrong, path, n=2, resolution=4, seed=0, workers=0)
    with pytest.raises(ValueError, match="cannot be sent to worker processes .* or pass workers=0"):
        generate(wrong, path, n=2, resolution=4, seed=0, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.h5"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_9_mid_run_leaves_a_readable_file_and_resume_completes_it(tmp_path):
    n, kw = 32, dict(resolution=5, seed=11, delay=0.03)
    ref = tmp_path / "ref.h5"
    generate("toy-2d", ref, n=n, workers=0, **kw)
    path = tmp_path / "killed.h5"
    script = textwrap.dedent(f"""
        import tests.data.toy_problems
        from pdekit.data import generate
        if __name__ == "__main__":
            generate("toy-2d", {str(path)!r}, n={n}, workers=2, **{kw!r})
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists() and read_info(path).n_completed >= 2:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, mid-write
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    info = read_info(path)
    assert 2 <= info.n_completed < n
    with h5py.File(ref, "r") as fr, h5py.File(path, "r") as fk:
        done = np.flatnonzero(fk["completed"][()])
        np.testing.assert_array_equal(fk["inputs"][done], fr["inputs"][done])
    report = generate("toy-2d", path, n=n, workers=0, **kw)
    assert 0 < report.n_generated < n - 2
    assert path.read_bytes() == ref.read_bytes()
    assert not journal_dir(path).exists()


def test_darcy_dataset_at_small_resolution(tmp_path):
    from pdekit.cli import main

    path = tmp_path / "darcy.h5"
    rc = main(["generate", "darcy", "--n", "3", "--resolution", "9", "--solve-resolution", "17",
               "--workers", "2", "--quiet", "-o", str(path)])
    assert rc == 0
    info = read_info(path)
    assert info.header.params["solve_resolution"] == 17 and info.header.params["a_high"] == 12.0
    assert (info.input_shape, info.output_shape) == ((3, 9, 9, 1), (3, 9, 9, 1))
    from pdekit.data import get_problem, open_dataset

    problem = get_problem("darcy")
    with h5py.File(path, "r") as f:
        a, u = f["inputs"][()], f["outputs"][()]
        again = problem.solve(np.random.default_rng(int(f["seeds"][2])), 9, **info.header.params)
    assert set(np.unique(a)) <= {3.0, 12.0}
    np.testing.assert_array_equal(u[2], again.outputs.astype(np.float32))
    np.testing.assert_array_equal(u[:, 0, :], 0.0)  # Dirichlet boundary
    assert (u[:, 1:-1, 1:-1] > 0).all()  # -div(a grad u) = 1 > 0: maximum principle
    item = open_dataset(path)[0]
    assert item["x"].shape == (1, 9, 9) and item["y"].shape == (1, 9, 9)


def test_dataset_records_domain_boundary_conditions_and_environment(tmp_path):
    import importlib.metadata as md
    import json
    import sys

    path = tmp_path / "heat.h5"
    generate("heat", path, n=1, resolution=8, seed=0, workers=0, t_final=0.02, n_records=2)
    info = read_info(path)
    assert info.header.domain == {"x": [0.0, 1.0], "y": [0.0, 1.0]}
    assert info.header.boundary_conditions == {"x": "periodic", "y": "periodic"}
    env = info.header.environment
    assert env["numpy"] == np.__version__ and env["scipy"] == md.version("scipy")
    assert env["torch"] == md.version("torch") and env["python"] == "%d.%d.%d" % sys.version_info[:3]
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["environment"]) == env
    again = tmp_path / "again.h5"
    generate("heat", again, n=1, resolution=8, seed=0, workers=0, t_final=0.02, n_records=2)
    assert again.read_bytes() == path.read_bytes()  # versions are not time stamps: same bytes
    fem = tmp_path / "fem.h5"
    generate("darcy-fem", fem, n=1, resolution=5, seed=0, workers=0)
    h = read_info(fem).header
    assert h.domain == {"x": [0.0, 1.0], "y": [0.0, 1.0], "geometry": "mesh"}
    assert h.boundary_conditions == {"boundary": "dirichlet p = 0"}


def test_resume_in_another_environment_is_refused(tmp_path, monkeypatch):
    from pdekit.data import plan

    path = tmp_path / "e.h5"
    generate("toy-2d", path, n=3, resolution=4, seed=0, workers=0, shard="0/2")
    real = plan.environment()
    monkeypatch.setattr(plan, "environment", lambda: {**real, "numpy": "0.0.1"})
    with pytest.raises(ValueError, match=r"numpy version: file made with .*, this run has 0\.0\.1"):
        generate("toy-2d", path, n=3, resolution=4, seed=0, workers=0)
