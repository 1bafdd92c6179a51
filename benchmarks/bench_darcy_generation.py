"""Darcy data generation: pdekit's generator against scikit-fem + pyamg / spsolve, samples per second.

One sample of the FNO Darcy set: a Neumann GRF (alpha 2, tau 3) thresholded to a = 12 / 3,
then -div(a grad u) = 1 on the unit square, u = 0 on the boundary, on the s x s node grid.

* pdekit: ``gaussian_random_field`` + ``threshold_coefficient`` + ``fd.darcy(a)`` with its
  defaults, the call ``pdekit generate darcy`` makes (5-point scheme, cached CSR pattern,
  ``solver="auto"``: SA-AMG transfers built once per grid from the a = 1 operator and re-set-up
  per sample, PCG to rtol 1e-10; sparse LU on small grids). Beside it the same call with
  ``preconditioner=pretrained("dcdm-poisson-2d")`` (deep conjugate directions, the network bound
  to every sample's matrix), what ``--preconditioner dcdm-poisson-2d`` runs.
* competitor, what a user would otherwise write: the same GRF and coefficient, P1 finite
  elements of scikit-fem on the same grid (``MeshTri.init_tensor``, two triangles per cell,
  coefficient interpolated at the nodes), ``condense`` on the boundary, then either pyamg
  (``smoothed_aggregation_solver`` + CG to tol 1e-10, set up for each matrix) or
  ``scipy.sparse.linalg.spsolve``. The best of the two counts.

Both pipelines run on the same coefficients, interleaved sample by sample. Setup (mesh,
basis, load vector, cached pattern and AMG prolongators) is reported apart and excluded from
samples/s; per-sample time is the median over the timed samples after a warm-up. Threads are
fixed to 1 (``OMP_NUM_THREADS`` etc. set before numpy loads).

    .venv-bench/bin/python benchmarks/bench_darcy_generation.py [--quick] [--sizes 85 256 421]
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
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

from pdekit.solvers.fd import darcy, poisson_system  # noqa: E402
from pdekit.solvers.linear import solve  # noqa: E402
from pdekit.solvers.random_fields import gaussian_random_field, threshold_coefficient  # noqa: E402
from _record import write_record  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET = 3.0
RTOL = 1e-10


def coefficient(s: int, rng: np.random.Generator) -> np.ndarray:
    g = gaussian_random_field((s, s), alpha=2.0, tau=3.0, bc="neumann", rng=rng)
    return threshold_coefficient(g, high=12.0, low=3.0)


class Pdekit:
    """pdekit's generator call, end to end, and the same work split into assembly and solve."""

    def __init__(self, s: int, preconditioner=None):
        self.preconditioner = preconditioner
        t = time.perf_counter()
        darcy(np.ones((s, s)), preconditioner=preconditioner)  # pattern (and AMG transfers)
        self.setup = time.perf_counter() - t
        self.s = s
        self.reference = poisson_system((s, s)).matrix  # a = 1: what darcy builds its AMG from

    def sample(self, a: np.ndarray):
        """Assembly (poisson_system) and solve (linear.solve, the default darcy's choices)."""
        t0 = time.perf_counter()
        system = poisson_system(a.shape, a=a)
        t1 = time.perf_counter()
        x, info = solve(system.matrix, system.rhs, rtol=RTOL, check_symmetry=False,
                        preconditioner=self.preconditioner, unknowns=system.unknowns, reference=self.reference)
        u = system.to_grid(x)
        return u, t1 - t0, time.perf_counter() - t1, info

    def end_to_end(self, a: np.ndarray) -> np.ndarray:
        return darcy(a, rtol=RTOL, preconditioner=self.preconditioner)


class ScikitFem:
    """scikit-fem P1 assembly + pyamg or spsolve on the same grid and coefficient."""

    def __init__(self, s: int):
        from skfem import Basis, BilinearForm, ElementTriP1, LinearForm, MeshTri
        from skfem.helpers import dot, grad

        @BilinearForm
        def diffusion(u, v, w):
            return w.a * dot(grad(u), grad(v))

        @LinearForm
        def unit_load(v, w):
            return 1.0 * v

        t = time.perf_counter()
        x = np.linspace(0.0, 1.0, s)
        self.mesh = MeshTri.init_tensor(x, x)
        self.basis = Basis(self.mesh, ElementTriP1())
        self.load = unit_load.assemble(self.basis)
        self.boundary = self.mesh.boundary_nodes()
        self.setup = time.perf_counter() - t
        self.form = diffusion
        self.node_ij = np.rint(self.mesh.p * (s - 1)).astype(int)
        self.s = s

    def sample(self, a: np.ndarray, solver: str):
        from skfem import condense

        t0 = time.perf_counter()
        a_nodes = a[self.node_ij[0], self.node_ij[1]]
        A = self.form.assemble(self.basis, a=self.basis.interpolate(a_nodes))
        t1 = time.perf_counter()
        A_i, b_i, x, interior = condense(A, self.load, D=self.boundary)
        if solver == "pyamg":
            import pyamg

            ml = pyamg.smoothed_aggregation_solver(A_i.tocsr())
            x_i = ml.solve(b_i, tol=RTOL, accel="cg", maxiter=200)
        else:
            x_i = spla.spsolve(A_i.tocsc(), b_i)
        x = x.copy()
        x[interior] = x_i
        u = np.zeros((self.s, self.s))
        u[self.node_ij[0], self.node_ij[1]] = x
        t2 = time.perf_counter()
        return u, t1 - t0, t2 - t1


