"""``pdekit generate PDE --n N [--resolution R] [--seed S] [--workers W] [-o FILE] [--PARAM VALUE ...]``.

Problem parameters are passed generically: every ``--name value`` after the PDE name that
is not one of the options above sets the problem's parameter ``name`` (dashes read as
underscores), converted to the type of its default. ``pdekit generate PDE --help`` lists
them; ``pdekit generate --list`` lists the problems.

On a cluster: ``--shard K/N`` solves one shard (run any number at once; the same command
without ``--shard`` merges), ``--launcher slurm|local --jobs N`` submits N shards as a job
array (``--partition``, ``--time-limit``, ``--cpus-per-task``, ``--mem-gb``, ``--account``,
``--gpus-per-node``, ``--sbatch LINE``, ``--setup LINE``) and merges at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_parser", "run", "parse_problem_params", "coerce_param"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _add_options(p: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    p.add_argument("--n", type=int, default=d(None), help="number of samples (required)")
    p.add_argument("--resolution", type=int, default=d(64), help="grid resolution (default 64)")
    p.add_argument("--seed", type=int, default=d(0), help="base seed (default 0)")
    p.add_argument("--workers", type=int, default=d(None),
                   help="worker processes (default 1; 0 solves in this process); with --launcher: "
                        "per job (default: --cpus-per-task above 1, else the job's own process)")
    p.add_argument("-o", "--out", default=d(None), help="output .h5 file (default PDE.h5)")
    p.add_argument("--quiet", action="store_true", default=d(False), help="no progress bar or summary")
    p.add_argument("--debug", action="store_true", default=d(False), help="show tracebacks")
    c = p.add_argument_group("clusters", "Spread one dataset over many processes or nodes sharing a "
                                         "file system; the file is the same bytes as one run.")
    c.add_argument("--shard", default=d(None), metavar="K/N",
                   help="solve only shard K of N (samples i with i %% N == K, K from 0); shards run at "
                        "once anywhere; rerun without --shard to merge")
    c.add_argument("--launcher", choices=("local", "slurm"), default=d(None),
                   help="submit --jobs shards as a job array (slurm: sbatch; local: processes here), "
                        "resubmit failed ones, merge at the end")
    c.add_argument("--jobs", type=int, default=d(None), help="number of shards/jobs with --launcher")
    c.add_argument("--partition", default=d(None), help="SLURM partition")
    c.add_argument("--account", default=d(None), help="SLURM account")
    c.add_argument("--time-limit", default=d("01:00:00"),
                   help="wall-clock limit per job: minutes or [D-]HH:MM:SS (default 01:00:00)")
    c.add_argument("--cpus-per-task", type=int, default=d(1),
                   help="CPUs per job; above 1 each job solves with that many workers (default 1)")
    c.add_argument("--mem-gb", type=float, default=d(None), help="memory per job in GB")
    c.add_argument("--gpus-per-node", type=int, default=d(0), help="GPUs per job (default 0)")
    c.add_argument("--sbatch", action="append", default=d(None), metavar="LINE",
                   help="extra sbatch option, e.g. --sbatch=--qos=high (repeatable)")
    c.add_argument("--setup", action="append", default=d(None), metavar="LINE",
                   help="shell line run before each job, e.g. 'module load python' (repeatable)")
    c.add_argument("--max-resubmits", type=int, default=d(2),
                   help="resubmissions per shard that failed, was pre-empted or timed out (default 2)")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``generate`` verb."""
    p = subparsers.add_parser(
        "generate", help="generate a dataset file of solved random PDE instances",
        description="Solve N random instances of a PDE in parallel and write them into one HDF5 "
                    "file (docs/data_format.md). Rerunning the same command after an interruption "
                    "completes the missing samples only; the same seed gives the same file.",
        epilog="Problem parameters follow the PDE name as --name value (see `pdekit generate PDE "
               "--help`); `pdekit generate --list` lists the problems.")
    p.add_argument("pde", nargs="?", help="problem name, e.g. darcy or navier-stokes")
    _add_options(p)
    p.add_argument("--list", action="store_true", help="list the problems and their parameters")
    p.add_argument("params", nargs=argparse.REMAINDER, help="problem parameters: --name value ...")
    return p


def coerce_param(name: str, text: str, default: Any) -> Any:
    """Convert the command-line ``text`` of parameter ``name`` to the type of its ``default``."""
    def fail(expected: str) -> ValueError:
        return ValueError(f"parameter --{name} expects {expected} (default {default!r}); got {text!r}")

    if isinstance(default, bool):
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise fail("true or false")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise fail("an integer") from None
            if f.is_integer():
                return int(f)
            raise fail("an integer") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise fail("a number") from None
    if isinstance(default, str):
        return text
    if isinstance(default, (list, tuple)):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            items = [t.strip() for t in text.split(",") if t.strip()]
            if default:
                return [coerce_param(name, t, default[0]) for t in items]
            return items
        if not isinstance(value, list):
            raise fail("a list, as JSON or comma-separated")
        return value
    try:  # None or dict defaults: JSON if it parses, else the string
        return json.loads(text)
    except json.JSONDecodeError:
        if isinstance(default, dict):
            raise fail("a JSON object") from None
        return text


