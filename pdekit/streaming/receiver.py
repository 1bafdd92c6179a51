"""The receiver of one training rank: a thread that accepts, de-duplicates and acknowledges.

It owns two sockets: the rank's data ROUTER (clients connect their DEALERs to it, see
:mod:`pdekit.streaming.wire`) and a DEALER on the coordinator's control channel
(:mod:`pdekit.streaming.control`). It keeps the client sessions (heartbeats, byte credit,
acknowledgements) and hands every STEP to the rank's :class:`~pdekit.streaming.ingest.Ingest`
(fencing, de-duplication, schema, samples, memory accounting); a step that has to wait (for
the run's schema, or for room) waits unacknowledged, in arrival order.

Then it acknowledges the step and tops up the client's credit
(:mod:`pdekit.streaming.credit`) from what the memory budget has left. The training loop
draws batches with :meth:`Receiver.take` and takes consistent checkpoints with
:meth:`Receiver.state_dict`; both hold :attr:`Receiver.lock`, as does the thread while it
handles a message.

The thread sleeps in one poll of its sockets until a message arrives, an acknowledgement is
due, or :data:`_IDLE_PERIOD` has passed (liveness checks, batched events). It never spins
while steps wait for room: a :meth:`~Receiver.take` that frees room wakes it through a
socket pair, as does a message the training loop queues for the coordinator. Every wake-up
costs the rank CPU time beside its training steps (a poll and the loop's bookkeeping), so
an idle stream costs about ten of them a second.
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

import zmq

from pdekit.streaming import control
from pdekit.streaming.buffers import Buffer, Item
from pdekit.streaming.credit import CreditLedger
from pdekit.streaming.heartbeat import Heartbeat
from pdekit.streaming.ingest import FAILED, REJECTED, WAIT, Ingest
from pdekit.streaming.ledger import Assignment
from pdekit.streaming.wire import PROTOCOL, FieldSpec, ProtocolError, decode, encode

__all__ = ["Receiver", "bind_address", "advertised_host"]

log = logging.getLogger("pdekit.streaming")
_ACK_PERIOD = 0.01  # seconds between acknowledgements of a steady stream
_CHORES_PERIOD = 0.005  # seconds between liveness checks and event flushes
_IDLE_PERIOD = 0.1  # longest sleep of the thread (it wakes at once for messages and freed room)


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
    ack: int = -1            # the last STEP processed
    acked: int = -1          # the last acknowledgement sent
    acked_at: float = 0.0
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
    coordinator_patience : float, optional
        Seconds without a word from the coordinator after which the rank stops (default
        ``3 * heartbeat * liveness``): a rank never outlives a killed ``pdekit stream``.
    """

    def __init__(self, *, run: str, steps: int, budget: int, buffer: Buffer, target,
                 control_address: str, rank: int = 0, world: int = 1, restart: int = 0,
                 host: str = "127.0.0.1", port: int = 0, advertise: str | None = None,
                 heartbeat: float = 1.0, liveness: int = 10, min_samples: int = 1,
                 bounds: Sequence[tuple[float, float]] | None = None, max_window: int = 8 << 20,
                 coordinator_patience: float | None = None) -> None:
        self.lock = threading.RLock()
        self.ingest = Ingest(run=run, steps=steps, budget=budget, buffer=buffer, target=target,
                             min_samples=min_samples, bounds=bounds)
        self.rank, self.world, self.restart = int(rank), int(world), int(restart)
        self.control_address = control_address
        self.host, self.port, self.advertise = host, int(port), advertise or advertised_host(host)
        self.heartbeat, self.liveness = float(heartbeat), int(liveness)
        self.validation_ready = False
        self.fatal: str | None = None
        self.address: str | None = None
        self.welcomed = threading.Event()
        self.messages = 0
        self.loops = 0              # iterations of the receiving loop, and its thread's CPU time
        self.cpu_seconds = 0.0
        self._credit = CreditLedger(max_window=max_window)
        self._sessions: dict[bytes, _Session] = {}
        self._pending: collections.deque = collections.deque()
        self._schema_proposed = False
        self.events = control.RankEvents(self.rank)
        # the coordinator pings every heartbeat; a rank that stops hearing it ends (no orphans)
        patience = coordinator_patience if coordinator_patience is not None else 3 * self.heartbeat * self.liveness
        self._coordinator = Heartbeat(patience, 1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx = zmq.Context()
        # the training side wakes the thread when it frees room the thread waits for
        self._wake_out, self._wake_in = socket.socketpair()
        for end in (self._wake_out, self._wake_in):
            end.setblocking(False)
        self._starved = False  # (under the lock) steps or credit requests wait for room

    # the rank's share of the stream, for the training loop
    ledger = property(lambda self: self.ingest.ledger)
    buffer = property(lambda self: self.ingest.buffer)
    schema = property(lambda self: self.ingest.schema)
    ended = property(lambda self: self.ingest.ended)
    counters = property(lambda self: self.ingest.counters)

    @property
    def validation(self) -> list[Item]:
        return self.ingest.validation

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
            "coverage": coverage, "dropped": sorted(self.ledger.dropped),
            "schema": [s.as_json() for s in self.schema] if self.schema else None}))
        self._thread = threading.Thread(target=self._loop, name=f"pdekit-receiver-{self.rank}", daemon=True)
        self._thread.start()
        return self.address

    def stop(self) -> None:
        """Stop the thread (after sending what is in the outbox) and close the sockets."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in (getattr(self, "_data", None), getattr(self, "_control", None)):
            if sock is not None:
                sock.close()
        self._ctx.term()
        self._wake_out.close()
        self._wake_in.close()

    def publish(self, stats: dict[str, Any]) -> None:
        """Training statistics for the coordinator's progress bar (sent with the next events)."""
        self.events.stats(stats)

    def send_control(self, kind: bytes, body: dict[str, Any]) -> None:
        """Queue a message to the coordinator (sent by the receiver thread, woken for it)."""
        self.events.send(kind, body)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_out.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending (or the receiver stopped)

    # ------------------------------------------------------------------ training side
    def take(self, batch_size: int) -> list[Item]:
        """A batch from the buffer, or [] when none is ready (wakes the thread if it waits for room)."""
        with self.lock:
            items = self.ingest.take(batch_size)
            wake = bool(items) and self._starved
            if wake:
                self._starved = False
        if wake:
            self._wake()
        return items

    @property
    def done(self) -> bool:
        """The stream has ended and the buffer is drained."""
        with self.lock:
            return self.ingest.done

    def statistics(self) -> dict[str, Any]:
        """Buffer statistics, accounted bytes (credit included), clients, message counts."""
        with self.lock:
            stats = self.ingest.statistics()
            stats.update(used_bytes=self.ingest.used_bytes() + self.ingest.target.factor * self._credit.outstanding,
                         clients=len(self._sessions), messages=self.messages, receiver_loops=self.loops,
                         receiver_cpu_seconds=round(self.cpu_seconds, 4))
        return stats

    def state_dict(self) -> dict[str, Any]:
        """Ledger, buffer and validation set, consistent with each other (taken under the lock)."""
        with self.lock:
            return self.ingest.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint (before :meth:`start`)."""
        with self.lock:
            self.ingest.load_state_dict(state)

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self._data, zmq.POLLIN)
        poller.register(self._control, zmq.POLLIN)
        wake = self._wake_in.fileno()
        poller.register(wake, zmq.POLLIN)
        try:
            chores = 0.0
            cpu0 = time.thread_time()
            while not self._stop.is_set():
                self.loops += 1
                self.cpu_seconds = time.thread_time() - cpu0
                ready = dict(poller.poll(self._sleep_ms()))
                if wake in ready:
                    self._drain_wake()
                if self._control in ready:
                    self._drain_control()
                touched: set[bytes] = set()
                if self._data in ready:
                    self._drain_data(touched)
                if touched or self._pending or self._sessions:
                    with self.lock:
                        self._retry_pending(touched)
                        self._grant(touched)
                        self._starved = bool(self._pending) or any(s.waiting for s in self._sessions.values())
                now = time.monotonic()
                if now - chores >= _CHORES_PERIOD or self.events.urgent or self.events.outbox:
                    chores = now
                    self._chores()
        except Exception as exc:  # noqa: BLE001 - report, never die silently
            log.exception("receiver of rank %d failed", self.rank)
            self.fatal = f"the receiver of rank {self.rank} failed: {type(exc).__name__}: {exc}"
            try:
                self._control.send_multipart(control.pack(b"FATAL", {"reason": self.fatal}))
            except zmq.ZMQError:
                pass
        finally:
            while self.events.outbox:
                try:
                    self._control.send_multipart(self.events.outbox.popleft())
                except zmq.ZMQError:
                    break

    def _sleep_ms(self) -> int:
        """How long the next poll may sleep: until an acknowledgement is due, or the idle period."""
        if self.events.outbox or self.events.urgent:
            return 0
        sleep = _IDLE_PERIOD
        now = time.monotonic()
        for s in self._sessions.values():
            if s.ack > s.acked:  # processed steps not acknowledged yet
                sleep = min(sleep, s.acked_at + _ACK_PERIOD - now)
        return max(1, int(1000 * sleep + 0.999)) if sleep > 0 else 0

    def _drain_wake(self) -> None:
        try:
            while self._wake_in.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _chores(self) -> None:
        """Liveness of the clients and of the coordinator; events and messages to the coordinator."""
        self._check_liveness()
        if self.welcomed.is_set() and not self._coordinator.peer_alive() and not self.fatal:
            self.fatal = (f"rank {self.rank}: the coordinator (pdekit stream) has been silent for "
                          f"{self._coordinator.silence():.0f} s; the run stops (rerun the same command "
                          f"to resume it from its last checkpoint)")
            log.error("%s", self.fatal)
        self.events.flush()
        while self.events.outbox:
            self._control.send_multipart(self.events.outbox.popleft())

    def _reply(self, ident: bytes, kind: bytes, header: dict[str, Any]) -> None:
        self._data.send_multipart([ident, *encode(kind, header)])

    def _log(self, text: str) -> None:
        self.events.note(text)

    # ------------------------------------------------------------------ data messages
    def _drain_data(self, touched: set[bytes]) -> None:
        sock = self._data
        with self.lock:
            for _ in range(128):
                frames = sock.recv_multipart()  # bytes: a copy of the fields, cheaper than Frame objects
                self._on_data(frames[0], frames[1:], touched)
                if not sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:  # (cheaper than a failed recv)
                    break

    def _on_data(self, ident: bytes, frames, touched: set[bytes]) -> None:
        self.messages += 1
        try:
            if len(frames) > 3 and frames[1] == b"STEP" and frames[0] == PROTOCOL:  # the hot path
                kind, header, buffers = b"STEP", json.loads(frames[2]), frames[3:]
                if type(header) is not dict:
                    raise ProtocolError("the STEP header must be a JSON object")
            else:
                kind, header, buffers = decode(frames)
        except (ProtocolError, ValueError) as exc:
            self.ledger.rejected_messages += 1
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
                shortfall = self.ingest.budget_shortfall(need)
                if shortfall:
                    self._set_fatal(shortfall)
                    self._reply(ident, b"REJECT", {"reason": self.fatal})
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
        limit = self._credit.top_up(ident, self._available(), self.ingest.budget) or 0
        self._reply(ident, b"WELCOME", {"limit": limit, "ack": -1, "heartbeat": self.heartbeat,
                                        "liveness": self.liveness, "budget": self.ingest.budget})

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
            self.ingest.waiting_bytes += nbytes
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
        outcome, reason = self.ingest.step(header, buffers)
        if outcome == WAIT:
            return False
        if outcome in (FAILED, REJECTED):
            if outcome == FAILED:
                self._fail(session, reason, final=True)
            self._reject(ident, header, reason)
            return True
        step = header["step"]
        if step > session.max_step:
            session.max_step = step
            self.events.progress[str(session.simulation)] = step
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
                self.ingest.waiting_bytes -= sum(len(b) for b in buffers)
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
        reason = self.ingest.finish(sim)
        if reason:
            self._fail(session, reason)
            self._reject(ident, header, reason)
            return
        self.events.finished.append({"simulation": sim, "draw": session.draw, "attempt": session.attempt,
                                         "digest": self.ledger.digest(sim),
                                         "blocked_seconds": header.get("blocked_seconds")})
        self._reply(ident, b"DONE", {"steps": self.ledger.steps})
        self._close(ident)

    def _fail(self, session: _Session, reason: str, *, final: bool = False) -> None:
        self.events.failed.append({"simulation": session.simulation, "draw": session.draw,
                                       "attempt": session.attempt, "reason": reason, "final": final})
        self._log(f"simulation {session.simulation} attempt {session.attempt} failed: {reason}")

    def _close(self, ident: bytes) -> None:
        self._sessions.pop(ident, None)
        self._credit.close(ident)

    # ------------------------------------------------------------------ credit
    def _available(self) -> int:
        return self.ingest.available(self._credit.outstanding)

    def _grant(self, touched: set[bytes]) -> None:
        """Top up credit (clients waiting for it first) and acknowledge what was processed.

        A CREDIT goes out when it grants more, or when a session's newest acknowledgement is
        older than :data:`_ACK_PERIOD` (so a steady stream is not answered message by message).
        """
        now = time.monotonic()
        order = sorted(self._sessions, key=lambda i: (not self._sessions[i].waiting, i not in touched))
        for ident in order:
            session = self._sessions[ident]
            limit = self._credit.top_up(ident, self._available(), self.ingest.budget)
            late = session.ack > session.acked and now - session.acked_at >= _ACK_PERIOD
            if limit is not None or late or (session.waiting and session.ack > session.acked):
                self._reply(ident, b"CREDIT", {"ack": session.ack, "limit": self._credit.session(ident).limit})
                session.acked, session.acked_at = session.ack, now

    def _set_fatal(self, reason: str) -> None:
        """The run cannot go on: tell the coordinator (once) and every client from now on."""
        if self.fatal is None:
            self.fatal = f"rank {self.rank}: {reason}"
            self.send_control(b"FATAL", {"reason": self.fatal})

    # ------------------------------------------------------------------ control
    def _drain_control(self) -> None:
        while True:
            try:
                frames = self._control.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            kind, body = control.unpack(frames, control.COORDINATOR_KINDS)
            self._coordinator.heard()
            with self.lock:
                self._on_control(kind, body)

    def _on_control(self, kind: bytes, body: dict[str, Any]) -> None:
        if kind == b"WELCOME":
            self.ledger.generation = int(body["generation"])
            self.welcomed.set()
        elif kind == b"SCHEMA":
            shortfall = self.ingest.set_schema(body["fields"])
            if shortfall:
                self._set_fatal(shortfall)
        elif kind == b"ASSIGN":
            a = Assignment(**body["assignment"])
            self.ingest.assign(a)
            for ident, s in list(self._sessions.items()):  # older launches of it are over
                if s.simulation == a.simulation:
                    self._close(ident)
            self.send_control(b"ASSIGNED", {"simulation": a.simulation, "draw": a.draw, "attempt": a.attempt})
        elif kind == b"DROP":
            self.ingest.drop(int(body["simulation"]))
        elif kind == b"END":
            self.ingest.end()
            self.validation_ready = True
        elif kind == b"VALIDATION":
            self.validation_ready = True

    # ------------------------------------------------------------------ liveness and events
    def _check_liveness(self) -> None:
        for ident, s in list(self._sessions.items()):
            if not s.heartbeat.peer_alive():
                self.events.lost.append({"simulation": s.simulation, "draw": s.draw, "attempt": s.attempt,
                                             "silence": round(s.heartbeat.silence(), 3)})
                self._log(f"simulation {s.simulation} attempt {s.attempt} went silent for "
                          f"{s.heartbeat.silence():.3g} s (no heartbeat)")
                with self.lock:
                    self._close(ident)
