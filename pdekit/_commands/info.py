"""``pdekit info FILE [--json]``: the layout, shapes, problem, parameters and counts of a dataset.

On a dataset still being generated it also reports the parts folder: samples solved but
not merged yet, samples missing, and each shard's progress (solved, missing, running).
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run", "info_dict", "progress_dict"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``info`` verb."""
    p = subparsers.add_parser("info", help="describe a dataset file",
                              description="Print the layout, shapes, PDE, parameters, completed "
                                          "count, seeds and pdekit version of a dataset file, and "
                                          "the progress of an unfinished one (per shard).")
    p.add_argument("file", help="a .h5 file written by `pdekit generate`")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def info_dict(info) -> dict:
    """A JSON-ready dict of a :class:`~pdekit.data.DatasetInfo`."""
    h = info.header
    return {
        "path": str(info.path), "format": info.format, "pdekit_version": h.pdekit_version,
        "pde": h.pde, "summary": h.summary, "params": dict(h.params), "seed": h.seed,
        "resolution": h.resolution, "n": h.n, "n_completed": info.n_completed,
        "seeds_min": int(info.seeds.min()) if info.seeds.size else None,
        "seeds_max": int(info.seeds.max()) if info.seeds.size else None,
        "inputs": {"shape": info.input_shape, "axes": info.input_axes, "channels": list(h.input_names)},
        "outputs": {"shape": info.output_shape, "axes": info.output_axes,
                    "channels": list(h.output_names)},
        "coords": {k: list(v.shape) for k, v in h.coords.items()},
        "domain": dict(h.domain), "boundary_conditions": dict(h.boundary_conditions),
        "environment": dict(h.environment), "file_size": info.file_size,
    }


def progress_dict(info, shards=None) -> dict:
    """The generation progress of ``info``'s dataset: parts not merged yet, missing samples,
    shards (each: solved, missing, running), and whether a merge or a launch is running.

    ``shards``: :func:`pdekit.data.shards.shard_progress` of the file, if already read."""
    import numpy as np

    from pdekit.data.journal import Journal, journal_dir
    from pdekit.data.reading import _ranges
    from pdekit.data.locks import DatasetLocks
    from pdekit.data.shards import shard_progress

    folder = journal_dir(info.path)
    if not folder.is_dir():
        return {"journalled": 0, "missing": int(info.header.n - info.n_completed), "shards": [],
                "merging": False, "launching": False}
    parts = [i for i in Journal(info.path, "").indices()]
    done = info.completed.copy()
    extra = [i for i in parts if i < done.size and not done[i]]
    done[extra] = True
    locks = DatasetLocks(folder, info.path)
    shards = shard_progress(info.path, info.completed) if shards is None else shards
    return {
        "journalled": len(extra), "missing": int((~done).sum()),
        "beyond_n": sum(1 for i in parts if i >= done.size),
        "shards": [{"shard": str(s.shard), "n": s.n, "assigned": s.assigned, "solved": s.solved,
                    "missing": s.missing, "running": s.running, "host": s.host, "pid": s.pid,
                    "started": s.started} for s in shards],
        "merging": locks.merging(), "launching": locks.launching(),
        "missing_ranges": _ranges(np.flatnonzero(~done)),
    }


def run(args: argparse.Namespace) -> int:
    """Print the description of ``args.file``; returns the exit code."""
    from pdekit.data.journal import journal_dir
    from pdekit.data.reading import read_info

    from pdekit.data.shards import shard_progress

    info = read_info(args.file)
    record = info_dict(info)
    shards = shard_progress(info.path, info.completed)
    progress = progress_dict(info, shards)
    record.update(progress)
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    print(info.describe())
    parts = journal_dir(info.path)
    if not parts.is_dir():
        return 0
    running = [s for s in progress["shards"] if s["running"]]
    state = ("a merge is running" if progress["merging"] else
             "a launcher is running shard jobs" if progress["launching"] else
             f"{len(running)} shard(s) running" if running else "no run is going on")
    print(f"progress        {progress['journalled']} solved samples not merged yet, "
          f"{progress['missing']} missing ({progress['missing_ranges']}); {state}")
    for s in shards:
        print(f"                {s.describe()}")
    if not (progress["merging"] or progress["launching"] or running) and (
            progress["journalled"] or progress["missing"]):
        print("                rerun the generate command (without --shard) to finish and merge")
    return 0

