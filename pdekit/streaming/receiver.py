"""The receiver of one training rank: a thread that accepts, de-duplicates and acknowledges.

It owns two sockets: the rank's data ROUTER (clients connect their DEALERs to it, see
:mod:`pdekit.streaming.wire`) and a DEALER on the coordinator's control channel
(:mod:`pdekit.streaming.control`). For every STEP it

1. fences and classifies the message with the :class:`~pdekit.streaming.ledger.Ledger`
   (reject stale or foreign messages with a logged reason; drop duplicates);
2. checks its fields against the run's schema (the first time step of the run defines it);
3. turns an accepted step into training samples (:mod:`pdekit.streaming.targets`) and puts
   them in the buffer (or the held-out validation set);
4. acknowledges it and tops up the client's byte credit (:mod:`pdekit.streaming.credit`)
   from what the memory budget has left.

Memory accounting (bytes, per rank): buffered samples that cannot be evicted + the
autoregressive cache + the validation set + received messages waiting for the schema +
``factor`` x outstanding credit <= ``budget``. The training loop draws batches with
:meth:`Receiver.take` and takes consistent checkpoints with :meth:`Receiver.state_dict`; both
hold :attr:`Receiver.lock`, as does the thread while it handles a message.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import socket
import threading
import time
from typing import Any, Sequence

import numpy as np
import zmq

from pdekit.streaming import control
from pdekit.streaming.buffers import Buffer, Item
from pdekit.streaming.credit import CreditLedger
from pdekit.streaming.heartbeat import Heartbeat
from pdekit.streaming.ledger import ACCEPT, DUPLICATE, Assignment, Ledger, step_crc
from pdekit.streaming.wire import PROTOCOL, FieldSpec, ProtocolError, decode, decode_fields, encode, step_nbytes

__all__ = ["Receiver", "bind_address", "advertised_host"]

log = logging.getLogger("pdekit.streaming")
_EVENT_PERIOD = 0.2


def bind_address(sock: zmq.Socket, host: str, port: int) -> str:
    """Bind ``sock`` to ``tcp://host:port`` (port 0: any free port); return the bound address."""
    try:
        if int(port) == 0:
            sock.bind_to_random_port(f"tcp://{host}")
        else:
            sock.bind(f"tcp://{host}:{int(port)}")
    except zmq.ZMQError as exc:
        why = "the address is already in use" if exc.errno == zmq.EADDRINUSE else str(exc)
        raise OSError(f"cannot listen on tcp://{host}:{port}: {why}; choose another port or host") from None
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


def advertised_host(host: str) -> str:
    """The name others use to reach a socket bound to ``host`` (``*``: this machine's name)."""
    return socket.getfqdn() if host in ("*", "0.0.0.0") else host


@dataclasses.dataclass
class _Session:
    simulation: int
    draw: int
    attempt: int
    heartbeat: Heartbeat
    ack: int = -1
    max_step: int = -1
    waiting: bool = False


