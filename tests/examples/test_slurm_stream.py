"""examples/slurm/stream_trainer.sbatch: the ranks as a user's own SLURM job (fake SLURM, one rank)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from pdekit.streaming.config import StreamConfig
from pdekit.streaming.run import StreamRun
from tests.cluster import fake_slurm
from tests.streaming._harness import dump, expected_digest, write_solver

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "slurm" / "stream_trainer.sbatch"


def test_trainer_job_script_runs_the_ranks_of_an_external_trainer_run(tmp_path, monkeypatch):
    folder = tmp_path / "slurm"
    monkeypatch.setenv("FAKE_SLURM_DIR", str(folder))
    monkeypatch.setenv("PATH", f"{fake_slurm.install(folder)}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PDEKIT_PYTHON", sys.executable)
    monkeypatch.setenv("TEST_HARNESS_DIR", str(tmp_path))
    monkeypatch.setenv("TEST_FAULTS", "{}")
    run_dir = tmp_path / "run"
    cfg = StreamConfig.from_mapping(dict(
        out=str(run_dir), command=write_solver(tmp_path), parameters={"alpha": [0.5, 2.0]}, simulations=3,
        steps=4, clients=3, ranks=1, memory="4MB", validation=0, heartbeat=0.2, trainer="external",
        modes=2, width=4, layers=1, batch_size=2, watermark=2, device="cpu"))
    result = {}
    run = StreamRun(cfg)
    thread = threading.Thread(target=lambda: result.update(report=run.run()))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / "trainer.env").exists():
            assert time.monotonic() < deadline, "no trainer.env"
            time.sleep(0.05)
        assert "PDEKIT_STREAM_CONTROL=tcp://" in (run_dir / "trainer.env").read_text()
        out = subprocess.run(["sbatch", str(SCRIPT)], capture_output=True, text=True, check=True,
                             env=dict(os.environ, PDEKIT_RUN_DIR=str(run_dir)))
        assert out.stdout.startswith("Submitted batch job")
        thread.join(300)
    finally:
        fake_slurm.stop_all(folder)
    report = result["report"]
    assert report["accepted_samples"] == report["expected_samples"] == 12, dump(report)
    for sim in report["simulations"]:
        assert sim["digest"] == expected_digest(tmp_path, sim["parameters"], 4)
    assert (run_dir / "model.pt").is_file() and report["samples_trained"] >= 9
    job = json.loads((run_dir / "report.json").read_text())["ranks"]["0"]
    assert job["training_steps"] >= 1


def test_the_script_refuses_a_folder_without_trainer_env(tmp_path):
    out = subprocess.run(["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 2 and "trainer.env not found" in out.stderr
