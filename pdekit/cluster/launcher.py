"""Submit calls and commands as batch jobs: SLURM job arrays, or the same path on this machine.

pdekit runs batch work on an existing engine, ``submitit``: ``Launcher("slurm", folder)``
writes ``sbatch`` scripts (one job array per :meth:`Launcher.map`), ``Launcher("local",
folder)`` runs the very same pickled calls as processes of this machine through submitit's
local executor (what the tests exercise). Both keep each job's pickled call, result and
logs in ``folder``, which for SLURM must be on a file system the compute nodes share.

Examples
--------
>>> import math
>>> from pdekit.cluster import Launcher, JobOptions, wait_for
>>> launcher = Launcher("local", "jobs", options=JobOptions(time="0:30"))   # doctest: +SKIP
>>> jobs = launcher.map(math.factorial, [(4,), (5,)], labels=["4!", "5!"])  # doctest: +SKIP
>>> wait_for(jobs)                                                          # doctest: +SKIP
[24, 120]
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from pdekit.cluster.jobs import Job, _Call, _ResumableCall
from pdekit.cluster.options import JobOptions

__all__ = ["Launcher", "LAUNCHERS", "SlurmUnavailableError", "slurm_available", "check_slurm"]

#: the launchers a user can name
LAUNCHERS = ("local", "slurm")

_SLURM_TOOLS = ("sbatch", "srun", "sacct", "scancel")


class SlurmUnavailableError(RuntimeError):
    """SLURM cannot be reached from this machine (no ``sbatch``, or it refuses to submit)."""


def slurm_available() -> bool:
    """Whether the SLURM commands submitit needs (sbatch, srun, sacct, scancel) are on PATH."""
    return all(shutil.which(tool) for tool in _SLURM_TOOLS)


def check_slurm(*, hint: str = "use the local launcher instead") -> None:
    """Raise :class:`SlurmUnavailableError` unless SLURM's commands are on PATH.

    Parameters
    ----------
    hint : str
        What the user can do instead (each caller knows its own alternatives).
    """
    missing = [tool for tool in _SLURM_TOOLS if shutil.which(tool) is None]
    if missing:
        raise SlurmUnavailableError(
            f"SLURM is not reachable from this machine: {', '.join(missing)} not found on PATH "
            f"(run this on a cluster's login node, or load its slurm module); {hint}"
        )


class Launcher:
    """Submits calls as batch jobs through submitit, and resubmits them when asked.

    Parameters
    ----------
    kind : {"local", "slurm"}
        ``"slurm"``: ``sbatch`` job arrays; ``"local"``: submitit's local executor (the same
        pickled calls, run as processes of this machine).
    folder : path-like
        Where job scripts, pickled calls, results and logs go (created if missing). For
        SLURM it must be on a file system shared with the compute nodes.
    options : JobOptions
        Default resources of each job (each submission may override them).
    python : str, optional
        The interpreter that runs the jobs (default: this one, ``sys.executable``).
    hint : str
        For SLURM: what to do instead when it is not reachable (part of the error).

    Raises
    ------
    SlurmUnavailableError
        ``kind="slurm"`` on a machine without SLURM.
    """

    def __init__(self, kind: str, folder: str | os.PathLike, *, options: JobOptions | None = None,
                 python: str | None = None, hint: str = "use the local launcher instead") -> None:
        if kind not in LAUNCHERS:
            raise ValueError(f"unknown launcher {kind!r}; expected one of {list(LAUNCHERS)}")
        options = JobOptions() if options is None else options
        if not isinstance(options, JobOptions):
            raise TypeError(f"options must be a JobOptions; got {type(options).__name__}")
        if kind == "slurm":
            check_slurm(hint=hint)
        self.kind = kind
        self.folder = Path(folder).absolute()
        self.options = options
        self.python = python
        self.hint = hint
        self._parameters(options)  # the defaults must fit this launcher
        self.folder.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"Launcher({self.kind!r}, {str(self.folder)!r})"

    # -- submission -------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, options: JobOptions | None = None,
               label: str | None = None, resumable: bool = False, **kwargs: Any) -> Job:
        """Submit ``fn(*args, **kwargs)`` as one job.

        Parameters
        ----------
        fn : callable
            Importable function (or a :class:`~pdekit.cluster.Command`); it and its arguments
            are pickled (cloudpickle) into the job folder.
        options : JobOptions, optional
            Resources of this job (default: the launcher's).
        label : str, optional
            Name used in messages (default: the function's name).
        resumable : bool
            The call continues where it stopped when run again (for instance it skips the
            work it finds on disk): a pre-empted or timed-out job is then requeued by
            submitit, and :func:`~pdekit.cluster.wait_for` may resubmit it after a failure.
        """
        return self.map(fn, [args], options=options, labels=[label] if label else None,
                        resumable=resumable, kwargs=kwargs)[0]

    def map(self, fn: Callable[..., Any], arguments: Iterable[Sequence[Any]], *,
            options: JobOptions | None = None, labels: Sequence[str] | None = None,
            resumable: bool = False, kwargs: dict | None = None) -> list[Job]:
        """Submit ``fn(*args)`` for each ``args`` in ``arguments`` as one job array.

        Returns the jobs in the order of ``arguments``. See :meth:`submit` for the options.
        """
        arguments = [tuple(a) for a in arguments]
        if not arguments:
            raise ValueError("nothing to submit: arguments is empty")
        if labels is not None and len(labels) != len(arguments):
            raise ValueError(f"got {len(labels)} labels for {len(arguments)} jobs")
        if not callable(fn):
            raise TypeError(f"fn must be callable; got {type(fn).__name__}")
        options = self.options if options is None else options
        kind = _ResumableCall if resumable else _Call
        name = getattr(fn, "__name__", type(fn).__name__)
        jobs = [Job(self, kind(fn, args, kwargs or {}), options,
                    labels[i] if labels is not None else f"{name} {i}")
                for i, args in enumerate(arguments)]
        self._submit(jobs)
        return jobs

    def submit_commands(self, commands: Sequence, *, options: JobOptions | None = None,
                        labels: Sequence[str] | None = None, resumable: bool = False) -> list[Job]:
        """Submit each :class:`~pdekit.cluster.Command` as one task of a job array."""
        commands = list(commands)
        if not commands:
            raise ValueError("nothing to submit: commands is empty")
        return self.map(_run_command, [(c,) for c in commands], options=options,
                        labels=labels or [repr(c) for c in commands], resumable=resumable)

    def resubmit(self, job: Job) -> None:
        """Submit the call of ``job`` again (a new attempt, as a single job)."""
        self._submit([job])

    # -- submitit ---------------------------------------------------------------------------
    def _parameters(self, options: JobOptions) -> dict:
        return options.slurm_parameters() if self.kind == "slurm" else options.local_parameters()

    def _executor(self, options: JobOptions):
        import submitit

        if self.kind == "slurm":
            try:
                executor = submitit.SlurmExecutor(self.folder, python=self.python)
            except RuntimeError as exc:  # submitit found no srun after all
                raise SlurmUnavailableError(f"SLURM is not reachable: {exc}; {self.hint}") from None
        else:
            executor = submitit.LocalExecutor(self.folder, python=self.python)
            executor._throttling = 0.0  # submitit spaces submissions by 0.2 s to spare a scheduler
        executor.update_parameters(**self._parameters(options))
        return executor

    def _submit(self, jobs: list[Job]) -> None:
        groups: dict[int, list[Job]] = {}
        for job in jobs:  # one array per set of options
            groups.setdefault(id(job.options), []).append(job)
        for group in groups.values():
            executor = self._executor(group[0].options)
            try:
                if len(group) == 1:
                    submitted = [executor.submit(group[0].call)]
                else:
                    submitted = executor.submit_array([job.call for job in group])
            except SlurmUnavailableError:
                raise
            except Exception as exc:  # noqa: BLE001 - sbatch refused: say so plainly
                if self.kind != "slurm":
                    raise
                text = str(exc).strip().splitlines()
                raise SlurmUnavailableError(
                    f"sbatch refused the job ({text[-1] if text else type(exc).__name__}); {self.hint}"
                ) from None
            for job, sj in zip(group, submitted):
                job._attach(sj)


def _run_command(command) -> int:
    return command()
