"""The SLURM launch path through pdekit.cluster, run by submitit's local executor (no SLURM here)."""

import json
import re

import pytest

from pdekit.cluster import JobOptions
from pdekit.streaming.config import StreamConfig
from pdekit.streaming.slurm import ClusterLauncher
from tests.cluster.conftest import fake_slurm_dir, job_env  # noqa: F401 - fixtures: a fake sbatch on PATH
from tests.streaming._harness import dump, expected_digest, run_in_process, write_solver


def test_client_jobs_through_the_cluster_layer_exactly_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_HARNESS_DIR", str(tmp_path))
    monkeypatch.setenv("TEST_FAULTS", json.dumps({"kill": [[2, 1, 2]]}))
    cfg = StreamConfig.from_mapping(dict(
        out=str(tmp_path / "run"), command=write_solver(tmp_path), parameters={"alpha": [0.5, 2.0]},
        simulations=4, steps=4, clients=4, ranks=2, memory="4MB", validation=0, heartbeat=0.1, liveness=30))
    launcher = ClusterLauncher("local", tmp_path / "jobs", options=JobOptions(time=10), result_grace_s=1.0)
    report, _, _ = run_in_process(cfg, launcher=launcher)
    assert report["accepted_samples"] == report["expected_samples"] == 16, dump(report)
    assert report["simulations"][2]["attempts"] == 2 and report["duplicates_dropped"] == 2
    for sim in report["simulations"]:
        assert sim["digest"] == expected_digest(tmp_path, sim["parameters"], 4)
    assert (tmp_path / "jobs").is_dir()  # submitit's job folder: scripts, pickles, logs


def test_job_options_from_the_settings():
    cfg = StreamConfig(out="x", simulations=1, steps=2, command="true",
                       slurm={"partition": "gpu", "time": "02:00:00", "gpus_per_node": 4,
                              "sbatch_lines": ["--qos=high"]})
    opts = cfg.job_options(name="pdekit-stream-trainer", nodes=2)
    assert (opts.partition, opts.time_seconds, opts.gpus_per_node, opts.nodes) == ("gpu", 7200, 4, 2)
    assert opts.slurm_parameters()["additional_parameters"] == {"qos": "high"}
    with pytest.raises(ValueError, match="time"):
        StreamConfig(out="x", simulations=1, steps=2, command="true", slurm={"time": "soon"}).job_options(name="x")


def test_launcher_slurm_submits_client_arrays_through_sbatch(tmp_path, monkeypatch, fake_slurm_dir):
    monkeypatch.setenv("TEST_HARNESS_DIR", str(tmp_path))
    monkeypatch.setenv("TEST_FAULTS", "{}")
    cfg = StreamConfig.from_mapping(dict(
        out=str(tmp_path / "run"), command=write_solver(tmp_path), parameters={"alpha": [0.5, 2.0]},
        simulations=3, steps=3, clients=3, ranks=1, memory="4MB", validation=0, heartbeat=0.1, liveness=50,
        launcher="slurm", slurm={"time": 5}))
    assert cfg.host == "*"  # compute nodes must reach the coordinator and the ranks
    report, _, _ = run_in_process(cfg)
    assert report["accepted_samples"] == report["expected_samples"] == 9, dump(report)
    for sim in report["simulations"]:
        assert sim["digest"] == expected_digest(tmp_path, sim["parameters"], 3)
    tasks = 0  # launches made in one round go out as one job array
    for script in fake_slurm_dir.glob("*.sh"):
        m = re.search(r"^#SBATCH --array=0-(\d+)", script.read_text(), re.M)
        tasks += int(m.group(1)) + 1 if m else 1
    assert tasks == 3
