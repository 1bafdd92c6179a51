"""One rank's ingest without sockets: samples, duplicates, redraw eviction, room, schema, state."""

import numpy as np
import pytest

from pdekit.streaming.buffers import FIFOBuffer, ReservoirBuffer
from pdekit.streaming.ingest import ACCEPTED, DUPLICATE_DROPPED, FAILED, REJECTED, WAIT, Ingest
from pdekit.streaming.ledger import Assignment
from pdekit.streaming.targets import Autoregressive, ParameterTarget
from pdekit.streaming.wire import field_specs

STEPS = 4
SCHEMA = [{"name": "u", "dtype": "<f4", "shape": [2, 3]}]
STEP_BYTES = 2 * 3 * 4


def u(sim, draw, step):
    return np.full((2, 3), 100 * sim + 10 * draw + step, dtype=np.float32)


def message(sim, step, *, draw=0, attempt=1, field=None):
    field = u(sim, draw, step) if field is None else field
    specs, arrays = field_specs({"u": field})
    header = {"run": "r", "generation": 1, "simulation": sim, "draw": draw, "attempt": attempt,
              "step": step, "fields": [s.as_json() for s in specs]}
    return header, [a.tobytes() for a in arrays]


def make(buffer=None, target=None, budget=1 << 16):
    ing = Ingest(run="r", steps=STEPS, budget=budget, buffer=buffer or FIFOBuffer(budget),
                 target=target or Autoregressive(steps=STEPS))
    ing.ledger.generation = 1
    assert ing.set_schema(SCHEMA) is None
    return ing


def test_accepted_steps_make_pairs_and_duplicates_are_dropped():
    ing = make()
    ing.assign(Assignment(0, 0, 1))
    for k in range(3):
        assert ing.step(*message(0, k)) == (ACCEPTED, "")
    pairs = ing.buffer.items()
    assert [it.key for it in pairs] == [(0, 0, 1), (0, 0, 2)]
    assert np.array_equal(pairs[1].x[0], u(0, 0, 1)) and np.array_equal(pairs[1].y[0], u(0, 0, 2))
    # the relaunch re-sends steps 0-2 (dropped), then step 3 completes the last pair
    ing.assign(Assignment(0, 0, 2))
    for k in range(3):
        assert ing.step(*message(0, k, attempt=2)) == (DUPLICATE_DROPPED, "")
    assert ing.step(*message(0, 3, attempt=2)) == (ACCEPTED, "")
    assert [it.key for it in ing.buffer.items()] == [(0, 0, 1), (0, 0, 2), (0, 0, 3)]
    assert ing.ledger.duplicates_dropped == 3 and ing.finish(0) is None
    assert ing.counters["steps_accepted"] == 4 and ing.counters["bytes_received"] == 7 * STEP_BYTES
    assert ing.target.cache_bytes == 0  # nothing cached once the simulation finished


def test_a_redraw_evicts_the_abandoned_draw_and_its_steps_are_not_duplicates():
    ing = make(buffer=ReservoirBuffer(1 << 16))
    ing.assign(Assignment(0, 0, 1, parameters={}))
    ing.assign(Assignment(1, 0, 1, parameters={}))
    for k in range(3):
        ing.step(*message(0, k))
        ing.step(*message(1, k))
    assert len(ing.buffer) == 4
    ing.assign(Assignment(0, 1, 4))  # simulation 0: new parameters
    assert sorted(it.key for it in ing.buffer.items()) == [(1, 0, 1), (1, 0, 2)]  # only its own samples left
    assert ing.ledger.abandoned_samples == 3 and ing.buffer.evicted == 2
    assert ing.step(*message(0, 0, draw=0, attempt=1))[0] == REJECTED  # the old draw is fenced off
    for k in range(STEPS):  # the new draw's steps are new, whatever the old draw delivered
        assert ing.step(*message(0, k, draw=1, attempt=4)) == (ACCEPTED, "")
    assert ing.finish(0) is None and ing.ledger.accepted_samples() == STEPS
    assert sorted(it.key for it in ing.buffer.items() if it.key[0] == 0) == [(0, 1, 1), (0, 1, 2), (0, 1, 3)]
    assert all(np.array_equal(it.y[0], u(0, 1, it.key[2])) for it in ing.buffer.items() if it.key[0] == 0)


def test_a_dropped_simulation_leaves_nothing_behind():
    ing = make()
    ing.assign(Assignment(2, 0, 1, role="validation"))
    for k in range(2):
        ing.step(*message(2, k))
    assert len(ing.validation) == 1 and ing.validation_bytes == 2 * STEP_BYTES
    ing.drop(2)
    assert ing.validation == [] and ing.validation_bytes == 0 and ing.target.cache_bytes == 0
    assert ing.ledger.abandoned_samples == 0  # validation steps are not training samples
    assert ing.step(*message(2, 2))[0] == REJECTED


def test_a_full_budget_makes_the_step_wait_without_changing_anything():
    # the least budget: one pair in the buffer, the cached step and a step in flight (2 x 2 + 1 steps)
    budget = 5 * STEP_BYTES
    ing = make(buffer=FIFOBuffer(budget), budget=budget)
    ing.assign(Assignment(0, 0, 1))
    for k in range(3):  # two pairs and the cached step 2: the budget is full
        assert ing.step(*message(0, k))[0] == ACCEPTED
    before = (ing.used_bytes(), ing.ledger.accepted_count(0), len(ing.buffer))
    assert before == (budget, 3, 2)
    assert ing.step(*message(0, 3)) == (WAIT, "")
    assert (ing.used_bytes(), ing.ledger.accepted_count(0), len(ing.buffer)) == before
    assert [it.key for it in ing.take(1)] == [(0, 0, 1)]  # the trainer drains a pair: now it fits
    assert ing.step(*message(0, 3))[0] == ACCEPTED and ing.used_bytes() <= budget


@pytest.mark.parametrize("field, match", [
    (np.zeros((2, 3), dtype=np.float64), r"field 'u' changed from <f4 \(2, 3\) .* to <f8 \(2, 3\)"),
    (np.zeros((3, 2), dtype=np.float32), r"to <f4 \(3, 2\)"),
])
def test_a_changed_field_fails_the_simulation(field, match):
    ing = make()
    ing.assign(Assignment(0, 0, 1))
    outcome, reason = ing.step(*message(0, 0, field=field))
    assert outcome == FAILED and __import__("re").search(match, reason), reason
    assert ing.ledger.accepted_count(0) == 0


def test_parameter_target_and_state_round_trip():
    ing = make(buffer=ReservoirBuffer(1 << 16), target=ParameterTarget(steps=STEPS, parameter_names=["a"]))
    ing.assign(Assignment(0, 0, 1, parameters={"a": 0.25}))
    for k in range(2):
        ing.step(*message(0, k))
    (first, second) = sorted(ing.buffer.items(), key=lambda it: it.key)
    assert np.allclose(second.x, [0.25, 1 / 3]) and np.array_equal(second.y[0], u(0, 0, 1))
    other = make(buffer=ReservoirBuffer(1 << 16), target=ParameterTarget(steps=STEPS, parameter_names=["a"]))
    other.load_state_dict(ing.state_dict())
    other.ledger.generation = 1
    assert other.ledger.coverage() == ing.ledger.coverage() and len(other.buffer) == 2
    assert other.step(*message(0, 1))[0] == DUPLICATE_DROPPED and other.step(*message(0, 2))[0] == ACCEPTED
    assert other.counters["steps_accepted"] == 3
