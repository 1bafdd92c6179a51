"""Exactly-once ingestion on one rank: fencing, de-duplication, and the accepted set.

A sample is keyed by ``(simulation, draw, step)``. The coordinator *assigns* each simulation
to a rank with its current ``draw`` (parameter draw, bumped by a redraw) and ``attempt``
(launch count); every message carries the run id and the trainer generation as well. A
message is

* **rejected** (and logged) when its run, generation, draw or attempt is not the current one
  (a stale attempt, a client of another run or of a trainer generation that died), when the
  simulation is not assigned here, or when its step lies outside ``0 <= step < steps``;
* **a duplicate** (acknowledged and dropped, counted in ``duplicates_dropped``) when the
  step was already accepted for the current draw, e.g. re-sent by a relaunched client;
* **accepted** otherwise.

A new draw abandons the old one: its accepted steps are counted in ``abandoned_samples`` and
forgotten, so the new draw's steps are never mistaken for duplicates. The ledger is part of
every checkpoint; restored, it drops whatever a relaunched simulation re-sends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from typing import Any, Mapping

import numpy as np

__all__ = ["Assignment", "Ledger", "ACCEPT", "DUPLICATE", "REJECT", "step_crc", "trajectory_digest"]

ACCEPT, DUPLICATE, REJECT = "accept", "duplicate", "reject"
_ROLES = ("train", "validation")


@dataclasses.dataclass
class Assignment:
    """The current launch of a simulation, as the coordinator announced it."""

    simulation: int
    draw: int
    attempt: int
    role: str = "train"
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def step_crc(arrays) -> int:
    """CRC-32 of the raw bytes of one step's fields, chained in field order."""
    crc = 0
    for a in arrays:
        a = np.asarray(a)
        crc = zlib.crc32(a if a.flags.c_contiguous else a.tobytes(), crc)
    return crc


