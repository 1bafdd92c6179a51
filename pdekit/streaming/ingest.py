"""What a rank keeps of the stream, and the bytes it may still take in (no sockets here).

:class:`Ingest` holds one rank's :class:`~pdekit.streaming.ledger.Ledger` (fencing, the
accepted set), its training buffer, the autoregressive cache of its target, the held-out
validation set and the run's schema (set by the run's first time step). :meth:`Ingest.step`
decides the fate of one STEP message and, when it is accepted, turns it into training samples.
The receiver (:mod:`pdekit.streaming.receiver`) does the talking.

Memory accounting, in bytes: samples that cannot be evicted to make room (all of them in FIFO
and FIRO; the unseen ones in the reservoir) + the autoregressive cache + the validation set +
``factor`` x (received messages still waiting + credit granted but not received) <= budget.
"""

from __future__ import annotations

import collections
from typing import Any, Sequence

import numpy as np

from pdekit.streaming.buffers import Buffer, Item
from pdekit.streaming.ledger import ACCEPT, DUPLICATE, Assignment, Ledger, step_crc
from pdekit.streaming.wire import FieldSpec, ProtocolError, decode_fields, step_nbytes

__all__ = ["Ingest", "ACCEPTED", "DUPLICATE_DROPPED", "REJECTED", "FAILED", "WAIT", "schema_difference"]

#: outcomes of :meth:`Ingest.step`
ACCEPTED, DUPLICATE_DROPPED, REJECTED, FAILED, WAIT = "accepted", "duplicate", "rejected", "failed", "wait"


def schema_difference(specs: Sequence[FieldSpec], schema: Sequence[FieldSpec]) -> str:
    """Why ``specs`` (one step's fields) do not match the run's ``schema``."""
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


