"""Sharded generation: concurrent shards, kill -9, a local job array; the merge gives the same bytes."""

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

from pdekit.data import generate, read_info
from pdekit.data.journal import journal_dir
from pdekit.data.locks import DatasetLocks
from tests._progress import RecordingProgress
from tests.data.toy_problems import TOY_2D  # noqa: F401  (registers the toy problems)

REPO = Path(__file__).resolve().parents[2]
N, KW = 12, dict(resolution=5, seed=7)


SLOW = 0.1  # seconds per sample where a run must be caught mid-way


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted in-process runs, without and with a delay per sample (a parameter too)."""
    out = {}
    for delay in (0.0, SLOW):
        out[delay] = tmp_path_factory.mktemp("ref") / f"ref-{delay}.h5"
        generate("toy-2d", out[delay], n=N, workers=0, delay=delay, **KW)
    return out


@pytest.fixture
def reference(references):
    return references[0.0]


def _start_shard(path: Path, shard: str, delay: float = 0.0, gate: Path | None = None,
                 pause: float = 0.0) -> subprocess.Popen:
    script = textwrap.dedent(f"""
        import tests.data.toy_problems
        from pdekit.data import generate
        if __name__ == "__main__":
            generate("toy-2d", {str(path)!r}, n={N}, workers=0, shard={shard!r}, delay={delay}, **{KW!r})
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    if gate is not None:  # the shard holds its first sample until the gate file exists
        env["PDEKIT_TOY_GATE"] = str(gate)
    env["PDEKIT_TOY_PAUSE"] = str(pause)  # more time per sample, the same data
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, start_new_session=True,
                            stderr=subprocess.PIPE, text=True)


