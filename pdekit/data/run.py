"""One generation run on this machine: one shard, or solving what is missing and merging.

:func:`run_here` is what :func:`pdekit.data.generate` does without a launcher, and what each
job of a launched job array runs (:mod:`pdekit.data.launch`). It takes the run's lock
(:mod:`pdekit.data.locks`), checks or creates the target file, then either solves the samples
of one shard into part files (:mod:`pdekit.data.shards`), or solves every missing sample and
publishes the file, merging the part files found (:mod:`pdekit.data.publish`).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import h5py
import numpy as np

from pdekit._progress import ProgressLike, as_progress
from pdekit.data.journal import Journal
from pdekit.data.layout import sample_seeds
from pdekit.data.locks import DatasetLocks
from pdekit.data.plan import GenerationPlan, adopt_target, check_resume
from pdekit.data.publish import Publisher
from pdekit.data.reading import read_info
from pdekit.data.shards import Shard, write_shard_status
from pdekit.data.solving import solve_parts

__all__ = ["run_here", "GenerationReport"]


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