def _param_help(problem) -> str:
    lines = [f"{problem.name}: {problem.summary}", "parameters:"]
    for k in sorted(problem.defaults):
        limit = problem.limits.get(k)
        lines.append(f"  --{k.replace('_', '-'):<24} default {problem.defaults[k]!r}"
                     + (f" ({limit})" if limit is not None else ""))
    if not problem.defaults:
        lines.append("  (none)")
    low, high = problem.resolution_range
    lines.append(f"resolution: {low} .. {high}")
    lines.append(f"channels: inputs {list(problem.input_names)}, outputs {list(problem.output_names)}")
    return "\n".join(lines)


def parse_problem_params(problem, tokens: list[str]) -> dict[str, Any]:
    """Map ``--name value`` tokens to the parameters of ``problem`` (typed like the defaults).

    Raises
    ------
    ValueError
        A token that is not ``--name``, an unknown name (the message lists the valid ones),
        a missing value, or a value of the wrong type.
    """
    valid = ", ".join(f"--{k.replace('_', '-')}" for k in sorted(problem.defaults)) or "(none)"
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--") or tok == "--":
            raise ValueError(f"unexpected argument {tok!r}; problem parameters are given as "
                             f"--name value (valid for {problem.name}: {valid})")
        name, eq, value = tok[2:].partition("=")
        key = name.replace("-", "_")
        negated = key.startswith("no_") and key[3:] in problem.defaults \
            and isinstance(problem.defaults[key[3:]], bool) and not eq
        if negated:
            out[key[3:]] = False
            i += 1
            continue
        if key not in problem.defaults:
            raise ValueError(f"unknown parameter --{name} for {problem.name}; valid parameters: {valid}")
        default = problem.defaults[key]
        if not eq:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if isinstance(default, bool) and (nxt is None or nxt.startswith("--")):
                value = "true"
            elif nxt is None:
                raise ValueError(f"parameter --{name} needs a value (default {default!r})")
            else:
                value = nxt
                i += 1
        out[key] = coerce_param(name, value, default)
        i += 1
    return out


def run(args: argparse.Namespace) -> int:
    """Generate (or resume) the dataset; returns the exit code."""
    from pdekit._progress import TqdmProgress
    from pdekit.data.problems import get_problem, list_problems

    if args.list:
        for name in list_problems():
            print(_param_help(get_problem(name)) + "\n")
        return 0
    if args.pde is None:
        raise ValueError("missing the PDE name; expected one of " + ", ".join(list_problems()))
    problem = get_problem(args.pde)
    tokens = list(args.params)
    if "-h" in tokens or "--help" in tokens:
        print(_param_help(problem))
        return 0
    known = argparse.ArgumentParser(add_help=False, allow_abbrev=False)  # --res is not --resolution
    _add_options(known, suppress=True)
    extra, rest = known.parse_known_args(tokens)
    for k, v in vars(extra).items():
        setattr(args, k, v)
    params = parse_problem_params(problem, rest)
    if args.n is None:
        raise ValueError("missing --n: the number of samples to generate")
    out = args.out or f"{problem.name}.h5"
    cluster = _cluster_options(args)
    import warnings

    from pdekit.data.generation import generate

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            report = generate(problem.name, out, n=args.n, resolution=args.resolution, seed=args.seed,
                              workers=args.workers, progress=TqdmProgress(disable=args.quiet),
                              **cluster, **params)
        except RuntimeError as exc:
            from pathlib import Path

            if args.debug or not Path(out).exists():
                raise
            raise RuntimeError(f"{_one_line(exc)}; the finished samples are kept: rerun the same "
                               f"command to resume") from exc
        finally:
            for w in caught:
                if issubclass(w.category, RuntimeWarning):
                    print(f"pdekit generate: warning: {w.message}", file=sys.stderr)
    if not args.quiet:
        rate = f", {report.samples_per_second:.2f} samples/s" if report.n_generated else ""
        if report.shard is not None:
            print(f"shard {report.shard} of {out}: {report.n_assigned} samples of its own "
                  f"({report.n_generated} solved in {report.seconds:.1f} s{rate}); {report.n_completed}/"
                  f"{report.n} samples of the dataset done. Once every shard has finished, run the "
                  f"same command without --shard to merge")
        else:
            print(f"wrote {out}: {report.n_completed}/{report.n} samples of {report.pde} "
                  f"({report.n_generated} solved in {report.seconds:.1f} s{rate})")
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _cluster_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``generate`` for --shard / --launcher and the job options."""
    job_flags = {"--partition": args.partition, "--account": args.account, "--mem-gb": args.mem_gb,
                 "--sbatch": args.sbatch, "--setup": args.setup}
    if args.launcher is None:
        given = [flag for flag, value in job_flags.items() if value]
        if args.jobs is not None:
            given.insert(0, "--jobs")
        if given:
            raise ValueError(f"{', '.join(given)} need(s) --launcher local or --launcher slurm")
        return {} if args.shard is None else {"shard": args.shard}
    if args.shard is not None:
        raise ValueError("give either --shard K/N (run one shard here) or --launcher (submit all "
                         "shards), not both")
    if args.jobs is None:
        raise ValueError(f"--launcher {args.launcher} needs --jobs N: the number of shards to submit")
    if args.max_resubmits < 0:
        raise ValueError(f"--max-resubmits must be >= 0; got {args.max_resubmits}")
    from pdekit.cluster import JobOptions

    options = JobOptions(name=f"pdekit-{args.pde}", time=args.time_limit, partition=args.partition,
                         account=args.account, cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb,
                         gpus_per_node=args.gpus_per_node, sbatch_lines=tuple(args.sbatch or ()),
                         setup=tuple(args.setup or ()))
    return {"launcher": args.launcher, "jobs": args.jobs, "job_options": options,
            "max_resubmits": args.max_resubmits}
