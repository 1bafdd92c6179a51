"""What the coordinator knows about each simulation, and the run's ``report.json``.

A simulation id keeps its record for the whole run: its current draw and parameters, every
launch (``attempts`` counts them all, across draws and trainer generations), the failed
attempts of the current draw (``crashes``; ``--max-crashes`` of them trigger a redraw), the
history of its draws, and its final status: ``finished`` or ``failed`` (``redrawn`` is the
status of an abandoned draw in the history).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

__all__ = ["SimulationRecord", "build_report"]

ACTIVE = ("assigning", "running")


@dataclasses.dataclass
class SimulationRecord:
    """The coordinator's record of one simulation id."""

    simulation: int
    role: str
    draw: int
    parameters: dict[str, Any]
    status: str = "pending"            # pending | assigning | running | finished | failed
    attempts: int = 0
    crashes: int = 0
    reasons: list[str] = dataclasses.field(default_factory=list)
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    digest: str | None = None
    blocked_seconds: float | None = None
    # the current launch
    process: Any = None
    launched_at: float = 0.0
    last_progress: float = 0.0
    max_step: int = -1
    exited_clean_at: float | None = None

    @property
    def final(self) -> bool:
        return self.status in ("finished", "failed")

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def redraw(self, draw: int, parameters: dict[str, Any]) -> None:
        """Abandon the current draw (kept in the history as ``redrawn``) for a new one."""
        self.history.append({"draw": self.draw, "parameters": self.parameters, "status": "redrawn",
                             "failed_attempts": self.crashes, "reasons": list(self.reasons)})
        self.draw, self.parameters, self.crashes, self.reasons = draw, parameters, 0, []

    def as_report(self, steps_accepted: int) -> dict[str, Any]:
        return {"simulation": self.simulation, "parameters": self.parameters, "draw": self.draw,
                "attempts": self.attempts, "steps_accepted": int(steps_accepted),
                "status": self.status, "failed_attempts": self.crashes, "reasons": self.reasons,
                "digest": self.digest, "client_blocked_seconds": self.blocked_seconds,
                "draws": self.history}


def build_report(*, run: str, steps: int, records: Iterable[SimulationRecord],
                 finals: Mapping[int, Mapping[str, Any]], generation: int, wall_seconds: float,
                 extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``report.json``: counts that prove exactly-once, per-simulation records, throughput.

    ``finals`` are the ranks' FINAL messages (rank -> {"stats", "coverage"}).
    """
    coverage: dict[int, Mapping[str, Any]] = {}
    for body in finals.values():
        coverage.update({int(k): v for k, v in body["coverage"].items()})
    stats = [body["stats"] for body in finals.values()]

    def total(key: str) -> int:
        return int(sum(s.get(key, 0) or 0 for s in stats))

    records = sorted(records, key=lambda r: r.simulation)
    train = [r for r in records if r.role == "train"]
    finished = [r for r in train if r.status == "finished"]
    accepted = sum(int(coverage.get(r.simulation, {}).get("accepted", 0)) for r in finished)
    train_seconds = max((s.get("train_seconds", 0.0) for s in stats), default=0.0)
    trained = total("samples_trained")
    blocked = [s["blocked_seconds"] / s["train_seconds"] for s in stats if s.get("train_seconds")]
    report = {
        "run": run,
        "steps": int(steps),
        "expected_samples": len(finished) * int(steps),
        "accepted_samples": accepted,
        "duplicates_dropped": total("duplicates_dropped"),
        "rejected_messages": total("rejected_messages"),
        "abandoned_samples": total("abandoned_samples"),
        "finished_simulations": len(finished),
        "failed_simulations": sum(r.status == "failed" for r in train),
        "client_restarts": sum(max(0, r.attempts - 1) for r in records),
        "trainer_restarts": max(0, int(generation) - 1),
        "samples_per_second": trained / train_seconds if train_seconds else 0.0,
        "blocked_fraction": sum(blocked) / len(blocked) if blocked else 0.0,
        "bytes_received": total("bytes_received"),
        "samples_trained": trained,
        "training_steps": max((int(s.get("training_steps", 0)) for s in stats), default=0),
        "wall_seconds": float(wall_seconds),
        "disk_bytes_written": {str(k): v["stats"].get("disk_bytes_written") for k, v in sorted(finals.items())},
        "ranks": {str(k): v["stats"] for k, v in sorted(finals.items())},
        "simulations": [r.as_report(coverage.get(r.simulation, {}).get("accepted", 0)) for r in train],
        "validation_simulations": [r.as_report(coverage.get(r.simulation, {}).get("accepted", 0))
                                   for r in records if r.role == "validation"],
    }
    if extra:
        report.update(extra)
    return report
