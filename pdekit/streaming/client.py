"""``StreamClient``: what a simulation uses to stream its time steps to the training ranks.

Imports numpy and zmq only (never torch), so a solver process stays light::

    from pdekit.streaming import StreamClient
    with StreamClient() as client:            # everything from the environment set by pdekit stream
        alpha = client.parameters["alpha"]
        for step in range(client.steps):
            u = ...                           # advance the solver
            client.send(step, u=u)            # blocks while the trainer's memory budget is full
    # leaving the block normally sends FINISHED (after every step is acknowledged);
    # leaving it through an exception does not, so the simulation counts as crashed

The client opens a session (HELLO -> WELCOME), sends each step only within the byte credit
the rank granted (:mod:`pdekit.streaming.credit`), keeps a heartbeat going from a background
thread (:mod:`pdekit.streaming.heartbeat`), and at the end waits until the rank acknowledged
every step before it reports FINISHED. Environment variables (set by ``pdekit stream``; a
hand-written launcher sets them too): see :data:`ENVIRONMENT` and ``docs/streaming.md``.
"""

from __future__ import annotations

import json
import os
import socket as _socket
import threading
import time
from typing import Any, Mapping

import numpy as np
import zmq

from pdekit.streaming.credit import CreditWindow
from pdekit.streaming.heartbeat import Heartbeat
from pdekit.streaming.wire import SERVER_KINDS, ProtocolError, decode, encode, encode_step, field_specs, step_nbytes

__all__ = ["StreamClient", "StreamRejected", "ENVIRONMENT"]

_MORE = int(zmq.SNDMORE)

#: environment variable -> meaning (what StreamClient reads when an argument is not given)
ENVIRONMENT = {
    "PDEKIT_STREAM_ADDRESS": "ZeroMQ address of the training rank, e.g. tcp://10.0.0.7:41234",
    "PDEKIT_STREAM_RUN": "run id (a hex string); messages of another run are rejected",
    "PDEKIT_STREAM_GENERATION": "trainer generation (int); bumped at every trainer (re)start",
    "PDEKIT_STREAM_SIMULATION": "simulation id (int, 0-based)",
    "PDEKIT_STREAM_DRAW": "parameter draw of this simulation (int, 0 first; bumped by a redraw)",
    "PDEKIT_STREAM_ATTEMPT": "launch count of this simulation id (int, 1 first)",
    "PDEKIT_STREAM_PARAMETERS": "JSON object of the drawn parameters, e.g. {\"alpha\": 1.3}",
    "PDEKIT_STREAM_STEPS": "number of time steps the run expects per simulation (int)",
    "PDEKIT_STREAM_HEARTBEAT": "seconds between heartbeats (float, default 1)",
    "PDEKIT_STREAM_LIVENESS": "silent heartbeat intervals before the peer is presumed dead (default 10)",
}


class StreamRejected(RuntimeError):
    """The rank refused this client (stale attempt, another run, a changed schema, ...)."""


def _env_int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name)
    if raw is None:
        raise ValueError(f"StreamClient needs {name} in the environment (set by `pdekit stream`) "
                         f"or the matching argument")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer; got {raw!r}") from None


