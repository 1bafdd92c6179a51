"""Exactly-once ledger: fencing, duplicates, redraws, digests, state."""

import numpy as np
import pytest

from pdekit.streaming.ledger import ACCEPT, DUPLICATE, REJECT, Assignment, Ledger, step_crc, trajectory_digest


def header(sim=1, draw=0, attempt=1, step=0, run="r", generation=2):
    return {"run": run, "generation": generation, "simulation": sim, "draw": draw, "attempt": attempt,
            "step": step}


@pytest.fixture
def ledger():
    led = Ledger(run="r", steps=4)
    led.generation = 2
    led.assign(Assignment(1, 0, 1))
    return led


def test_accept_then_duplicate(ledger):
    assert ledger.classify(header(step=2)) == (ACCEPT, "")
    ledger.accept(1, 2)
    assert ledger.classify(header(step=2)) == (DUPLICATE, "")
    assert ledger.duplicates_dropped == 1 and ledger.accepted_count(1) == 1


@pytest.mark.parametrize("kw, match", [
    ({"run": "other"}, "another run"),
    ({"generation": 1}, "stale generation 1"),
    ({"sim": 5}, "simulation 5 is not assigned"),
    ({"draw": 1}, "stale draw 1"),
    ({"attempt": 0}, "stale attempt 0 of simulation 1 .the current attempt is 1"),
    ({"step": 4}, "step 4 is outside 0 .. 3"),
    ({"step": -1}, "outside"),
])
def test_fencing(ledger, kw, match):
    verdict, reason = ledger.classify(header(**kw))
    assert verdict == REJECT
    assert __import__("re").search(match, reason), reason


def test_relaunch_keeps_accepted_steps_but_fences_the_old_attempt(ledger):
    ledger.accept(1, 0)
    ledger.assign(Assignment(1, 0, 2))
    assert ledger.classify(header(attempt=1, step=1))[0] == REJECT
    assert ledger.classify(header(attempt=2, step=0))[0] == DUPLICATE
    assert ledger.classify(header(attempt=2, step=1))[0] == ACCEPT


def test_redraw_abandons_the_old_draw(ledger):
    for k in range(3):
        ledger.accept(1, k)
    assert ledger.assign(Assignment(1, 1, 4)) == 3
    assert ledger.abandoned_samples == 3
    assert ledger.classify(header(draw=1, attempt=4, step=0))[0] == ACCEPT  # not a duplicate
    assert ledger.classify(header(draw=0, attempt=4, step=0))[0] == REJECT


def test_finish_needs_every_step(ledger):
    ledger.accept(1, 0)
    assert "finished after 1 of 4 steps (missing steps [1, 2, 3])" in ledger.finish(1)
    for k in (1, 2, 3):
        ledger.accept(1, k)
    assert ledger.finish(1) is None and ledger.accepted_samples() == 4
    assert ledger.drop(1) == 4 and ledger.abandoned_samples == 4 and ledger.accepted_samples() == 0


def test_digest_matches_the_senders_trajectory(ledger):
    rng = np.random.default_rng(0)
    steps = [(rng.standard_normal((3, 3)).astype("f4"), np.arange(k, k + 2)) for k in range(4)]
    for k, fields in enumerate(steps):
        ledger.accept(1, k, step_crc(fields))
    assert ledger.digest(1) == trajectory_digest(steps)
    flipped = [tuple(a.copy() for a in f) for f in steps]
    flipped[2][0].view(np.uint32)[1, 1] ^= 1  # one bit
    assert ledger.digest(1) != trajectory_digest(flipped)


def test_state_round_trip(ledger):
    ledger.accept(1, 3, 77)
    ledger.assign(Assignment(2, 1, 3, role="validation", parameters={"a": 0.5}))
    other = Ledger(run="r", steps=4)
    other.load_state_dict(ledger.state_dict())
    assert other.coverage() == ledger.coverage() and other.generation is None  # the coordinator sets it
    assert other.digest(1) == ledger.digest(1)
    assert other.assignments[2].parameters == {"a": 0.5}
    with pytest.raises(ValueError, match="belongs to run 'r'"):
        Ledger(run="x", steps=4).load_state_dict(ledger.state_dict())
