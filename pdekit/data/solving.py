"""Solving samples of a problem into part files, in this process or in a pool of workers.

Sample ``i`` is solved with ``numpy.random.default_rng(seeds[i])``, checked (shape: one
channel per name; finite values) and written as a part file of the run
(:func:`pdekit.data.journal.write_part`). Workers are ``spawn``ed processes with one
BLAS/OpenMP thread each; at most two samples per worker are queued, so an interrupted run
loses little work.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import pickle
from typing import Any, Iterator, Sequence

import numpy as np

from pdekit.data.journal import write_part
from pdekit.data.problems import Problem

__all__ = ["solve_parts"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_WORKER: dict[str, Any] = {}


def _init_worker(problem: Problem, resolution: int, params: dict, part_dir: str, run_key: str) -> None:
    _WORKER.update(problem=problem, resolution=resolution, params=params, part_dir=part_dir,
                   run_key=run_key)


def _solve_to_part(index: int, sample_seed: int, problem: Problem | None = None,
                   resolution: int | None = None, params: dict | None = None,
                   part_dir: str | None = None, run_key: str | None = None) -> int:
    """Solve sample ``index`` and write its part file; returns ``index``."""
    if problem is None:
        problem, resolution = _WORKER["problem"], _WORKER["resolution"]
        params, part_dir, run_key = _WORKER["params"], _WORKER["part_dir"], _WORKER["run_key"]
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
        if np.iscomplexobj(arr):
            raise ValueError(f"problem {problem.name!r} returned complex {key} for sample {index}; "
                             f"datasets hold real float32 values")
        arr32 = arr.astype(np.float32)
        if not np.isfinite(arr32).all():
            raise RuntimeError(f"sample {index} (seed {sample_seed}) of {problem.name!r} has "
                               f"{int((~np.isfinite(arr32)).sum())} non-finite {key} values "
                               f"(in float32)")
        arrays.append(arr32)
    write_part(part_dir, index, *arrays, run_key=run_key)
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


def solve_parts(problem: Problem, todo: Sequence[int], seeds: np.ndarray, resolution: int,
                params: dict, part_dir: os.PathLike, run_key: str, workers: int) -> Iterator[int]:
    """Solve the samples ``todo``, yielding each index once its part file is on disk.

    ``workers=0`` solves in this process, in the order of ``todo``; otherwise a pool of
    ``workers`` processes solves them and indices are yielded as they finish.
    """
    todo = list(todo)
    if not todo:
        return
    if workers == 0:
        for i in todo:
            yield _solve_to_part(i, int(seeds[i]), problem, resolution, params, str(part_dir), run_key)
        return
    workers = min(workers, len(todo))
    ctx = multiprocessing.get_context("spawn")
    with _single_threaded_children():
        ex = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                    initargs=(_problem_ref(problem), resolution, params, str(part_dir),
                                              run_key))
        try:
            queue = iter(todo)
            pending: dict[cf.Future, int] = {}

            def fill() -> None:
                while len(pending) < 2 * workers:
                    i = next(queue, None)
                    if i is None:
                        return
                    pending[ex.submit(_solve_to_part, i, int(seeds[i]))] = i

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
