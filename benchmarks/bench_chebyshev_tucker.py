"""Chebyshev–Tucker against grid-based Tucker for the long-range potential of many particles.

Potential: ``sum_k q_k erf(|x - x_k| / r_c) / |x - x_k|`` of a bio-molecule-like cluster of
``--particles`` charges (``pdekit.tensor_formats.potentials.random_cluster``), ``r_c = 1``.

* Chebyshev–Tucker (pdekit): the CP route, ``ChebyshevTucker.from_cp`` (one CP term per particle
  and erf-quadrature node, reduced HOSVD of the per-mode Chebyshev coefficient matrices; the
  full coefficient tensor is never formed), then ``on_grid`` on the ``--grid``^3 target grid
  as an orthogonal Tucker tensor (never forming the grid).
* Grid-based (the competitor): the full grid tensor by direct summation, then
  ``tensorly.decomposition.tucker`` at the ranks a tolerance-based Tucker of the same grid tensor
  needs (tensorly has no tolerance). Building a 512^3 tensor of a 1000-particle potential by
  direct summation costs ~1.3e11 kernel evaluations (hours on this machine), so the grid route
  runs at ``--ref-grid``^3 (stated in the output); its time and memory grow with the grid volume.

Accuracy: relative RMS and max errors at ``--points`` random points of the box against the
direct sum, and on the reference grid against the grid tensor. Memory: peak of Python/numpy
allocations (``tracemalloc``) of each route. Also reported, as in the paper: Chebyshev–Tucker
rank and error against the tolerance and against the maximal degree, and two published
figures (erf(r)/r on [-10, 10]^3, 129 points, tol 1e-8: rank 11, max error ~3e-9; 500-atom
cluster, 129 points: ~1e-6 with ranks near (40, 40, 47)). Threads fixed by ``--threads``.
Run::

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_chebyshev_tucker.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from _record import write_record

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller reference grid, fewer sweeps")
    p.add_argument("--particles", type=int, default=1000)
    p.add_argument("--grid", type=int, default=512, help="target grid of the Chebyshev–Tucker route")
    p.add_argument("--ref-grid", type=int, default=None, help="grid of the grid-based route")
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--points", type=int, default=20000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--output", default=str(HERE / "results" / "bench_chebyshev_tucker.json"))
    args = p.parse_args(argv)
    if args.ref_grid is None:
        args.ref_grid = 64 if args.quick else 128
    return args


def measure(fn):
    """(result, seconds, peak MiB of traced allocations)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return out, sec, peak


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import tensorly as tl
    from scipy.special import erf
    from tensorly.decomposition import tucker as tl_tucker

    from pdekit.tensor_formats import ChebyshevTucker, tucker
    from pdekit.tensor_formats.potentials import long_range_cp, long_range_potential, random_cluster

    tl.set_backend("numpy")
    rng = np.random.default_rng(0)
    radius = 0.9 * args.particles ** (1 / 3)
    half = radius + 5.0
    box = [(-half, half)] * 3
    pos, q = random_cluster(args.particles, radius=radius, seed=0)
    f = lambda p: long_range_potential(p, pos, q, r_cut=1.0)  # noqa: E731
    pts = rng.uniform(-half, half, (args.points, 3))
    ref_pts = f(pts)
    record = {"benchmark": "bench_chebyshev_tucker", "threads": args.threads,
              "machine": platform.processor() or platform.machine(), "python": sys.version.split()[0],
              "particles": args.particles, "box": box, "tol": args.tol, "grid": args.grid,
              "ref_grid": args.ref_grid}

    def errors(values, ref):
        return (float(np.linalg.norm(values - ref) / np.linalg.norm(ref)),
                float(np.abs(values - ref).max() / np.abs(ref).max()))

    # ---- Chebyshev–Tucker, CP route, then the target grid as Tucker
    def ct_route():
        w, fs = long_range_cp(pos, q, r_cut=1.0, r_max=2 * np.sqrt(3) * half, tol=args.tol * 1e-3)
        ct = ChebyshevTucker.from_cp(w, fs, box, tol=args.tol)
        g = np.linspace(-half, half, args.grid)
        return ct, ct.on_grid([g, g, g])

    (ct, ct_grid), ct_s, ct_mib = measure(ct_route)
    rms, mx = errors(ct.evaluate(pts), ref_pts)
    record["chebyshev_tucker"] = {"seconds": ct_s, "peak_mib": ct_mib, "ranks": list(ct.ranks),
                                  "degrees": list(ct.degrees), "rms_error": rms, "max_error": mx,
                                  "grid_tucker_ranks": list(ct_grid.rank),
                                  "stored_numbers": ct.n_params}
    print(f"Chebyshev-Tucker ({args.particles} particles, CP route + {args.grid}^3 Tucker): "
          f"{ct_s:.2f}s, peak {ct_mib:.0f} MiB, ranks {ct.ranks}, degrees {ct.degrees}, "
          f"error rms {rms:.2e} max {mx:.2e}", flush=True)

    # ---- grid-based: full tensor by direct summation, then Tucker (tensorly)
    n = args.ref_grid
    g = np.linspace(-half, half, n)
    grid_pts = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    full, build_s, build_mib = measure(lambda: f(grid_pts).reshape(n, n, n))
    del grid_pts
    grid_ranks = list(tucker(full, None, max_rel_error=args.tol).rank)
    (core, factors), tl_s, tl_mib = measure(lambda: tl_tucker(full, rank=grid_ranks))
    tl_full = tl.tucker_to_tensor((core, factors))
    grid_err = float(np.linalg.norm(tl_full - full) / np.linalg.norm(full))
    ct_on_ref = ct.on_grid([g, g, g]).full()
    ct_ref_err = float(np.linalg.norm(ct_on_ref - full) / np.linalg.norm(full))
    record["grid_based"] = {"grid": n, "build_seconds": build_s, "build_peak_mib": build_mib,
                            "tensorly_seconds": tl_s, "tensorly_peak_mib": tl_mib,
                            "ranks": grid_ranks, "rel_error": grid_err,
                            "chebyshev_tucker_error_on_this_grid": ct_ref_err,
                            "full_tensor_mib_at_target_grid": args.grid ** 3 * 8 / 2 ** 20}
    print(f"grid-based at {n}^3 (not {args.grid}^3: direct summation too slow here): build "
          f"{build_s:.1f}s, tensorly tucker {tl_s:.1f}s (peak {tl_mib:.0f} MiB), ranks "
          f"{tuple(grid_ranks)}, error {grid_err:.2e}; Chebyshev-Tucker on this grid "
          f"{ct_ref_err:.2e}", flush=True)
    print(f"  ratios at {n}^3 grid vs Chebyshev-Tucker at {args.grid}^3: time "
          f"{(build_s + tl_s) / ct_s:.1f}x (tensorly alone {tl_s / ct_s:.1f}x), memory "
          f"{(build_mib + tl_mib) / ct_mib:.1f}x; rank difference "
          f"{max(abs(a - b) for a, b in zip(ct.ranks, grid_ranks))}; a {args.grid}^3 float64 grid "
          f"tensor alone is {args.grid ** 3 * 8 / 2 ** 20:.0f} MiB = "
          f"{args.grid ** 3 * 8 / 2 ** 20 / ct_mib:.0f}x the Chebyshev-Tucker peak", flush=True)

    # ---- error against tolerance (ranks) and against maximal degree, as in the paper
    sweep = []
    tols = [1e-3, 1e-5, 1e-7] if args.quick else [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
    w, fs = long_range_cp(pos, q, r_cut=1.0, r_max=2 * np.sqrt(3) * half, tol=1e-11)
    for tol in tols:
        c = ChebyshevTucker.from_cp(w, fs, box, tol=tol)
        rms, mx = errors(c.evaluate(pts[:5000]), ref_pts[:5000])
        sweep.append({"tol": tol, "ranks": list(c.ranks), "degrees": list(c.degrees),
                      "rms_error": rms, "max_error": mx})
        print(f"  tol {tol:.0e}: ranks {c.ranks} degrees {c.degrees} error rms {rms:.2e} max {mx:.2e}",
              flush=True)
    for deg in (16, 32, 64, 128):
        c = ChebyshevTucker.from_cp(w, fs, box, tol=1e-8, max_degree=deg)
        rms, mx = errors(c.evaluate(pts[:5000]), ref_pts[:5000])
        sweep.append({"tol": 1e-8, "max_degree": deg, "ranks": list(c.ranks),
                      "degrees": list(c.degrees), "rms_error": rms, "max_error": mx})
        print(f"  max degree {deg:3d}: ranks {c.ranks} degrees {c.degrees} error rms {rms:.2e} "
              f"max {mx:.2e}", flush=True)
    record["sweep"] = sweep

    # ---- published figures
    def erf_over_r(p):
        r = np.sqrt((p ** 2).sum(1))
        return np.where(r < 1e-12, 2 / np.sqrt(np.pi), erf(r) / np.maximum(r, 1e-300))

    c = ChebyshevTucker.from_function(erf_over_r, [(-10, 10)] * 3, tol=1e-8, degrees=[128] * 3)
    p10 = rng.uniform(-10, 10, (20000, 3))
    e = float(np.abs(c.evaluate(p10) - erf_over_r(p10)).max())
    record["paper_erf_kernel"] = {"ranks": list(c.ranks), "max_error": e, "published_rank": 11,
                                  "published_max_error": 3e-9}
    print(f"erf(r)/r on [-10,10]^3, 129 points, tol 1e-8: ranks {c.ranks} (paper 11), max error "
          f"{e:.1e} (paper ~3e-9)", flush=True)
    pos5, q5 = random_cluster(500, radius=0.9 * 500 ** (1 / 3), seed=1)
    half5 = 0.9 * 500 ** (1 / 3) + 5.0
    w5, fs5 = long_range_cp(pos5, q5, r_cut=1.0, r_max=2 * np.sqrt(3) * half5, tol=1e-10)
    c5 = ChebyshevTucker.from_cp(w5, fs5, [(-half5, half5)] * 3, tol=1e-6, max_degree=128)
    p5 = rng.uniform(-half5, half5, (5000, 3))
    r5 = long_range_potential(p5, pos5, q5)
    rms5, mx5 = errors(c5.evaluate(p5), r5)
    record["paper_500_cluster"] = {"ranks": list(c5.ranks), "degrees": list(c5.degrees),
                                   "rms_error": rms5, "max_error": mx5,
                                   "published_ranks": [40, 40, 47], "published_error": 1.2e-6}
    print(f"500-particle cluster, tol 1e-6: ranks {c5.ranks} (paper ~(40, 40, 47)), degrees "
          f"{c5.degrees}, error rms {rms5:.1e} max {mx5:.1e} (paper ~1e-6)", flush=True)

    out = write_record(args.output, record)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
