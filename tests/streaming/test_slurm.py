"""The SLURM launch path through pdekit.cluster, run by submitit's local executor (no SLURM here)."""

import json

import pytest

from pdekit.cluster import JobOptions
from pdekit.streaming.config import StreamConfig
from pdekit.streaming.slurm import ClusterLauncher, job_options
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
    opts = job_options(cfg, name="pdekit-stream-trainer", nodes=2)
    assert (opts.partition, opts.time_seconds, opts.gpus_per_node, opts.nodes) == ("gpu", 7200, 4, 2)
    assert opts.slurm_parameters()["additional_parameters"] == {"qos": "high"}
    with pytest.raises(ValueError, match="time"):
        job_options(StreamConfig(out="x", simulations=1, steps=2, command="true", slurm={"time": "soon"}),
                    name="x")
