"""``pdekit export DATA.h5 --format pdebench|the-well -o OUT.h5``: a dataset in another project's layout."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``export`` verb."""
    from pdekit.data.export import FORMATS

    p = subparsers.add_parser(
        "export", help="write a dataset in PDEBench's or The Well's layout",
        description="Write the completed samples of a dataset (from `pdekit generate`, on a grid) in the HDF5 "
                    "layout that PDEBench's or The Well's loaders read.",
        epilog="examples:\n  pdekit export darcy.h5 --format pdebench -o 2D_DarcyFlow_pdekit.hdf5\n"
               "  pdekit export heat.h5 --format the-well -o heat/data/train/heat.hdf5",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="a .h5 dataset written by `pdekit generate`")
    p.add_argument("--format", required=True, choices=FORMATS, help="the layout to write")
    p.add_argument("-o", "--output", required=True, help="the file to write")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--bc", action="append", default=[], metavar="AXIS=TYPE",
                   help="the-well: boundary condition of an axis (periodic, wall or open), for datasets that "
                        "record none; repeat per axis")
    p.add_argument("--name", default=None, help="the-well: dataset_name (default: the problem's name)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _boundary_conditions(items: list[str]) -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for item in items:
        axis, sep, kind = item.partition("=")
        if not sep or not axis.strip() or not kind.strip():
            raise ValueError(f"--bc takes AXIS=TYPE, e.g. --bc x=periodic; got {item!r}")
        out[axis.strip()] = kind.strip()
    return out


def run(args: argparse.Namespace) -> int:
    """Export ``args.file``; returns the exit code."""
    from pdekit._progress import TqdmProgress
    from pdekit.data.export import export_dataset

    out = export_dataset(args.file, args.output, format=args.format, overwrite=args.overwrite,
                         boundary_conditions=_boundary_conditions(args.bc), dataset_name=args.name,
                         progress=TqdmProgress(disable=args.quiet))
    if not args.quiet:
        print(f"wrote {out} ({args.format})")
    return 0
