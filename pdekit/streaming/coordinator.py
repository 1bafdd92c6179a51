"""The coordinator: draws parameters, launches simulations, watches them, relaunches, redraws.

It runs in the ``pdekit stream`` process and owns the control channel
(:mod:`pdekit.streaming.control`). Its loop:

* **launch** pending simulations (validation ensemble first) while fewer than ``--clients``
  run: announce each launch to the rank that owns the simulation (``simulation % ranks``) and
  start the process only once the rank has confirmed it, so the rank can fence every other
  attempt;
* **watch** them: a process that exits without its rank reporting FINISHED, a rank's report
  that it failed or went silent (no heartbeat), or ``--timeout`` seconds without a new time
  step (re-sent steps that are new to the attempt count; heartbeats do not) end the attempt:
  the process group is killed and the simulation relaunched; after ``--max-crashes`` failed
  attempts its parameters are redrawn (the rank evicts the abandoned draw), and after
  ``--max-redraws`` redraws it fails for good;
* **trainer restarts**: when the ranks register again after ``torchrun`` restarted them from
  their last checkpoint, a new *generation* starts: every running client is killed (its
  generation is fenced off), and every simulation the restored ledgers do not show as
  finished is relaunched (re-sending from step 0; what the checkpoint holds is dropped as
  duplicates);
* when every simulation is final it tells the ranks the stream has ended, collects their
  totals, and returns them for ``report.json``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import zmq

from pdekit._progress import as_progress
from pdekit.streaming import control
from pdekit.streaming.config import StreamConfig
from pdekit.streaming.launchers import describe_exit
from pdekit.streaming.records import SimulationRecord
from pdekit.streaming.receiver import advertised_host, bind_address

__all__ = ["Coordinator", "RunAborted"]

log = logging.getLogger("pdekit.streaming")
_REGISTER_TIMEOUT = 600.0


class RunAborted(RuntimeError):
    """The run cannot go on (a rank's fatal error, or the trainer gave up)."""


class Coordinator:
    """Run the ensemble of one streaming run.

    Parameters
    ----------
    config : StreamConfig
    run_id : str
    run_dir : path-like
        The run folder (client logs of failed attempts go to ``clients/``).
    launcher : object with ``launch(command, env=, log_path=)``
        Starts simulations (:class:`~pdekit.streaming.launchers.LocalLauncher`, or SLURM).
    start_trainer : callable
        ``start_trainer(control_address) -> handle`` with ``poll()`` and ``kill()``: starts the
        ranks (torchrun), which connect to ``control_address``.
    generation : int
        The generation of the first trainer start (the run folder keeps the count).
    on_generation : callable, optional
        Called with each new generation number (to persist it).
    progress : progress object, optional
    """

    def __init__(self, config: StreamConfig, *, run_id: str, run_dir: str | os.PathLike,
                 launcher, start_trainer: Callable[[str], Any], generation: int = 1,
                 on_generation: Callable[[int], None] | None = None, progress=None) -> None:
        self.cfg = config
        self.run_id = run_id
        self.run_dir = Path(run_dir)
        self.launcher = launcher
        self.start_trainer = start_trainer
        self.generation = int(generation)
        self.on_generation = on_generation
        self.progress = as_progress(progress)
        self.space = config.parameter_space()
        self.records: dict[int, SimulationRecord] = {}
        n = config.simulations
        for s in range(n):
            self.records[s] = SimulationRecord(s, "train", 0, self.space.draw(s, 0))
        for v in range(config.validation):
            self.records[n + v] = SimulationRecord(n + v, "validation", 0, self.space.draw(v, 0, role="validation"))
        self.ranks: dict[int, dict[str, Any]] = {}   # rank -> {"ident", "address", "restart"}
        self.restart = -1
        self.schema: list | None = None
        self.finals: dict[int, dict[str, Any]] = {}
        self.trainer = None
        self.rank_stats: dict[int, dict[str, Any]] = {}
        self._end_sent = False
        self._validation_sent = False
        self._fatal: str | None = None
        self._ctx = zmq.Context()
        self.control = self._ctx.socket(zmq.ROUTER)
        self.control.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.control.setsockopt(zmq.LINGER, 0)
        bound = bind_address(self.control, config.host, 0)
        self.control_address = f"tcp://{advertised_host(config.host)}:{bound.rsplit(':', 1)[1]}"
        (self.run_dir / "clients").mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ main loop
    def run(self) -> dict[int, dict[str, Any]]:
        """Run every simulation to a final status and the trainer to its end; return the ranks'
        FINAL messages."""
        self.trainer = self.start_trainer(self.control_address)
        started = time.monotonic()
        n_final = sum(r.final for r in self.records.values() if r.role == "train")
        self.progress.start(self.cfg.simulations, "simulations")
        try:
            while True:
                self._drain_control(timeout_ms=20)
                if self._fatal:
                    raise RunAborted(self._fatal)
                code = self.trainer.poll()
                if code is not None:
                    if len(self.finals) == self.cfg.ranks:
                        break
                    raise RunAborted(self._trainer_failure(code))
                if len(self.ranks) < self.cfg.ranks:
                    if time.monotonic() - started > _REGISTER_TIMEOUT:
                        raise RunAborted(f"the trainer ranks did not start within {_REGISTER_TIMEOUT:.0f} s; "
                                         f"see {self.run_dir / 'trainer.log'}")
                    continue
                self._watch(time.monotonic())
                self._launch()
                if hasattr(self.launcher, "flush"):
                    self.launcher.flush()
                self._maybe_end()
                done = sum(r.final for r in self.records.values() if r.role == "train")
                if done > n_final:
                    self.progress.update(done - n_final, **self._postfix())
                    n_final = done
        finally:
            self.progress.close()
            self._kill_all()
        return self.finals

    def close(self) -> None:
        self.control.close()
        self._ctx.term()

    def _postfix(self) -> dict[str, str]:
        stats = list(self.rank_stats.values())
        if not stats:
            return {}
        rate = sum(s.get("samples_per_second", 0.0) for s in stats)
        fill = sum(s.get("fill", 0.0) for s in stats) / len(stats)
        blocked = sum(s.get("blocked_fraction", 0.0) for s in stats) / len(stats)
        return {"samples/s": f"{rate:.0f}", "buffer": f"{100 * fill:.0f}%", "blocked": f"{100 * blocked:.0f}%"}

    def _trainer_failure(self, code: int) -> str:
        tail = self.trainer.tail() if hasattr(self.trainer, "tail") else ""
        return (f"the trainer stopped ({describe_exit(code)}) before the run ended"
                + (f"; its log ends with: {tail}" if tail else f"; see {self.run_dir / 'trainer.log'}"))

    # ------------------------------------------------------------------ control messages
    def _send(self, rank: int, kind: bytes, body: Mapping[str, Any]) -> None:
        self.control.send_multipart([control.rank_identity(rank), *control.pack(kind, dict(body))])

    def _broadcast(self, kind: bytes, body: Mapping[str, Any]) -> None:
        for r in self.ranks:
            self._send(r, kind, body)

    def _drain_control(self, timeout_ms: int) -> None:
        if not self.control.poll(timeout_ms):
            return
        while True:
            try:
                ident, kind, body = self.control.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            kind, body = control.unpack([kind, body], control.RANK_KINDS)
            getattr(self, f"_on_{kind.decode().lower()}")(body)

    def _on_register(self, body: dict[str, Any]) -> None:
        rank, restart = int(body["rank"]), int(body["restart"])
        if restart > self.restart:
            if self.restart >= 0:  # torchrun restarted the ranks: a new generation
                self.generation += 1
                log.warning("trainer restart %d: generation %d begins; running simulations are "
                            "relaunched", restart, self.generation)
                self._kill_running()
            if self.on_generation is not None:
                self.on_generation(self.generation)
            self.restart, self.ranks = restart, {}
            self._end_sent = self._validation_sent = False
            self._coverage: dict[int, dict[str, Any]] = {}
            self.finals = {}
        self.ranks[rank] = {"address": body["address"], "pid": body.get("pid")}
        self._coverage.update({int(k): v for k, v in body["coverage"].items()})
        if body.get("schema") and self.schema is None:
            self.schema = body["schema"]
        self._send(rank, b"WELCOME", {"generation": self.generation})
        if self.schema is not None:
            self._send(rank, b"SCHEMA", {"fields": self.schema})
        if len(self.ranks) == self.cfg.ranks:
            self._reconcile()

    def _reconcile(self) -> None:
        """After the ranks (re)started: trust only what their restored ledgers hold."""
        for sim, rec in self.records.items():
            cov = self._coverage.get(sim)
            covered = cov is not None and cov["finished"] and cov["draw"] == rec.draw
            if rec.status == "failed":
                self._send(sim % self.cfg.ranks, b"DROP", {"simulation": sim})
            elif covered:
                rec.status = "finished"
            elif rec.status in ("finished", "assigning", "running"):
                if rec.status == "assigning":
                    rec.attempts -= 1  # announced to a rank that died: never launched
                rec.status = "pending"
            if not rec.final and self.restart > 0:
                rec.crashes = 0  # its clients may have died with the old ranks: a fresh start
        log.info("generation %d: %d ranks up; %d simulations finished per their checkpoints",
                 self.generation, len(self.ranks), sum(r.status == "finished" for r in self.records.values()))

    def _on_assigned(self, body: dict[str, Any]) -> None:
        rec = self.records.get(int(body["simulation"]))
        if rec is None or rec.status != "assigning" or (body["draw"], body["attempt"]) != (rec.draw, rec.attempts):
            return
        rec.process = self.launcher.launch(self._command(), env=self._environment(rec),
                                           log_path=self._log_path(rec))
        rec.status = "running"
        rec.launched_at = rec.last_progress = time.monotonic()
        rec.max_step, rec.exited_clean_at = -1, None
        log.info("simulation %d draw %d attempt %d launched (pid %s) with %s", rec.simulation, rec.draw,
                 rec.attempts, getattr(rec.process, "pid", "?"), json.dumps(rec.parameters))

    def _on_schema(self, body: dict[str, Any]) -> None:
        if self.schema is None:
            self.schema = body["fields"]
            log.info("the run's fields (from its first time step): %s", json.dumps(self.schema))
            self._broadcast(b"SCHEMA", {"fields": self.schema})

    def _on_events(self, body: dict[str, Any]) -> None:
        now = time.monotonic()
        for line in body.get("log", []):
            log.info("%s", line)
        for sim, step in body.get("progress", {}).items():
            rec = self.records.get(int(sim))
            if rec is not None and rec.status == "running" and step > rec.max_step:
                rec.max_step, rec.last_progress = step, now
        for ev in body.get("finished", []):
            rec = self._current(ev)
            if rec is not None:
                rec.status, rec.digest = "finished", ev.get("digest")
                rec.blocked_seconds = ev.get("blocked_seconds")
                log.info("simulation %d finished (draw %d, attempt %d)", rec.simulation, rec.draw, rec.attempts)
                self._retire(rec, keep_log=False)
        for ev in body.get("failed", []):
            rec = self._current(ev)
            if rec is not None:
                self._crash(rec, ev["reason"], final=bool(ev.get("final")))
        for ev in body.get("lost", []):
            rec = self._current(ev)
            if rec is not None:
                self._crash(rec, f"no heartbeat for {ev.get('silence', 0):.3g} s")
        if body.get("stats"):
            self.rank_stats[int(body["stats"].get("rank", 0))] = body["stats"]

    def _on_final(self, body: dict[str, Any]) -> None:
        self.finals[int(body["stats"]["rank"])] = body

    def _on_fatal(self, body: dict[str, Any]) -> None:
        self._fatal = body["reason"]

    def _current(self, ev: Mapping[str, Any]) -> SimulationRecord | None:
        rec = self.records.get(int(ev["simulation"]))
        if rec is None or rec.final or (ev.get("draw"), ev.get("attempt")) != (rec.draw, rec.attempts):
            return None
        return rec

    # ------------------------------------------------------------------ simulations
    def _command(self):
        if self.cfg.command is not None:
            return self.cfg.command
        import sys

        return [sys.executable, "-m", "pdekit.streaming.problem_client"]

    def _environment(self, rec: SimulationRecord) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PDEKIT_STREAM_ADDRESS": self.ranks[rec.simulation % self.cfg.ranks]["address"],
            "PDEKIT_STREAM_RUN": self.run_id, "PDEKIT_STREAM_GENERATION": str(self.generation),
            "PDEKIT_STREAM_SIMULATION": str(rec.simulation), "PDEKIT_STREAM_DRAW": str(rec.draw),
            "PDEKIT_STREAM_ATTEMPT": str(rec.attempts), "PDEKIT_STREAM_STEPS": str(self.cfg.steps),
            "PDEKIT_STREAM_PARAMETERS": json.dumps(rec.parameters),
            "PDEKIT_STREAM_HEARTBEAT": str(self.cfg.heartbeat),
            "PDEKIT_STREAM_LIVENESS": str(self.cfg.liveness),
        })
        if self.cfg.pde is not None:
            env["PDEKIT_STREAM_PROBLEM"] = json.dumps({"pde": self.cfg.pde, "resolution": self.cfg.resolution,
                                                       "steps": self.cfg.steps})
            env.setdefault("OMP_NUM_THREADS", "1")
        return env

    def _log_path(self, rec: SimulationRecord) -> Path:
        return self.run_dir / "clients" / f"{rec.simulation}.{rec.attempts}.log"

    def _launch(self) -> None:
        busy = sum(r.active for r in self.records.values())
        if busy >= self.cfg.clients:
            return
        pending = sorted((r for r in self.records.values() if r.status == "pending"),
                         key=lambda r: (r.role != "validation", r.simulation))
        for rec in pending[: self.cfg.clients - busy]:
            rec.attempts += 1
            rec.status = "assigning"
            self._send(rec.simulation % self.cfg.ranks, b"ASSIGN", {"assignment": {
                "simulation": rec.simulation, "draw": rec.draw, "attempt": rec.attempts,
                "role": rec.role, "parameters": rec.parameters}})

    def _watch(self, now: float) -> None:
        grace = max(2.0, 2 * self.cfg.heartbeat)
        for rec in self.records.values():
            if rec.status != "running":
                continue
            code = rec.process.poll()
            if code is not None and code != 0:
                self._crash(rec, describe_exit(code) + self._tail(rec))
            elif code == 0:  # its FINISHED report may still be on the way
                rec.exited_clean_at = rec.exited_clean_at or now
                if now - rec.exited_clean_at > grace:
                    self._crash(rec, "exited with code 0 without finishing (leave the StreamClient block "
                                     "normally after the last step)")
            elif self.cfg.timeout is not None and now - rec.last_progress > self.cfg.timeout:
                self._crash(rec, f"no new time step for {self.cfg.timeout:g} s (timeout); killed")

    def _tail(self, rec: SimulationRecord) -> str:
        tail = rec.process.tail() if hasattr(rec.process, "tail") else ""
        return f"; its output ends with: {tail}" if tail else ""

    def _crash(self, rec: SimulationRecord, reason: str, *, final: bool = False) -> None:
        self._retire(rec, keep_log=True)
        rec.crashes += 1
        rec.reasons.append(f"attempt {rec.attempts}: {reason}")
        log.warning("simulation %d draw %d attempt %d failed: %s", rec.simulation, rec.draw, rec.attempts, reason)
        if final:
            self._fail(rec, "its time steps do not match the run (not retried)")
        elif rec.crashes < self.cfg.max_crashes:
            rec.status = "pending"
        elif len(rec.history) < self.cfg.max_redraws:
            new_draw = rec.draw + 1
            params = self.space.draw(rec.simulation if rec.role == "train" else rec.simulation - self.cfg.simulations,
                                     new_draw, role=rec.role)
            log.warning("simulation %d: %d failed attempts with %s; parameters redrawn (draw %d): %s",
                        rec.simulation, rec.crashes, json.dumps(rec.parameters), new_draw, json.dumps(params))
            rec.redraw(new_draw, params)
            rec.status = "pending"
        else:
            self._fail(rec, f"{rec.crashes} failed attempts after {len(rec.history)} redraws")

    def _fail(self, rec: SimulationRecord, why: str) -> None:
        rec.status = "failed"
        rec.reasons.append(why)
        log.error("simulation %d failed for good: %s", rec.simulation, why)
        self._send(rec.simulation % self.cfg.ranks, b"DROP", {"simulation": rec.simulation})

    def _retire(self, rec: SimulationRecord, *, keep_log: bool) -> None:
        """End the current launch (kill its process group if it still runs)."""
        if rec.process is not None:
            if rec.process.poll() is None:
                rec.process.kill()
            if not keep_log:
                try:
                    self._log_path(rec).unlink()
                except FileNotFoundError:
                    pass
            rec.process = None

    def _kill_running(self) -> None:
        for rec in self.records.values():
            if rec.active:
                self._retire(rec, keep_log=True)
                rec.status = "pending"

    def _kill_all(self) -> None:
        for rec in self.records.values():
            if rec.process is not None and rec.process.poll() is None:
                rec.process.kill()
        if self.trainer is not None and self.trainer.poll() is None:
            if self._fatal or len(self.finals) < self.cfg.ranks:
                self.trainer.kill()
            else:  # the ranks are saving and exiting
                deadline = time.monotonic() + 120
                while self.trainer.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if self.trainer.poll() is None:
                    self.trainer.kill()

    def _maybe_end(self) -> None:
        val = [r for r in self.records.values() if r.role == "validation"]
        if not self._validation_sent and all(r.final for r in val):
            self._validation_sent = True
            self._broadcast(b"VALIDATION", {})
        if not self._end_sent and all(r.final for r in self.records.values()):
            self._end_sent = True
            log.info("every simulation is final; the stream ends")
            self._broadcast(b"END", {})