class Receiver:
    """Ingest thread of one rank (see the module docstring).

    Parameters
    ----------
    run : str
        Run id.
    steps : int
        Time steps per simulation.
    budget : int
        Memory budget of this rank in bytes.
    buffer : Buffer
    target : Autoregressive or ParameterTarget
    control_address : str
        The coordinator's control socket.
    rank, world, restart : int
        This rank, the number of ranks, and the trainer restart count (torchrun's).
    host, port : str, int
        Where to listen for clients (port 0: any free port).
    advertise : str, optional
        Host name the clients should connect to (default ``host``).
    heartbeat, liveness : float, int
        Client heartbeat interval and liveness (clients silent that long are reported lost).
    min_samples : int
        Samples the budget must hold at least (the batch size for FIFO/FIRO, 1 otherwise).
    bounds : sequence of (low, high), optional
        Sampling ranges of the parameters (for the buffer's KS statistic).
    """

    def __init__(self, *, run: str, steps: int, budget: int, buffer: Buffer, target,
                 control_address: str, rank: int = 0, world: int = 1, restart: int = 0,
                 host: str = "127.0.0.1", port: int = 0, advertise: str | None = None,
                 heartbeat: float = 1.0, liveness: int = 10, min_samples: int = 1,
                 bounds: Sequence[tuple[float, float]] | None = None, max_window: int = 8 << 20) -> None:
        self.lock = threading.RLock()
        self.ledger = Ledger(run=run, steps=steps)
        self.buffer, self.target = buffer, target
        self.budget = int(budget)
        self.rank, self.world, self.restart = int(rank), int(world), int(restart)
        self.control_address = control_address
        self.host, self.port, self.advertise = host, int(port), advertise or advertised_host(host)
        self.heartbeat, self.liveness = float(heartbeat), int(liveness)
        self.min_samples = int(min_samples)
        self.bounds = list(bounds) if bounds else None
        self.schema: tuple[FieldSpec, ...] | None = None
        self.validation: list[Item] = []
        self.validation_bytes = 0
        self.validation_ready = False
        self.ended = False
        self.fatal: str | None = None
        self.address: str | None = None
        self.welcomed = threading.Event()
        self.counters = collections.Counter()  # messages, bytes_received, steps_accepted, ...
        self._credit = CreditLedger(max_window=max_window)
        self._sessions: dict[bytes, _Session] = {}
        self._pending: collections.deque = collections.deque()
        self._pending_bytes = 0
        self._schema_proposed = False
        self._events = self._empty_events()
        self._outbox: collections.deque = collections.deque()
        self._last_events = 0.0
        self._stats_out: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx = zmq.Context()
        self._params: dict[int, np.ndarray | None] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Bind the data socket, connect to the coordinator, start the thread; return the address."""
        self._data = self._ctx.socket(zmq.ROUTER)
        for opt in (zmq.SNDHWM, zmq.RCVHWM, zmq.LINGER):
            self._data.setsockopt(opt, 0)
        bound = bind_address(self._data, self.host, self.port)
        self.address = f"tcp://{self.advertise}:{bound.rsplit(':', 1)[1]}"
        self._control = self._ctx.socket(zmq.DEALER)
        self._control.setsockopt(zmq.LINGER, 2000)
        self._control.setsockopt(zmq.ROUTING_ID, control.rank_identity(self.rank))
        self._control.connect(self.control_address)
        with self.lock:
            coverage = {str(k): v for k, v in self.ledger.coverage().items()}
        self._control.send_multipart(control.pack(b"REGISTER", {
            "rank": self.rank, "world": self.world, "restart": self.restart, "address": self.address,
            "pid": os.getpid(),
            "coverage": coverage, "schema": [s.as_json() for s in self.schema] if self.schema else None}))
        self._thread = threading.Thread(target=self._loop, name=f"pdekit-receiver-{self.rank}", daemon=True)
        self._thread.start()
        return self.address

    def stop(self) -> None:
        """Stop the thread (after sending what is in the outbox) and close the sockets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in (getattr(self, "_data", None), getattr(self, "_control", None)):
            if sock is not None:
                sock.close()
        self._ctx.term()

    def publish(self, stats: dict[str, Any]) -> None:
        """Training statistics for the coordinator's progress bar (sent with the next events)."""
        self._stats_out = dict(stats, rank=self.rank)

    def send_control(self, kind: bytes, body: dict[str, Any]) -> None:
        """Queue a message to the coordinator (sent by the receiver thread)."""
        self._outbox.append(control.pack(kind, body))

    # ------------------------------------------------------------------ training side
    def take(self, batch_size: int) -> list[Item]:
        """A batch from the buffer, or [] when none is ready."""
        with self.lock:
            return self.buffer.draw(batch_size)

    @property
    def done(self) -> bool:
        """The stream has ended and the buffer is drained."""
        with self.lock:
            return self.ended and self.buffer.exhausted

    def used_bytes(self) -> int:
        """Accounted bytes, outstanding credit excluded."""
        return (self.buffer.committed_bytes + self.target.cache_bytes + self.validation_bytes
                + self.target.factor * self._pending_bytes)

    def statistics(self) -> dict[str, Any]:
        with self.lock:
            stats = self.buffer.statistics(self.bounds)
            stats.update(used_bytes=self.used_bytes() + self.target.factor * self._credit.outstanding,
                         budget=self.budget, clients=len(self._sessions), **self.counters)
        return stats

    def state_dict(self) -> dict[str, Any]:
        """Ledger, buffer and validation set, consistent with each other (taken under the lock)."""
        with self.lock:
            return {"ledger": self.ledger.state_dict(), "buffer": self.buffer.state_dict(),
                    "validation": [{"key": list(it.key), "x": it.x, "y": it.y, "nbytes": it.nbytes}
                                   for it in self.validation],
                    "counters": dict(self.counters),
                    "schema": [s.as_json() for s in self.schema] if self.schema else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint (before :meth:`start`)."""
        with self.lock:
            self.ledger.load_state_dict(state["ledger"])
            self.buffer.load_state_dict(state["buffer"])
            self.validation = [Item(tuple(d["key"]), d["x"], d["y"], int(d["nbytes"])) for d in state["validation"]]
            self.validation_bytes = sum(it.nbytes for it in self.validation)
            self.counters = collections.Counter({k: int(v) for k, v in state["counters"].items()})
            if state.get("schema"):
                self.schema = tuple(FieldSpec(d["name"], d["dtype"], tuple(d["shape"])) for d in state["schema"])
            self._params = {s: self._param_vector(a) for s, a in self.ledger.assignments.items()}

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self._data, zmq.POLLIN)
        poller.register(self._control, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                waiting = self._pending or any(s.waiting for s in self._sessions.values())
                ready = dict(poller.poll(2 if waiting else 20))
                if self._control in ready:
                    self._drain_control()
                touched: set[bytes] = set()
                if self._data in ready:
                    self._drain_data(touched)
                with self.lock:
                    self._retry_pending(touched)
                    self._grant(touched)
                self._check_liveness()
                self._flush_events()
                while self._outbox:
                    self._control.send_multipart(self._outbox.popleft())
        except Exception as exc:  # noqa: BLE001 - report, never die silently
            log.exception("receiver of rank %d failed", self.rank)
            self.fatal = f"the receiver of rank {self.rank} failed: {type(exc).__name__}: {exc}"
            try:
                self._control.send_multipart(control.pack(b"FATAL", {"reason": self.fatal}))
            except zmq.ZMQError:
                pass
        finally:
            while self._outbox:
                try:
                    self._control.send_multipart(self._outbox.popleft())
                except zmq.ZMQError:
                    break

    def _reply(self, ident: bytes, kind: bytes, header: dict[str, Any]) -> None:
        self._data.send_multipart([ident, *encode(kind, header)])

    def _log(self, text: str) -> None:
        self._events["log"].append(f"rank {self.rank}: {text}")

    # ------------------------------------------------------------------ data messages
    def _drain_data(self, touched: set[bytes]) -> None:
        with self.lock:
            for _ in range(128):
                try:
                    frames = self._data.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                self._on_data(frames[0].bytes, frames[1:], touched)

    def _on_data(self, ident: bytes, frames, touched: set[bytes]) -> None:
        self.counters["messages"] += 1
        try:
            if len(frames) > 3 and frames[1] == b"STEP" and frames[0] == PROTOCOL:  # the hot path
                kind, header, buffers = b"STEP", json.loads(frames[2]), frames[3:]
                if type(header) is not dict:
                    raise ProtocolError("the STEP header must be a JSON object")
            else:
                kind, header, buffers = decode(frames)
        except (ProtocolError, ValueError) as exc:
            self.counters["rejected_messages"] += 1
            self._log(f"rejected a message: {exc}")
            self._reply(ident, b"REJECT", {"reason": str(exc)})
            return
        if self.fatal:  # the run cannot go on: say why to every client
            self._reply(ident, b"REJECT", {"reason": self.fatal})
            return
        session = self._sessions.get(ident)
        if session is not None:
            session.heartbeat.heard()
        if kind == b"HELLO":
            self._on_hello(ident, header, touched)
            return
        if kind == b"STEP" and session is not None:  # the hot path: the ledger fences it
            self._on_step(ident, session, header, buffers, touched)
            return
        reason = self.ledger.fence(header)
        if kind == b"HEARTBEAT" and not reason:
            self._reply(ident, b"HEARTBEAT", {})
            return
        if session is None or reason:
            self._reject(ident, header, reason or "no open session (send HELLO first)")
            return
        if kind == b"STEP":
            self._on_step(ident, session, header, buffers, touched)
        elif kind == b"WANT":
            need = header.get("need")
            if isinstance(need, int) and need > 0:
                self._credit.want(ident, need)
                session.waiting = True
                self._check_budget(need, ident)
        elif kind == b"FINISHED":
            self._on_finished(ident, session, header)
        elif kind == b"ABORT":
            self._fail(session, f"the client aborted: {str(header.get('reason', ''))[:300]}")
            self._close(ident)

    def _reject(self, ident: bytes, header: dict, reason: str) -> None:
        self.ledger.rejected_messages += 1
        self._log(f"rejected a message of simulation {header.get('simulation')!r} attempt "
                  f"{header.get('attempt')!r}: {reason}")
        self._reply(ident, b"REJECT", {"reason": reason})
        if ident in self._sessions:
            self._close(ident)

    def _on_hello(self, ident: bytes, header: dict, touched: set[bytes]) -> None:
        reason = self.ledger.fence(header)
        if reason:
            self._reject(ident, header, reason)
            return
        sim = header["simulation"]
        for other, s in list(self._sessions.items()):  # a newer launch replaces older sessions
            if s.simulation == sim:
                self._close(other)
        self._sessions[ident] = _Session(sim, header["draw"], header["attempt"],
                                         Heartbeat(self.heartbeat, self.liveness))
        self._credit.open(ident)
        limit = self._credit.top_up(ident, self._available(), self.budget) or 0
        self._reply(ident, b"WELCOME", {"limit": limit, "ack": -1, "heartbeat": self.heartbeat,
                                        "liveness": self.liveness, "budget": self.budget})

    def _on_step(self, ident: bytes, session: _Session, header: dict, buffers, touched: set[bytes]) -> None:
        nbytes = sum(len(b) for b in buffers)
        if not self._credit.receive(ident, nbytes):
            s = self._credit.session(ident)
            self._reject(ident, header, f"sent {s.received} bytes beyond the granted limit {s.limit} "
                                        f"(credit-based flow control: wait for CREDIT)")
            return
        session.waiting = False
        if self._pending or self.schema is None or not self._ingest(ident, session, header, buffers, touched):
            self._pending.append((b"STEP", ident, header, buffers))  # waits for the schema or for room
            self._pending_bytes += nbytes
            if self.schema is None and not self._schema_proposed:
                self._propose_schema(header)

    def _propose_schema(self, header: dict) -> None:
        try:
            specs = [FieldSpec(**{**d, "shape": tuple(d["shape"])}) for d in header.get("fields", [])]
        except TypeError:
            return  # malformed; it is rejected once a schema is known
        self._schema_proposed = True
        self.send_control(b"SCHEMA", {"fields": [s.as_json() for s in specs]})

    def _ingest(self, ident: bytes, session: _Session, header: dict, buffers, touched: set[bytes]) -> bool:
        """Handle one STEP; False if it must wait for room in the buffer."""
        try:
            specs, arrays = decode_fields(header, buffers)
        except ProtocolError as exc:
            self._fail(session, str(exc), final=True)
            self._reject(ident, header, str(exc))
            return True
        if specs != self.schema:
            reason = _schema_difference(specs, self.schema)
            self._fail(session, reason, final=True)
            self._reject(ident, header, reason)
            return True
        verdict, reason = self.ledger.classify(header)
        sim, draw, step = header["simulation"], header["draw"], header["step"]
        fields = tuple(arrays.values())
        nbytes = step_nbytes(specs)
        if verdict == ACCEPT:
            role = self.ledger.assignments[sim].role
            room = self._buffer_room()
            if role == "train" and not self.buffer.fits(self.target.factor * nbytes, room):
                return False
            items = self.target.samples(sim, draw, step, fields, self._params.get(sim))
            for item in items:
                if role == "train":
                    self.buffer.put(item, capacity=room)
                else:
                    self.validation.append(item)
                    self.validation_bytes += item.nbytes
            self.ledger.accept(sim, step, step_crc(fields))
            self.counters["steps_accepted"] += 1
            self.counters["bytes_accepted"] += nbytes
        elif verdict == DUPLICATE:
            self.target.duplicate(sim, draw, step, fields,
                                  step + 1 < self.ledger.steps and not self.ledger.is_accepted(sim, step + 1))
        else:
            self._reject(ident, header, reason)
            return True
        self.counters["bytes_received"] += nbytes
        if step > session.max_step:
            session.max_step = step
            self._events["progress"][str(sim)] = step
        session.ack = max(session.ack, int(header.get("seq", -1)))
        touched.add(ident)
        return True

    def _retry_pending(self, touched: set[bytes]) -> None:
        """Handle the messages that waited for the schema or for room, in arrival order."""
        while self._pending and self.schema is not None:
            kind, ident, header, buffers = self._pending[0]
            session = self._sessions.get(ident)
            if kind == b"STEP":
                if session is not None and not self._ingest(ident, session, header, buffers, touched):
                    return  # no room yet: the buffer must drain first
                self._pending_bytes -= sum(len(b) for b in buffers)
            self._pending.popleft()
            if kind == b"FINISHED" and session is not None:
                self._finish(ident, session, header)

    def _on_finished(self, ident: bytes, session: _Session, header: dict) -> None:
        if any(entry[1] == ident for entry in self._pending):  # its last steps wait: answer after them
            self._pending.append((b"FINISHED", ident, header, ()))
        else:
            self._finish(ident, session, header)

    def _finish(self, ident: bytes, session: _Session, header: dict) -> None:
        sim = session.simulation
        reason = self.ledger.finish(sim)
        if reason:
            self._fail(session, reason)
            self._reject(ident, header, reason)
            return
        self.target.forget(sim)
        self._events["finished"].append({"simulation": sim, "draw": session.draw, "attempt": session.attempt,
                                         "digest": self.ledger.digest(sim),
                                         "blocked_seconds": header.get("blocked_seconds")})
        self._reply(ident, b"DONE", {"steps": self.ledger.steps})
        self._close(ident)

    def _fail(self, session: _Session, reason: str, *, final: bool = False) -> None:
        self._events["failed"].append({"simulation": session.simulation, "draw": session.draw,
                                       "attempt": session.attempt, "reason": reason, "final": final})
        self._log(f"simulation {session.simulation} attempt {session.attempt} failed: {reason}")

    def _close(self, ident: bytes) -> None:
        self._sessions.pop(ident, None)
        self._credit.close(ident)

    # ------------------------------------------------------------------ credit
    def _buffer_room(self) -> int:
        """Bytes the buffer may fill (the budget less everything else that is accounted)."""
        return self.budget - self.target.cache_bytes - self.validation_bytes - self.target.factor * self._pending_bytes

    def _available(self) -> int:
        free = self.budget - self.used_bytes()
        return max(0, free // self.target.factor - self._credit.outstanding)

    def _grant(self, touched: set[bytes]) -> None:
        order = sorted(self._sessions, key=lambda i: (not self._sessions[i].waiting, i not in touched))
        for ident in order:
            limit = self._credit.top_up(ident, self._available(), self.budget)
            if limit is not None or ident in touched:
                s = self._credit.session(ident)
                self._reply(ident, b"CREDIT", {"ack": self._sessions[ident].ack, "limit": s.limit})

    def _check_budget(self, step_bytes: int, ident: bytes | None = None) -> None:
        """FATAL when the budget cannot hold the stream's working set and ``min_samples`` samples."""
        need = self.target.minimum_budget(step_bytes, self.min_samples) + self.validation_bytes
        if self.budget >= need or self.fatal:
            return
        self.fatal = (f"the memory budget of rank {self.rank} ({self.budget:,} bytes) is smaller than one "
                      f"training sample plus the stream's working set ({need:,} bytes for time steps of "
                      f"{step_bytes:,} bytes, {self.min_samples} sample(s) per batch); raise --memory")
        self.send_control(b"FATAL", {"reason": self.fatal})
        if ident is not None:
            self._reply(ident, b"REJECT", {"reason": self.fatal})

    # ------------------------------------------------------------------ control
    def _drain_control(self) -> None:
        while True:
            try:
                frames = self._control.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            kind, body = control.unpack(frames, control.COORDINATOR_KINDS)
            with self.lock:
                self._on_control(kind, body)

    def _on_control(self, kind: bytes, body: dict[str, Any]) -> None:
        if kind == b"WELCOME":
            self.ledger.generation = int(body["generation"])
            self.welcomed.set()
        elif kind == b"SCHEMA":
            self.schema = tuple(FieldSpec(d["name"], d["dtype"], tuple(d["shape"])) for d in body["fields"])
            self._check_budget(step_nbytes(self.schema))
        elif kind == b"ASSIGN":
            a = Assignment(**body["assignment"])
            old = self.ledger.assignments.get(a.simulation)
            self.ledger.assign(a)
            if old is not None and old.draw != a.draw:
                self._evict(a.simulation, old.draw)
            for ident, s in list(self._sessions.items()):
                if s.simulation == a.simulation:
                    self._close(ident)
            self._params[a.simulation] = self._param_vector(a)
            self.send_control(b"ASSIGNED", {"simulation": a.simulation, "draw": a.draw, "attempt": a.attempt})
        elif kind == b"DROP":
            sim = int(body["simulation"])
            old = self.ledger.assignments.get(sim)
            self.ledger.drop(sim)
            if old is not None:
                self._evict(sim, old.draw)
        elif kind == b"END":
            self.ended = True
            self.validation_ready = True
            self.buffer.end_stream()
        elif kind == b"VALIDATION":
            self.validation_ready = True

    def _param_vector(self, a: Assignment) -> np.ndarray | None:
        names = self.target.parameter_names
        if not names:
            return None
        return np.array([float(a.parameters[n]) for n in names], dtype=np.float64)

    def _evict(self, sim: int, draw: int) -> None:
        self.target.forget(sim)
        self.buffer.evict(sim, draw)
        kept = [it for it in self.validation if not (it.key[0] == sim and it.key[1] == draw)]
        self.validation_bytes = sum(it.nbytes for it in kept)
        self.validation = kept

    # ------------------------------------------------------------------ liveness and events
    def _check_liveness(self) -> None:
        for ident, s in list(self._sessions.items()):
            if not s.heartbeat.peer_alive():
                self._events["lost"].append({"simulation": s.simulation, "draw": s.draw, "attempt": s.attempt,
                                             "silence": round(s.heartbeat.silence(), 3)})
                self._log(f"simulation {s.simulation} attempt {s.attempt} went silent for "
                          f"{s.heartbeat.silence():.3g} s (no heartbeat)")
                with self.lock:
                    self._close(ident)

    @staticmethod
    def _empty_events() -> dict[str, Any]:
        return {"progress": {}, "finished": [], "failed": [], "lost": [], "log": []}

    def _flush_events(self) -> None:
        ev = self._events
        urgent = ev["finished"] or ev["failed"] or ev["lost"]
        now = time.monotonic()
        if not (urgent or (now - self._last_events >= _EVENT_PERIOD
                           and (ev["progress"] or ev["log"] or self._stats_out))):
            return
        if self._stats_out is not None:
            ev["stats"], self._stats_out = self._stats_out, None
        self._events = self._empty_events()
        self._last_events = now
        self._control.send_multipart(control.pack(b"EVENTS", ev))


def _schema_difference(specs: Sequence[FieldSpec], schema: Sequence[FieldSpec]) -> str:
    got = {s.name: s for s in specs}
    want = {s.name: s for s in schema}
    if list(got) != list(want):
        return (f"the fields changed: this step has {list(got)}, the run's schema (set by its first "
                f"time step) has {list(want)}")
    for name, s in got.items():
        w = want[name]
        if s != w:
            return (f"field {name!r} changed from {w.dtype} {tuple(w.shape)} (the run's schema, set by its "
                    f"first time step) to {s.dtype} {tuple(s.shape)}")
    return "the fields differ from the run's schema"
