"""FIFO, FIRO and reservoir buffers: semantics, byte capacity, draining, statistics, state."""

import numpy as np
import pytest

from pdekit.streaming.buffers import FIFOBuffer, FIROBuffer, Item, ReservoirBuffer, ks_uniform, make_buffer


def item(sim, step, nbytes=10, draw=0, p=None):
    return Item((sim, draw, step), None, step, nbytes, None if p is None else np.array([p]))


def test_fifo_order_watermark_and_drain():
    buf = FIFOBuffer(100, watermark=3)
    for k in range(2):
        assert buf.put(item(0, k))
    assert buf.draw(2) == []  # below the watermark
    buf.put(item(0, 2))
    assert [it.y for it in buf.draw(2)] == [0, 1]
    assert buf.draw(2) == []  # one left, stream not over: wait for a full batch
    buf.end_stream()
    assert [it.y for it in buf.draw(2)] == [2] and buf.exhausted and buf.bytes == 0


def test_capacity_in_bytes():
    buf = FIFOBuffer(25)
    assert buf.put(item(0, 0)) and buf.put(item(0, 1))
    assert not buf.fits(10) and not buf.put(item(0, 2))
    assert len(buf) == 2 and buf.bytes == 20
    assert buf.ready(2)  # full before the watermark: training may start


def test_firo_draws_each_sample_once_in_random_order():
    buf = FIROBuffer(1000, seed=1)
    for k in range(20):
        buf.put(item(k % 3, k))
    buf.end_stream()
    out = []
    while not buf.exhausted:
        out += [it.y for it in buf.draw(6)]
    assert sorted(out) == list(range(20)) and out != list(range(20))


def test_reservoir_repeats_and_evicts_only_seen_samples_when_full():
    buf = ReservoirBuffer(50, watermark=2, seed=0)
    for k in range(5):
        assert buf.put(item(0, k))
    assert buf.committed_bytes == 50 and not buf.fits(10)  # full of unseen samples: back-pressure
    batch = buf.draw(8)  # with repetition
    assert len(batch) == 8 and len({id(it) for it in batch}) < 8
    seen = {it.key for it in batch}
    assert buf.committed_bytes == 10 * (5 - len(seen))
    unseen_before = {it.key for it in buf.items() if it.seen == 0}
    assert buf.put(item(1, 0))  # full: a seen sample makes room
    assert buf.evicted == 1 and len(buf) == 5
    keys = {it.key for it in buf.items()}
    assert unseen_before <= keys and len(seen - keys) == 1  # a seen sample went, no unseen one


def test_reservoir_drain_hands_out_each_unseen_sample_once():
    buf = ReservoirBuffer(1000, seed=3)
    for k in range(10):
        buf.put(item(0, k))
    buf.draw(4)
    n_unseen = sum(it.seen == 0 for it in buf.items())
    buf.end_stream()
    drained = []
    while not buf.exhausted:
        drained += buf.draw(3)
    assert len(drained) == n_unseen and len({id(it) for it in drained}) == n_unseen


def test_evict_a_draw_of_a_simulation():
    buf = ReservoirBuffer(1000)
    for k in range(4):
        buf.put(item(7, k, draw=0))
        buf.put(item(8, k, draw=0))
    buf.put(item(7, 0, draw=1))
    assert buf.evict(7, 0) == 4
    assert sorted(it.key for it in buf.items() if it.key[0] == 7) == [(7, 1, 0)]
    assert buf.bytes == 50 and buf.statistics()["simulations"] == 2


def test_statistics_histogram_and_ks():
    buf = ReservoirBuffer(10_000, seed=0)
    for k, p in enumerate(np.linspace(0.5, 2.0, 40)):
        buf.put(item(k, 0, p=p))
    buf.draw(30)
    st = buf.statistics(bounds=[(0.5, 2.0)])
    assert st["samples"] == 40 and st["simulations"] == 40 and st["fill"] == 0.04
    assert sum(st["seen_histogram"].values()) == 40 and st["seen_histogram"]["0"] > 0
    assert st["ks"] < 0.05  # evenly spread over the range
    assert ks_uniform(np.full(10, 0.5), 0.5, 2.0) == pytest.approx(1.0)
    assert ks_uniform(np.linspace(0, 1, 1001), 0, 1) < 0.002


@pytest.mark.parametrize("kind", ["fifo", "firo", "reservoir"])
def test_state_round_trip(kind):
    buf = make_buffer(kind, 1000, watermark=2, seed=5)
    for k in range(6):
        buf.put(item(k % 2, k, p=0.1 * k))
    buf.draw(2)
    other = make_buffer(kind, 1000, watermark=2, seed=99)
    other.load_state_dict(buf.state_dict())
    assert [(it.key, it.seen) for it in other.items()] == [(it.key, it.seen) for it in buf.items()]
    assert other.bytes == buf.bytes and other.committed_bytes == buf.committed_bytes
    assert [it.key for it in other.draw(2)] == [it.key for it in buf.draw(2)]  # same RNG state
    with pytest.raises(ValueError, match="holds a"):
        make_buffer("fifo" if kind != "fifo" else "firo", 10).load_state_dict(buf.state_dict())


def test_bad_buffer_arguments():
    with pytest.raises(ValueError, match="unknown buffer 'lifo'"):
        make_buffer("lifo", 10)
    with pytest.raises(ValueError, match="positive number of bytes"):
        FIFOBuffer(0)
    with pytest.raises(ValueError, match="watermark"):
        FIFOBuffer(10, watermark=0)
