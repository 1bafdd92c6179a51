"""End to end on two gloo ranks under torchrun: pdekit's heat solver streamed into DDP training,
and a rank killed with -9 and resumed from its checkpoint.

These are the slow tests of the package (torch starts in three processes); each runs one
small ensemble (16x16 to 32x32 grids, a few steps, a tiny FNO).
"""

import json
import math
import os
import signal
import sys
import threading

import pytest
import torch

from pdekit.cli import main
from pdekit.streaming.config import StreamConfig
from pdekit.streaming.ledger import trajectory_digest
from pdekit.streaming.problem_client import simulate
from pdekit.streaming.run import StreamRun
from tests.streaming._harness import dump, expected_digest, wait_for_checkpoint, write_solver

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process I/O counters: Linux")


def _ceil_page(n):
    return 4096 * math.ceil(n / 4096)


def test_heat_ensemble_on_two_gloo_ranks_exactly_once_and_no_training_bytes_on_disk(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # measure the program, not the bytecode cache
    out = tmp_path / "run"
    code = main(["stream", "--pde", "heat", "--resolution", "32", "--simulations", "5", "--steps", "12",
                 "--clients", "3", "--ranks", "2", "--memory", "16MB", "--validation", "2", "--eval-every", "25",
                 "--modes", "4", "--width", "8", "--layers", "1", "--batch-size", "4", "--watermark", "4",
                 "--heartbeat", "0.2", "--parameter", "kappa=0.005:0.02", "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["accepted_samples"] == report["expected_samples"] == 5 * 12, dump(report)
    assert report["duplicates_dropped"] == 0 and report["trainer_restarts"] == 0
    # uneven: rank 0 holds simulations 0, 2, 4 (+ validation 6), rank 1 holds 1, 3 (+ 5)
    assert report["ranks"]["0"]["accept_events"] == 4 * 12 and report["ranks"]["1"]["accept_events"] == 3 * 12
    for sim in report["simulations"] + report["validation_simulations"]:  # bit-identical to the solver
        frames = []
        simulate("heat", 32, 12, sim["parameters"], lambda k, f: frames.append(tuple(f.values())))
        assert sim["status"] == "finished" and sim["digest"] == trajectory_digest(frames)
    # the model is a pdekit operator, loadable and trained on normalized data
    from pdekit.operators import load

    model = load(out / "model.pt")
    x = torch.randn(2, 1, 32, 32)
    assert model(x).shape == (2, 1, 32, 32)
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["validation_l2"] is not None and lines[-1]["step"] == report["training_steps"]
    assert report["samples_trained"] >= 5 * 11 and 0.0 <= report["blocked_fraction"] < 1.0
    # zero training bytes on disk: while they streamed, the ranks wrote model.pt and metrics lines
    # (each appended line dirties one or two pages), nothing else
    written = report["disk_bytes_written"]
    allowance = _ceil_page((out / "model.pt").stat().st_size) + 2 * 4096 * len(lines) + 16384
    assert written["0"] <= allowance and written["1"] <= 16384, (written, allowance)
    assert report["ranks"]["0"]["bytes_received"] >= 4 * 12 * 32 * 32 * 8 > 2 * allowance
    assert not (out / "checkpoint.pt").exists()
    # pdekit evaluate scores it on a dataset of one-frame steps (u0 -> u at the frame spacing)
    h5 = tmp_path / "steps.h5"
    assert main(["generate", "heat", "--n", "2", "--resolution", "32", "--n-records", "1",
                 "--t-final", repr(1 / 12), "--workers", "0", "-o", str(h5), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), str(h5), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert math.isfinite(row["relative_l2"]) and row["n"] == 2


def test_rank_killed_with_minus_9_resumes_from_its_checkpoint_exactly_once(tmp_path, monkeypatch):
    # Simulations 0-3 run through; simulation 4 hangs after six steps (attempt 1 only), so a
    # checkpoint that holds them while it still runs is certain to come, whatever the load.
    monkeypatch.setenv("TEST_HARNESS_DIR", str(tmp_path))
    monkeypatch.setenv("TEST_FAULTS", json.dumps({"hang": [[4, 1, 6]]}))
    cfg = StreamConfig.from_mapping(dict(
        out=str(tmp_path / "run"), command=write_solver(tmp_path), parameters={"alpha": [0.5, 2.0]},
        simulations=5, steps=16, clients=2, ranks=2, memory="8MB", validation=0, heartbeat=0.2,
        liveness=25, checkpoint_every=3, modes=4, width=8, layers=1, batch_size=4, watermark=4,
        max_restarts=2))
    run = StreamRun(cfg)
    result = {}
    thread = threading.Thread(target=lambda: result.update(report=run.run()), daemon=True)
    thread.start()
    killed = False
    try:
        wait_for_checkpoint(tmp_path / "run", ranks=2, finished={0, 1, 2, 3}, running=4, steps=6,
                            alive=thread.is_alive)
        os.kill(run.coordinator.ranks[1]["pid"], signal.SIGKILL)
        killed = True
    finally:
        if not killed:  # end the hang, so the run (and the test) ends
            proc = run.coordinator.records[4].process if run.coordinator is not None else None
            if proc is not None:
                proc.kill()
        thread.join(120)
    assert not thread.is_alive(), "the run did not end within 120 s of the kill"
    report = result["report"]
    assert report["trainer_restarts"] == 1, dump(report)
    assert report["accepted_samples"] == report["expected_samples"] == 5 * 16, dump(report)
    # the relaunched simulation re-sent from step 0: the six steps the checkpoint held were dropped
    assert report["duplicates_dropped"] == 6, dump(report)
    sims = report["simulations"]
    assert [s["attempts"] for s in sims[:4]] == [1] * 4 and sims[4]["attempts"] >= 2  # finished: not relaunched
    for sim in sims:
        assert sim["steps_accepted"] == 16 and sim["digest"] == expected_digest(tmp_path, sim["parameters"], 16)
    assert (tmp_path / "run" / "generation").read_text().strip() == "2"
    assert "generation 2: 2 ranks up; 4 simulations finished per their checkpoints" in \
        (tmp_path / "run" / "stream.log").read_text()