def _digest(crc: np.ndarray, mask: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(np.where(mask, crc, 0).astype("<u4").tobytes())
    h.update(np.packbits(mask).tobytes())
    return h.hexdigest()


def trajectory_digest(steps) -> str:
    """The digest :meth:`Ledger.digest` reports for a simulation that delivered ``steps``.

    ``steps`` is a sequence (one entry per step, in step order) of sequences of arrays in
    field order; compare the result with ``report.json`` to check bit-identical delivery.
    """
    crc = np.array([step_crc(fields) for fields in steps], dtype=np.uint32)
    return _digest(crc, np.ones(crc.size, dtype=bool))


def _int(header: Mapping[str, Any], key: str) -> int | None:
    v = header.get(key)
    return v if type(v) is int else None


class Ledger:
    """Fencing and the accepted ``(simulation, draw, step)`` set of one rank.

    Parameters
    ----------
    run : str
        The run id every message must carry.
    steps : int
        Time steps per simulation (steps ``0 .. steps - 1``).
    """

    def __init__(self, *, run: str, steps: int) -> None:
        if int(steps) < 1:
            raise ValueError(f"steps must be a positive integer; got {steps}")
        self.run, self.steps = str(run), int(steps)
        self.generation: int | None = None
        self.assignments: dict[int, Assignment] = {}
        self._accepted: dict[int, np.ndarray] = {}     # simulation -> (steps,) bool, current draw
        self._crc: dict[int, np.ndarray] = {}          # simulation -> (steps,) uint32 CRC-32 of each step
        self.finished: set[int] = set()                # simulations whose current draw finished
        self.dropped: set[int] = set()                 # simulations given up (failed)
        self.duplicates_dropped = 0
        self.rejected_messages = 0   # counted by the receiver, which answers them
        self.abandoned_samples = 0

    # ------------------------------------------------------------------ assignments
    def assign(self, a: Assignment) -> int:
        """Make ``a`` the current launch of its simulation; return the samples it abandons.

        A new draw forgets the accepted steps of the previous one (returned, and added to
        ``abandoned_samples`` for training simulations).
        """
        if a.role not in _ROLES:
            raise ValueError(f"unknown role {a.role!r}; expected one of {list(_ROLES)}")
        old = self.assignments.get(a.simulation)
        abandoned = 0
        if old is not None and a.draw != old.draw:
            abandoned = self._forget(a.simulation, old.role)
        self.assignments[a.simulation] = a
        self.dropped.discard(a.simulation)
        self._accepted.setdefault(a.simulation, np.zeros(self.steps, dtype=bool))
        self._crc.setdefault(a.simulation, np.zeros(self.steps, dtype=np.uint32))
        return abandoned

    def drop(self, simulation: int) -> int:
        """Give up a simulation (it failed for good): abandon its accepted steps."""
        a = self.assignments.pop(simulation, None)
        self.dropped.add(simulation)
        return 0 if a is None else self._forget(simulation, a.role)

    def _forget(self, simulation: int, role: str) -> int:
        mask = self._accepted.pop(simulation, None)
        self._crc.pop(simulation, None)
        self.finished.discard(simulation)
        n = 0 if mask is None else int(mask.sum())
        if role == "train":
            self.abandoned_samples += n
        return n

    # ------------------------------------------------------------------ messages
    def fence(self, header: Mapping[str, Any]) -> str | None:
        """Why a message with these ids must be rejected, or None if it belongs here."""
        a = self.assignments.get(header.get("simulation"))  # the common case, checked in one go
        if (a is not None and header.get("run") == self.run and type(header.get("generation")) is int
                and header["generation"] == self.generation and header.get("draw") == a.draw
                and header.get("attempt") == a.attempt and type(header["draw"]) is int
                and type(header["attempt"]) is int):
            return None
        run = header.get("run")
        if run != self.run:
            return f"message of another run ({str(run)[:40]!r}); this trainer runs {self.run!r}"
        gen = _int(header, "generation")
        if gen != self.generation:
            return (f"stale generation {gen} (the trainer restarted; the current generation is "
                    f"{self.generation})")
        sim = _int(header, "simulation")
        if sim is None or sim not in self.assignments:
            why = "was given up" if sim in self.dropped else "is not assigned to this rank"
            return f"simulation {header.get('simulation')!r} {why}"
        a = self.assignments[sim]
        draw, attempt = _int(header, "draw"), _int(header, "attempt")
        if draw != a.draw:
            return f"stale draw {draw} of simulation {sim} (its parameters were redrawn; the current draw is {a.draw})"
        if attempt != a.attempt:
            return f"stale attempt {attempt} of simulation {sim} (the current attempt is {a.attempt})"
        return None

    def classify(self, header: Mapping[str, Any]) -> tuple[str, str]:
        """``(ACCEPT | DUPLICATE | REJECT, reason)`` of a STEP header."""
        reason = self.fence(header)
        if reason is None:
            step = header.get("step")
            if type(step) is not int or not 0 <= step < self.steps:
                reason = f"step {header.get('step')!r} is outside 0 .. {self.steps - 1} (--steps {self.steps})"
        if reason is not None:
            return REJECT, reason
        if self._accepted[header["simulation"]][step]:
            self.duplicates_dropped += 1
            return DUPLICATE, ""
        return ACCEPT, ""

    def accept(self, simulation: int, step: int, crc: int = 0) -> None:
        """Record ``step`` as accepted, with the CRC-32 of its field bytes (in field order)."""
        self._accepted[simulation][step] = True
        self._crc[simulation][step] = crc

    def digest(self, simulation: int) -> str | None:
        """BLAKE2b of the per-step CRC-32s of the current draw (None if nothing accepted).

        Equal digests mean the same bytes were accepted for every step (see
        :func:`pdekit.streaming.ledger.trajectory_digest` for the sender's side).
        """
        crc = self._crc.get(simulation)
        if crc is None or not self._accepted[simulation].any():
            return None
        return _digest(crc, self._accepted[simulation])

    def is_accepted(self, simulation: int, step: int) -> bool:
        mask = self._accepted.get(simulation)
        return bool(mask is not None and mask[step])

    def accepted_count(self, simulation: int) -> int:
        mask = self._accepted.get(simulation)
        return 0 if mask is None else int(mask.sum())

    def finish(self, simulation: int) -> str | None:
        """Mark the current draw finished; return why it cannot be (missing steps) or None."""
        n = self.accepted_count(simulation)
        if n != self.steps:
            missing = np.flatnonzero(~self._accepted[simulation])[:5].tolist()
            return (f"finished after {n} of {self.steps} steps (missing steps {missing}"
                    f"{' ...' if self.steps - n > 5 else ''})")
        self.finished.add(simulation)
        return None

    # ------------------------------------------------------------------ summaries
    def coverage(self) -> dict[int, dict[str, Any]]:
        """Per assigned simulation: draw, attempt, role, accepted steps, finished."""
        return {s: {"draw": a.draw, "attempt": a.attempt, "role": a.role,
                    "accepted": self.accepted_count(s), "finished": s in self.finished}
                for s, a in self.assignments.items()}

    def accepted_samples(self, role: str = "train") -> int:
        """Accepted steps of finished simulations of ``role``."""
        return sum(self.accepted_count(s) for s in self.finished if self.assignments[s].role == role)

    def state_dict(self) -> dict[str, Any]:
        """Plain data (ints, strings, lists, dicts, bool arrays) for a checkpoint."""
        return {"run": self.run, "steps": self.steps, "generation": self.generation,
                "assignments": [a.as_json() for a in self.assignments.values()],
                "accepted": {int(s): m.copy() for s, m in self._accepted.items()},
                "crc": {int(s): c.copy() for s, c in self._crc.items()},
                "finished": sorted(self.finished), "dropped": sorted(self.dropped),
                "counters": {"duplicates_dropped": self.duplicates_dropped,
                             "rejected_messages": self.rejected_messages,
                             "abandoned_samples": self.abandoned_samples}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state["run"] != self.run or int(state["steps"]) != self.steps:
            raise ValueError(f"the checkpoint's ledger belongs to run {state['run']!r} with "
                             f"{state['steps']} steps; this run is {self.run!r} with {self.steps}")
        self.assignments = {int(a["simulation"]): Assignment(**a) for a in state["assignments"]}
        self._accepted = {int(s): np.asarray(m, dtype=bool).copy() for s, m in state["accepted"].items()}
        self._crc = {int(s): np.asarray(c, dtype=np.uint32).copy() for s, c in state["crc"].items()}
        self.finished = {int(s) for s in state["finished"]}
        self.dropped = {int(s) for s in state["dropped"]}
        for k, v in state["counters"].items():
            setattr(self, k, int(v))
