"""``pdekit solve SYSTEM``: solve a saved SPD system through :func:`pdekit.solvers.linear.solve`.

A system is a ``.npz`` file written by :func:`pdekit.data.save_system` (scipy's sparse layout
plus ``b`` and, for grid problems, the ``unknowns`` mask) or a Matrix Market ``.mtx`` matrix
with the right-hand side given by ``--rhs``; :func:`pdekit.data.load_system` reads and fully
checks both.

The solution is written atomically to ``--output`` (default ``SYSTEM`` with suffix
``.solution.npy``), never over a file that exists unless ``--overwrite`` is given, and never
over the system or right-hand side it reads. A summary table is printed. The exit code is 0
when the true relative residual reached ``--rtol``, 3 when it did not (the solution is still
written, and the table says so), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "run", "solve_system"]

METHODS = ("auto", "direct", "cg", "pcg", "fcg", "dcdm")
NOT_CONVERGED = 3


def _network(spec: str):
    """A shipped network by name, or a saved model by path; it must be a learned preconditioner."""
    from pdekit.operators import list_pretrained, load, pretrained

    if spec in list_pretrained():
        return pretrained(spec)
    path = Path(spec)
    if not path.is_file():
        from pdekit.solvers.linear.preconditioners import PRECONDITIONERS

        raise ValueError(f"unknown preconditioner {spec!r}; expected one of {sorted(PRECONDITIONERS)}, a shipped "
                         f"network {sorted(list_pretrained())} or the path of a saved network")
    model = load(path)
    if not callable(getattr(model, "bind", None)):
        raise ValueError(f"{spec!r} holds a {type(model).__name__}, not a learned preconditioner (a network "
                         f"with bind(), such as pdekit.operators.VCycleNet or AlgebraicVCycleNet)")
    return model.eval()


def solve_system(A, b, *, method: str = "auto", preconditioner: str | None = None, rtol: float = 1e-6,
                 atol: float = 0.0, maxiter: int | None = None, shape=None, unknowns=None):
    """Solve ``A x = b`` with ``method`` and a preconditioner given by name (a classical one, a
    shipped network or a saved network's path); return ``(x, info, summary dict)``.

    ``method="dcdm"`` without a preconditioner takes the shipped network that fits: the grid
    network of the grid's dimension when ``shape`` or ``unknowns`` is known, else
    ``dcdm-algebraic``.
    """
    import warnings

    from pdekit._validation import check_choice
    from pdekit.solvers.linear import ConvergenceWarning, LinearSolver
    from pdekit.solvers.linear.preconditioners import PRECONDITIONERS

    check_choice("method", method, METHODS)
    ndim = len(shape) if shape is not None else (unknowns.ndim if unknowns is not None else None)
    name = preconditioner
    if method == "dcdm" and name is None:
        name = f"dcdm-poisson-{ndim}d" if ndim in (2, 3) else "dcdm-algebraic"
    spec = name if name is None or name in PRECONDITIONERS else _network(name)
    grid = {"shape": shape} if shape is not None else ({"unknowns": unknowns} if unknowns is not None else {})
    if grid and getattr(spec, "ndim", None) is not None and spec.ndim != ndim:
        raise ValueError(f"the network {name!r} works on {spec.ndim}D grids; the system's grid is {ndim}D")
    solver = LinearSolver(A, method=method, preconditioner=spec, rtol=rtol, atol=atol, maxiter=maxiter,
                          throw=False, reuse=False, **grid)
    with warnings.catch_warnings():  # the summary reports non-convergence itself
        warnings.simplefilter("ignore", ConvergenceWarning)
        x, info = solver.solve(b)
    summary = {"method": info.method, "preconditioner": name or info.preconditioner, "n": int(A.shape[0]),
               "nnz": int(A.nnz), "iterations": info.iterations, "converged": info.converged,
               "relative_residual": info.final_residual, "rtol": rtol, "setup_seconds": info.setup_time,
               "solve_seconds": info.solve_time - info.setup_time,
               "preconditioner_seconds": info.preconditioner_time, "status": info.status}
    if hasattr(solver.preconditioner, "spmv_equivalents"):
        summary["network_cost_spmv"] = solver.preconditioner.spmv_equivalents
    return x, info, summary


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``solve`` verb."""
    p = subparsers.add_parser(
        "solve", help="solve a saved SPD linear system (direct, CG, PCG, FCG, DCDM)",
        description="Solve A x = b from a .npz (pdekit.data.save_system) or .mtx (+ --rhs) file through "
                    "pdekit.solvers.linear.solve; write x atomically and print a summary. Exit code 3 if "
                    "not converged.")
    p.add_argument("system", help="a .npz or .mtx system file")
    p.add_argument("--rhs", help="right-hand side file (.npy, .mtx or text); required for .mtx")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="default auto: the measured fastest for the size (direct or AMG-PCG)")
    p.add_argument("--preconditioner", metavar="P",
                   help="jacobi, ic0, amg (= sa-amg), rs-amg, a shipped network (dcdm-poisson-2d, "
                        "dcdm-poisson-3d, dcdm-algebraic) or a saved network's path; default amg for "
                        "pcg/fcg, for dcdm the shipped network that fits the system")
    p.add_argument("--rtol", type=float, default=1e-6, help="true relative residual to reach")
    p.add_argument("--atol", type=float, default=0.0)
    p.add_argument("--maxiter", type=int, default=None)
    p.add_argument("--shape", help="grid shape for a grid network, e.g. 255,255 (every node an unknown)")
    p.add_argument("-o", "--output", help="solution file (.npy); default SYSTEM.solution.npy")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _parse_shape(text: str | None):
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise ValueError(f"--shape must be integers separated by commas, e.g. 255,255; got {text!r}") from None
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"--shape must have 2 or 3 positive sizes; got {text!r}")
    return shape


