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

import os
import time
from typing import Any

from pdekit._progress import ProgressLike
from pdekit.data.plan import check_int, plan_generation
from pdekit.data.problems import Problem
from pdekit.data.run import GenerationReport, run_here
from pdekit.data.shards import Shard

__all__ = ["generate", "GenerationReport"]


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
