"""Repeated FEM solves with a new coefficient per sample: pdekit against scikit-fem + pyamg.

What a dataset of N samples on one mesh costs per sample, end to end (assembly + boundary
conditions + solve), for ``-div(a grad u) = 1``, ``u = 0`` on the boundary of the unit square /
cube, ``a`` a new piecewise-constant coefficient (12 / 3 thresholded random field) per sample:

* pdekit: ``fem.poisson(mesh, f=1, a=a, degree=p, rtol=1e-8)`` with its defaults, the call
  ``pdekit generate darcy-fem`` makes. The sparsity pattern is cached per mesh; the AMG transfers
  are built once per mesh (from the a = 1 matrix) and re-set-up for each coefficient (Galerkin
  coarse operators only); PCG with true-residual convergence.
* competitor: scikit-fem on the same mesh (``Basis`` built once, ``asm`` per sample with the
  per-cell coefficient, ``condense``), then pyamg's ``smoothed_aggregation_solver`` set up for
  each matrix and its CG to ``tol=1e-8`` (SA-AMG-CG), what a user of those packages writes.

Both pipelines solve the same coefficients, interleaved sample by sample; the solutions are
compared. Per-sample times are medians over the timed samples after one warm-up; the first
sample's setup (mesh, spaces, pattern, transfers) is reported apart. One thread everywhere.

    PYTHONPATH=. .venv-bench/bin/python benchmarks/bench_repeated_solve.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402

from pdekit import meshes  # noqa: E402
from pdekit.solvers import fem  # noqa: E402
from pdekit.solvers.random_fields import draw_random_field, threshold_coefficient  # noqa: E402
from _record import write_record  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET = 2.0
RTOL = 1e-8

#: case -> (mesh builder, degree); about 263k DOFs in 2D and 250k in 3D (``--quick``: about 16x fewer)
CASES = {
    "P1 2D": (lambda q: meshes.unit_square(128 if q else 512), 1),
    "P2 2D": (lambda q: meshes.unit_square(64 if q else 256), 2),
    "P1 3D": (lambda q: meshes.unit_cube(25 if q else 62), 1),
    "P2 3D": (lambda q: meshes.unit_cube(12 if q else 31), 2),
}


def coefficients(mesh, rng) -> np.ndarray:
    field = draw_random_field(rng, mesh.dim, length_scale=0.1)
    return threshold_coefficient(field(meshes.cell_centroids(mesh.points, mesh.cells).T), high=12.0, low=3.0)


class ScikitFem:
    def __init__(self, mesh, degree: int):
        import skfem
        from skfem.helpers import dot, grad

        t = time.perf_counter()
        cls = skfem.MeshTri if mesh.dim == 2 else skfem.MeshTet
        m = cls(np.ascontiguousarray(mesh.points.T), np.ascontiguousarray(mesh.cells.T))
        element = {(2, 1): skfem.ElementTriP1, (2, 2): skfem.ElementTriP2,
                   (3, 1): skfem.ElementTetP1, (3, 2): skfem.ElementTetP2}[(mesh.dim, degree)]()
        self.basis = skfem.Basis(m, element)

        @skfem.BilinearForm
        def diffusion(u, v, w):
            return w.a * dot(grad(u), grad(v))

        @skfem.LinearForm
        def unit(v, w):
            return 1.0 * v

        self.form, self.load = diffusion, unit.assemble(self.basis)
        self.boundary = self.basis.get_dofs().all()
        self.nq = self.basis.X.shape[-1]
        self.setup = time.perf_counter() - t

    def sample(self, a_cells: np.ndarray):
        import pyamg
        import skfem

        t0 = time.perf_counter()
        A = self.form.assemble(self.basis, a=np.repeat(a_cells[:, None], self.nq, axis=1))
        A_i, b_i, x, interior = skfem.condense(A, self.load, D=self.boundary)
        t1 = time.perf_counter()
        ml = pyamg.smoothed_aggregation_solver(A_i.tocsr())
        res: list = []
        x_i = ml.solve(b_i, tol=RTOL, accel="cg", maxiter=500, residuals=res)
        x = x.copy()
        x[interior] = x_i
        t2 = time.perf_counter()
        true = np.linalg.norm(b_i - A_i @ x_i) / np.linalg.norm(b_i)
        return x, t1 - t0, t2 - t1, len(res) - 1, true


def bench_case(name: str, quick: bool, n_samples: int, seed: int) -> dict:
    build, degree = CASES[name]
    mesh = build(quick)
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    first = fem.poisson(mesh, f=1.0, a=coefficients(mesh, rng), degree=degree, rtol=RTOL)
    pdekit_setup = time.perf_counter() - t
    theirs = ScikitFem(mesh, degree)
    rows, diffs, iters = {"pdekit": [], "skfem+pyamg": []}, [], {"pdekit": [], "skfem+pyamg": []}
    for i in range(1 + n_samples):
        a = coefficients(mesh, rng)
        t = time.perf_counter()
        u = fem.poisson(mesh, f=1.0, a=a, degree=degree, rtol=RTOL)
        total = time.perf_counter() - t
        x, t_asm, t_solve, its, true = theirs.sample(a)
        if i == 0:
            continue  # warm-up
        rows["pdekit"].append((total, u.info.setup_time, u.info.solve_time - u.info.setup_time))
        rows["skfem+pyamg"].append((t_asm + t_solve, t_asm, t_solve))
        iters["pdekit"].append(u.info.iterations)
        iters["skfem+pyamg"].append(its)
        diffs.append(float(np.linalg.norm(u.values - x) / np.linalg.norm(x)))
        assert u.info.converged and u.info.final_residual <= RTOL
    out = {"case": name, "dofs": int(first.space.n_dofs), "n_samples": n_samples,
           "pdekit_first_sample_s": pdekit_setup, "skfem_setup_s": theirs.setup,
           "pdekit_method": f"{first.info.method} + {first.info.preconditioner}",
           "rel_diff_solutions": float(np.max(diffs)), "pipelines": {}}
    for k, v in rows.items():
        v = np.array(v)
        out["pipelines"][k] = {"per_sample_s": float(np.median(v[:, 0])), "iterations": int(np.median(iters[k])),
                               ("setup_s" if k == "pdekit" else "assembly_s"): float(np.median(v[:, 1])),
                               "solve_s": float(np.median(v[:, 2]))}
    out["speedup"] = out["pipelines"]["skfem+pyamg"]["per_sample_s"] / out["pipelines"]["pdekit"]["per_sample_s"]
    out["meets_target"] = out["speedup"] >= TARGET
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="meshes about 16x smaller, 3 samples")
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", type=Path, default=HERE / "results" / "bench_repeated_solve.json")
    args = p.parse_args(argv)
    import pyamg
    import skfem

    results = [bench_case(c, args.quick, args.samples or (3 if args.quick else 5), args.seed) for c in args.cases]
    print(f"Repeated solves, new coefficient per sample, end to end; threads = 1; rtol {RTOL:g}; "
          f"target pdekit >= {TARGET:g}x scikit-fem + pyamg")
    print(f"{'case':>6} {'DOFs':>8} {'pdekit s':>9} {'(it)':>5} {'skfem+pyamg s':>13} {'(it)':>5} {'speedup':>8}")
    for r in results:
        ours, theirs = r["pipelines"]["pdekit"], r["pipelines"]["skfem+pyamg"]
        flag = "ok" if r["meets_target"] else "MISS"
        print(f"{r['case']:>6} {r['dofs']:>8,} {ours['per_sample_s']:9.3f} {ours['iterations']:>5} "
              f"{theirs['per_sample_s']:13.3f} {theirs['iterations']:>5} {r['speedup']:7.2f}x [{flag}]  "
              f"(pdekit: {r['pdekit_method']}; first sample {r['pdekit_first_sample_s']:.2f} s; "
              f"skfem assembly {theirs['assembly_s']:.3f} s + pyamg {theirs['solve_s']:.3f} s; "
              f"solutions differ by {r['rel_diff_solutions']:.1e})")
    record = {"benchmark": "repeated_solve", "threads": 1, "rtol": RTOL, "target_speedup": TARGET,
              "quick": args.quick, "load_average": os.getloadavg(), "python": sys.version.split()[0],
              "platform": platform.platform(),
              "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "pyamg": pyamg.__version__,
                           "scikit-fem": skfem.__version__},
              "results": results}
    write_record(args.output, record)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
