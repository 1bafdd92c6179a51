"""Parallel, resumable, reproducible generation of a dataset file.

:func:`generate` solves ``n`` random instances of a registered problem in worker processes
and writes them into one HDF5 file of the layout of :mod:`pdekit.data.layout`.

* **Reproducible.** Sample ``i`` draws all its randomness from
  ``default_rng(SeedSequence(seed).spawn(n)[i])`` (see :func:`~pdekit.data.layout.sample_seeds`),
  so it does not depend on the other samples, on the number of workers, or on
  interruptions; files are rewritten whole in sample order without time stamps, so the
  same run gives the same bytes.
* **Resumable and kill-safe.** Finished samples go to whole shard files of a journal beside
  the target (:mod:`pdekit.data.journal`); the target is rebuilt from the previous file plus
  the shards and published by an atomic rename, when the number of samples has doubled
  since the last publish (so the total copying is O(n)), when the last publish is older than
  ten times its own duration, and at the end. The ``.h5`` on disk is therefore always a
  complete, readable file with a ``/completed`` mask, and running the same call again
  completes the missing samples only. A call with other settings is refused; a call with
  a larger ``n`` extends the dataset (sample ``i`` is the same whatever ``n``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import json
import multiprocessing
import os
import pickle
import time
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from pdekit._atomic import atomic_path, check_writable_dir
from pdekit._progress import as_progress
from pdekit.data.journal import Journal, describe_run, read_shard, write_shard
from pdekit.data.layout import FORMAT, DatasetHeader, DatasetInfo, read_info, sample_seeds, write_dataset
from pdekit.data.problems import Problem, get_problem

__all__ = ["generate", "GenerationReport"]

#: publish when the last publish is older than this many times its own duration ...
_FRESHNESS_FACTOR = 10.0
#: ... and at least this many seconds old
_MIN_PUBLISH_INTERVAL = 5.0
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


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
        Samples present in the file now (``n`` unless the run failed).
    n_generated : int
        Samples solved by this call (the others were found done in the file or the journal).
    seconds : float
        Wall-clock time of the call.
    """

    path: Path
    pde: str
    n: int
    n_completed: int
    n_generated: int
    seconds: float

    @property
    def samples_per_second(self) -> float:
        """Samples solved per second of wall-clock time (0 when none were solved)."""
        return self.n_generated / self.seconds if self.n_generated and self.seconds > 0 else 0.0


def _check_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def generate(pde: str | Problem, path: str | os.PathLike, *, n: int, resolution: int, seed: int,
             workers: int = 1, progress: Any = None, **params: Any) -> GenerationReport:
    """Generate (or complete) a dataset of ``n`` solved random instances of a problem.

    Parameters
    ----------
    pde : str or Problem
        Registered problem name (see :func:`pdekit.data.list_problems`), or a Problem.
    path : path-like
        The HDF5 file to write. If it exists, it must come from the same settings: the
        missing samples are completed (and ``n`` may grow); anything else is refused.
    n : int
        Number of samples.
    resolution : int
        Grid resolution passed to the problem.
    seed : int
        Base seed; sample ``i`` uses ``default_rng(sample_seeds(seed, n)[i])``.
    workers : int
        Worker processes; 0 solves in this process (same results).
    progress : bool, tqdm bar or class, or progress object, optional
        Told about each finished sample; ``True`` draws a bar (see :mod:`pdekit._progress`).
    **params
        Problem parameters; unknown names raise ValueError.

    Returns
    -------
    GenerationReport

    Raises
    ------
    ValueError
        Unknown problem or parameter, a file of another layout or other settings at
        ``path``, a sample of the wrong shape.
    RuntimeError
        A sample's solve failed (the samples finished before are kept for a resume).
    """
    t0 = time.perf_counter()
    problem = pde if isinstance(pde, Problem) else get_problem(pde)
    n = _check_int("n", n, minimum=1)
    resolution = _check_int("resolution", resolution, minimum=1)
    seed = _check_int("seed", seed, minimum=0)
    workers = _check_int("workers", workers, minimum=0)
    params = problem.resolve_params(params)
    try:
        json.dumps(params, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"parameters of {problem.name!r} must be JSON-serialisable: {exc}") from None
    path = check_writable_dir(path)
    if path.is_dir():
        raise ValueError(f"output path {str(path)!r} is a folder; expected a file name like data.h5")
    from pdekit import __version__

    coords = {k: np.asarray(v) for k, v in problem.coordinates(resolution, **params).items()}
    header = DatasetHeader(pde=problem.name, summary=problem.summary, params=params, seed=seed,
                           n=n, resolution=resolution, input_names=tuple(problem.input_names),
                           output_names=tuple(problem.output_names), coords=coords,
                           pdekit_version=__version__)
    file_done = np.zeros(n, dtype=bool)
    if path.exists():
        info = read_info(path)
        _check_resume(info, header)
        file_done[: info.header.n] = info.completed
    run_key = describe_run(format=FORMAT, pde=problem.name, params=header.params_json(), seed=seed,
                           resolution=resolution, pdekit_version=__version__)
    progress = as_progress(progress)
    created = not path.exists()
    with Journal(path, run_key) as journal:
        publisher = _Publisher(path, header, journal, file_done)
        if created:
            publisher.publish()  # an empty but valid file from the start
        if publisher.dirty and publisher.due():  # journalled by an interrupted run
            publisher.publish()
        todo = np.flatnonzero(~publisher.done).tolist()
        seeds = sample_seeds(seed, n)
        progress.start(n, desc=problem.name)
        if n - len(todo):
            progress.update(n - len(todo))
        try:
            for i in _solve_all(problem, todo, seeds, resolution, params, journal.dir, workers):
                publisher.add(i)
                progress.update(1)
                if publisher.due():
                    publisher.publish()
            if publisher.dirty or _file_n_differs(path, n):
                publisher.publish()
        except Exception:
            if created and not publisher.done.any() and not journal.indices():
                journal.close(remove=True)  # nothing worth keeping: leave no trace
                path.unlink(missing_ok=True)
            raise
        finally:
            progress.close()
        journal.close(remove=True)
    return GenerationReport(path=path, pde=problem.name, n=n, n_completed=int(publisher.done.sum()),
                            n_generated=len(todo), seconds=time.perf_counter() - t0)


