"""``pdekit info FILE [--json]``: the layout, shapes, problem, parameters and counts of a dataset."""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run", "info_dict"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``info`` verb."""
    p = subparsers.add_parser("info", help="describe a dataset file",
                              description="Print the layout, shapes, PDE, parameters, completed "
                                          "count, seeds and pdekit version of a dataset file.")
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
        "file_size": info.file_size,
    }


def run(args: argparse.Namespace) -> int:
    """Print the description of ``args.file``; returns the exit code."""
    from pdekit.data.layout import read_info

    from pdekit.data.journal import journal_dir

    info = read_info(args.file)
    record = info_dict(info)
    parts = journal_dir(info.path)
    pending = len(list(parts.glob("*.npz"))) if parts.is_dir() else 0
    record["journalled"] = pending
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    print(info.describe())
    if parts.is_dir():
        print(f"journal         {parts}: {pending} more finished samples not yet in the file "
              f"(a run is going on, or was interrupted: rerun it to complete the file)")
    return 0
