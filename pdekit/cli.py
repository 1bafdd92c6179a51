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

__all__ = ["main", "build_parser", "given_options", "COMMANDS"]

#: verb -> module under pdekit._commands
COMMANDS: dict[str, str] = {
    "generate": "generate",
    "info": "info",
    "export": "export",
    "demo": "demo",
    "train": "train",
    "evaluate": "evaluate",
    "solve": "solve",
    "stream": "stream",
}


def _command_modules() -> dict[str, object]:
    return {verb: importlib.import_module(f"pdekit._commands.{mod}") for verb, mod in COMMANDS.items()}


#: shown under ``pdekit --help``
EPILOG = """\
first time? run `pdekit demo` (about three minutes: data, a trained surrogate, a figure).

examples:
  pdekit generate darcy --n 200 --resolution 64 --seed 0 -o darcy.h5
  pdekit info darcy.h5
  pdekit export darcy.h5 --format the-well -o darcy_well.h5
  pdekit train --model tfno --data darcy.h5 --epochs 20 --out run/
  pdekit evaluate run/ darcy.h5 --plot
  pdekit solve system.npz --method pcg --preconditioner amg
  pdekit COMMAND --help          options of one command

--debug (before or after the command) shows a traceback instead of the one-line error.
exit codes: 0 success, 2 bad input or error, 3 solve did not converge, 130 interrupted."""


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    """Return the top-level parser and the verb modules it dispatches to."""
    from pdekit import __version__

    parser = argparse.ArgumentParser(
        prog="pdekit",
        description="PDE solvers, datasets, tensor formats, neural operators and learned preconditioners.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pdekit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    mods = _command_modules()
    for mod in mods.values():
        mod.add_parser(sub)
    for verb_parser in sub.choices.values():
        _accept_debug(verb_parser)
    return parser, mods


def _accept_debug(p: argparse.ArgumentParser) -> None:
    """Let ``--debug`` follow the verb too, without a verb's default undoing a global ``--debug``."""
    action = p._option_string_actions.get("--debug")
    if action is None:
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks")
    else:
        action.default = argparse.SUPPRESS


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pdekit`` console script; returns the exit code.

    Exit codes: 0 success, 2 bad input or any other error (one line on standard error;
    ``--debug`` shows the traceback instead), 130 interrupted. A verb may return its own
    code for an outcome that is not an error (``solve``: 3 when the solve did not converge).
    """
    parser, mods = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(mods[args.command].run(args) or 0)
    except KeyboardInterrupt:
        print("pdekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (`pdekit info X --json | head`): not an error
        _silence_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into one line
        if getattr(args, "debug", False):
            raise
        print(f"pdekit {args.command}: error: {_describe(exc)}", file=sys.stderr)
        return 2


def given_options(args: argparse.Namespace) -> set[str]:
    """The options (``dest`` names) that the command line of ``args`` spelled out, as opposed to
    those left at their defaults (a verb that must tell them apart, like ``train --resume``)."""
    parser, _ = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for p in [parser, *sub.choices.values()]:
        for action in p._actions:
            if action.option_strings:
                action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(list(getattr(args, "argv", [])))))


#: exception types whose message is the whole story; others are named in the line
_PLAIN_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, PermissionError,
                 IsADirectoryError, NotADirectoryError, KeyError, RuntimeError)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, KeyError) and text.startswith(("'", '"')):
        text = text[1:-1]
    if isinstance(exc, _PLAIN_ERRORS) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
