"""SLURM launch through :mod:`pdekit.cluster` (submitit): client job arrays and the trainer job.

``--launcher slurm`` submits every simulation launch as a task of a job array (launches that
happen together form one array), watches the jobs through submitit, and cancels (``scancel``)
a job whose simulation must be killed. The trainer is one job of ``--ranks`` tasks spread
over nodes: each task runs ``torchrun`` for its node, rendezvousing at the job's first node
(NCCL on GPUs). Because :class:`pdekit.cluster.Launcher` runs the same pickled calls through
submitit's local executor, ``kind="local"`` exercises this path without SLURM (the tests do).

Clients and ranks must reach each other and the coordinator: on SLURM everything listens on
all interfaces and advertises its host name (``--host`` overrides what the coordinator
advertises).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from pdekit.cluster import Command, JobOptions, Launcher
from pdekit.streaming.config import StreamConfig

__all__ = ["ClusterLauncher", "job_options", "start_trainer_job", "trainer_task"]

_JOB_KEYS = ("partition", "account", "time", "cpus_per_task", "mem_gb", "gpus_per_node", "sbatch_lines", "setup")


def job_options(config: StreamConfig, *, name: str, **overrides: Any) -> JobOptions:
    """:class:`pdekit.cluster.JobOptions` from the run's ``slurm`` settings."""
    settings = {k: v for k, v in config.slurm.items() if k in _JOB_KEYS and v is not None}
    for key in ("sbatch_lines", "setup"):
        if key in settings:
            settings[key] = tuple(settings[key])
    settings.update(overrides)
    return JobOptions(name=name, **settings)


class _JobHandle:
    """A submitted simulation launch, behind the local process interface (poll, kill, tail)."""

    def __init__(self, owner: "ClusterLauncher", command: Command) -> None:
        self.owner, self.command, self.job = owner, command, None
        self.pid = None

    def poll(self) -> int | None:
        if self.job is None:
            return None
        status = self.job.status(result_grace_s=self.owner.result_grace_s)
        return {"pending": None, "running": None, "succeeded": 0, "failed": 1, "lost": 137,
                "cancelled": -9}[status]

    def kill(self) -> None:
        if self.job is None:  # not yet submitted: drop it
            self.owner._queue = [(h, c) for h, c in self.owner._queue if h is not self]
            self.job = _Cancelled()
        else:
            self.job.cancel()

    def tail(self) -> str:
        return self.job.error() if self.job is not None else ""


class _Cancelled:
    def status(self, **_):
        return "cancelled"

    def cancel(self):
        pass

    def error(self):
        return "cancelled before it was submitted"


class ClusterLauncher:
    """Launch simulations as jobs through :class:`pdekit.cluster.Launcher`.

    Parameters
    ----------
    kind : {"slurm", "local"}
        ``"local"`` runs the jobs through submitit's local executor (the SLURM code path).
    folder : path-like
        Job folder (scripts, pickles, logs); on SLURM shared with the compute nodes.
    options : JobOptions
    """

    name = "slurm"

    def __init__(self, kind: str, folder: str | os.PathLike, *, options: JobOptions,
                 result_grace_s: float = 30.0) -> None:
        self.launcher = Launcher(kind, folder, options=options,
                                 hint="use --launcher local, or the sbatch templates in examples/slurm")
        self.result_grace_s = float(result_grace_s)
        self._queue: list[tuple[_JobHandle, Command]] = []

    def launch(self, command: str | Sequence[str], *, env: Mapping[str, str], log_path=None) -> _JobHandle:
        """Queue a launch (submitted with the others of this round by :meth:`flush`)."""
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        extra = {k: v for k, v in env.items() if k.startswith(("PDEKIT_", "OMP_")) or os.environ.get(k) != v}
        handle = _JobHandle(self, Command(argv, env=extra))
        self._queue.append((handle, handle.command))
        return handle

    def flush(self) -> None:
        """Submit the queued launches as one job array."""
        if not self._queue:
            return
        queue, self._queue = self._queue, []
        jobs = self.launcher.submit_commands([c for _, c in queue], labels=[
            f"simulation {c.env.get('PDEKIT_STREAM_SIMULATION')} attempt {c.env.get('PDEKIT_STREAM_ATTEMPT')}"
            for _, c in queue])
        for (handle, _), job in zip(queue, jobs):
            handle.job = job


def trainer_task(config_path: str, control: str, run_id: str, gpus_per_node: int) -> int:
    """One task of the trainer job: ``torchrun`` for this node (run on the compute node)."""
    import subprocess

    import submitit

    env = submitit.JobEnvironment()
    head = env.hostnames[0]
    nproc = max(1, int(gpus_per_node)) if gpus_per_node else max(1, StreamConfig.load(config_path).ranks
                                                                 // max(1, env.num_nodes))
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nnodes={env.num_nodes}",
           f"--node-rank={env.node}", f"--nproc-per-node={nproc}", "--rdzv-backend=c10d",
           f"--rdzv-endpoint={head}:29517", f"--rdzv-id={run_id}",
           f"--max-restarts={StreamConfig.load(config_path).max_restarts}",
           "-m", "pdekit.streaming.rank", config_path]
    full = dict(os.environ, PDEKIT_STREAM_CONTROL=control, PDEKIT_STREAM_RUN=run_id)
    return subprocess.run(cmd, env=full, check=True).returncode


def start_trainer_job(config: StreamConfig, run_dir: str | os.PathLike, run_id: str, control: str,
                      *, kind: str = "slurm"):
    """Submit the trainer job; return a handle with ``poll``/``kill``/``tail``."""
    gpus = int(config.slurm.get("gpus_per_node") or 0)
    nodes = max(1, config.ranks // gpus) if gpus else 1
    options = job_options(config, name="pdekit-stream-trainer", nodes=nodes, tasks_per_node=1)
    launcher = Launcher(kind, Path(run_dir) / "jobs", options=options,
                        hint="use --launcher local, or examples/slurm/stream_trainer.sbatch")
    handle = _JobHandle(type("_Owner", (), {"result_grace_s": 30.0, "_queue": []})(), None)
    handle.job = launcher.submit(trainer_task, str(Path(run_dir) / "config.json"), control, run_id, gpus,
                                 label="streaming trainer")
    return handle
