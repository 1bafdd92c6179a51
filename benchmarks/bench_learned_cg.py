"""Learned CG (DCDM with pdekit's VCycleNet) against CG, IC(0)-PCG and pyamg SA-AMG-PCG.

Side by side in one run, one thread, on held-out problems: 2D grids of 257^2, 513^2, 1025^2
nodes and 3D grids of 65^3, 129^3 nodes, each with random obstacles, mixed Dirichlet/Neumann
sides and (for some) a piecewise-constant Darcy coefficient, drawn with a seed the training
never used, plus the plain Dirichlet Poisson problem of the reference figures. Every solver
runs to a true relative residual of 1e-8; the iterations and time at which 1e-4 and 1e-6 were
first reached are read from the same residual history, which holds true residuals
``||b - A x_k|| / ||b||`` (every solver pays one extra SpMV per iteration for them). SA-AMG-PCG
is pyamg's own hierarchy and V-cycle (symmetric Gauss-Seidel) as the preconditioner of the same
PCG. Setup (IC(0) factorisation, AMG hierarchy, network binding = its Galerkin hierarchy) and
solve are timed apart. Runs under a
second are repeated (median of 5 after a warm-up), runs under 30 s median of 3, longer runs
once (the machines are shared: compare ratios within one run).

Unstructured FEM, where a grid network has no grid: ``-div(a grad u) = 1`` on the disk and on
the L-shape (shapes the networks never saw in training), ``a`` a 12/3 thresholded random field
(held-out seed), P1 and P2, each on three meshes (a base mesh and two uniform refinements: 16x
the unknowns from the coarsest to the finest, the same range for P1 and P2). DCDM runs with the
shipped ``dcdm-algebraic`` network and with the same architecture untrained (what training buys),
against SA-AMG-PCG with pyamg's own hierarchy and V-cycle (symmetric Gauss-Seidel, the default)
as the preconditioner of the same PCG, all to 1e-8.

Usage: ``python benchmarks/bench_learned_cg.py [--quick] [--skip-slow] [--fem-only]``; JSON goes
to ``benchmarks/results/bench_learned_cg.json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pdekit.operators import pretrained  # noqa: E402
from pdekit.operators.pretrained_networks import pretrained_card  # noqa: E402
from pdekit.solvers.fd import poisson_system  # noqa: E402
from pdekit.solvers.linear import ConvergenceWarning, cg, dcdm, ic0, pcg  # noqa: E402
from pdekit.training.dcdm import random_grid_system  # noqa: E402
from _record import write_record

TOLS = (1e-4, 1e-6, 1e-8)
HELD_OUT_SEED = 31337  # training used seeds 0..; this one never


def _at_tol(info, tol):
    """(iterations, solve seconds) when the residual history first reached ``tol``."""
    hit = np.flatnonzero(info.residuals <= tol)
    if hit.size == 0:
        return None, None
    return int(hit[0]), float(info.times[hit[0]])


def _run(make_setup, solve):
    """Time setup and solve: median of 5 repeats under 1 s, of 3 under 30 s, else one run."""
    t = time.perf_counter()
    state = make_setup()
    setup = time.perf_counter() - t
    info = solve(state)
    total = setup + info.solve_time
    reps = 5 if total < 1.0 else 3 if total < 30.0 else 0  # median of repeats; long runs once
    if reps:
        setups, infos = [], []
        for _ in range(reps):
            t = time.perf_counter()
            state = make_setup()
            setups.append(time.perf_counter() - t)
            infos.append(solve(state))
        setup = statistics.median(setups)
        info = sorted(infos, key=lambda i: i.solve_time)[reps // 2]
    return setup, info, state


def _systems(quick: bool):
    rng = np.random.default_rng(HELD_OUT_SEED)
    sizes2 = (65, 129) if quick else (257, 513, 1025)
    sizes3 = (17, 33) if quick else (65, 129)
    out = []
    for size in sizes2:
        out.append((f"2D {size}^2 poisson", 2, poisson_system((size, size))))
        out.append((f"2D {size}^2 held-out", 2, random_grid_system(2, size, rng, darcy_probability=0.5)))
    for size in sizes3:
        out.append((f"3D {size}^3 poisson", 3, poisson_system((size,) * 3)))
        out.append((f"3D {size}^3 held-out", 3, random_grid_system(3, size, rng, darcy_probability=0.5)))
    return out


def _fem_series(quick: bool):
    """(name, [(label, A, b), ...] coarsest to finest) for the disk and L-shape, P1 and P2."""
    from pdekit.meshes import cell_centroids, disk, l_shape, refine
    from pdekit.solvers import fem
    from pdekit.solvers.random_fields import draw_random_field, threshold_coefficient

    out = []
    for shape, build in (("disk", disk), ("L-shape", l_shape)):
        for degree in (1, 2):
            base = build((16 if quick else 64) // degree)  # P2 on half the cells: the same unknowns
            series = []
            for level in range(3):
                mesh = refine(base, level) if level else base
                V = fem.function_space(mesh, degree)
                field = draw_random_field(np.random.default_rng(HELD_OUT_SEED), 2, length_scale=0.2)
                a = threshold_coefficient(field(cell_centroids(mesh.points, mesh.cells).T), high=12.0, low=3.0)
                s = fem.condense(fem.stiffness_matrix(V, a), fem.load_vector(V, 1.0), fem.dirichlet_dofs(V), 0.0)
                series.append((f"P{degree} FEM {shape} r{level}", s.matrix, s.rhs))
            out.append((f"P{degree} FEM {shape}", series))
    return out


def bench_fem(name, A, b, networks):
    cases = [("SA-AMG-PCG (pyamg)", lambda: _pyamg_cycle(A), lambda M: pcg(A, b, rtol=1e-8, M=M, maxiter=500)[1])]
    for label, net in networks:
        cases.append((label, lambda net=net: net.bind(A), lambda M: dcdm(A, b, network=M, rtol=1e-8, maxiter=500)[1]))
    rows = []
    for label, setup_fn, solve_fn in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            setup, info, M = _run(setup_fn, solve_fn)
        row = {"problem": name, "method": label, "n": A.shape[0], "setup_s": setup, "converged": info.converged,
               "precond_s": info.preconditioner_time}
        for tol in TOLS:
            it, t = _at_tol(info, tol)
            row[f"it@{tol:g}"], row[f"solve_s@{tol:g}"] = it, t
            row[f"total_s@{tol:g}"] = None if t is None else setup + t
        if hasattr(M, "spmv_equivalents"):
            row["network_spmv"] = M.spmv_equivalents
        rows.append(row)
    return rows


def _pyamg_cycle(A):
    """pyamg's own smoothed-aggregation hierarchy and V-cycle (symmetric Gauss-Seidel), as PCG's M."""
    import pyamg

    return pyamg.smoothed_aggregation_solver(A).aspreconditioner(cycle="V")


def bench_one(name, ndim, A, b, unknowns, *, skip_slow: bool, networks):
    rows = []
    n = A.shape[0]
    cases = [("CG", lambda: None, lambda M: cg(A, b, rtol=1e-8, maxiter=20000)[1]),
             ("IC(0)-PCG", lambda: ic0(A), lambda M: pcg(A, b, rtol=1e-8, M=M, maxiter=20000)[1]),
             ("SA-AMG-PCG", lambda: _pyamg_cycle(A), lambda M: pcg(A, b, rtol=1e-8, M=M)[1])]
    if unknowns is not None:
        for label, net in networks[ndim]:
            cases.append((label, lambda net=net: net.bind(A, unknowns=unknowns),
                          lambda M: dcdm(A, b, network=M, rtol=1e-8, maxiter=500)[1]))
    for label, setup_fn, solve_fn in cases:
        if skip_slow and label in ("CG", "IC(0)-PCG") and n > 600_000:
            rows.append({"problem": name, "method": label, "n": n, "skipped": "--skip-slow"})
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            setup, info, M = _run(setup_fn, solve_fn)
        row = {"problem": name, "method": label, "n": n, "setup_s": setup, "converged": info.converged,
               "precond_s": info.preconditioner_time}
        for tol in TOLS:
            it, t = _at_tol(info, tol)
            row[f"it@{tol:g}"] = it
            row[f"solve_s@{tol:g}"] = t
            row[f"total_s@{tol:g}"] = None if t is None else setup + t
        if hasattr(M, "spmv_equivalents"):
            row["network_spmv"] = M.spmv_equivalents

        rows.append(row)
    return rows


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(rows):
    head = (f"{'problem':<22} {'method':<18} {'n':>9} {'it@1e-4':>7} {'it@1e-6':>7} {'it@1e-8':>7} "
            f"{'setup s':>8} {'solve s@1e-6':>12} {'total s@1e-6':>12} {'total s@1e-8':>12}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "skipped" in r:
            print(f"{r['problem']:<22} {r['method']:<18} {r['n']:>9}  skipped: {r['skipped']}")
            continue
        print(f"{r['problem']:<22} {r['method']:<18} {r['n']:>9} {_fmt(r['it@0.0001'], 'd'):>7} "
              f"{_fmt(r['it@1e-06'], 'd'):>7} {_fmt(r['it@1e-08'], 'd'):>7} {r['setup_s']:>8.3f} "
              f"{_fmt(r['solve_s@1e-06'], '.3f'):>12} {_fmt(r['total_s@1e-06'], '.3f'):>12} "
              f"{_fmt(r['total_s@1e-08'], '.3f'):>12}")


def spmv_seconds(A, reps=20):
    x = np.ones(A.shape[0])
    A @ x
    t = time.perf_counter()
    for _ in range(reps):
        A @ x
    return (time.perf_counter() - t) / reps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--skip-slow", action="store_true", help="skip CG and IC(0) above 600k unknowns")
    parser.add_argument("--fem-only", action="store_true",
                        help="run only the unstructured FEM series (record: bench_learned_cg_fem.json)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_learned_cg.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    networks = {d: [("DCDM(2) VCycleNet", pretrained(f"dcdm-poisson-{d}d"))] for d in (2, 3)}
    for d in (2, 3):  # the same architecture before training: what training buys
        base = networks[d][0][1]
        networks[d].append(("DCDM untrained", type(base)(**base.config)))
    algebraic = pretrained("dcdm-algebraic")
    fem_networks = [("DCDM(2) dcdm-algebraic", algebraic),
                    ("DCDM algebraic untrained", type(algebraic)(**algebraic.config))]
    warm = poisson_system((17, 17))
    cg(warm.matrix, warm.rhs)
    dcdm(warm.matrix, warm.rhs, network=networks[2][0][1].bind(warm.matrix, unknowns=warm.unknowns))
    rows, extra = [], {}
    for name, ndim, s in ([] if args.fem_only else _systems(args.quick)):  # grids
        rng = np.random.default_rng(7)
        b = s.rhs if "poisson" in name else rng.normal(size=s.matrix.shape[0])
        new = bench_one(name, ndim, s.matrix, b, s.unknowns, skip_slow=args.skip_slow, networks=networks)
        for r in new:
            if "network_spmv" in r:
                bound = networks[ndim][0][1].bind(s.matrix, unknowns=s.unknowns)
                r["spmv_s"] = spmv_seconds(s.matrix)
                t = time.perf_counter()
                for _ in range(5):
                    bound(b)
                r["network_apply_over_spmv_time"] = (time.perf_counter() - t) / 5 / r["spmv_s"]
        rows += new
        print_table(new)
        print(flush=True)
    fem_rows = []
    for series_name, series in _fem_series(args.quick):
        for name, A, b in series:
            new = bench_fem(name, A, b, fem_networks)
            fem_rows += new
            print_table(new)
        print(flush=True)
    rows += fem_rows
    extra["fem_summary"] = analyse_fem(fem_rows)
    print("\n".join(extra["fem_summary"]["lines"]))
    cards = {d: pretrained_card(f"dcdm-poisson-{d}d") for d in (2, 3)}
    extra["algebraic_training"] = {k: pretrained_card("dcdm-algebraic")[k]
                                   for k in ("total_seconds", "train_seconds", "final_loss", "n_parameters")}
    summary = analyse(rows, cards)
    print("\n" + "\n".join(summary["lines"]))
    out = Path(args.out if not args.fem_only else str(args.out).replace(".json", "_fem.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"threads": {"omp": os.environ.get("OMP_NUM_THREADS"), "torch": torch.get_num_threads()},
              "load_average": os.getloadavg(),
              "quick": args.quick, "rows": rows, "training": {d: {k: cards[d][k] for k in
                                                                  ("total_seconds", "train_seconds", "final_loss")}
                                                              for d in cards},
              "summary": summary, **extra}
    write_record(out, record, indent=1, default=float)
    print(f"\nwrote {out}")


def analyse_fem(rows):
    """Per series: DCDM-algebraic iterations against pyamg's at 1e-8, growth, total time at the finest."""
    lines, checks = [], {}
    by = {(r["problem"], r["method"]): r for r in rows}
    for series in sorted({r["problem"].rsplit(" r", 1)[0] for r in rows}):
        probs = sorted({r["problem"] for r in rows if r["problem"].startswith(series + " r")})
        learned = [by[(p, "DCDM(2) dcdm-algebraic")]["it@1e-08"] for p in probs]
        untrained = [by[(p, "DCDM algebraic untrained")]["it@1e-08"] for p in probs]
        amg_its = [by[(p, "SA-AMG-PCG (pyamg)")]["it@1e-08"] for p in probs]
        finest = probs[-1]
        t_dcdm = by[(finest, "DCDM(2) dcdm-algebraic")]["total_s@1e-08"]
        t_amg = by[(finest, "SA-AMG-PCG (pyamg)")]["total_s@1e-08"]
        ok_its = None not in learned and None not in amg_its and all(a <= b for a, b in zip(learned, amg_its))
        growth = learned[-1] / learned[0] if None not in learned else None
        checks[series] = {"iterations_le_pyamg": ok_its, "growth": growth, "growth_le_1.3": growth is not None and growth <= 1.3,
                          "total_s_finest": t_dcdm, "pyamg_total_s_finest": t_amg,
                          "time_le_pyamg": t_dcdm is not None and t_amg is not None and t_dcdm <= t_amg}
        lines.append(f"{series}: DCDM-algebraic iterations to 1e-8 {learned} (untrained {untrained}; pyamg SA-AMG-PCG "
                     f"{amg_its}); growth {growth:.2f}x (target <= 1.3x); total at the finest "
                     f"{t_dcdm:.3f}s vs pyamg {t_amg:.3f}s (ratio {t_dcdm / t_amg:.2f})")
    return {"lines": lines, "checks": checks}


