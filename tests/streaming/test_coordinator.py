"""Exactly-once scenarios: real solver processes, the coordinator, and in-process receivers.

In every scenario: accepted == finished simulations x steps, and each simulation's digest
(CRC-32 of every accepted step's bytes) equals the digest of the fields its parameters define.
"""

import json

import pytest

from pdekit.streaming.config import StreamConfig
from pdekit.streaming.sampler import ParameterSpace
from tests.streaming._harness import dump, expected_digest, read_log, run_in_process, write_solver


def config(tmp_path, **kw):
    base = dict(out=str(tmp_path / "run"), command=write_solver(tmp_path), parameters={"alpha": [0.5, 2.0]},
                simulations=6, steps=5, clients=3, ranks=2, memory="4MB", validation=0, buffer="reservoir",
                heartbeat=0.1, liveness=20, max_crashes=2, max_redraws=2)
    base.update(kw)
    return StreamConfig.from_mapping(base)


@pytest.fixture
def faults(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_HARNESS_DIR", str(tmp_path))

    def set_faults(**kw):
        monkeypatch.setenv("TEST_FAULTS", json.dumps(kw))

    set_faults()
    return set_faults


def check_exactly_once(report, tmp_path, steps):
    assert report["accepted_samples"] == report["expected_samples"], dump(report)
    assert report["expected_samples"] == report["finished_simulations"] * steps
    for sim in report["simulations"]:
        if sim["status"] == "finished":
            assert sim["steps_accepted"] == steps
            assert sim["digest"] == expected_digest(tmp_path, sim["parameters"], steps), sim


def test_clean_run(tmp_path, faults):
    cfg = config(tmp_path)
    report, ranks, _ = run_in_process(cfg)
    check_exactly_once(report, tmp_path, 5)
    assert report["finished_simulations"] == 6 and report["client_restarts"] == 0
    assert report["duplicates_dropped"] == 0 and report["rejected_messages"] == 0
    # one acceptance per sample: nothing was accepted twice
    assert sum(r["accept_events"] for r in report["ranks"].values()) == 30
    # routed by simulation id modulo ranks
    assert sorted(map(int, ranks.receivers[1].ledger.assignments)) == [1, 3, 5]
    assert report["bytes_received"] == 30 * (8 * 8 * 4 + 2 * 8 * 8 * 2)
    assert json.loads((tmp_path / "run" / "report.json").read_text())["accepted_samples"] == 30


def test_progress_counts_finished_simulations_with_rate_fill_and_blocked(tmp_path, faults):
    class Recorder:
        def start(self, total, desc=""):
            self.total, self.desc, self.updates, self.closed = total, desc, [], False

        def update(self, n=1, **postfix):
            self.updates.append((n, postfix))

        def close(self):
            self.closed = True

    bar = Recorder()
    faults(sleep=0.1)  # the ranks publish statistics while simulations are still running
    report, _, _ = run_in_process(config(tmp_path, watermark=2, batch_size=2), progress=bar)
    assert (bar.total, bar.desc, bar.closed) == (6, "simulations", True)
    assert sum(n for n, _ in bar.updates) == report["finished_simulations"] == 6
    shown = [p for _, p in bar.updates if p]
    assert shown and all(set(p) == {"samples/s", "buffer", "blocked"} for p in shown)
    assert shown[-1]["samples/s"] == "200" and shown[-1]["blocked"] == "25%"  # two ranks at 100/s each


def test_client_killed_mid_run_is_relaunched_and_its_resent_steps_dropped(tmp_path, faults):
    faults(kill=[[1, 1, 3], [4, 1, 1]])
    report, _, _ = run_in_process(config(tmp_path))
    check_exactly_once(report, tmp_path, 5)
    sims = {s["simulation"]: s for s in report["simulations"]}
    assert sims[1]["attempts"] == 2 and sims[4]["attempts"] == 2 and report["client_restarts"] == 2
    assert "killed by signal 9" in sims[1]["reasons"][0] or "signal 9" in sims[1]["reasons"][0]
    assert report["duplicates_dropped"] == 3 + 1  # steps 0-2 of sim 1, step 0 of sim 4, re-sent
    assert report["finished_simulations"] == 6


def test_hung_client_is_killed_after_the_timeout_and_relaunched(tmp_path, faults):
    faults(hang=[[2, 1, 2]])
    report, _, run = run_in_process(config(tmp_path, timeout=1.5, simulations=3))
    check_exactly_once(report, tmp_path, 5)
    sim = report["simulations"][2]
    assert sim["attempts"] == 2 and "no new time step for 1.5 s" in sim["reasons"][0]
    assert report["duplicates_dropped"] == 2


def test_parameters_that_always_crash_are_redrawn(tmp_path, faults):
    space = ParameterSpace({"alpha": [0.5, 2.0]}, seed=0)
    bad = [s for s in range(6) if space.draw(s, 0)["alpha"] > 1.6]
    assert bad and all(space.draw(s, 1)["alpha"] <= 1.6 or space.draw(s, 2)["alpha"] <= 1.6 for s in bad)
    faults(crash_above=1.6)
    report, _, _ = run_in_process(config(tmp_path))
    check_exactly_once(report, tmp_path, 5)
    for s in bad:
        rec = report["simulations"][s]
        assert rec["draws"][0]["status"] == "redrawn" and rec["draws"][0]["failed_attempts"] == 2
        assert rec["draw"] >= 1 and rec["parameters"]["alpha"] <= 1.6
        assert rec["attempts"] == 2 * rec["draw"] + 1  # attempt keeps counting across draws
    assert "parameters redrawn" in read_log(tmp_path / "run")


def test_a_simulation_that_fails_every_draw_fails_and_its_steps_are_abandoned(tmp_path, faults):
    faults(kill=[[0, a, 2] for a in range(1, 10)])
    report, _, _ = run_in_process(config(tmp_path, simulations=2, max_redraws=1))
    check_exactly_once(report, tmp_path, 5)
    assert report["simulations"][0]["status"] == "failed" and report["failed_simulations"] == 1
    assert report["simulations"][0]["attempts"] == 4 and report["expected_samples"] == 5
    # draw 0 delivered steps 0, 1 (abandoned at the redraw), draw 1 too (abandoned at the failure)
    assert report["abandoned_samples"] == 4


def test_slow_trainer_back_pressure_no_loss_memory_within_budget(tmp_path, faults):
    step = 8 * 8 * 4 + 2 * 8 * 8 * 2
    budget = 24 * step
    cfg = config(tmp_path, memory=2 * budget, buffer="fifo", batch_size=2, watermark=2, steps=30,
                 simulations=4, clients=4)
    report, ranks, _ = run_in_process(cfg, delay=0.02)
    check_exactly_once(report, tmp_path, 30)
    assert max(ranks.peak_used) <= budget
    blocked = [s["client_blocked_seconds"] for s in report["simulations"]]
    assert max(blocked) > 0.1, blocked  # the clients waited for credit
    assert sum(r["samples_trained"] for r in report["ranks"].values()) == 4 * 29  # every pair, once
