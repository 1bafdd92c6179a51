"""A receiver thread and real StreamClients on loopback, driven by a minimal control peer."""

import threading
import time

import numpy as np
import pytest
import zmq

from pdekit.streaming import control
from pdekit.streaming.buffers import FIFOBuffer, ReservoirBuffer
from pdekit.streaming.client import StreamClient, StreamRejected
from pdekit.streaming.ledger import trajectory_digest
from pdekit.streaming.receiver import Receiver
from pdekit.streaming.targets import Autoregressive

RUN = "testrun"


class Control:
    """The coordinator's side of the control channel, reduced to what a test needs."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.address = f"tcp://127.0.0.1:{port}"
        self.events = {"finished": [], "failed": [], "lost": [], "log": [], "progress": {}}
        self.fatal = []

    def recv(self, kind, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sock.poll(50):
                ident, k, body = self.sock.recv_multipart()
                k, body = control.unpack([k, body], control.RANK_KINDS)
                if k == b"EVENTS":
                    for key in ("finished", "failed", "lost", "log"):
                        self.events[key] += body[key]
                    self.events["progress"].update(body["progress"])
                if k == b"FATAL":
                    self.fatal.append(body["reason"])
                if k == kind:
                    return ident, body
        raise AssertionError(f"no {kind} within {timeout} s")

    def send(self, ident, kind, body):
        self.sock.send_multipart([ident, *control.pack(kind, body)])

    def pump(self, until, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, "timed out"
            try:
                self.recv(b"nothing", timeout=0.05)
            except AssertionError:
                pass

    def close(self):
        self.sock.close()
        self.ctx.term()


@pytest.fixture
def ctl():
    c = Control()
    yield c
    c.close()


def start_receiver(ctl, *, budget=1 << 20, buffer=None, steps=6, liveness=20):
    rec = Receiver(run=RUN, steps=steps, budget=budget, buffer=buffer if buffer is not None else ReservoirBuffer(budget),
                   target=Autoregressive(steps=steps), control_address=ctl.address,
                   heartbeat=0.05, liveness=liveness, coordinator_patience=600)
    rec.start()
    ident, reg = ctl.recv(b"REGISTER")
    assert reg["rank"] == 0 and reg["address"] == rec.address and reg["coverage"] == {}
    ctl.send(ident, b"WELCOME", {"generation": 1})
    return rec, ident


def assign(ctl, ident, sim, draw=0, attempt=1):
    ctl.send(ident, b"ASSIGN", {"assignment": {"simulation": sim, "draw": draw, "attempt": attempt,
                                               "role": "train", "parameters": {}}})
    _, body = ctl.recv(b"ASSIGNED")
    assert body == {"simulation": sim, "draw": draw, "attempt": attempt}


def client(rec, sim, draw=0, attempt=1, generation=1, run=RUN):
    return StreamClient(rec.address, run=run, generation=generation, simulation=sim, draw=draw,
                        attempt=attempt, heartbeat=0.05, liveness=40)


def fields(sim, k):
    rng = np.random.default_rng([sim, k])
    return {"u": rng.standard_normal((8, 8)).astype(np.float32), "v": np.arange(3) + k}


def test_clean_session_accepts_every_step_once_bit_identical(ctl):
    rec, ident = start_receiver(ctl)
    try:
        assign(ctl, ident, 0)
        results = {}

        def run():
            with client(rec, 0) as c:
                for k in range(6):
                    c.send(k, **fields(0, k))
            results["ok"] = True

        t = threading.Thread(target=run)
        t.start()
        _, schema = ctl.recv(b"SCHEMA")
        assert schema["fields"] == [{"name": "u", "dtype": "<f4", "shape": [8, 8]},
                                    {"name": "v", "dtype": "<i8", "shape": [3]}]
        ctl.send(ident, b"SCHEMA", schema)
        ctl.pump(lambda: ctl.events["finished"])
        t.join(5)
        assert results == {"ok": True}
        (fin,) = ctl.events["finished"]
        expected = trajectory_digest([tuple(fields(0, k).values()) for k in range(6)])
        assert fin["simulation"] == 0 and fin["digest"] == expected
        assert rec.ledger.accepted_samples() == 6 and len(rec.buffer) == 5  # 5 pairs
        assert rec.counters["steps_accepted"] == 6 and rec.counters["bytes_received"] == 6 * (256 + 24)
    finally:
        rec.stop()


def test_resent_steps_are_dropped_and_stale_attempts_rejected(ctl):
    rec, ident = start_receiver(ctl)
    try:
        assign(ctl, ident, 3)
        ctl.send(ident, b"SCHEMA", {"fields": [{"name": "u", "dtype": "<f4", "shape": [8, 8]},
                                               {"name": "v", "dtype": "<i8", "shape": [3]}]})
        c1 = client(rec, 3)
        c1.open()
        for k in range(3):
            c1.send(k, **fields(3, k))
        # a kill loses what is still in flight: "kill" it once the three steps have arrived
        ctl.pump(lambda: rec.ledger.accepted_count(3) == 3)
        c1.close()  # "killed" after step 2, without FINISHED
        assign(ctl, ident, 3, attempt=2)
        with pytest.raises(StreamRejected, match="stale attempt 1 of simulation 3"):
            with client(rec, 3, attempt=1) as stale:
                stale.send(3, **fields(3, 3))
        with client(rec, 3, attempt=2) as c2:
            for k in range(6):
                c2.send(k, **fields(3, k))
        ctl.pump(lambda: ctl.events["finished"])
        assert rec.ledger.duplicates_dropped == 3 and rec.ledger.rejected_messages >= 1
        assert rec.ledger.accepted_samples() == 6 and len(rec.buffer) == 5
        assert ctl.events["finished"][0]["digest"] == trajectory_digest(
            [tuple(fields(3, k).values()) for k in range(6)])
        assert any("stale attempt 1" in line for line in ctl.events["log"])
    finally:
        rec.stop()


def test_a_changed_field_fails_the_simulation_with_a_reason(ctl):
    rec, ident = start_receiver(ctl)
    try:
        assign(ctl, ident, 1)
        ctl.send(ident, b"SCHEMA", {"fields": [{"name": "u", "dtype": "<f4", "shape": [8, 8]}]})
        with pytest.raises(StreamRejected, match=r"field 'u' changed from <f4 \(8, 8\).*to <f8 \(8, 8\)"):
            with client(rec, 1) as c:
                c.send(0, u=np.zeros((8, 8), np.float32))
                c.send(1, u=np.zeros((8, 8), np.float64))
        ctl.pump(lambda: ctl.events["failed"])
        assert ctl.events["failed"][0]["final"] and "changed" in ctl.events["failed"][0]["reason"]
    finally:
        rec.stop()


def test_back_pressure_keeps_memory_within_the_budget_and_loses_nothing(ctl):
    step_bytes = 8 * 8 * 4 + 24
    budget = 30 * step_bytes
    rec, ident = start_receiver(ctl, budget=budget, buffer=FIFOBuffer(budget), steps=60)
    peak = []
    try:
        assign(ctl, ident, 0)
        ctl.send(ident, b"SCHEMA", {"fields": [{"name": "u", "dtype": "<f4", "shape": [8, 8]},
                                               {"name": "v", "dtype": "<i8", "shape": [3]}]})
        stop = threading.Event()
        taken = []

        def slow_trainer():
            while not stop.is_set():
                peak.append(rec.statistics()["used_bytes"])
                taken.extend(rec.take(1))
                time.sleep(0.01)

        t = threading.Thread(target=slow_trainer)
        t.start()
        with client(rec, 0) as c:
            for k in range(60):
                c.send(k, **fields(0, k))
        blocked = c.blocked_seconds
        ctl.pump(lambda: ctl.events["finished"])
        stop.set()
        t.join()
        assert blocked > 0.05  # the client waited for credit
        assert max(peak) <= budget
        taken += rec.buffer.items()
        assert sorted(it.key[2] for it in taken) == list(range(1, 60))  # every pair, once
    finally:
        rec.stop()


def test_budget_smaller_than_one_sample_is_fatal(ctl):
    rec, ident = start_receiver(ctl, budget=500)
    try:
        assign(ctl, ident, 0)
        ctl.send(ident, b"SCHEMA", {"fields": [{"name": "u", "dtype": "<f4", "shape": [16, 16]}]})
        with pytest.raises(StreamRejected, match="smaller than one training sample"):
            with client(rec, 0) as c:
                c.send(0, u=np.zeros((16, 16), np.float32))
        ctl.pump(lambda: ctl.fatal)
        assert "raise --memory" in ctl.fatal[0]
    finally:
        rec.stop()


def test_silent_client_is_reported_lost(ctl):
    rec, ident = start_receiver(ctl, liveness=3)
    try:
        assign(ctl, ident, 2)
        c = client(rec, 2)
        c.open()
        c._stop.set()  # the heartbeat thread stops: the process looks hung without a pulse
        c._thread.join()
        ctl.pump(lambda: ctl.events["lost"], timeout=5)
        assert ctl.events["lost"][0]["simulation"] == 2
        c.close()
    finally:
        rec.stop()


def test_client_errors_unreachable_and_other_run(ctl):
    with pytest.raises(ConnectionError, match="no pdekit trainer answered at tcp://127.0.0.1:9"):
        StreamClient("tcp://127.0.0.1:9", run=RUN, generation=1, simulation=0, attempt=1,
                     heartbeat=0.05, liveness=4).open()
    with pytest.raises(ValueError, match="PDEKIT_STREAM_ADDRESS"):
        StreamClient(environ={})
    rec, ident = start_receiver(ctl)
    try:
        assign(ctl, ident, 0)
        with pytest.raises(StreamRejected, match="another run"):
            client(rec, 0, run="other").open()
        with pytest.raises(StreamRejected, match="stale generation 0"):
            client(rec, 0, generation=0).open()
    finally:
        rec.stop()


def test_a_rank_stops_when_the_coordinator_goes_silent(ctl):
    rec = Receiver(run=RUN, steps=4, budget=1 << 20, buffer=ReservoirBuffer(1 << 20),
                   target=Autoregressive(steps=4), control_address=ctl.address, heartbeat=0.05,
                   coordinator_patience=0.5)
    rec.start()
    try:
        ident, _ = ctl.recv(b"REGISTER")
        ctl.send(ident, b"WELCOME", {"generation": 1})
        assign(ctl, ident, 0)
        deadline = time.monotonic() + 10
        while rec.fatal is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "the coordinator (pdekit stream) has been silent" in rec.fatal
        with pytest.raises(StreamRejected, match="coordinator"):
            client(rec, 0).open()
    finally:
        rec.stop()


def test_another_protocol_version_is_rejected_with_both_versions_named(ctl):
    rec, ident = start_receiver(ctl)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(rec.address)
        sock.send_multipart([b"pdekit-stream/2", b"HELLO", b"{}"])
        assert sock.poll(5000)
        proto, kind, header = sock.recv_multipart()
        assert (proto, kind) == (b"pdekit-stream/1", b"REJECT")
        assert "'pdekit-stream/2' is not supported; this side speaks 'pdekit-stream/1'" in header.decode()
        ctl.pump(lambda: any("rejected a message" in line for line in ctl.events["log"]))
    finally:
        sock.close()
        ctx.term()
        rec.stop()


def test_a_busy_port_is_a_clear_error():
    from pdekit.streaming.receiver import bind_address

    ctx = zmq.Context()
    a, b = ctx.socket(zmq.ROUTER), ctx.socket(zmq.ROUTER)
    try:
        port = int(bind_address(a, "127.0.0.1", 0).rsplit(":", 1)[1])
        with pytest.raises(OSError, match=f"cannot listen on tcp://127.0.0.1:{port}: the address is already in use"):
            bind_address(b, "127.0.0.1", port)
    finally:
        a.close(0)
        b.close(0)
        ctx.term()