def _file_n_differs(path: Path, n: int) -> bool:
    """Whether the published file at ``path`` was written for another number of samples."""
    with h5py.File(path, "r") as f:
        return int(f.attrs["n"]) != n


def _check_resume(info: DatasetInfo, header: DatasetHeader) -> None:
    old = info.header
    diffs = []
    for field in ("pde", "seed", "resolution", "input_names", "output_names", "pdekit_version"):
        a, b = getattr(old, field), getattr(header, field)
        if a != b:
            diffs.append(f"{field}: file has {a!r}, this run asks {b!r}")
    if old.params_json() != header.params_json():
        keys = sorted(set(old.params) | set(header.params))
        for k in keys:
            a, b = old.params.get(k, "<absent>"), header.params.get(k, "<absent>")
            if a != b:
                diffs.append(f"param {k}: file has {a!r}, this run asks {b!r}")
    if header.n < old.n:
        diffs.append(f"n: file has {old.n} samples, this run asks for {header.n} (n may only grow)")
    if diffs:
        raise ValueError(
            f"refusing to resume {str(info.path)!r}: it was generated with other settings "
            f"({'; '.join(diffs)}); rerun with the file's settings to complete it, or write to "
            f"another path (or delete the file) to start a new dataset"
        )


class _Publisher:
    """Rebuilds and atomically republishes the target from the last file plus the journal."""

    def __init__(self, path: Path, header: DatasetHeader, journal: Journal, file_done: np.ndarray):
        self.path, self.header, self.journal = path, header, journal
        self.file_done = file_done.copy()
        self.shard_done = np.zeros(header.n, dtype=bool)
        for i in journal.indices():
            if i < header.n:
                self.shard_done[i] = True
        self.published_count = int(self.file_done.sum())
        self.count = int(self.done.sum())
        self.last_time = time.monotonic()
        self.last_duration = 0.0

    @property
    def done(self) -> np.ndarray:
        return self.file_done | self.shard_done

    @property
    def dirty(self) -> bool:
        return bool((self.shard_done & ~self.file_done).any())

    def add(self, index: int) -> None:
        if not (self.shard_done[index] or self.file_done[index]):
            self.count += 1
        self.shard_done[index] = True

    def due(self) -> bool:
        if self.count >= max(1, 2 * self.published_count):
            return True
        age = time.monotonic() - self.last_time
        return age > max(_FRESHNESS_FACTOR * self.last_duration, _MIN_PUBLISH_INTERVAL)

    def publish(self) -> None:
        start = time.monotonic()
        done = self.done
        new = np.flatnonzero(self.shard_done)
        old_file = h5py.File(self.path, "r") if self.file_done.any() else None
        try:
            def sample(i: int) -> tuple[np.ndarray, np.ndarray]:
                if self.file_done[i]:
                    return old_file["inputs"][i], old_file["outputs"][i]
                return read_shard(self.journal.shard_path(i))

            with atomic_path(self.path) as tmp:
                write_dataset(tmp, self.header, completed=done, sample=sample)
        finally:
            if old_file is not None:
                old_file.close()
        self.journal.discard(new)
        self.file_done = done
        self.shard_done[:] = False
        self.published_count = int(done.sum())
        self.last_time = time.monotonic()
        self.last_duration = self.last_time - start


