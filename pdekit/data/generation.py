"""Parallel, resumable, reproducible generation of a dataset file, on one machine or a cluster.

:func:`generate` solves ``n`` random instances of a registered problem and writes them into
one HDF5 file of the layout of :mod:`pdekit.data.layout`.

* **Reproducible.** Sample ``i`` draws all its randomness from
  ``default_rng(SeedSequence(seed).spawn(n)[i])`` (see :func:`~pdekit.data.layout.sample_seeds`),
  so it does not depend on the other samples, on the number of workers or shards, or on
  interruptions; files are rewritten whole in sample order without time stamps, so the
  same run gives the same bytes.
* **Resumable and kill-safe.** Finished samples go to part files beside the target
  (:mod:`pdekit.data.journal`); the target is rebuilt from the previous file plus the parts
  and published by an atomic rename (:mod:`pdekit.data.publish`). The ``.h5`` on disk is
  always a complete, readable file with a ``/completed`` mask, and running the same call
  again completes the missing samples only. A call with other settings is refused; a call
  with a larger ``n`` extends the dataset (sample ``i`` is the same whatever ``n``).
* **Sharded.** ``shard="K/N"`` solves only the samples ``i % N == K`` into part files
  (:mod:`pdekit.data.shards`); shards run at once on any number of nodes sharing a file
  system, and a later call without ``shard`` merges them (solving whatever is still missing):
  the file is byte-identical to one uninterrupted ``workers=0`` run. ``launcher="slurm"``
  or ``"local"`` with ``jobs=N`` submits the N shards as a job array and merges at the end
  (:mod:`pdekit.data.launch`).
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pdekit._progress import ProgressLike, as_progress
from pdekit.data.journal import Journal
from pdekit.data.layout import sample_seeds
from pdekit.data.locks import DatasetLocks
from pdekit.data.plan import GenerationPlan, check_int, check_resume, adopt_target, plan_generation
from pdekit.data.problems import Problem
from pdekit.data.publish import Publisher
from pdekit.data.reading import read_info
from pdekit.data.shards import Shard, write_shard_status
from pdekit.data.solving import solve_parts

__all__ = ["generate", "GenerationReport", "run_here"]

@dataclasses.dataclass(frozen=True)
class GenerationReport:
    """What a call of :func:`generate` did.

    Attributes
    ----------
    path : Path
        The dataset file.
    pde : str
    n : int
        Samples in the dataset.
    n_completed : int
        Samples done now: in the file, or (after a shard run) waiting in part files.
    n_generated : int
        Samples solved by this call (the others were found done).
    seconds : float
        Wall-clock time of the call.
    shard : str or None
        ``"K/N"`` for a shard run (which does not merge).
    n_assigned : int
        Samples this call was responsible for (``n``, or the shard's).
    n_discarded : int
        Corrupt part files found, deleted and solved again.
    """

    path: Path
    pde: str
    n: int
    n_completed: int
    n_generated: int
    seconds: float
    shard: str | None = None
    n_assigned: int = 0
    n_discarded: int = 0

    @property
    def samples_per_second(self) -> float:
        """Samples solved per second of wall-clock time (0 when none were solved)."""
        return self.n_generated / self.seconds if self.n_generated and self.seconds > 0 else 0.0


def generate(pde: str | Problem, path: str | os.PathLike, *, n: int, resolution: int, seed: int,
             workers: int | None = None, shard: str | Shard | tuple[int, int] | None = None,
             launcher: str | None = None, jobs: int | None = None, job_options=None,
             max_resubmits: int = 2, progress: ProgressLike = None,
             **params: Any) -> GenerationReport:
    """Generate (or complete, or extend) a dataset of ``n`` solved random instances of a problem.

    Parameters
    ----------
    pde : str or Problem
        Registered problem name (see :func:`pdekit.data.list_problems`), or a Problem.
    path : path-like
        The HDF5 file to write. If it exists, it must come from the same settings: the
        missing samples are completed (and ``n`` may grow); anything else is refused.
    n : int
        Number of samples (at most :data:`MAX_SAMPLES`).
    resolution : int
        Grid resolution passed to the problem.
    seed : int
        Base seed; sample ``i`` uses ``default_rng(sample_seeds(seed, n)[i])``.
    workers : int, optional
        Worker processes (default 1); 0 solves in this process (same results). With a
        launcher: the worker processes of each job (default: each job solves in its own
        process, or in ``cpus_per_task`` workers when ``job_options`` gives it several CPUs).
    shard : str or (int, int), optional
        ``"K/N"``: solve only shard K of N (the samples ``i % N == K``) into part files,
        without merging; shards may run at once. A later call without ``shard`` merges.
    launcher : {"local", "slurm"}, optional
        Submit ``jobs`` shards as a job array through :mod:`pdekit.cluster` (``"local"``:
        processes of this machine), wait for them (resubmitting failed, pre-empted or
        timed-out shards up to ``max_resubmits`` times) and merge.
    jobs : int, optional
        Number of shards (jobs) with a launcher.
    job_options : pdekit.cluster.JobOptions, optional
        Partition, time, CPUs, memory, account, extra sbatch lines of each job.
    max_resubmits : int
        With a launcher: resubmissions allowed per shard.
    progress : bool, tqdm-like or Progress, optional
        ``True`` for a tqdm bar, or a bar of yours (see :mod:`pdekit._progress`); with a
        launcher, one bar over all shards.
    **params
        Problem parameters; unknown names and values out of range raise ValueError.

    Returns
    -------
    GenerationReport

    Raises
    ------
    ValueError
        Unknown problem or parameter, a value out of range, a file of another layout or
        other settings at ``path``, a bad shard, a sample of the wrong shape.
    FileExistsError
        Another run is writing the file, or (without ``shard``) shards are still running.
    RuntimeError
        A sample's solve failed (the samples finished before are kept for a resume).
    pdekit.cluster.SlurmUnavailableError
        ``launcher="slurm"`` where SLURM is not reachable.
    """
    t0 = time.perf_counter()
    if workers is not None:
        workers = check_int("workers", workers, minimum=0)
    if shard is not None:
        shard = Shard.parse(shard)
    if launcher is None:
        if jobs is not None or job_options is not None:
            raise ValueError("jobs and job_options need a launcher ('local' or 'slurm')")
    else:
        from pdekit.cluster import LAUNCHERS

        if launcher not in LAUNCHERS:
            raise ValueError(f"unknown launcher {launcher!r}; expected one of {list(LAUNCHERS)}")
        if shard is not None:
            raise ValueError("give either shard (run one shard here) or launcher (submit all shards), "
                             "not both")
        if jobs is None:
            raise ValueError(f"launcher {launcher!r} needs jobs: the number of shards to submit")
        jobs = check_int("jobs", jobs, minimum=1, maximum=100_000)
    plan = plan_generation(pde, path, n=n, resolution=resolution, seed=seed, **params)
    if launcher is not None:
        from pdekit.data.launch import generate_with_launcher

        return generate_with_launcher(plan, launcher=launcher, jobs=jobs, job_options=job_options,
                                      max_resubmits=max_resubmits, progress=progress,
                                      workers=workers, t0=t0)
    return run_here(plan, workers=1 if workers is None else workers, shard=shard, progress=progress,
                    t0=t0)


# -- one run on this machine: merge (no shard) or one shard ---------------------------------------


def _warn_discarded(bad: list[tuple[int, str]]) -> None:
    for index, reason in bad:
        warnings.warn(f"discarded the part file of sample {index} ({reason}); it is solved again",
                      RuntimeWarning, stacklevel=4)


def run_here(plan: GenerationPlan, *, workers: int, shard: Shard | None = None,
             progress: ProgressLike = None, launched: bool = False,
             t0: float | None = None) -> GenerationReport:
    """Run one shard, or solve what is missing and merge, in this process (and its workers)."""
    t0 = time.perf_counter() if t0 is None else t0
    journal = Journal(plan.path, plan.run_key)
    locks = DatasetLocks(journal.dir, plan.path)
    what = "resume" if shard is None else f"run shard {shard} of"
    created = not plan.path.exists()
    if not created:  # a file of other settings is refused before anything is written
        check_resume(read_info(plan.path), plan.header, what=what)
    if shard is None:
        locks.hold_merge(launched=launched)
    else:
        locks.hold_shard(shard.index, shard.count)
    try:
        with locks.setup():
            file_done = adopt_target(plan, what=what)
            journal.prepare(exclusive=shard is None)
        if shard is not None:
            write_shard_status(journal.dir, shard, n=plan.n)
        parts = journal.indices()
        if shard is None:
            _refuse_parts_beyond(plan, journal, parts)
            journal.discard([i for i in parts if i < plan.n and file_done[i]])  # merged already
            mine = np.ones(plan.n, dtype=bool)
        else:
            mine = np.zeros(plan.n, dtype=bool)
            mine[shard.indices(plan.n)] = True
        candidates = [i for i in parts if i < plan.n and mine[i] and not file_done[i]]
        if shard is None:  # the merge checks each part as it reads it, once
            return _merge(plan, journal, file_done, candidates, workers=workers,
                          progress=as_progress(progress), created=created, t0=t0)
        good, bad = journal.verify(candidates)
        _warn_discarded(bad)
        return _solve_shard(plan, journal, file_done, good, mine, workers=workers, shard=shard,
                            progress=as_progress(progress), n_discarded=len(bad), t0=t0)
    finally:
        locks.release()


def _refuse_parts_beyond(plan: GenerationPlan, journal: Journal, parts: list[int]) -> None:
    beyond, _ = journal.verify([i for i in parts if i >= plan.n])
    if beyond:
        raise ValueError(f"{str(journal.dir)!r} holds {len(beyond)} solved samples beyond n = {plan.n} "
                         f"(up to index {max(beyond)}: shards were run with a larger --n); rerun with "
                         f"--n {max(beyond) + 1} or more, so that no solved sample is thrown away")


def _merge(plan, journal, file_done, parts, *, workers, progress, created, t0) -> GenerationReport:
    problem, header, path, n = plan.problem, plan.header, plan.path, plan.n
    publisher = Publisher(path, header, journal, file_done, parts)
    todo: list[int] = []
    try:
        if publisher.dirty:  # parts of shards or of an interrupted run: checked and merged first
            publisher.publish()
            _warn_discarded(publisher.discarded)
        todo = np.flatnonzero(~publisher.done).tolist()
        progress.start(n, desc=problem.name)
        if n - len(todo):
            progress.update(n - len(todo))
        try:
            for i in solve_parts(problem, todo, sample_seeds(header.seed, n), header.resolution,
                                 dict(header.params), journal.dir, plan.run_key, workers):
                publisher.add(i)
                progress.update(1)
                if publisher.due():
                    publisher.publish()
            if publisher.dirty or _file_n_differs(path, n):
                publisher.publish()
        finally:
            progress.close()
    except Exception:
        if created and not publisher.done.any() and not journal.indices():
            journal.remove()  # nothing worth keeping: leave no trace
            path.unlink(missing_ok=True)
        raise
    journal.remove()
    return GenerationReport(path=path, pde=problem.name, n=n, n_completed=int(publisher.done.sum()),
                            n_generated=len(todo), seconds=time.perf_counter() - t0, n_assigned=n,
                            n_discarded=len(publisher.discarded))


def _solve_shard(plan, journal, file_done, good, mine, *, workers, shard, progress, n_discarded,
                 t0) -> GenerationReport:
    problem, header, n = plan.problem, plan.header, plan.n
    done = file_done.copy()
    done[good] = True
    todo = np.flatnonzero(mine & ~done).tolist()
    assigned = int(mine.sum())
    progress.start(assigned, desc=f"{problem.name} shard {shard}")
    try:
        if assigned - len(todo):
            progress.update(assigned - len(todo))
        for i in solve_parts(problem, todo, sample_seeds(header.seed, n), header.resolution,
                             dict(header.params), journal.dir, plan.run_key, workers):
            done[i] = True
            progress.update(1)
    finally:
        progress.close()
    in_parts = np.zeros(n, dtype=bool)
    in_parts[[i for i in journal.indices() if i < n]] = True
    return GenerationReport(path=plan.path, pde=problem.name, n=n,
                            n_completed=int((file_done | in_parts).sum()), n_generated=len(todo),
                            seconds=time.perf_counter() - t0, shard=str(shard), n_assigned=assigned,
                            n_discarded=n_discarded)


def _file_n_differs(path: Path, n: int) -> bool:
    """Whether the published file at ``path`` was written for another number of samples."""
    with h5py.File(path, "r") as f:
        return int(f.attrs["n"]) != n
