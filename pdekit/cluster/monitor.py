"""Watch submitted jobs to the end, resubmitting those that failed, were pre-empted or timed out.

:func:`wait_for` polls every job (``sacct`` through submitit for SLURM, the process for the
local launcher), resubmits a job that failed or was lost (killed, timed out, out of
memory, node failure) up to ``max_resubmits`` times, and returns the results in order.
Pre-empted jobs of resumable calls are requeued by submitit itself and simply show as
pending. A job cancelled by a person is never resubmitted.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from pdekit.cluster.jobs import Job

__all__ = ["wait_for", "JobError"]


class JobError(RuntimeError):
    """Jobs that still failed after their resubmissions (or were cancelled).

    Attributes
    ----------
    failures : list of (Job, str)
        Each job that failed and the one-line reason of its last attempt.
    """

    def __init__(self, failures: list[tuple[Job, str]]) -> None:
        self.failures = failures
        first, reason = failures[0]
        more = f" (and {len(failures) - 1} more job(s))" if len(failures) > 1 else ""
        tries = f"after {first.attempts} attempt(s)" if first.attempts > 1 else "on its only attempt"
        super().__init__(f"{first.label} (job {first.job_id}) failed {tries}: {reason}{more}")


def wait_for(jobs: Sequence[Job], *, max_resubmits: int = 2, poll_interval: float | None = None,
             on_poll: Callable[[Sequence[Job]], None] | None = None,
             cancel_on_error: bool = False, result_grace_s: float | None = None) -> list[Any]:
    """Wait until every job succeeded; resubmit the ones that failed or were lost.

    Parameters
    ----------
    jobs : sequence of Job
        From :meth:`pdekit.cluster.Launcher.map` / ``submit``.
    max_resubmits : int
        How many times one job may be submitted again after a failure, a timeout, a
        pre-emption that ended it, or a node failure.
    poll_interval : float, optional
        The longest wait between polls (default 0.2 s for the local launcher, 15 s for
        SLURM); polls start at a quarter second and space out to it, so short jobs are seen
        finishing at once. submitit asks ``sacct`` for all jobs at once, less and less often.
    on_poll : callable, optional
        Called with the jobs after every poll (e.g. to update a progress bar).
    cancel_on_error : bool
        Cancel the remaining jobs as soon as one has failed for good (default: let them
        finish, since their work is kept).
    result_grace_s : float, optional
        A job that ended without a result counts as lost only after this many seconds
        (default 30 for SLURM, whose shared file system may show the result late; 0 locally).

    Returns
    -------
    list
        Each job's result, in the order of ``jobs``.

    Raises
    ------
    JobError
        Some job still failed after ``max_resubmits`` resubmissions, or was cancelled.
    KeyboardInterrupt
        After cancelling every unfinished job.
    """
    if isinstance(max_resubmits, bool) or not isinstance(max_resubmits, int) or max_resubmits < 0:
        raise ValueError(f"max_resubmits must be an integer >= 0; got {max_resubmits!r}")
    jobs = list(jobs)
    if not jobs:
        return []
    slurm = any(job.launcher.kind == "slurm" for job in jobs)
    if poll_interval is None:
        poll_interval = 15.0 if slurm else 0.2
    grace = (30.0 if slurm else 0.0) if result_grace_s is None else float(result_grace_s)
    results: dict[int, Any] = {}
    failures: dict[int, str] = {}
    polls = 0
    try:
        while len(results) + len(failures) < len(jobs):
            for k, job in enumerate(jobs):
                if k in results or k in failures:
                    continue
                status = job.status(result_grace_s=grace)
                if status == "succeeded":
                    results[k] = job.result()
                elif status in ("failed", "lost"):
                    if job.attempts <= max_resubmits:
                        job.launcher.resubmit(job)
                    else:
                        failures[k] = job.error()
                elif status == "cancelled":
                    failures[k] = f"cancelled ({job.state}); not resubmitted"
            if on_poll is not None:
                on_poll(jobs)
            if failures and cancel_on_error:
                break
            if len(results) + len(failures) < len(jobs):
                time.sleep(min(poll_interval, 0.25 * 1.5 ** polls))
                polls += 1
    except BaseException:
        for k, job in enumerate(jobs):
            if k not in results and k not in failures:
                job.cancel()
        raise
    if failures:
        for k, job in enumerate(jobs):
            if k not in results and k not in failures:
                job.cancel()
        raise JobError([(jobs[k], failures[k]) for k in sorted(failures)])
    return [results[k] for k in range(len(jobs))]
