"""``pdekit solve SYSTEM``: solve a saved SPD system with CG, PCG, FCG or deep conjugate directions.

A system is a ``.npz`` file written by :func:`pdekit.data.save_system` (scipy's sparse layout
plus ``b`` and, for grid problems, the ``unknowns`` mask) or a Matrix Market ``.mtx`` matrix
with the right-hand side given by ``--rhs``; :func:`pdekit.data.load_system` reads and fully
checks both.

The solution is written atomically to ``--output`` (default ``SYSTEM`` with suffix
``.solution.npy``) and a summary table is printed. The exit code is 0 when the true relative
residual reached ``--rtol``, 3 when it did not (the solution is still written, and the table
says so).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "run", "solve_system"]

METHODS = ("cg", "pcg", "fcg", "dcdm")
CLASSICAL = ("jacobi", "ic0", "amg", "sa-amg", "rs-amg")
NOT_CONVERGED = 3


def _network(spec: str):
    from pdekit.operators import list_pretrained, load, pretrained

    if spec in list_pretrained():
        return pretrained(spec)
    if Path(spec).is_file():
        return load(spec).eval()
    raise ValueError(f"unknown preconditioner {spec!r}; expected one of {list(CLASSICAL)}, a pretrained "
                     f"network {sorted(list_pretrained())} or the path of a saved model")


def solve_system(A, b, *, method: str = "pcg", preconditioner: str | None = None, rtol: float = 1e-6,
                 atol: float = 0.0, maxiter: int | None = None, shape=None, unknowns=None):
    """Solve with the chosen method/preconditioner; return ``(x, info, summary dict)``."""
    import time

    from pdekit._validation import check_choice
    from pdekit.solvers import linear

    check_choice("method", method, METHODS)
    if method == "cg" and preconditioner is not None:
        raise ValueError("--method cg takes no preconditioner; use pcg, fcg or dcdm")
    if method == "dcdm" and preconditioner is None:
        ndim = len(shape) if shape is not None else (unknowns.ndim if unknowns is not None else None)
        if ndim not in (2, 3):
            raise ValueError("dcdm needs the grid: pass --shape (or save the unknowns mask in the .npz)")
        preconditioner = f"dcdm-poisson-{ndim}d"
    if method in ("pcg", "fcg") and preconditioner is None:
        preconditioner = "ic0"
    t0 = time.perf_counter()
    M, setup = None, 0.0
    if preconditioner in CLASSICAL:
        if method == "dcdm":
            raise ValueError(f"dcdm needs a learned network, not {preconditioner!r}; use pcg or fcg for it")
        M = linear.make_preconditioner(preconditioner, A)
    elif preconditioner is not None:
        network = _network(preconditioner)
        if method == "pcg":
            raise ValueError("a learned network is not a linear SPD preconditioner; use --method dcdm or fcg")
        M = network.bind(A, shape=shape, unknowns=unknowns)
    setup = time.perf_counter() - t0
    solver = {"cg": linear.cg, "pcg": linear.pcg, "fcg": linear.fcg}.get(method)
    with _quiet():
        if method == "dcdm":
            x, info = linear.dcdm(A, b, network=M, rtol=rtol, atol=atol, maxiter=maxiter)
        else:
            x, info = solver(A, b, rtol=rtol, atol=atol, maxiter=maxiter, M=M)
    summary = {"method": info.method, "preconditioner": preconditioner or "none", "n": int(A.shape[0]),
               "nnz": int(A.nnz), "iterations": info.iterations, "converged": info.converged,
               "relative_residual": info.final_residual, "rtol": rtol, "setup_seconds": setup,
               "solve_seconds": info.solve_time, "preconditioner_seconds": info.preconditioner_time,
               "status": info.status}
    if hasattr(M, "spmv_equivalents"):
        summary["network_cost_spmv"] = M.spmv_equivalents
    return x, info, summary


class _quiet:
    """Silence the ConvergenceWarning: the summary table reports non-convergence itself."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        from pdekit.solvers.linear import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``solve`` verb."""
    p = subparsers.add_parser(
        "solve", help="solve a saved SPD linear system (CG, PCG, FCG, DCDM)",
        description="Solve A x = b from a .npz (scipy sparse layout + b [+ unknowns]) or .mtx (+ --rhs) "
                    "file; write x atomically and print a summary. Exit code 3 if not converged.")
    p.add_argument("system", help="a .npz or .mtx system file")
    p.add_argument("--rhs", help="right-hand side file (.npy, .mtx or text); required for .mtx")
    p.add_argument("--method", choices=METHODS, default="pcg")
    p.add_argument("--preconditioner", metavar="P",
                   help=f"one of {', '.join(CLASSICAL)}, a pretrained network name (dcdm-poisson-2d, "
                        "dcdm-poisson-3d) or a saved model path; default ic0 for pcg/fcg, the "
                        "pretrained network of the grid's dimension for dcdm")
    p.add_argument("--rtol", type=float, default=1e-6, help="true relative residual to reach")
    p.add_argument("--atol", type=float, default=0.0)
    p.add_argument("--maxiter", type=int, default=None)
    p.add_argument("--shape", help="grid shape for a network, e.g. 255,255 (every node an unknown)")
    p.add_argument("-o", "--output", help="solution file (.npy); default SYSTEM.solution.npy")
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


def run(args: argparse.Namespace) -> int:
    """Solve ``args.system``; print the summary; return 0 (converged) or 3 (not converged)."""
    from pdekit._atomic import atomic_path
    from pdekit.data.systems import load_system

    A, b, unknowns = load_system(args.system, args.rhs)
    shape = _parse_shape(args.shape)
    if shape is not None:
        unknowns = None
    x, info, summary = solve_system(A, b, method=args.method, preconditioner=args.preconditioner,
                                    rtol=args.rtol, atol=args.atol, maxiter=args.maxiter, shape=shape,
                                    unknowns=unknowns)
    out = Path(args.output) if args.output else Path(args.system).with_suffix(".solution.npy")
    with atomic_path(out, suffix=".npy") as tmp:
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
