"""Finite-element stiffness assembly: pdekit against scikit-fem, side by side in one run.

Problem: the P1 / P2 Lagrange stiffness matrix ``int a grad u . grad v`` with a coefficient
``a`` constant per cell (random, as in Darcy data generation), on

* the unit square, right-diagonal triangles, P1 with ~1M DOFs (1024^2 squares);
* the unit cube, Kuhn tetrahedra, P1 with ~1M DOFs (100^3 cubes);
* the unit square, P2 with ~250k DOFs (250^2 squares), and the unit cube, P2 with ~250k
  DOFs (31^3 cubes).

Both codes get the same mesh (pdekit's points and cells, handed to ``skfem.MeshTri`` /
``MeshTet``) and compute the same matrix (checked: ``u.K u`` for an interpolated quadratic
agrees to 1e-10). scikit-fem uses the lowest exact quadrature order (``intorder`` 1 for P1,
2 for P2; its default is 2p) and the coefficient as per-point values; this favours it.

Measured:

* first assembly: everything from a fresh mesh to the matrix. pdekit: a new
  ``FunctionSpace`` (dof map), its sparsity pattern, then ``stiffness_matrix`` (cell
  geometry, local matrices and their scatter; P1 builds its edge operator here, P2 scatters
  directly and builds its cell operator on the second call, reported as ``operator_build_s``). scikit-fem: ``Basis(...)``
  plus ``asm(...)``; its ``asm`` alone is shown too.
* re-assembly with a new coefficient on the same mesh: pdekit ``stiffness_matrix(V, a)``
  (the cached cell operator: one sparse product), scikit-fem ``asm(form, basis, a=...)``.

P1 assembles only the off-diagonal (edge) entries and sets each diagonal entry to minus its
row sum (stiffness rows sum to zero); local entries that are exactly zero (3 of 6 per Kuhn
tetrahedron, 1 of 3 per right-diagonal triangle) are left out of the cell operator. Both
codes' matrices hold the same values; pdekit keeps the structural zeros of the pattern
(needed to re-assemble general coefficients in place) where scikit-fem drops them, so its
``nnz`` is smaller on these structured meshes.

Targets: first assembly >= 2x faster than scikit-fem's (Basis + asm), re-assembly >= 20x
faster than scikit-fem's assembly (asm). Threads are fixed (``--threads``, default 1);
re-assembly is the median of ``--reps`` runs after a warm-up; first assemblies (seconds)
are the median of ``--first-reps`` runs. ``--quick`` uses ~16-70k DOF meshes. Run::

    .venv-bench/bin/python benchmarks/bench_fem_assembly.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from _record import write_record

HERE = Path(__file__).resolve().parent
TARGET_FIRST, TARGET_REASSEMBLY = 2.0, 20.0
FULL = [("P1 square", 2, 1, 1024), ("P1 cube", 3, 1, 100), ("P2 square", 2, 2, 250), ("P2 cube", 3, 2, 31)]
QUICK = [("P1 square", 2, 1, 256), ("P1 cube", 3, 1, 40), ("P2 square", 2, 2, 64), ("P2 cube", 3, 2, 12)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small meshes (seconds)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=7, help="re-assembly repetitions (median)")
    p.add_argument("--first-reps", type=int, default=3, help="first-assembly repetitions (median)")
    p.add_argument("--cases", nargs="+", default=None, help="subset of case names, e.g. 'P1 cube'")
    p.add_argument("--output", default=str(HERE / "results" / "bench_fem_assembly.json"))
    return p.parse_args(argv)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def quadratic(x):
    return x[0] ** 2 + x[0] * x[1] - 0.5 * x[1] + 1.0


def run_pdekit(mesh, degree, coefs, first_reps, reps):
    import numpy as np

    from pdekit.solvers.fem import FunctionSpace, stiffness_matrix

    firsts = []
    for _ in range(first_reps):
        t_space, V = timed(lambda: FunctionSpace(mesh, degree))  # fresh: nothing cached
        t_pat, _ = timed(lambda: V.pattern)
        t_asm, K = timed(lambda: stiffness_matrix(V, coefs[0]))  # geometry, local matrices, operator
        firsts.append((t_space + t_pat + t_asm, t_space, t_pat, t_asm))
        if len(firsts) < first_reps:
            del V, K
            gc.collect()
    first = sorted(firsts)[len(firsts) // 2]
    t_op, _ = timed(lambda: stiffness_matrix(V, coefs[1]))  # builds the cell operator
    times = []
    for a in coefs[2: 2 + reps]:
        t, K = timed(lambda: stiffness_matrix(V, a))
        times.append(t)
    u = quadratic(V.dofmap.node_coordinates.T)
    return {"first_s": first[0], "space_s": first[1], "pattern_s": first[2],
            "local_and_scatter_s": first[3], "operator_build_s": t_op,
            "reassembly_s": statistics.median(times), "n_dofs": int(V.n_dofs), "nnz": int(K.nnz),
            "energy": float(u @ (K @ u)), "coef": coefs[2 + reps - 1]}


def run_skfem(mesh, degree, coefs, first_reps, reps):
    import numpy as np
    import skfem
    from skfem.helpers import dot, grad

    @skfem.BilinearForm
    def diffusion(u, v, w):
        return w.a * dot(grad(u), grad(v))

    if mesh.cell_type == "triangle":
        M, E = skfem.MeshTri, (skfem.ElementTriP1 if degree == 1 else skfem.ElementTriP2)
    else:
        M, E = skfem.MeshTet, (skfem.ElementTetP1 if degree == 1 else skfem.ElementTetP2)
    sk_mesh = M(np.ascontiguousarray(mesh.points.T), np.ascontiguousarray(mesh.cells.T))
    intorder = 1 if degree == 1 else 2
    firsts = []
    for _ in range(first_reps):
        t_basis, basis = timed(lambda: skfem.Basis(sk_mesh, E(), intorder=intorder))
        nq = basis.X.shape[1]
        a_q = np.repeat(coefs[0][:, None], nq, axis=1)
        t_asm, K = timed(lambda: skfem.asm(diffusion, basis, a=a_q))
        firsts.append((t_basis + t_asm, t_basis, t_asm))
        if len(firsts) < first_reps:
            del basis, K
            gc.collect()
    first = sorted(firsts)[len(firsts) // 2]
    times = []
    for a in coefs[2: 2 + reps]:
        a_q = np.repeat(a[:, None], nq, axis=1)
        t, K = timed(lambda: skfem.asm(diffusion, basis, a=a_q))
        times.append(t)
    u = quadratic(basis.doflocs)
    return {"first_s": first[0], "basis_s": first[1], "asm_s": first[2],
            "reassembly_s": statistics.median(times), "n_dofs": int(basis.N), "nnz": int(K.nnz),
            "energy": float(u @ (K @ u))}


def main(argv=None) -> int:
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import scipy

    from pdekit.meshes import unit_cube, unit_square

    try:
        import skfem
    except ImportError:
        print("scikit-fem is not installed: run with .venv-bench/bin/python (make bench-env)")
        return 1
    cases = QUICK if args.quick else FULL
    if args.cases:
        cases = [c for c in cases if c[0] in args.cases]
    rows = []
    for name, dim, degree, n in cases:
        mesh = unit_square(n) if dim == 2 else unit_cube(n)
        rng = np.random.default_rng(0)
        coefs = [rng.uniform(1.0, 10.0, mesh.n_cells) for _ in range(2 + args.reps)]
        ours = run_pdekit(mesh, degree, coefs, args.first_reps, args.reps)
        gc.collect()
        theirs = run_skfem(mesh, degree, coefs, args.first_reps, args.reps)
        gc.collect()
        agree = abs(ours["energy"] - theirs["energy"]) / abs(theirs["energy"])
        row = {"case": name, "mesh_n": n, "degree": degree, "n_dofs": ours["n_dofs"],
               "pdekit": {k: v for k, v in ours.items() if k != "coef"}, "skfem": theirs,
               "energy_rel_diff": agree,
               "speedup_first": theirs["first_s"] / ours["first_s"],
               "speedup_first_vs_asm_only": theirs["asm_s"] / ours["first_s"],
               "speedup_reassembly": theirs["reassembly_s"] / ours["reassembly_s"]}
        row["meets_first_target"] = bool(row["speedup_first"] >= TARGET_FIRST)
        row["meets_reassembly_target"] = bool(row["speedup_reassembly"] >= TARGET_REASSEMBLY)
        rows.append(row)
        print(f"{name}: {row['n_dofs']} DOFs done (energies agree to {agree:.1e})", flush=True)
        del mesh, coefs
        gc.collect()

    hdr = (f"{'case':10} {'DOFs':>9} | {'pdekit first':>12} {'(space/pattern/asm)':>19} | "
           f"{'skfem first':>11} {'(basis/asm)':>13} | {'x first':>7} {'x vs asm':>8} | "
           f"{'pdekit re':>9} {'skfem re':>9} {'x re':>7}")
    print(f"\nthreads={args.threads}  numpy {np.__version__}  scipy {scipy.__version__}  "
          f"scikit-fem {skfem.__version__ if hasattr(skfem, '__version__') else '?'}  "
          f"{platform.processor() or platform.machine()}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        o, s = r["pdekit"], r["skfem"]
        print(f"{r['case']:10} {r['n_dofs']:>9} | {o['first_s']:>11.3f}s "
              f"({o['space_s']:.2f}/{o['pattern_s']:.2f}/{o['local_and_scatter_s']:.2f}) | "
              f"{s['first_s']:>10.3f}s ({s['basis_s']:.2f}/{s['asm_s']:.2f}) | "
              f"{r['speedup_first']:>6.1f}x {r['speedup_first_vs_asm_only']:>7.1f}x | "
              f"{o['reassembly_s']:>8.4f}s {s['reassembly_s']:>8.3f}s {r['speedup_reassembly']:>6.1f}x")
    print(f"targets: first >= {TARGET_FIRST}x, re-assembly >= {TARGET_REASSEMBLY}x; misses: "
          + (", ".join(f"{r['case']} ({'first' if not r['meets_first_target'] else ''}"
                       f"{' re' if not r['meets_reassembly_target'] else ''})"
                       for r in rows if not (r["meets_first_target"] and r["meets_reassembly_target"]))
             or "none"))
    record = {"benchmark": "bench_fem_assembly", "quick": args.quick, "threads": args.threads,
              "python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
              "machine": platform.machine(), "rows": rows}
    out = Path(args.output)
    write_record(out, record)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