def _same_file(a: Path, b: Path) -> None:
    """Arrays and attributes equal, then the bytes too."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert dict(fa.attrs) .keys() == dict(fb.attrs).keys()
        for k in fa.attrs:
            assert np.array_equal(fa.attrs[k], fb.attrs[k]), k
        for k in ("inputs", "outputs", "seeds", "completed"):
            np.testing.assert_array_equal(fa[k][()], fb[k][()])
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("count", [2, 3])
def test_concurrent_shards_then_a_plain_run_give_the_single_run_bytes(references, tmp_path, count):
    path, gate = tmp_path / "sharded.h5", tmp_path / "gate"
    procs = [_start_shard(path, f"{k}/{count}", delay=SLOW, gate=gate) for k in range(count)]
    try:
        locks = DatasetLocks(journal_dir(path), path)
        deadline = time.monotonic() + 120
        while (len(locks.running_shards()) < count or not path.exists()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert locks.running_shards() == [(k, count) for k in range(count)]  # all at once
        before = path.read_bytes()
        with pytest.raises(FileExistsError, match="still running"):  # never merge under a shard
            generate("toy-2d", path, n=N, workers=0, delay=SLOW, **KW)
        assert path.read_bytes() == before
        gate.touch()  # let the shards solve
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read()
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    info = read_info(path)
    assert info.n_completed == 0 and len(list(journal_dir(path).glob("*.npz"))) == N  # not merged yet
    report = generate("toy-2d", path, n=N, workers=0, delay=SLOW, **KW)
    assert report.n_generated == 0 and report.n_completed == N
    _same_file(path, references[SLOW])
    assert not journal_dir(path).exists()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_shard_killed_mid_way_resumes_and_merges_identically(references, tmp_path):
    path = tmp_path / "killed.h5"
    proc = _start_shard(path, "0/2", delay=SLOW, pause=0.3)  # a wide window to kill it in
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(journal_dir(path).glob("*.npz"))) < 2:
            time.sleep(0.01)
        assert proc.poll() is None, "the shard finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    solved = len(list(journal_dir(path).glob("*.npz")))
    assert 2 <= solved < 6
    report = generate("toy-2d", path, n=N, workers=0, shard="0/2", delay=SLOW, **KW)  # resumes alone
    assert (report.n_generated, report.n_assigned, report.shard) == (6 - solved, 6, "0/2")
    generate("toy-2d", path, n=N, workers=0, shard="1/2", delay=SLOW, **KW)
    generate("toy-2d", path, n=N, workers=0, delay=SLOW, **KW)
    _same_file(path, references[SLOW])


def test_plain_run_solves_what_shards_left_out(reference, tmp_path):
    path = tmp_path / "partial.h5"
    generate("toy-2d", path, n=N, workers=0, shard="1/3", **KW)
    report = generate("toy-2d", path, n=N, workers=2, **KW)
    assert report.n_generated == N - 4
    _same_file(path, reference)


def test_local_job_array_gives_the_single_run_bytes(reference, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    path = tmp_path / "launched.h5"

    bar = RecordingProgress()
    report = generate("toy-2d", path, n=N, launcher="local", jobs=3, progress=bar, **KW)
    assert (report.n, report.n_completed, report.n_generated) == (N, N, N)
    assert bar.events[0] == ("start", N, "toy-2d (3 local jobs)") and ("close",) in bar.events
    assert sum(e[1] for e in bar.events if e[0] == "update") == N  # one bar over all shards
    _same_file(path, reference)
    assert not journal_dir(path).exists()
    again = generate("toy-2d", path, n=N, launcher="local", jobs=3, **KW)  # nothing left: no job
    assert again.n_generated == 0


@pytest.mark.parametrize("change, match", [
    (dict(seed=8), "seed: file has 7, this run asks 8"),
    (dict(resolution=6), "resolution: file has 5, this run asks 6"),
    (dict(scale=2.0), r"param scale: file has 1\.0, this run asks 2\.0"),
])
def test_shard_with_other_settings_is_refused(tmp_path, change, match):
    path = tmp_path / "d.h5"
    generate("toy-2d", path, n=N, workers=0, shard="0/2", **KW)
    parts = sorted(p.name for p in journal_dir(path).iterdir())
    before = path.read_bytes()
    with pytest.raises(ValueError, match=f"refusing to run shard 1/2 of .*d.h5'.*{match}"):
        generate("toy-2d", path, n=N, workers=0, shard="1/2", **{**KW, **change})
    assert path.read_bytes() == before and sorted(p.name for p in journal_dir(path).iterdir()) == parts


def test_corrupt_parts_are_discarded_and_solved_again(reference, tmp_path):
    path = tmp_path / "c.h5"
    generate("toy-2d", path, n=N, workers=0, shard="0/2", **KW)
    parts = journal_dir(path)
    (parts / "000000004.npz").write_bytes((parts / "000000004.npz").read_bytes()[:100])  # truncated
    with np.load(parts / "000000006.npz") as z:  # NaN smuggled in, checksum recomputed by hand
        from pdekit.data.journal import part_checksum

        x, y = z["inputs"], z["outputs"].copy()
        y[0, 0, 0] = np.nan
        key = (parts / "run.json").read_text()
        np.savez(parts / "000000006.npz", inputs=x, outputs=y, checksum=np.array(part_checksum(key, 6, x, y)))
    with pytest.warns(RuntimeWarning) as caught:
        report = generate("toy-2d", path, n=N, workers=0, **KW)
    messages = sorted(str(w.message) for w in caught if w.category is RuntimeWarning)
    assert len(messages) == 2 and "sample 4 (part file" in messages[0] and "unreadable" in messages[0]
    assert "sample 6" in messages[1] and "outputs holds 1 NaN/inf values" in messages[1]
    assert report.n_discarded == 2 and report.n_generated == N - 4
    _same_file(path, reference)
    # the same on a shard's resume, and a later resume no longer crashes
    path2 = tmp_path / "c2.h5"
    generate("toy-2d", path2, n=N, workers=0, shard="1/2", **KW)
    (journal_dir(path2) / "000000003.npz").write_bytes(b"")
    with pytest.warns(RuntimeWarning, match="sample 3"):
        report = generate("toy-2d", path2, n=N, workers=0, shard="1/2", **KW)
    assert report.n_generated == 1 and report.n_discarded == 1


def test_parts_beyond_n_are_not_thrown_away(tmp_path):
    path = tmp_path / "b.h5"
    generate("toy-2d", path, n=8, workers=0, **KW)
    generate("toy-2d", path, n=N, workers=0, shard="0/1", **KW)  # shards ran with a larger n
    with pytest.raises(ValueError, match=r"holds 4 solved samples beyond n = 8 .*rerun with --n 12"):
        generate("toy-2d", path, n=8, workers=0, **KW)
    assert generate("toy-2d", path, n=N, workers=0, **KW).n_generated == 0


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(shard="3/2"), ValueError, r"shard index must be in 0\.\.1"),
    (dict(shard="0/0"), ValueError, "shard count must be >= 1"),
    (dict(shard="x"), ValueError, "shard 'x' is not understood"),
    (dict(launcher="local", jobs=0), ValueError, "jobs must be an integer >= 1; got 0"),
    (dict(launcher="local"), ValueError, "launcher 'local' needs jobs"),
    (dict(launcher="pbs", jobs=2), ValueError, "unknown launcher 'pbs'"),
    (dict(launcher="local", jobs=2, shard="0/2"), ValueError, "either shard .* or launcher"),
    (dict(jobs=2), ValueError, "jobs and job_options need a launcher"),
])
def test_bad_shard_and_launcher_input_touch_nothing(tmp_path, kwargs, error, match):
    path = tmp_path / "d.h5"
    generate("toy-2d", path, n=N, workers=0, shard="0/2", **KW)
    snapshot = {p.name: p.read_bytes() for p in journal_dir(path).iterdir() if p.is_file()}
    before = path.read_bytes()
    with pytest.raises(error, match=match):
        generate("toy-2d", path, n=N, workers=0, **KW, **kwargs)
    assert path.read_bytes() == before
    assert {p.name: p.read_bytes() for p in journal_dir(path).iterdir() if p.is_file()} == snapshot


def test_a_shard_that_keeps_failing_stops_the_launch_and_keeps_the_work(tmp_path, monkeypatch):
    from pdekit.cluster import JobError
    from pdekit.data.shards import shard_progress

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    path = tmp_path / "failing.h5"
    with pytest.raises(JobError, match=r"shard 0/2 \(job \d+\) failed on its only attempt: RuntimeError: "
                                       r"sample 0 \(seed \d+\) of 'toy-2d' failed: ArithmeticError"):
        generate("toy-2d", path, n=N, launcher="local", jobs=2, max_resubmits=0, fail=True, **KW)
    info = read_info(path)  # the file exists, empty, and the parts folder tells what happened
    assert info.n_completed == 0 and journal_dir(path).is_dir()
    progress = shard_progress(path, info.completed)
    assert [(str(p.shard), p.solved, p.running) for p in progress] == [("0/2", 0, False), ("1/2", 0, False)]
    assert list((journal_dir(path) / "jobs").glob("*_log.err"))  # the jobs' logs are kept for a look
