"""The run folder: `pdekit stream` killed with -9 resumes with the same command, exactly once."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.streaming._harness import dump, expected_digest, wait_for_checkpoint, write_solver

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def test_killed_coordinator_leaves_no_orphans_and_the_same_command_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_HARNESS_DIR", str(tmp_path))
    # simulation 4 stops before step 6 (attempt 1) until the test releases it: a checkpoint with
    # simulations 0-3 finished and six of its steps is certain to come, whatever the load
    monkeypatch.setenv("TEST_FAULTS", json.dumps({"block": [[4, 1, 6]]}))
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "pdekit", "stream", "--command", write_solver(tmp_path),
            "--parameter", "alpha=0.5:2.0", "--simulations", "5", "--steps", "16", "--clients", "2",
            "--ranks", "1", "--memory", "8MB", "--validation", "0", "--checkpoint-every", "3",
            "--heartbeat", "0.1", "--liveness", "10", "--modes", "2", "--width", "4", "--layers", "1",
            "--batch-size", "4", "--watermark", "4", "--device", "cpu", "--out", str(run), "--quiet"]
    first = subprocess.Popen(argv, start_new_session=True)
    try:
        wait_for_checkpoint(run, ranks=1, finished={0, 1, 2, 3}, running=4, steps=6,
                            alive=lambda: first.poll() is None)
        os.kill(first.pid, signal.SIGKILL)  # the coordinator only: its children are orphaned
        first.wait()
        deadline = time.monotonic() + 60  # the rank hears no coordinator and stops
        while _processes_mentioning(str(run / "config.json")):
            assert time.monotonic() < deadline, "the rank outlived the coordinator"
            time.sleep(0.2)
        (tmp_path / "release").touch()  # simulation 4 goes on, finds its rank gone and stops too
        while _processes_mentioning(str(tmp_path / "solver.py")):
            assert time.monotonic() < deadline, "a simulation outlived the coordinator"
            time.sleep(0.2)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        (tmp_path / "release").touch()
    second = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    report = json.loads((run / "report.json").read_text())
    assert report["accepted_samples"] == report["expected_samples"] == 5 * 16, dump(report)
    for sim in report["simulations"]:
        assert sim["digest"] == expected_digest(tmp_path, sim["parameters"], 16)
    # only simulation 4 ran again, and the six steps the checkpoint held came back as duplicates
    assert [s["attempts"] for s in report["simulations"]] == [1, 1, 1, 1, 2]
    assert report["duplicates_dropped"] == 6, dump(report)
    assert report["trainer_restarts"] == 1 and (run / "generation").read_text().strip() == "2"
    text = (run / "stream.log").read_text()
    assert "resumed" in text and "simulations finished per their checkpoints" in text
