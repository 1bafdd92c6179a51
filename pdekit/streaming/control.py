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
"""

from __future__ import annotations

import json
from typing import Any, Sequence

__all__ = ["RANK_KINDS", "COORDINATOR_KINDS", "pack", "unpack", "rank_identity"]

RANK_KINDS = (b"REGISTER", b"ASSIGNED", b"SCHEMA", b"EVENTS", b"FINAL", b"FATAL")
COORDINATOR_KINDS = (b"WELCOME", b"SCHEMA", b"ASSIGN", b"DROP", b"VALIDATION", b"END")


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