def bench_size(s: int, n_samples: int, warmup: int, seed: int, with_spsolve: bool, network) -> dict:
    rng = np.random.default_rng(seed)
    ours = {"pdekit": Pdekit(s), "pdekit+dcdm-poisson-2d": Pdekit(s, network)}
    theirs = ScikitFem(s)
    solvers = ["pyamg"] + (["spsolve"] if with_spsolve else [])
    rows = {**{k: [] for k in ours}, **{f"skfem+{k}": [] for k in solvers}}
    methods, grf_times, diffs = {}, [], []
    for i in range(warmup + n_samples):
        t = time.perf_counter()
        a = coefficient(s, rng)
        t_grf = time.perf_counter() - t
        entries, outputs = {}, {}
        for name, pipeline in ours.items():
            t = time.perf_counter()
            outputs[name] = pipeline.end_to_end(a)
            t_total = time.perf_counter() - t
            u_split, t_asm, t_solve, info = pipeline.sample(a)
            methods[name] = f"{info.method} + {info.preconditioner}"
            entries[name] = (t_asm, t_solve, t_total)
            assert np.allclose(outputs[name], u_split, rtol=1e-6, atol=1e-9)
        for k in solvers:
            u_fem, t_asm_f, t_solve_f = theirs.sample(a, k)
            entries[f"skfem+{k}"] = (t_asm_f, t_solve_f, t_asm_f + t_solve_f)
        if i >= warmup:
            grf_times.append(t_grf)
            for k, v in entries.items():
                rows[k].append(v)
            diffs.append(np.linalg.norm(outputs["pdekit"] - u_fem) / np.linalg.norm(u_fem))
            assert np.allclose(outputs["pdekit"], outputs["pdekit+dcdm-poisson-2d"], rtol=1e-6,
                               atol=1e-8 * np.abs(outputs["pdekit"]).max())
    t_grf = float(np.median(grf_times))
    out = {"s": s, "unknowns": (s - 2) ** 2, "n_samples": n_samples, "grf_s": t_grf,
           "rel_l2_pdekit_vs_p1": float(np.median(diffs)), "pdekit_methods": methods, "pipelines": {}}
    for k, v in rows.items():
        v = np.array(v)
        total = float(np.median(v[:, 2])) + t_grf
        out["pipelines"][k] = {
            "setup_s": ours[k].setup if k in ours else theirs.setup,
            "assembly_s": float(np.median(v[:, 0])), "solve_s": float(np.median(v[:, 1])),
            "per_sample_s": total, "samples_per_s": 1.0 / total,
        }
    best = max((k for k in rows if k not in ours), key=lambda k: out["pipelines"][k]["samples_per_s"])
    out["best_competitor"] = best
    for k in ours:
        out[f"speedup_{k}"] = out["pipelines"][k]["samples_per_s"] / out["pipelines"][best]["samples_per_s"]
    out["speedup"] = out["speedup_pdekit"]
    out["meets_target"] = out["speedup"] >= TARGET
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="s = 85 and 129 only, few samples")
    p.add_argument("--sizes", type=int, nargs="+", default=None)
    p.add_argument("--samples", type=int, default=None, help="timed samples per size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", type=Path, default=HERE / "results" / "bench_darcy_generation.json")
    args = p.parse_args(argv)
    sizes = args.sizes or ([85, 129] if args.quick else [85, 256, 421])
    import pyamg
    import skfem
    import torch

    from pdekit.operators import pretrained

    torch.set_num_threads(1)
    network = pretrained("dcdm-poisson-2d")
    results = []
    for s in sizes:
        n = args.samples or (5 if args.quick else (15 if s <= 128 else 7))
        results.append(bench_size(s, n, warmup=2, seed=args.seed, with_spsolve=s <= 300, network=network))
    print(f"Darcy generation, FNO setting; threads = 1; target pdekit (defaults) >= {TARGET:g}x best competitor")
    print(f"{'s':>4} {'pipeline':>24} {'setup s':>8} {'assemble s':>10} {'solve s':>9} "
          f"{'sample s':>9} {'samples/s':>9}")
    for r in results:
        for k, v in r["pipelines"].items():
            print(f"{r['s']:>4} {k:>24} {v['setup_s']:8.3f} {v['assembly_s']:10.4f} {v['solve_s']:9.4f} "
                  f"{v['per_sample_s']:9.4f} {v['samples_per_s']:9.1f}")
        flag = "ok" if r["meets_target"] else "MISS"
        print(f"{r['s']:>4} defaults ({r['pdekit_methods']['pdekit']}) vs {r['best_competitor']}: "
              f"{r['speedup']:.2f}x [{flag}]; with dcdm-poisson-2d: "
              f"{r['speedup_pdekit+dcdm-poisson-2d']:.2f}x; GRF {r['grf_s'] * 1e3:.1f} ms in every sample; "
              f"rel. L2(pdekit FD - skfem P1) {r['rel_l2_pdekit_vs_p1']:.2e}")
    record = {
        "benchmark": "darcy_generation", "threads": 1, "torch_threads": torch.get_num_threads(),
        "rtol": RTOL, "target_speedup": TARGET, "load_average": os.getloadavg(),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "pyamg": pyamg.__version__, "scikit-fem": skfem.__version__},
        "results": results,
    }
    write_record(args.output, record)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
