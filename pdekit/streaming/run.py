"""``stream(config)``: one streaming run, from an empty (or resumable) run folder to report.json.

The run folder holds ``config.json`` (the settings), ``run.json`` (the run id),
``generation`` (trainer starts so far), ``stream.log`` (the coordinator's log: launches,
crashes, rejected messages with their reasons), ``trainer.log`` (the ranks' output),
``clients/`` (output of failed simulation attempts), ``checkpoint.pt`` and ``checkpoints/``,
``metrics.jsonl``, and at the end ``model.pt`` and ``report.json``.

A folder that holds another run is refused; the same settings (up to operational ones such
as ``--clients`` or ``--timeout``) resume it from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

from pdekit._atomic import atomic_path
from pdekit.streaming.config import StreamConfig
from pdekit.streaming.coordinator import Coordinator
from pdekit.streaming.launchers import LocalLauncher, LocalProcess, torchrun_command
from pdekit.streaming.records import build_report

__all__ = ["StreamRun", "stream", "prepare_run_folder"]

RUN_FORMAT = "pdekit-stream-run-1"
_OWN = {"config.json", "run.json", "generation", "stream.log", "trainer.log", "clients", "checkpoint.pt",
        "checkpoints", "metrics.jsonl", "model.pt", "report.json", "jobs"}


def _write_json(path: Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def prepare_run_folder(config: StreamConfig) -> tuple[str, bool]:
    """Create or check the run folder; return ``(run_id, resumed)``.

    Raises
    ------
    FileExistsError
        The folder holds another run (settings that differ), or files that are not a run's.
    """
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {str(out)!r} is a file; give a folder for the run")
    cfg_path, run_path = out / "config.json", out / "run.json"
    if cfg_path.is_file():
        try:
            old = StreamConfig.load(cfg_path)
            run_id = json.loads(run_path.read_text(encoding="utf-8"))["run"]
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise FileExistsError(f"{str(out)!r} holds a run folder that cannot be read ({exc}); "
                                  f"choose another --out") from None
        diff = config.difference(old)
        if diff:
            raise FileExistsError(f"{str(out)!r} already holds another run (its settings differ: "
                                  f"{'; '.join(diff[:4])}); resume it with the same settings or choose "
                                  f"another --out")
        config.save(cfg_path)  # operational settings may have changed
        return run_id, True
    if out.is_dir() and any(p.name not in _OWN for p in out.iterdir()):
        raise FileExistsError(f"--out {str(out)!r} is a folder with other files in it; give a new or "
                              f"empty folder for the run")
    out.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex
    _write_json(run_path, {"format": RUN_FORMAT, "run": run_id})
    config.save(cfg_path)
    return run_id, False


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[logging.Logger]:
    logger = logging.getLogger("pdekit.streaming")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
        handler.close()


class StreamRun:
    """A streaming run (see the module docstring); :meth:`run` returns the report.

    Parameters
    ----------
    config : StreamConfig
    progress : progress object, optional
        Told about finished simulations, with samples/s, buffer fill and blocked % (the CLI
        passes a progress bar).
    launcher : optional
        Starts simulations (default: local process groups; ``config.launcher == "slurm"``
        uses :mod:`pdekit.cluster`).
    """

    def __init__(self, config: StreamConfig, *, progress=None, launcher=None) -> None:
        self.config = config
        self.progress = progress
        self.launcher = launcher
        self.out = Path(config.out)
        self.coordinator: Coordinator | None = None
        self.report: dict[str, Any] | None = None

    def _generation_path(self) -> Path:
        return self.out / "generation"

    def _next_generation(self) -> int:
        path = self._generation_path()
        previous = int(path.read_text().strip()) if path.is_file() else 0
        return previous + 1

    def _save_generation(self, generation: int) -> None:
        with atomic_path(self._generation_path()) as tmp:
            tmp.write_text(f"{int(generation)}\n")

    def _start_trainer(self, run_id: str):
        cfg = self.config

        def start(control_address: str):
            if cfg.launcher == "slurm":
                from pdekit.streaming.slurm import start_trainer_job

                return start_trainer_job(cfg, self.out, run_id, control_address)
            env = dict(os.environ, PDEKIT_STREAM_CONTROL=control_address, PDEKIT_STREAM_RUN=run_id)
            env.setdefault("OMP_NUM_THREADS", "1")
            cmd = torchrun_command(cfg.ranks, cfg.max_restarts, self.out / "config.json")
            return LocalProcess(cmd, env=env, log_path=self.out / "trainer.log")

        return start

    def _make_launcher(self):
        if self.launcher is not None:
            return self.launcher
        if self.config.launcher == "slurm":
            from pdekit.streaming.slurm import ClusterLauncher, job_options

            return ClusterLauncher("slurm", self.out / "jobs",
                                   options=job_options(self.config, name="pdekit-stream-client"))
        return LocalLauncher()

    def run(self) -> dict[str, Any]:
        """Run (or resume) the ensemble and the training; write and return ``report.json``."""
        cfg = self.config
        run_id, resumed = prepare_run_folder(cfg)
        report_path = self.out / "report.json"
        if resumed and report_path.is_file():
            self.report = json.loads(report_path.read_text(encoding="utf-8"))
            return self.report
        t0 = time.monotonic()
        with _log_to(self.out / "stream.log") as log:
            log.info("run %s %s: %s", run_id, "resumed" if resumed else "started", json.dumps(cfg.as_json()))
            coord = Coordinator(cfg, run_id=run_id, run_dir=self.out, launcher=self._make_launcher(),
                                start_trainer=self._start_trainer(run_id), generation=self._next_generation(),
                                on_generation=self._save_generation, progress=self.progress)
            self.coordinator = coord
            try:
                finals = coord.run()
            finally:
                coord.close()
            report = build_report(run=run_id, steps=cfg.steps, records=coord.records.values(), finals=finals,
                                  generation=coord.generation, wall_seconds=time.monotonic() - t0,
                                  extra={"validation_l2": finals.get(0, {}).get("stats", {}).get("validation_l2"),
                                         "model": str(self.out / "model.pt") if (self.out / "model.pt").is_file()
                                         else None})
            _write_json(report_path, report)
            log.info("run %s done: %d of %d samples accepted", run_id, report["accepted_samples"],
                     report["expected_samples"])
        self.report = report
        if report["finished_simulations"] == 0:
            reasons = [r for s in report["simulations"] for r in s["reasons"]]
            raise RuntimeError("no simulation finished, so nothing was learned"
                               + (f"; the first failure: {reasons[0]}" if reasons else "")
                               + f" (details in {self.out / 'stream.log'} and {self.out / 'clients'})")
        return report


def stream(config: StreamConfig | dict, *, progress=None) -> dict[str, Any]:
    """Run a streaming ensemble and train on it; return the report (also ``RUN/report.json``).

    Parameters
    ----------
    config : StreamConfig or dict
        The settings (a dict is validated by :meth:`StreamConfig.from_mapping`).
    progress : progress object, optional
    """
    if not isinstance(config, StreamConfig):
        config = StreamConfig.from_mapping(config)
    return StreamRun(config, progress=progress).run()
