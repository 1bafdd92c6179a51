"""Generate a dataset as a job array: N shards through :mod:`pdekit.cluster`, then one merge.

``generate(..., launcher="slurm", jobs=N)`` (``pdekit generate ... --launcher slurm --jobs
N``) takes the launch lock of the dataset, creates or checks the file, submits shard ``K``
of ``N`` as task ``K`` of one job array (each job runs ``generate(..., shard="K/N")``,
resumable: a pre-empted or timed-out job is requeued and continues from its part files),
shows one progress bar over all shards (counted from the part files on disk), resubmits
shards that failed, and merges when all have finished. ``launcher="local"`` runs the same
path with submitit's local executor. Job scripts and logs go to
``<target>.parts/jobs/`` (removed with the parts after a successful merge).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from pdekit._progress import ProgressLike, as_progress
from pdekit.data.journal import Journal
from pdekit.data.locks import DatasetLocks
from pdekit.data.shards import Shard

__all__ = ["generate_with_launcher", "run_shard_job"]

_SLURM_HINT = ("use --launcher local to run the shards on this machine, or submit "
               "examples/slurm/generate.sbatch yourself (--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)")


def run_shard_job(plan, shard: Shard, workers: int) -> dict:
    """What each job of the array runs: one shard of ``plan`` (checked against this node first)."""
    from pdekit.data.generation import run_here
    from pdekit.data.plan import environment

    env = environment()
    if env != dict(plan.header.environment):
        diffs = [f"{k} {plan.header.environment.get(k)} there, {env.get(k)} here"
                 for k in sorted(set(env) | set(plan.header.environment))
                 if env.get(k) != plan.header.environment.get(k)]
        raise ValueError(f"shard {shard} runs in another environment than the one that submitted it "
                         f"({'; '.join(diffs)}); give the jobs the same installation (the sbatch setup "
                         f"lines can activate it)")
    report = run_here(plan, workers=workers, shard=shard)
    return {"shard": str(shard), "generated": report.n_generated, "discarded": report.n_discarded}


def _done_count(journal: Journal, file_done: np.ndarray) -> int:
    done = file_done.copy()
    for i in journal.indices():
        if i < done.size:
            done[i] = True
    return int(done.sum())


def generate_with_launcher(plan, *, launcher: str, jobs: int, job_options=None,
                           max_resubmits: int = 2, progress: ProgressLike = None,
                           workers: int | None = None, poll_interval: float | None = None,
                           t0: float | None = None):
    """Submit ``jobs`` shards of ``plan``, wait for them, merge; returns a GenerationReport."""
    from pdekit.cluster import JobOptions, Launcher, check_slurm, wait_for
    from pdekit.data.generation import run_here
    from pdekit.data.plan import adopt_target

    t0 = time.perf_counter() if t0 is None else t0
    if launcher == "slurm":
        check_slurm(hint=_SLURM_HINT)  # before anything is written
    options = job_options if job_options is not None else JobOptions(name=f"pdekit-{plan.problem.name}")
    if not isinstance(options, JobOptions):
        raise TypeError(f"job_options must be a pdekit.cluster.JobOptions; got {type(options).__name__}")
    if workers is None:
        workers = options.cpus_per_task if options.cpus_per_task > 1 else 0
    if launcher == "local":
        options.local_parameters()  # raises for options a local launch cannot honour
    journal = Journal(plan.path, plan.run_key)
    locks = DatasetLocks(journal.dir, plan.path)
    if plan.path.exists():  # a file of other settings is refused before anything is written
        adopt_target(plan)
    locks.hold_launch()
    progress = as_progress(progress)
    try:
        with locks.setup():
            file_done = adopt_target(plan)
            journal.prepare(exclusive=True)
        todo = ~file_done
        shards = [Shard(k, jobs) for k in range(jobs)]
        shards = [s for s in shards if todo[s.indices(plan.n)].any()]
        n_generated = 0
        if shards:
            runner = Launcher(launcher, journal.dir / "jobs", options=options, hint=_SLURM_HINT)
            submitted = runner.map(run_shard_job, [(plan, s, workers) for s in shards],
                                   labels=[f"shard {s}" for s in shards], resumable=True)
            progress.start(plan.n, desc=f"{plan.problem.name} ({len(shards)} {launcher} jobs)")
            state = {"count": _done_count(journal, file_done)}
            progress.update(state["count"])

            def on_poll(_jobs) -> None:
                count = _done_count(journal, file_done)
                if count > state["count"]:
                    progress.update(count - state["count"])
                    state["count"] = count

            try:
                results = wait_for(submitted, max_resubmits=max_resubmits, on_poll=on_poll,
                                   poll_interval=poll_interval)
            finally:
                progress.close()
            n_generated = sum(r["generated"] for r in results)
        report = run_here(plan, workers=0, launched=True)
    finally:
        locks.release()
    return dataclasses.replace(report, n_generated=report.n_generated + n_generated,
                               seconds=time.perf_counter() - t0)
