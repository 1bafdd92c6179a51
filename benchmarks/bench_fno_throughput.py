"""FNO / TFNO throughput and memory: pdekit against neuraloperator 2.0, side by side in one run.

Configuration (the reference of shared/BENCHMARKS.md): 2-D input 64 x 64, 1 channel in and out,
16 modes per dimension, width 32, 4 layers, batch 16; TFNO with Tucker rank 0.1. Both packages
use their default architecture for these arguments (grid positional embedding, channel MLPs,
linear / soft-gating skips), which have the same parameter counts (602,977 and 76,837).

Measured per model:

* training: samples/s of full steps (forward, MSE loss, backward, Adam update);
* inference: samples/s of forward passes under ``torch.no_grad()``;
* peak memory of one training step (after a warm-up step, in a fresh process per model): on a GPU
  ``torch.cuda.max_memory_allocated`` above the memory allocated before the step; on a CPU the
  peak resident set size (VmHWM, reset through ``/proc/self/clear_refs``) above the resident set
  before the step.

Steps of the four models are interleaved (A B C D A B C D ...) so that the load of a shared
machine hits all alike; the median of ``--reps`` steps is reported after ``--warmup`` steps.
Run with the benchmark environment::

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_fno_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from _record import write_record

HERE = Path(__file__).resolve().parent
REFERENCE = {"FNO": {"train_samples_per_s": 80.0, "params": 602977},
             "TFNO": {"train_samples_per_s": 67.0, "params": 76837}}
TARGET_SPEEDUP = 1.3


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument("--threads", type=int, default=1, help="torch threads (OMP_NUM_THREADS is set to match)")
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    p.add_argument("--output", default=str(HERE / "results" / "bench_fno_throughput.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.reps, args.warmup = 5, 1
    return args


def _cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def build(name: str):
    """Model ``name`` ("pdekit FNO", "neuralop TFNO", ...) in the reference configuration."""
    package, kind = name.split()
    kwargs = dict(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32, n_layers=4)
    if package == "pdekit":
        import pdekit.operators as op
        return getattr(op, kind)(**kwargs)
    import neuralop.models as nm
    return getattr(nm, kind)(**kwargs)


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


class Runner:
    """One model with its optimizer and data; ``train_step`` and ``infer_step`` time one call."""

    def __init__(self, name, batch, resolution, device):
        import torch
        torch.manual_seed(0)
        self.torch, self.device = torch, device
        self.model = build(name).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x = torch.randn(batch, 1, resolution, resolution, device=device)
        self.y = torch.randn(batch, 1, resolution, resolution, device=device)

    def _sync(self):
        if self.device.startswith("cuda"):
            self.torch.cuda.synchronize()

    def train_step(self) -> float:
        self._sync()
        t = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        loss = (self.model(self.x) - self.y).square().mean()
        loss.backward()
        self.opt.step()
        self._sync()
        return time.perf_counter() - t

    def infer_step(self) -> float:
        self._sync()
        t = time.perf_counter()
        with self.torch.no_grad():
            self.model(self.x)
        self._sync()
        return time.perf_counter() - t


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _memory_child(name, batch, resolution, device, threads, queue):
    import gc

    import torch
    torch.set_num_threads(threads)
    runner = Runner(name, batch, resolution, device)
    runner.train_step()  # optimizer state and caches exist from here on
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        runner.train_step()
        queue.put((torch.cuda.max_memory_allocated() - base) / 2**20)
        return
    with open("/proc/self/clear_refs", "w") as fh:  # reset the high-water mark to the current RSS
        fh.write("5")
    base = _status_kib("VmRSS")
    runner.train_step()
    queue.put((_status_kib("VmHWM") - base) / 1024)


def peak_memory_mib(name, args) -> float:
    """Peak memory growth (MiB) of one training step of ``name`` (after a warm-up step), in a fresh process.

    On a CPU, glibc's mmap threshold is pinned (``MALLOC_MMAP_THRESHOLD_``) so that every large
    tensor is mapped and unmapped on its own and the resident set follows the live tensors.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "131072")
    proc = ctx.Process(target=_memory_child, args=(name, args.batch, args.resolution, args.device, args.threads, queue))
    proc.start()
    value = queue.get(timeout=600)
    proc.join()
    return float(value)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    torch.set_num_threads(args.threads)
    names = ["pdekit FNO", "neuralop FNO", "pdekit TFNO", "neuralop TFNO"]
    try:
        import neuralop  # noqa: F401
    except ImportError:
        print("neuraloperator is not installed here (use .venv-bench); timing pdekit only", file=sys.stderr)
        names = [n for n in names if n.startswith("pdekit")]
    for name in names:  # one-time imports (each package, the optimizer's), so "build s" is the construction alone
        Runner(name, args.batch, args.resolution, args.device)
    setup, runners = {}, {}
    for name in names:
        t = time.perf_counter()
        runners[name] = Runner(name, args.batch, args.resolution, args.device)
        setup[name] = time.perf_counter() - t
    times = {n: {"train": [], "infer": []} for n in names}
    for mode in ("train", "infer"):
        for rep in range(args.warmup + args.reps):
            for name in names:
                dt = getattr(runners[name], f"{mode}_step")()
                if rep >= args.warmup:
                    times[name][mode].append(dt)
    results = {}
    for name in names:
        train = args.batch / statistics.median(times[name]["train"])
        infer = args.batch / statistics.median(times[name]["infer"])
        results[name] = {"params": n_params(runners[name].model), "setup_s": setup[name],
                         "train_samples_per_s": train, "infer_samples_per_s": infer,
                         "train_step_times_s": times[name]["train"], "infer_times_s": times[name]["infer"]}
    if not args.no_memory:
        for name in names:
            results[name]["peak_memory_mib"] = peak_memory_mib(name, args)
    print(f"FNO throughput, {args.resolution}x{args.resolution}, 16 modes, width 32, 4 layers, batch {args.batch}, "
          f"device {args.device}, threads {args.threads}, median of {args.reps} (warm-up {args.warmup} excluded)")
    header = (f"{'model':<15}{'params':>10}{'build s':>9}{'train/s':>10}{'infer/s':>10}{'peak MiB':>10}"
              f"{'train ratio':>13}{'mem ratio':>11}")
    print(header)
    print("-" * len(header))
    for name in names:
        r = results[name]
        kind = name.split()[1]
        other = results.get(f"neuralop {kind}")
        ratio = r["train_samples_per_s"] / other["train_samples_per_s"] if other else float("nan")
        mem_ratio = (r.get("peak_memory_mib", float("nan")) / other.get("peak_memory_mib", float("nan"))
                     if other and other.get("peak_memory_mib") else float("nan"))
        r["train_speedup_vs_neuralop"], r["memory_ratio_vs_neuralop"] = ratio, mem_ratio
        print(f"{name:<15}{r['params']:>10,}{r['setup_s']:>9.3f}{r['train_samples_per_s']:>10.1f}"
              f"{r['infer_samples_per_s']:>10.1f}"
              f"{r.get('peak_memory_mib', float('nan')):>10.1f}{ratio:>13.2f}{mem_ratio:>11.2f}")
    verdicts = {}
    for kind in ("FNO", "TFNO"):
        ours, theirs = results.get(f"pdekit {kind}"), results.get(f"neuralop {kind}")
        if ours and theirs:
            ok_speed = ours["train_speedup_vs_neuralop"] >= TARGET_SPEEDUP
            ok_mem = not ours.get("peak_memory_mib") or ours["memory_ratio_vs_neuralop"] <= 1.0
            verdicts[kind] = {"train_speedup": ours["train_speedup_vs_neuralop"], "target": TARGET_SPEEDUP,
                              "met_speed": ok_speed, "met_memory": ok_mem,
                              "params_equal": ours["params"] == theirs["params"] == REFERENCE[kind]["params"]}
            print(f"{kind}: {ours['train_speedup_vs_neuralop']:.2f}x neuralop training throughput "
                  f"(target {TARGET_SPEEDUP}x: {'met' if ok_speed else 'MISSED'}), memory "
                  f"{'met' if ok_mem else 'MISSED'}, params {ours['params']:,} vs {theirs['params']:,}")
    record = {"benchmark": "bench_fno_throughput", "args": vars(args), "torch": torch.__version__,
              "platform": platform.platform(), "python": sys.version.split()[0], "results": results,
              "verdicts": verdicts, "reference": REFERENCE, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    out = Path(args.output)
    write_record(out, record)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