def _output_path(args: argparse.Namespace) -> Path:
    """Where the solution goes, after refusing every place that would lose a file."""
    out = Path(args.output) if args.output else Path(args.system).with_suffix(".solution.npy")
    if out.is_dir():
        raise IsADirectoryError(f"-o {str(out)!r} is a folder; give the name of a .npy file")
    if out.suffix != ".npy":
        raise ValueError(f"the solution is written as .npy; give -o a name ending in .npy (got {str(out)!r})")
    inputs = [Path(args.system)] + ([Path(args.rhs)] if args.rhs else [])
    for path in inputs:
        if out.exists() and path.exists() and out.resolve() == path.resolve():
            raise ValueError(f"-o {str(out)!r} is an input of this solve; write the solution elsewhere")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{str(out)!r} exists; pass --overwrite to replace it")
    return out


def run(args: argparse.Namespace) -> int:
    """Solve ``args.system``; print the summary; return 0 (converged) or 3 (not converged)."""
    from pdekit._atomic import atomic_path
    from pdekit.data.systems import load_system

    A, b, unknowns = load_system(args.system, args.rhs)
    out = _output_path(args)  # before the solve: a refusal should not cost a solve
    shape = _parse_shape(args.shape)
    if shape is not None:
        unknowns = None
    x, info, summary = solve_system(A, b, method=args.method, preconditioner=args.preconditioner,
                                    rtol=args.rtol, atol=args.atol, maxiter=args.maxiter, shape=shape,
                                    unknowns=unknowns)
    with atomic_path(out, suffix=".npy", overwrite=args.overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(x))
    summary["output"] = str(out)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        rows = [("method", summary["method"]), ("preconditioner", summary["preconditioner"]),
                ("unknowns", f"{summary['n']:,}"), ("iterations", summary["iterations"]),
                ("converged", "yes" if info.converged else f"NO ({info.status})"),
                ("relative residual", f"{summary['relative_residual']:.3e} (rtol {args.rtol:g})"),
                ("setup [s]", f"{summary['setup_seconds']:.3f}"), ("solve [s]", f"{summary['solve_seconds']:.3f}"),
                ("in preconditioner [s]", f"{summary['preconditioner_seconds']:.3f}"), ("solution", str(out))]
        if "network_cost_spmv" in summary:
            rows.insert(2, ("network cost", f"{summary['network_cost_spmv']:.1f} SpMV per application"))
        width = max(len(k) for k, _ in rows)
        print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    if not info.converged:
        print(f"pdekit solve: did not converge: {info.status}", file=sys.stderr)
        return NOT_CONVERGED
    return 0