class Ingest:
    """One rank's share of the stream (see the module docstring).

    Parameters
    ----------
    run : str
    steps : int
        Time steps per simulation.
    budget : int
        Bytes this rank may hold.
    buffer : Buffer
    target : Autoregressive or ParameterTarget
    min_samples : int
        Samples the budget must hold at least (the batch size for FIFO/FIRO, 1 otherwise).
    bounds : sequence of (low, high), optional
        Sampling ranges of the parameters (for the buffer's KS statistic).
    """

    def __init__(self, *, run: str, steps: int, budget: int, buffer: Buffer, target,
                 min_samples: int = 1, bounds: Sequence[tuple[float, float]] | None = None) -> None:
        self.ledger = Ledger(run=run, steps=steps)
        self.buffer, self.target = buffer, target
        self.budget, self.min_samples = int(budget), int(min_samples)
        self.bounds = list(bounds) if bounds else None
        self.schema: tuple[FieldSpec, ...] | None = None
        self.validation: list[Item] = []
        self.validation_bytes = 0
        self.waiting_bytes = 0        # received, held by the receiver until there is a schema or room
        self.ended = False
        self.counters = collections.Counter()  # steps_accepted, bytes_accepted, bytes_received
        self._params: dict[int, np.ndarray | None] = {}

    # ------------------------------------------------------------------ accounting
    def used_bytes(self) -> int:
        """Accounted bytes, credit not yet received excluded."""
        return (self.buffer.committed_bytes + self.target.cache_bytes + self.validation_bytes
                + self.target.factor * self.waiting_bytes)

    def room(self) -> int:
        """Bytes the buffer may fill (the budget less everything else that is accounted)."""
        return self.budget - self.target.cache_bytes - self.validation_bytes - self.target.factor * self.waiting_bytes

    def available(self, outstanding: int) -> int:
        """Credit that may still be granted when ``outstanding`` bytes are granted and unreceived."""
        return max(0, (self.budget - self.used_bytes()) // self.target.factor - outstanding)

    def budget_shortfall(self, step_bytes: int) -> str | None:
        """Why the budget cannot hold the working set and ``min_samples`` samples, or None."""
        need = self.target.minimum_budget(step_bytes, self.min_samples) + self.validation_bytes
        if self.budget >= need:
            return None
        return (f"the memory budget of this rank ({self.budget:,} bytes) is smaller than one training "
                f"sample plus the stream's working set ({need:,} bytes for time steps of {step_bytes:,} "
                f"bytes, {self.min_samples} sample(s) per batch); raise --memory")

    # ------------------------------------------------------------------ the coordinator's say
    def set_schema(self, fields: Sequence[dict]) -> str | None:
        """The run's fields (JSON descriptions); returns a budget shortfall, if any."""
        self.schema = tuple(FieldSpec(d["name"], d["dtype"], tuple(d["shape"])) for d in fields)
        return self.budget_shortfall(step_nbytes(self.schema))

    def assign(self, a: Assignment) -> None:
        """A launch of a simulation; a new draw evicts the old draw's samples."""
        old = self.ledger.assignments.get(a.simulation)
        self.ledger.assign(a)
        if old is not None and old.draw != a.draw:
            self._evict(a.simulation, old.draw)
        self._params[a.simulation] = self._param_vector(a)

    def drop(self, simulation: int) -> None:
        """A simulation failed for good: abandon its samples."""
        old = self.ledger.assignments.get(simulation)
        self.ledger.drop(simulation)
        if old is not None:
            self._evict(simulation, old.draw)

    def end(self) -> None:
        """No more simulations will run: the buffer starts draining."""
        self.ended = True
        self.buffer.end_stream()

    def _param_vector(self, a: Assignment) -> np.ndarray | None:
        names = self.target.parameter_names
        return np.array([float(a.parameters[n]) for n in names], dtype=np.float64) if names else None

    def _evict(self, sim: int, draw: int) -> None:
        self.target.forget(sim)
        self.buffer.evict(sim, draw)
        self.validation = [it for it in self.validation if not (it.key[0] == sim and it.key[1] == draw)]
        self.validation_bytes = sum(it.nbytes for it in self.validation)

    # ------------------------------------------------------------------ messages
    def step(self, header: dict, buffers) -> tuple[str, str]:
        """``(outcome, reason)`` of one STEP: :data:`ACCEPTED` (samples made), :data:`DUPLICATE_DROPPED`,
        :data:`REJECTED` (fenced off), :data:`FAILED` (its fields are wrong: the simulation fails)
        or :data:`WAIT` (no room yet; nothing changed)."""
        try:
            specs, arrays = decode_fields(header, buffers)
        except ProtocolError as exc:
            return FAILED, str(exc)
        if specs != self.schema:
            return FAILED, schema_difference(specs, self.schema)
        verdict, reason = self.ledger.classify(header)
        if verdict not in (ACCEPT, DUPLICATE):
            return REJECTED, reason
        sim, draw, step = header["simulation"], header["draw"], header["step"]
        fields = tuple(arrays.values())
        nbytes = step_nbytes(specs)
        if verdict == DUPLICATE:
            self.target.duplicate(sim, draw, step, fields,
                                  step + 1 < self.ledger.steps and not self.ledger.is_accepted(sim, step + 1))
            self.counters["bytes_received"] += nbytes
            return DUPLICATE_DROPPED, ""
        role = self.ledger.assignments[sim].role
        room = self.room()
        if role == "train" and not self.buffer.fits(self.target.factor * nbytes, room):
            return WAIT, ""
        for item in self.target.samples(sim, draw, step, fields, self._params.get(sim)):
            if role == "train":
                self.buffer.put(item, capacity=room)
            else:
                self.validation.append(item)
                self.validation_bytes += item.nbytes
        self.ledger.accept(sim, step, step_crc(fields))
        self.counters["steps_accepted"] += 1
        self.counters["bytes_accepted"] += nbytes
        self.counters["bytes_received"] += nbytes
        return ACCEPTED, ""

    def finish(self, simulation: int) -> str | None:
        """The client reported FINISHED: why the simulation is not complete, or None."""
        reason = self.ledger.finish(simulation)
        if reason is None:
            self.target.forget(simulation)
        return reason

    # ------------------------------------------------------------------ the training side
    def take(self, batch_size: int) -> list[Item]:
        return self.buffer.draw(batch_size)

    @property
    def done(self) -> bool:
        return self.ended and self.buffer.exhausted

    def statistics(self) -> dict[str, Any]:
        stats = self.buffer.statistics(self.bounds)
        stats.update(budget=self.budget, **self.counters)
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {"ledger": self.ledger.state_dict(), "buffer": self.buffer.state_dict(),
                "validation": [{"key": list(it.key), "x": it.x, "y": it.y, "nbytes": it.nbytes}
                               for it in self.validation],
                "counters": dict(self.counters),
                "schema": [s.as_json() for s in self.schema] if self.schema else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ledger.load_state_dict(state["ledger"])
        self.buffer.load_state_dict(state["buffer"])
        self.validation = [Item(tuple(d["key"]), d["x"], d["y"], int(d["nbytes"])) for d in state["validation"]]
        self.validation_bytes = sum(it.nbytes for it in self.validation)
        self.counters = collections.Counter({k: int(v) for k, v in state["counters"].items()})
        if state.get("schema"):
            self.schema = tuple(FieldSpec(d["name"], d["dtype"], tuple(d["shape"])) for d in state["schema"])
        self._params = {s: self._param_vector(a) for s, a in self.ledger.assignments.items()}