def analyse(rows, cards):
    lines = []
    by = {(r["problem"], r["method"]): r for r in rows if "skipped" not in r}
    for d in (2, 3):
        for kind in ("poisson", "held-out"):
            probs = sorted({r["problem"] for r in rows if r["problem"].startswith(f"{d}D") and kind in r["problem"]},
                           key=lambda p: next(r["n"] for r in rows if r["problem"] == p))
            its = [by.get((p, "DCDM(2) VCycleNet"), {}).get("it@1e-06") for p in probs]
            amg_its = [by.get((p, "SA-AMG-PCG"), {}).get("it@1e-06") for p in probs]
            if its and None not in its:
                lines.append(f"{d}D {kind}: DCDM iterations to 1e-6 {its} (growth {its[-1] / its[0]:.2f}x, "
                             f"target < 1.3x); SA-AMG-PCG {amg_its}")
    train = sum(c["total_seconds"] for c in cards.values())
    for p in sorted({r["problem"] for r in rows}):
        d, a = by.get((p, "DCDM(2) VCycleNet")), by.get((p, "SA-AMG-PCG"))
        if d and a and d["total_s@1e-06"] and a["total_s@1e-06"]:
            gain = a["total_s@1e-06"] - d["total_s@1e-06"]
            card = cards[3 if p.startswith("3D") else 2]
            even = (f"break-even after {card['total_seconds'] / gain:.0f} solves" if gain > 0 else
                    "no break-even (not faster)")
            lines.append(f"{p}: total to 1e-6 DCDM {d['total_s@1e-06']:.3f}s vs SA-AMG {a['total_s@1e-06']:.3f}s "
                         f"(ratio {d['total_s@1e-06'] / a['total_s@1e-06']:.2f}); training "
                         f"{card['total_seconds']:.0f}s -> {even}")
    lines.append(f"training cost of the two grid networks: {train:.0f} s on one CPU thread")
    return {"lines": lines}


if __name__ == "__main__":
    main()
