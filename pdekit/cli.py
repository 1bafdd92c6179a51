"""The ``pdekit`` command line.

Each verb lives in its own module of :mod:`pdekit._commands` and exposes two functions:
``add_parser(subparsers)`` (which registers the verb and its options) and ``run(args)``
(which does the work and returns an exit code). Adding a verb is adding a module and a
line to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "build_parser", "COMMANDS"]

#: verb -> module under pdekit._commands
COMMANDS: dict[str, str] = {
    "generate": "generate",
    "info": "info",
    "demo": "demo",
    "train": "train",
    "evaluate": "evaluate",
    "solve": "solve",
}


def _command_modules() -> dict[str, object]:
    return {verb: importlib.import_module(f"pdekit._commands.{mod}") for verb, mod in COMMANDS.items()}


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    """Return the top-level parser and the verb modules it dispatches to."""
    from pdekit import __version__

    parser = argparse.ArgumentParser(
        prog="pdekit",
        description="PDE solvers, datasets, tensor formats, neural operators and learned preconditioners.",
    )
    parser.add_argument("--version", action="version", version=f"pdekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    mods = _command_modules()
    for mod in mods.values():
        mod.add_parser(sub)
    return parser, mods


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pdekit`` console script; returns the exit code."""
    parser, mods = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(mods[args.command].run(args) or 0)
    except KeyboardInterrupt:
        print("pdekit: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, PermissionError, KeyError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"pdekit {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
