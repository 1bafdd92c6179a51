"""Test helpers: a solver script with scripted faults, and in-process ranks without torch.

``SOLVER`` is a real external solver (a separate process using StreamClient). Its fields are a
deterministic function of (parameters, step) (:func:`fields`), so a test can recompute the
exact bytes every simulation must deliver. Faults are scripted through ``TEST_FAULTS`` (JSON):
``{"kill": [[sim, attempt, step]], "hang": [[sim, attempt, step]], "block": [[sim, attempt, step]],
"crash_above": x, "sleep": seconds per step}``; a ``block`` waits before that step until the file
``release`` exists in ``TEST_HARNESS_DIR`` (the heartbeat goes on, as for ``hang``).

:class:`InProcessRanks` stands in for ``torchrun``: it runs one real :class:`Receiver` per
rank in this process, and a consumer thread per rank that drains the buffer like a trainer
(optionally slowly) and reports FINAL, so the coordinator's scenarios run in seconds.
"""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from pathlib import Path


from pdekit.streaming.buffers import make_buffer
from pdekit.streaming.ledger import trajectory_digest
from pdekit.streaming.receiver import Receiver
from pdekit.streaming.targets import make_target

SOLVER = textwrap.dedent('''
    import json, os, sys, time
    import numpy as np
    from pdekit.streaming import StreamClient
    sys.path.insert(0, os.environ["TEST_HARNESS_DIR"])
    from _fields import fields

    faults = json.loads(os.environ.get("TEST_FAULTS", "{}"))
    with StreamClient() as c:
        me = [c.simulation, c.attempt]
        if c.parameters.get("alpha", 0) > faults.get("crash_above", 1e9):
            sys.exit("these parameters always crash")
        for k in range(c.steps):
            if me + [k] in faults.get("kill", []):
                time.sleep(0.3)  # let the steps before it leave the socket: the test counts them
                os.kill(os.getpid(), 9)
            if me + [k] in faults.get("hang", []):
                time.sleep(3600)
            while me + [k] in faults.get("block", []) and not os.path.exists(
                    os.path.join(os.environ["TEST_HARNESS_DIR"], "release")):
                time.sleep(0.05)
            time.sleep(faults.get("sleep", 0))
            c.send(k, **fields(c.parameters, k))
''')

FIELDS = textwrap.dedent('''
    import numpy as np

    def fields(parameters, k):
        """Two fields of different dtypes and shapes, a function of the parameters and the step."""
        x = np.linspace(0.0, 1.0, 8, dtype=np.float64)
        a = float(parameters.get("alpha", 1.0))
        u = np.sin(a * np.pi * (x[:, None] + x[None, :]) + 0.1 * k).astype(np.float32)
        v = (np.arange(2 * 8 * 8, dtype=np.int16).reshape(2, 8, 8) * (k + 1))
        return {"u": u, "v": v}
''')


def write_solver(folder: Path) -> str:
    """Write the solver script and its field module into ``folder``; return its command."""
    (folder / "_fields.py").write_text(FIELDS)
    (folder / "solver.py").write_text(SOLVER)
    return f"{sys.executable} {folder / 'solver.py'}"


def expected_digest(folder: Path, parameters: dict, steps: int) -> str:
    sys.path.insert(0, str(folder))
    try:
        from _fields import fields
    finally:
        sys.path.pop(0)
    return trajectory_digest([tuple(fields(parameters, k).values()) for k in range(steps)])


