"""The control channel between the coordinator and the training ranks (internal to pdekit).

The coordinator binds a ROUTER socket; each rank connects a DEALER whose routing id is
``rank-<r>`` (the coordinator sets ``ROUTER_HANDOVER``, so a restarted rank takes its name
back). Messages are two frames: an ASCII kind and a UTF-8 JSON object.

rank -> coordinator
    ``REGISTER``  {rank, world, restart, address, coverage, schema}: a rank is up (after loading
    its checkpoint, whose ledger it summarises in ``coverage``)
    ``ASSIGNED``  {simulation, draw, attempt}: the rank will accept that launch
    ``SCHEMA``    {fields}: the first time step this rank saw (a schema proposal)
    ``EVENTS``    {progress, finished, failed, lost, log, stats}: batched every ~0.2 s
    ``FINAL``     {stats, simulations}: the rank's totals when training ended
    ``FATAL``     {reason}: the run cannot go on (e.g. a budget smaller than one sample)

coordinator -> rank
    ``WELCOME``   {generation}   ``SCHEMA`` {fields}   ``ASSIGN`` {assignment}
    ``DROP``      {simulation}   ``VALIDATION`` {} (the validation ensemble is complete)
    ``END``       {}  (no more simulations will run)
    ``PING``      {}  every heartbeat: a rank that hears nothing for 3 x liveness heartbeats stops
"""

from __future__ import annotations

import collections
import json
import time
from typing import Any, Sequence

__all__ = ["RANK_KINDS", "COORDINATOR_KINDS", "pack", "unpack", "rank_identity", "RankEvents"]

RANK_KINDS = (b"REGISTER", b"ASSIGNED", b"SCHEMA", b"EVENTS", b"FINAL", b"FATAL")
COORDINATOR_KINDS = (b"WELCOME", b"SCHEMA", b"ASSIGN", b"DROP", b"VALIDATION", b"END", b"PING")


def rank_identity(rank: int) -> bytes:
    """Routing id of rank ``rank`` on the control socket."""
    return f"rank-{int(rank)}".encode()


def pack(kind: bytes, body: dict[str, Any]) -> list[bytes]:
    return [kind, json.dumps(body, separators=(",", ":")).encode()]


def unpack(frames: Sequence[bytes], kinds: Sequence[bytes]) -> tuple[bytes, dict[str, Any]]:
    """``(kind, body)``; ValueError for anything malformed (the channel is internal)."""
    if len(frames) != 2 or bytes(frames[0]) not in kinds:
        raise ValueError(f"malformed control message {[bytes(f)[:20] for f in frames]}")
    return bytes(frames[0]), json.loads(bytes(frames[1]))


class RankEvents:
    """What a rank tells the coordinator, batched into EVENTS messages.

    Finished, failed and lost simulations go out at once; progress (the newest step of each
    running attempt), log lines and training statistics every ``period`` seconds. Other
    messages (SCHEMA, ASSIGNED, FINAL, FATAL) queue in :attr:`outbox` in order.
    """

    def __init__(self, rank: int, *, period: float = 0.2) -> None:
        self.rank, self.period = int(rank), float(period)
        self.outbox: collections.deque = collections.deque()
        self._stats: dict[str, Any] | None = None
        self._last = 0.0
        self._reset()

    def _reset(self) -> None:
        self.progress: dict[str, int] = {}
        self.finished: list[dict] = []
        self.failed: list[dict] = []
        self.lost: list[dict] = []
        self.log: list[str] = []

    def note(self, text: str) -> None:
        self.log.append(f"rank {self.rank}: {text}")

    def stats(self, stats: dict[str, Any]) -> None:
        self._stats = dict(stats, rank=self.rank)

    def send(self, kind: bytes, body: dict[str, Any]) -> None:
        self.outbox.append(pack(kind, body))

    @property
    def urgent(self) -> bool:
        """Finished, failed or lost simulations wait to be reported."""
        return bool(self.finished or self.failed or self.lost)

    def flush(self) -> None:
        """Queue an EVENTS message if something is urgent or the period is over."""
        urgent = self.finished or self.failed or self.lost
        now = time.monotonic()
        if not (urgent or (now - self._last >= self.period and (self.progress or self.log or self._stats))):
            return
        body = {"progress": self.progress, "finished": self.finished, "failed": self.failed,
                "lost": self.lost, "log": self.log}
        if self._stats is not None:
            body["stats"], self._stats = self._stats, None
        self._reset()
        self._last = now
        self.outbox.append(pack(b"EVENTS", body))
