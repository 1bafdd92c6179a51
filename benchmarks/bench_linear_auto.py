"""Where ``linear.solve(method="auto")`` should switch from the direct solver to AMG-PCG.

For FD (5-/7-point) and FEM (P1/P2, 2D/3D) matrices of growing size with a 12/3-ish random
coefficient, one thread, median of 3: the direct solver (SuperLU, factorise + solve), AMG-PCG
set up afresh (a single solve), AMG-PCG re-set-up on the pattern (the next sample of a dataset)
and what ``method="auto"`` does, all to rtol 1e-10. The table shows, per family, the sizes at
which the direct solver stops being the faster choice: the thresholds in
:mod:`pdekit.solvers.linear.auto` come from this run (2D graphs: direct up to ~10,000 unknowns;
3D, or rows denser than 18 entries: up to ~2,000; the next matrix of a pattern, whose AMG is only
re-set-up: up to ~2,000 in every dimension).

    PYTHONPATH=. .venv-bench/bin/python benchmarks/bench_linear_auto.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from pdekit.meshes import unit_cube, unit_square  # noqa: E402
from pdekit.solvers import fem  # noqa: E402
from pdekit.solvers.fd import poisson_system  # noqa: E402
from pdekit.solvers.linear import clear_preconditioner_cache, graph_dimension, solve  # noqa: E402
from _record import write_record  # noqa: E402

HERE = Path(__file__).resolve().parent
RTOL = 1e-10


def _fd(shape, seed):
    s = poisson_system(shape, a=np.random.default_rng(seed).uniform(3, 12, shape))
    return s.matrix, s.rhs


def _fem(mesh, degree, seed):
    V = fem.function_space(mesh, degree)
    a = np.random.default_rng(seed).uniform(3, 12, V.n_cells)
    s = fem.condense(fem.stiffness_matrix(V, a), fem.load_vector(V, 1.0), fem.dirichlet_dofs(V), 0.0)
    return s.matrix, s.rhs


FAMILIES = {
    "FD 2D": [lambda k, m=m: _fd((m, m), k) for m in (32, 48, 72, 100, 141, 200)],
    "FD 3D": [lambda k, m=m: _fd((m, m, m), k) for m in (10, 14, 18, 23, 29)],
    "P1 2D": [lambda k, m=m: _fem(unit_square(m), 1, k) for m in (32, 48, 72, 100, 141, 200)],
    "P2 2D": [lambda k, m=m: _fem(unit_square(m), 2, k) for m in (16, 24, 36, 50, 70, 100)],
    "P1 3D": [lambda k, m=m: _fem(unit_cube(m), 1, k) for m in (8, 12, 16, 21, 27)],
    "P2 3D": [lambda k, m=m: _fem(unit_cube(m), 2, k) for m in (4, 6, 8, 11, 14)],
}


def _median(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the three smallest sizes per family")
    p.add_argument("--output", type=Path, default=HERE / "results" / "bench_linear_auto.json")
    args = p.parse_args(argv)
    rows = []
    print(f"{'family':>6} {'n':>7} {'dim':>5} {'direct s':>9} {'AMG fresh s':>11} {'AMG reused s':>12} "
          f"{'auto':>7} {'auto s':>8}")
    for family, makers in FAMILIES.items():
        for make in (makers[:3] if args.quick else makers):
            A, b = make(0)
            A2, b2 = make(1)
            direct = _median(lambda: solve(A2, b2, method="direct", rtol=RTOL), 3)
            fresh = _median(lambda: solve(A2, b2, method="pcg", reuse=False, rtol=RTOL), 3)
            clear_preconditioner_cache()
            solve(A, b, method="pcg", rtol=RTOL)  # the pattern's hierarchy, then new values
            reused = _median(lambda: solve(A2, b2, method="pcg", rtol=RTOL), 3)
            clear_preconditioner_cache()
            _, info = solve(A2, b2, rtol=RTOL)
            auto = _median(lambda: (clear_preconditioner_cache(), solve(A2, b2, rtol=RTOL)), 3)
            row = {"family": family, "n": int(A.shape[0]), "nnz_per_row": A.nnz / A.shape[0],
                   "graph_dimension": graph_dimension(A), "direct_s": direct, "amg_fresh_s": fresh,
                   "amg_reused_s": reused, "auto_method": info.method, "auto_s": auto,
                   "auto_over_best_single": auto / min(direct, fresh)}
            rows.append(row)
            print(f"{family:>6} {row['n']:>7} {row['graph_dimension']:5.2f} {direct:9.4f} {fresh:11.4f} "
                  f"{reused:12.4f} {info.method:>7} {auto:8.4f}", flush=True)
    crossovers = {}
    for family in FAMILIES:
        sizes = [r for r in rows if r["family"] == family]
        crossovers[family] = {
            "direct_faster_up_to": max((r["n"] for r in sizes if r["direct_s"] <= r["amg_fresh_s"]), default=0),
            "amg_faster_from": min((r["n"] for r in sizes if r["amg_fresh_s"] < r["direct_s"]), default=None)}
    print("single solve, direct vs fresh AMG-PCG:", crossovers)
    worst = max(r["auto_over_best_single"] for r in rows)
    print(f"auto's time over the faster of direct and fresh AMG, worst case: {worst:.2f}x")
    write_record(args.output, {"benchmark": "linear_auto", "threads": 1, "rtol": RTOL, "quick": args.quick,
                               "load_average": os.getloadavg(), "rows": rows, "crossovers": crossovers,
                               "worst_auto_over_best": worst})
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