class InProcessRanks:
    """Receivers and draining threads in this process, behind the trainer-handle interface."""

    def __init__(self, config, run_id: str, *, delay: float = 0.0):
        self.cfg, self.run_id, self.delay = config, run_id, delay
        self.threads: list[threading.Thread] = []
        self.receivers: list[Receiver] = []
        self.peak_used = [0] * config.ranks
        self.errors: list[BaseException] = []
        self._stop = threading.Event()

    def __call__(self, control_address: str) -> "InProcessRanks":
        cfg = self.cfg
        names = tuple(cfg.parameters)
        for r in range(cfg.ranks):
            rec = Receiver(run=self.run_id, steps=cfg.steps, budget=cfg.budget_per_rank,
                           buffer=make_buffer(cfg.buffer, cfg.budget_per_rank, watermark=cfg.watermark, seed=r),
                           target=make_target(cfg.target, steps=cfg.steps, parameter_names=names),
                           control_address=control_address, rank=r, world=cfg.ranks, host=cfg.host,
                           heartbeat=cfg.heartbeat, liveness=cfg.liveness,
                           min_samples=1 if cfg.buffer == "reservoir" else cfg.batch_size,
                           bounds=[tuple(v) for v in cfg.parameters.values()] or None)
            rec.start()
            self.receivers.append(rec)
            t = threading.Thread(target=self._drain, args=(r, rec), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def _drain(self, r: int, rec: Receiver) -> None:
        trained = 0
        try:
            while not self._stop.is_set():
                self.peak_used[r] = max(self.peak_used[r], rec.statistics()["used_bytes"])
                items = rec.take(self.cfg.batch_size)
                trained += len(items)
                if items:  # what the trainer publishes for the progress bar
                    rec.publish({"samples_per_second": 100.0, "fill": rec.buffer.bytes / rec.buffer.capacity,
                                 "blocked_fraction": 0.25})
                if not items and rec.done:
                    break
                time.sleep(self.delay if items else 0.002)
            led = rec.ledger
            stats = {"rank": r, "samples_trained": trained, "training_steps": 0, "train_seconds": 1.0,
                     "blocked_seconds": 0.0, "duplicates_dropped": led.duplicates_dropped,
                     "rejected_messages": led.rejected_messages, "abandoned_samples": led.abandoned_samples,
                     "bytes_received": int(rec.counters["bytes_received"]),
                     "accept_events": int(rec.counters["steps_accepted"])}
            coverage = {str(s): dict(c, digest=led.digest(s)) for s, c in led.coverage().items()}
            rec.send_control(b"FINAL", {"stats": stats, "coverage": coverage})
            time.sleep(0.1)
        except BaseException as exc:  # noqa: BLE001
            self.errors.append(exc)
            raise

    def poll(self):
        return 0 if self.threads and not any(t.is_alive() for t in self.threads) else None

    def kill(self):
        self._stop.set()
        for t in self.threads:
            t.join(5)

    def close(self):
        self.kill()
        for rec in self.receivers:
            rec.stop()


def run_in_process(config, *, delay: float = 0.0, launcher=None, progress=None):
    """Run a StreamRun whose trainer is :class:`InProcessRanks`; return (report, ranks, run)."""
    from pdekit.streaming import run as run_mod

    holder = {}

    class Run(run_mod.StreamRun):
        def _start_trainer(self, run_id):
            holder["ranks"] = InProcessRanks(self.config, run_id, delay=delay)
            return holder["ranks"]

    r = Run(config, launcher=launcher, progress=progress)
    try:
        report = r.run()
    finally:
        if "ranks" in holder:
            holder["ranks"].close()
    assert not holder["ranks"].errors, holder["ranks"].errors
    return report, holder["ranks"], r


def wait_for_checkpoint(run_dir: Path, *, ranks: int, finished: set[int], running: int, steps: int,
                        alive, timeout: float = 120.0) -> int:
    """Wait for a committed checkpoint set (``checkpoint.pt`` and its rank files) in which the
    simulations ``finished`` are finished and simulation ``running`` holds ``steps`` accepted
    steps; return its training step. ``alive()`` False (the run ended) fails at once."""
    from pdekit.streaming.checkpoints import load_rank_state
    from pdekit.training.checkpoint import load_checkpoint

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise AssertionError("the run ended before the awaited checkpoint was written")
        time.sleep(0.05)
        if not (Path(run_dir) / "checkpoint.pt").exists():
            continue
        try:
            step = load_checkpoint(Path(run_dir) / "checkpoint.pt")["stream"]["step"]
            ledgers = [load_rank_state(run_dir, r, step)["ledger"] for r in range(ranks)]
        except (FileNotFoundError, ValueError, KeyError, EOFError, RuntimeError):
            continue  # a newer set is being written
        done = {int(s) for led in ledgers for s in led["finished"]}
        held = [int(led["accepted"][running].sum()) for led in ledgers if running in led["accepted"]]
        if done >= finished and held == [steps]:
            return int(step)
    raise AssertionError(f"no checkpoint with simulations {sorted(finished)} finished and {steps} steps of "
                         f"simulation {running} within {timeout:.0f} s")


def read_log(run_dir: Path) -> str:
    return (Path(run_dir) / "stream.log").read_text()


def dump(report) -> str:
    return json.dumps({k: v for k, v in report.items() if k not in ("simulations", "ranks")}, indent=1)
