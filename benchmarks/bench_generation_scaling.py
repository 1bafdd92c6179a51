"""Dataset generation across processes: local shards (submitit job array) against the worker pool.

What a user compares: ``pdekit generate darcy --workers P`` (one process, a pool of P worker
processes, the target republished as samples arrive) against ``pdekit generate darcy
--launcher local --jobs P`` (P submitit jobs, one shard each, solving in their own process,
then one merge), at equal solving processes P = 1, 2, 4. Both timings are whole calls, from
the command to the finished file: process start-up, job submission and polling, solving,
publishing or merging. Every file is compared with one uninterrupted ``workers=0`` run (a
difference is recorded with the samples and values concerned). The issue's target: the shard
path costs at most 5% more wall time than the pool.

Merge throughput: part files of a given total size (finite random float32 samples of the
``heat`` layout, 64 x 64 x 50 frames) written as a finished shard leaves them, then the plain
run that verifies (SHA-256, finite values) and merges them into the HDF5 file, in seconds per
GB; beside it, the floor: h5py writing the same arrays from memory into a chunked file.

Threads fixed to one per process (``OMP_NUM_THREADS=1``); runs of the two paths alternate, and
the median over the repetitions is reported.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 /work/bench-venv/bin/python benchmarks/bench_generation_scaling.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from pdekit.data import generate  # noqa: E402
from pdekit.data.plan import plan_generation  # noqa: E402
from pdekit.data.journal import Journal  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import write_record  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET = 1.05


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _difference(a: Path, b: Path) -> dict | None:
    """None if the files are byte-identical, else which samples differ and by how much."""
    if a.read_bytes() == b.read_bytes():
        return None
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        out = {"attrs_differ": sorted(k for k in fa.attrs if not np.array_equal(fa.attrs[k], fb.attrs.get(k)))}
        for key in ("inputs", "outputs"):
            x, y = fa[key][()], fb[key][()]
            bad = [i for i in range(x.shape[0]) if not np.array_equal(x[i], y[i])]
            out[key] = {"samples": bad, "max_abs_diff": float(np.abs(x - y).max()),
                        "values_differing": int((x != y).sum())}
    return out


def scaling(workdir: Path, *, n: int, resolution: int, processes: list[int], reps: int,
            mismatches: list) -> list[dict]:
    rows = []
    ref = workdir / "ref.h5"
    generate("darcy", ref, n=n, resolution=resolution, seed=0, workers=0)
    for p in processes:
        pool_t, shard_t = [], []
        for r in range(reps):
            order = ("pool", "shards") if r % 2 == 0 else ("shards", "pool")
            for kind in order:
                out = workdir / f"{kind}-{p}-{r}.h5"
                if kind == "pool":
                    pool_t.append(_timed(lambda: generate("darcy", out, n=n, resolution=resolution,
                                                          seed=0, workers=p)))
                else:
                    shard_t.append(_timed(lambda: generate("darcy", out, n=n, resolution=resolution,
                                                           seed=0, launcher="local", jobs=p)))
                diff = _difference(out, ref)
                if diff is not None:
                    mismatches.append({"kind": kind, "processes": p, "rep": r, **diff})
                    print(f"  ! {kind} with {p} processes differs from the single run: {diff}", flush=True)
                out.unlink()
        pool, shards = statistics.median(pool_t), statistics.median(shard_t)
        rows.append({"processes": p, "pool_s": pool, "shards_s": shards,
                     "pool_samples_per_s": n / pool, "shards_samples_per_s": n / shards,
                     "shards_over_pool": shards / pool, "pool_runs_s": pool_t, "shard_runs_s": shard_t})
        print(f"  {p} processes: pool {n / pool:6.2f} samples/s ({pool:6.2f} s), local shards "
              f"{n / shards:6.2f} samples/s ({shards:6.2f} s): shards/pool = {shards / pool:.3f}",
              flush=True)
    return rows


def merge_throughput(workdir: Path, *, gigabytes: float, reps: int) -> dict:
    frames, s = 50, 64
    sample_bytes = 4 * (s * s + frames * s * s)
    n = max(2, int(gigabytes * 1e9 / sample_bytes))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((s, s, 1)).astype(np.float32)
    ys = [rng.standard_normal((frames, s, s, 1)).astype(np.float32) for _ in range(4)]
    merge_t, floor_t = [], []
    for r in range(reps):
        path = workdir / f"merge-{r}.h5"
        plan = plan_generation("heat", path, n=n, resolution=s, seed=0, n_records=frames)
        journal = Journal(path, plan.run_key)
        journal.prepare(exclusive=True)
        for i in range(n):  # what finished shards leave behind
            journal.write(i, x, ys[i % 4])
        merge_t.append(_timed(lambda: generate("heat", path, n=n, resolution=s, seed=0, workers=0,
                                               n_records=frames)))
        path.unlink()
        floor = workdir / f"floor-{r}.h5"

        def h5_floor():
            with h5py.File(floor, "w") as f:
                dx = f.create_dataset("inputs", (n, s, s, 1), np.float32, chunks=(1, s, s, 1))
                dy = f.create_dataset("outputs", (n, frames, s, s, 1), np.float32, chunks=(1, frames, s, s, 1))
                for i in range(n):
                    dx[i] = x
                    dy[i] = ys[i % 4]
            with open(floor, "rb+") as fh:
                os.fsync(fh.fileno())

        floor_t.append(_timed(h5_floor))
        floor.unlink()
    size = n * sample_bytes / 1e9
    merge, floor_s = statistics.median(merge_t), statistics.median(floor_t)
    row = {"samples": n, "gigabytes": size, "merge_s": merge, "merge_s_per_gb": merge / size,
           "h5py_write_s": floor_s, "h5py_write_s_per_gb": floor_s / size, "merge_over_h5py": merge / floor_s,
           "merge_runs_s": merge_t, "h5py_runs_s": floor_t}
    print(f"  merge of {n} parts ({size:.2f} GB): {merge:.2f} s = {merge / size:.2f} s/GB; h5py writing the "
          f"same arrays from memory: {floor_s / size:.2f} s/GB (merge/h5py = {merge / floor_s:.2f})", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    ap.add_argument("--out", default=str(HERE / "results" / "generation_scaling.json"))
    args = ap.parse_args()
    n, resolution, reps = (16, 64, 1) if args.quick else (256, 128, 3)
    gigabytes, merge_reps = (0.05, 1) if args.quick else (0.5, 3)
    processes = [1, 2, 4]
    workdir = Path(tempfile.mkdtemp(prefix="bench-gen-"))
    try:
        print(f"darcy, {n} samples at {resolution}x{resolution}, median of {reps} (OMP_NUM_THREADS=1):")
        mismatches: list[dict] = []
        rows = scaling(workdir, n=n, resolution=resolution, processes=processes, reps=reps,
                       mismatches=mismatches)
        print("merge:")
        merge = merge_throughput(workdir, gigabytes=gigabytes, reps=merge_reps)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n| processes | pool samples/s | local shards samples/s | shards / pool time |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['processes']} | {r['pool_samples_per_s']:.2f} | {r['shards_samples_per_s']:.2f} | "
              f"{r['shards_over_pool']:.3f} |")
    worst = max(r["shards_over_pool"] for r in rows)
    print(f"\nworst shards/pool = {worst:.3f} (target <= {TARGET}); merge {merge['merge_s_per_gb']:.2f} s/GB")
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    record = {
        "benchmark": "generation_scaling", "quick": args.quick, "problem": "darcy",
        "samples": n, "resolution": resolution, "repetitions": reps, "threads_per_process": 1,
        "scaling": rows, "merge": merge, "target_shards_over_pool": TARGET,
        "worst_shards_over_pool": worst, "meets_target": worst <= TARGET,
        "all_files_identical_to_single_run": not mismatches, "mismatches": mismatches,
        "machine": {"cpus": os.cpu_count(), "load_average_at_end": load, "python": platform.python_version(),
                    "platform": platform.platform()},
    }
    print(f"record: {write_record(args.out, record)}")


if __name__ == "__main__":
    main()
