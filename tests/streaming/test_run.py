"""The run folder: `pdekit stream` killed with -9 resumes with the same command, exactly once."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.streaming._harness import dump, expected_digest, write_solver

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
    monkeypatch.setenv("TEST_FAULTS", json.dumps({"sleep": 0.3}))  # ~5 s a simulation
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "pdekit", "stream", "--command", write_solver(tmp_path),
            "--parameter", "alpha=0.5:2.0", "--simulations", "5", "--steps", "16", "--clients", "2",
            "--ranks", "1", "--memory", "8MB", "--validation", "0", "--checkpoint-every", "3",
            "--heartbeat", "0.1", "--liveness", "10", "--modes", "2", "--width", "4", "--layers", "1",
            "--batch-size", "4", "--watermark", "4", "--device", "cpu", "--out", str(run), "--quiet"]
    first = subprocess.Popen(argv, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert time.monotonic() < deadline and first.poll() is None, "no checkpoint before the end"
            time.sleep(0.05)
            log = (run / "stream.log").read_text() if (run / "stream.log").exists() else ""
            if (run / "checkpoint.pt").exists() and log.count(" finished (draw") < 4:
                break
        os.kill(first.pid, signal.SIGKILL)  # the coordinator only: its children are orphaned
        first.wait()
        deadline = time.monotonic() + 60  # the ranks hear no coordinator and stop; the clients follow
        while _processes_mentioning(str(run / "config.json")) or _processes_mentioning(str(tmp_path / "solver.py")):
            assert time.monotonic() < deadline, "orphans outlived the coordinator"
            time.sleep(0.2)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    second = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    report = json.loads((run / "report.json").read_text())
    assert report["accepted_samples"] == report["expected_samples"] == 5 * 16, dump(report)
    for sim in report["simulations"]:
        assert sim["digest"] == expected_digest(tmp_path, sim["parameters"], 16)
    assert report["trainer_restarts"] == 1 and (run / "generation").read_text().strip() == "2"
    text = (run / "stream.log").read_text()
    assert "resumed" in text and "simulations finished per their checkpoints" in text