class StreamClient:
    """A session with one training rank; send time steps, then finish.

    Every argument defaults to its environment variable (see :data:`ENVIRONMENT`).

    Parameters
    ----------
    address : str
        ``tcp://host:port`` of the rank.
    run : str
    generation, simulation, draw, attempt : int
    parameters : dict, optional
    steps : int, optional
        Time steps the run expects (``client.steps``).
    heartbeat : float
        Seconds between heartbeats.
    liveness : int
        Silent intervals before the rank is presumed gone (then ``send`` raises
        ``ConnectionError``); the first answer must also come within this time.

    Attributes
    ----------
    parameters : dict
        The drawn parameters.
    simulation, draw, attempt, generation : int
    steps : int or None
    blocked_seconds : float
        Time spent waiting for credit (back-pressure from the trainer).
    """

    def __init__(self, address: str | None = None, *, run: str | None = None,
                 generation: int | None = None, simulation: int | None = None,
                 draw: int | None = None, attempt: int | None = None,
                 parameters: Mapping[str, Any] | None = None, steps: int | None = None,
                 heartbeat: float | None = None, liveness: int | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = address if address is not None else env.get("PDEKIT_STREAM_ADDRESS")
        if not self.address:
            raise ValueError("StreamClient needs the rank's address: PDEKIT_STREAM_ADDRESS in the "
                             "environment (set by `pdekit stream`) or address='tcp://host:port'")
        self.run = str(run if run is not None else env.get("PDEKIT_STREAM_RUN", ""))
        if not self.run:
            raise ValueError("StreamClient needs the run id: PDEKIT_STREAM_RUN or run=")
        self.generation = int(generation) if generation is not None else _env_int(env, "PDEKIT_STREAM_GENERATION")
        self.simulation = int(simulation) if simulation is not None else _env_int(env, "PDEKIT_STREAM_SIMULATION")
        self.draw = int(draw) if draw is not None else int(env.get("PDEKIT_STREAM_DRAW", "0"))
        self.attempt = int(attempt) if attempt is not None else _env_int(env, "PDEKIT_STREAM_ATTEMPT")
        if parameters is None:
            raw = env.get("PDEKIT_STREAM_PARAMETERS", "{}")
            try:
                parameters = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"PDEKIT_STREAM_PARAMETERS must be a JSON object; got {raw!r:.80} ({exc})") from None
        if not isinstance(parameters, Mapping):
            raise ValueError(f"parameters must be a mapping; got {type(parameters).__name__}")
        self.parameters = dict(parameters)
        raw_steps = steps if steps is not None else env.get("PDEKIT_STREAM_STEPS")
        self.steps = int(raw_steps) if raw_steps not in (None, "") else None
        self.heartbeat_interval = float(heartbeat if heartbeat is not None else env.get("PDEKIT_STREAM_HEARTBEAT", 1.0))
        self.liveness = int(liveness if liveness is not None else env.get("PDEKIT_STREAM_LIVENESS", 10))
        self.blocked_seconds = 0.0
        self._ids = {"run": self.run, "generation": self.generation, "simulation": self.simulation,
                     "draw": self.draw, "attempt": self.attempt}
        self._ctx: zmq.Context | None = None
        self._sock: zmq.Socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._window = CreditWindow()
        self._hb: Heartbeat | None = None
        self._seq = 0          # next sequence number
        self._acked = -1       # highest acknowledged sequence number
        self._welcomed = False
        self._done = False
        self._closed = False

    # ------------------------------------------------------------------ session
    def __enter__(self) -> "StreamClient":
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort(f"{exc_type.__name__}: {exc}")

    def open(self) -> None:
        """Connect and open the session (HELLO, then wait for WELCOME)."""
        if self._sock is not None:
            return
        self._hb = Heartbeat(self.heartbeat_interval, self.liveness)
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        try:
            self._sock.connect(self.address)
        except zmq.ZMQError as exc:
            self._teardown()
            raise ValueError(f"cannot connect to {self.address!r}: {exc} (expected tcp://host:port)") from None
        self._send(b"HELLO", {**self._ids, "pid": os.getpid(), "host": _socket.gethostname()})
        deadline = time.monotonic() + self._hb.patience
        while not self._welcomed:
            left = deadline - time.monotonic()
            if left <= 0:
                self._teardown()
                raise ConnectionError(
                    f"no pdekit trainer answered at {self.address} within {self._hb.patience:.3g} s: "
                    f"the address is unreachable, busy with another program, or the trainer is not running")
            self._pump(min(left, self.heartbeat_interval))
        self._thread = threading.Thread(target=self._beat, name="pdekit-stream-heartbeat", daemon=True)
        self._thread.start()

    def send(self, step: int, **fields: np.ndarray) -> None:
        """Send time step ``step`` (an int >= 0) with any number of named numpy fields.

        Blocks while the rank's memory budget has no credit for the step (back-pressure).

        Raises
        ------
        StreamRejected
            The rank refused the step (a field whose shape or dtype changed, a stale attempt,
            ...); the session is over.
        ConnectionError
            The rank stopped answering.
        """
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step must be an integer >= 0; got {step!r}")
        self._check_open()
        specs, arrays = field_specs(fields)
        nbytes = step_nbytes(specs)
        self._wait_for_credit(nbytes)
        frames = encode_step(self._ids, self._seq, int(step), specs, arrays)
        with self._lock:
            sock = self._sock
            for frame in frames[:-1]:
                sock.send(frame, _MORE)
            sock.send(frames[-1], 0)
            self._hb.sent()
        self._window.spend(nbytes)
        self._seq += 1
        if self._seq % 32 == 0 or not self._window.can_send(2 * nbytes):
            self._pump(0)  # acknowledgements and credit (cheap, but not free at every step)

    def finish(self) -> None:
        """Wait until every step is acknowledged, then report FINISHED and close."""
        self._check_open()
        try:
            self._wait(lambda: self._acked >= self._seq - 1, "acknowledgements of the last steps")
            self._send(b"FINISHED", {**self._ids, "seq": self._seq - 1, "messages": self._seq,
                                     "blocked_seconds": round(self.blocked_seconds, 6)})
            self._wait(lambda: self._done, "the trainer's answer to FINISHED")
        finally:
            self.close()

    def abort(self, reason: str = "") -> None:
        """Tell the rank this attempt gives up (best effort), then close without finishing."""
        if self._sock is not None and not self._closed:
            try:
                self._send(b"ABORT", {**self._ids, "reason": str(reason)[:500]})
                self._sock.setsockopt(zmq.LINGER, 200)
            except zmq.ZMQError:
                pass
        self.close()

    def close(self) -> None:
        """Stop the heartbeat and close the socket (no FINISHED is sent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._teardown()

    # ------------------------------------------------------------------ internals
    def _check_open(self) -> None:
        if self._sock is None or self._closed:
            raise RuntimeError("the stream session is not open (use `with StreamClient() as client:`)")

    def _teardown(self) -> None:
        self._closed = True
        with self._lock:
            if self._sock is not None:
                self._sock.close()
            if self._ctx is not None:
                self._ctx.term()
            self._sock = self._ctx = None

    def _send(self, kind: bytes, header: dict) -> None:
        with self._lock:
            self._sock.send_multipart(encode(kind, header))
            self._hb.sent()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_interval / 2):
            with self._lock:
                if self._sock is None:
                    return
                if self._hb.due():
                    try:
                        self._sock.send_multipart(encode(b"HEARTBEAT", self._ids), zmq.NOBLOCK)
                    except zmq.ZMQError:
                        pass
                    self._hb.sent()

    def _pump(self, timeout: float) -> None:
        """Handle incoming messages, waiting up to ``timeout`` seconds for the first."""
        wait_ms = int(timeout * 1000)
        while True:
            with self._lock:
                if self._sock is None or not self._sock.poll(wait_ms, zmq.POLLIN):
                    return
                frames = self._sock.recv_multipart()
            wait_ms = 0
            self._hb.heard()
            try:
                kind, header, _ = decode(frames, kinds=SERVER_KINDS)
            except ProtocolError as exc:
                self._teardown()
                raise StreamRejected(f"the trainer at {self.address} sent an unreadable message: {exc}") from None
            if kind == b"CREDIT" or kind == b"WELCOME":
                self._welcomed = True
                self._window.grant(header.get("limit", 0))
                self._acked = max(self._acked, int(header.get("ack", -1)))
            elif kind == b"DONE":
                self._done = True
            elif kind == b"REJECT":
                self._teardown()
                raise StreamRejected(f"simulation {self.simulation} attempt {self.attempt} was rejected by "
                                     f"the trainer: {header.get('reason', 'no reason given')}")

    def _wait(self, done, what: str) -> None:
        while not done():
            self._pump(self.heartbeat_interval)
            if not done() and not self._hb.peer_alive():
                self._teardown()
                raise ConnectionError(f"the trainer at {self.address} stopped answering "
                                      f"({self._hb.silence():.3g} s of silence) while waiting for {what}")

    def _wait_for_credit(self, nbytes: int) -> None:
        if self._window.can_send(nbytes):
            return
        t0 = time.perf_counter()
        self._send(b"WANT", {**self._ids, "need": int(nbytes)})
        self._wait(lambda: self._window.can_send(nbytes), f"credit for a step of {nbytes} bytes")
        self.blocked_seconds += time.perf_counter() - t0
