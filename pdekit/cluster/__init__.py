"""Batch jobs on a cluster or on this machine, through submitit: one launcher layer for pdekit.

Dataset generation (``pdekit generate --launcher slurm``) submits its shards here, and the
streaming trainer its client simulations and its trainer job. A leaf package: it imports
nothing of pdekit but the root helpers.

* :class:`JobOptions` - partition, time, cpus, memory, account, GPUs, extra ``#SBATCH`` lines.
* :class:`Launcher` - ``"slurm"`` (sbatch job arrays) or ``"local"`` (the same path on this
  machine); :meth:`~Launcher.map` submits a call per argument tuple as one job array,
  :meth:`~Launcher.submit_commands` programs (:class:`Command`) with environment variables.
* :func:`wait_for` - waits for the jobs, resubmitting those that failed, were pre-empted or
  ran out of time; :class:`JobError` when one fails for good.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "JobOptions": "options",
    "parse_time": "options",
    "Launcher": "launcher",
    "LAUNCHERS": "launcher",
    "SlurmUnavailableError": "launcher",
    "slurm_available": "launcher",
    "check_slurm": "launcher",
    "Job": "jobs",
    "Command": "jobs",
    "job_status": "jobs",
    "wait_for": "monitor",
    "JobError": "monitor",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
