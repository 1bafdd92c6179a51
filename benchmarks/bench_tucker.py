"""Tucker decomposition of smooth 3-D fields: pdekit against tensorly, side by side in one run.

Field: ``1 / sqrt(0.05 + |x - a|^2) + sin(4 x y + z)`` on ``[-1, 1]^3`` with ``n^3`` points
(multilinear singular values decay geometrically, as for PDE solutions).

Cases per size: a fixed rank 12 and relative errors 1e-6 and 1e-10 (pdekit picks the ranks
from true singular values; tensorly, which has no tolerance, gets the same ranks). Both run
HOOI from an SVD start to convergence (tensorly: ``tensorly.decomposition.tucker`` with its
defaults, ``init="svd"``; pdekit: ``pdekit.tensor_formats.tucker`` with its defaults). The
error of each, ``||X - T|| / ||X||`` from the full reconstruction, is reported beside its time,
so "equal error" can be read off; speed-up = tensorly time / pdekit time.

pdekit runs on numpy and on torch (same code); tensorly on its numpy backend (and on its
pytorch backend for the rank-12 case). Threads are fixed (``--threads``, default 1); pdekit's
time is the median of ``--reps`` runs after one warm-up; tensorly (tens of seconds) runs once.
Wall and CPU (``time.process_time``) times are both recorded: on a shared machine the CPU
times, which exclude the time other jobs hold the cores, are the steadier ratio.
``--quick`` skips 512^3 (1 GiB per float64 copy). Run::

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_tucker.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from _record import write_record

HERE = Path(__file__).resolve().parent
TARGET_SPEEDUP = 20.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="only 256^3")
    p.add_argument("--sizes", type=int, nargs="+", default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--no-tensorly-torch", action="store_true")
    p.add_argument("--cases", nargs="+", default=["rank 12", "tol 1e-6", "tol 1e-10"],
                   help="subset of the cases, e.g. --cases 'rank 12'")
    p.add_argument("--output", default=str(HERE / "results" / "bench_tucker.json"))
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = [256] if args.quick else [256, 512]
    return args


def field(n, np):
    x = np.linspace(-1.0, 1.0, n)
    a, b, c = x[:, None, None], x[None, :, None], x[None, None, :]
    out = (a - 0.1) ** 2 + b * b
    out = out + (c + 0.2) ** 2
    out += 0.05
    np.sqrt(out, out=out)
    np.reciprocal(out, out=out)
    out += np.sin(4 * a * b + c)
    return out


def rel_error(x, full, np):
    return float(np.linalg.norm((full - x).ravel()) / np.linalg.norm(x.ravel()))


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import torch
    import tensorly as tl
    from tensorly.decomposition import tucker as tl_tucker

    from pdekit.tensor_formats import tucker

    torch.set_num_threads(args.threads)
    load_at_start = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    rows = []
    cases = [("rank 12", dict(rank=12)), ("tol 1e-6", dict(rank=None, max_rel_error=1e-6)), ("tol 1e-10", dict(rank=None, max_rel_error=1e-10))]
    unknown = sorted(set(args.cases) - {c[0] for c in cases})
    if unknown:
        raise SystemExit(f"unknown cases {unknown}; expected some of {[c[0] for c in cases]}")
    cases = [c for c in cases if c[0] in args.cases]
    for n in args.sizes:
        x = field(n, np)
        xt = torch.from_numpy(x)
        for name, kw in cases:
            res = {"n": n, "case": name}
            for backend, data in (("numpy", x), ("torch", xt)):
                tucker(data, **kw)  # warm-up
                times, cpu = [], []
                for _ in range(args.reps):
                    t0, c0 = time.perf_counter(), time.process_time()
                    t = tucker(data, **kw)
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                full = t.full()
                full = full.numpy() if backend == "torch" else full
                res[f"pdekit_{backend}_s"] = statistics.median(times)
                res[f"pdekit_{backend}_cpu_s"] = statistics.median(cpu)
                res[f"pdekit_{backend}_err"] = rel_error(x, full, np)
                res["ranks"] = list(t.rank)
                del full
            tl.set_backend("numpy")
            t0, c0 = time.perf_counter(), time.process_time()
            core, factors = tl_tucker(x, rank=res["ranks"])
            res["tensorly_numpy_s"] = time.perf_counter() - t0
            res["tensorly_numpy_cpu_s"] = time.process_time() - c0
            res["tensorly_numpy_err"] = rel_error(x, tl.tucker_to_tensor((core, factors)), np)
            if name == "rank 12" and not args.no_tensorly_torch:
                tl.set_backend("pytorch")
                t0 = time.perf_counter()
                core, factors = tl_tucker(xt, rank=res["ranks"])
                res["tensorly_torch_s"] = time.perf_counter() - t0
                res["tensorly_torch_err"] = rel_error(x, tl.tucker_to_tensor((core, factors)).numpy(), np)
                tl.set_backend("numpy")
            res["speedup_numpy"] = res["tensorly_numpy_s"] / res["pdekit_numpy_s"]
            res["speedup_numpy_cpu"] = res["tensorly_numpy_cpu_s"] / res["pdekit_numpy_cpu_s"]
            if "tensorly_torch_s" in res:
                res["speedup_torch"] = res["tensorly_torch_s"] / res["pdekit_torch_s"]
            rows.append(res)
            _print_row(res)
        del x, xt
    record = {"benchmark": "bench_tucker", "threads": args.threads, "reps": args.reps,
              "machine": platform.processor() or platform.machine(), "python": sys.version.split()[0],
              "target_speedup": TARGET_SPEEDUP, "load_average_at_start": load_at_start, "rows": rows}
    out = write_record(args.output, record)
    print(f"wrote {out}")
    return 0


def _print_row(r):
    tt = f"{r['tensorly_torch_s']:.2f}s err {r['tensorly_torch_err']:.3e}" if "tensorly_torch_s" in r else "-"
    print(f"{r['n']}^3 {r['case']:<9} ranks {tuple(r['ranks'])}\n"
          f"   pdekit numpy {r['pdekit_numpy_s']:8.3f}s err {r['pdekit_numpy_err']:.3e} | "
          f"pdekit torch {r['pdekit_torch_s']:8.3f}s err {r['pdekit_torch_err']:.3e}\n"
          f"   tensorly numpy {r['tensorly_numpy_s']:8.2f}s err {r['tensorly_numpy_err']:.3e} | "
          f"tensorly torch {tt}\n"
          f"   speed-up numpy {r['speedup_numpy']:.1f}x"
          + (f", torch {r['speedup_torch']:.1f}x" if "speedup_torch" in r else "")
          + f"; CPU time pdekit {r['pdekit_numpy_cpu_s']:.3f}s, tensorly {r['tensorly_numpy_cpu_s']:.2f}s: "
            f"{r['speedup_numpy_cpu']:.1f}x", flush=True)


if __name__ == "__main__":
    sys.exit(main())