# -- solving --------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(problem: Problem, resolution: int, params: dict, shard_dir: str) -> None:
    _WORKER.update(problem=problem, resolution=resolution, params=params, shard_dir=shard_dir)


def _solve_to_shard(index: int, sample_seed: int, problem: Problem | None = None,
                    resolution: int | None = None, params: dict | None = None,
                    shard_dir: str | None = None) -> int:
    """Solve sample ``index`` and write its shard; returns ``index``."""
    if problem is None:
        problem, resolution = _WORKER["problem"], _WORKER["resolution"]
        params, shard_dir = _WORKER["params"], _WORKER["shard_dir"]
    rng = np.random.default_rng(sample_seed)
    try:
        sample = problem.solve(rng, resolution, **params)
    except Exception as exc:
        raise RuntimeError(f"sample {index} (seed {sample_seed}) of {problem.name!r} failed: "
                           f"{type(exc).__name__}: {exc}") from exc
    arrays = []
    for key, arr, names in (("inputs", sample.inputs, problem.input_names),
                            ("outputs", sample.outputs, problem.output_names)):
        arr = np.asarray(arr)
        if arr.ndim < 2 or arr.shape[-1] != len(names):
            raise ValueError(f"problem {problem.name!r} returned {key} of shape {arr.shape} for sample "
                             f"{index}; expected (..., {len(names)}): spatial axes, then one channel "
                             f"per name {list(names)}")
        if not np.isfinite(arr).all():
            raise RuntimeError(f"sample {index} (seed {sample_seed}) of {problem.name!r} has "
                               f"{int((~np.isfinite(arr)).sum())} non-finite {key} values")
        arrays.append(arr)
    write_shard(shard_dir, index, *arrays)
    return index


def _problem_ref(problem: Problem) -> Problem:
    """The problem, checked to travel to worker processes (it must pickle)."""
    try:
        pickle.loads(pickle.dumps(problem))
    except Exception as exc:
        raise ValueError(
            f"problem {problem.name!r} cannot be sent to worker processes ({type(exc).__name__}: "
            f"{exc}); define its solve and coordinates functions at module level of an importable "
            f"module, or pass workers=0"
        ) from None
    return problem


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Ask worker processes for one BLAS/OpenMP thread each (they run side by side)."""
    saved = {v: os.environ.get(v) for v in _THREAD_VARS}
    for v in _THREAD_VARS:
        os.environ.setdefault(v, "1")
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


def _solve_all(problem: Problem, todo: list[int], seeds: np.ndarray, resolution: int,
               params: dict, shard_dir: Path, workers: int) -> Iterator[int]:
    """Solve the samples ``todo``, yielding each index once its shard is on disk."""
    if not todo:
        return
    if workers == 0:
        for i in todo:
            yield _solve_to_shard(i, int(seeds[i]), problem, resolution, params, str(shard_dir))
        return
    workers = min(workers, len(todo))
    ctx = multiprocessing.get_context("spawn")
    with _single_threaded_children():
        ex = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                    initargs=(_problem_ref(problem), resolution, params, str(shard_dir)))
        try:
            queue = iter(todo)
            pending: dict[cf.Future, int] = {}

            def fill() -> None:
                while len(pending) < 2 * workers:
                    i = next(queue, None)
                    if i is None:
                        return
                    pending[ex.submit(_solve_to_shard, i, int(seeds[i]))] = i

            fill()
            while pending:
                finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in sorted(finished, key=pending.__getitem__):
                    pending.pop(fut)
                    yield fut.result()
                fill()
        except BaseException:
            ex.shutdown(wait=True, cancel_futures=True)
            raise
        ex.shutdown(wait=True)
