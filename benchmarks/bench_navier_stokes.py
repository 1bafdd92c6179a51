"""Navier-Stokes accuracy: pdekit FNO-2D and MG-TFNO against the FNO paper (nu = 1e-3, 64 x 64).

Data come from pdekit's generator (``navier-stokes``: vorticity on the unit torus, FNO forcing,
periodic GRF initial vorticity, pseudo-spectral steps with Crank-Nicolson viscosity and forward-
Euler advection), stored once per time unit up to T = 50. As in Li et al. (2020) the first 10
stored frames are the input and the next 40 the output; the 2D models are recurrent: a network
maps the last 10 frames to the next one and is rolled out 40 times, trained through the whole
rollout on the relative L2 error of the trajectory.

Targets: FNO-2D relative L2 <= 0.0128 (paper, N = 1000, 500 epochs); MG-TFNO below FNO's
error with >= 10x fewer parameters. The paper's data (256 x 256 solves, dt = 1e-4, 1200
samples) take hours of CPU per sample batch; ``--solve-resolution`` and ``--dt`` trade
fidelity for time, and ``--quick`` runs a small CPU version (32 x 32, 40 / 10 samples).
On a machine with a GPU both the generator's time stepping and the training run there.

    python benchmarks/bench_navier_stokes.py                 # paper protocol (GPU, hours of data)
    python benchmarks/bench_navier_stokes.py --quick         # minutes on a CPU
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from pdekit.data.generation import generate
from pdekit.data.torch_dataset import open_dataset
from pdekit.training import Trainer
from pdekit.training.models import build_model
from _record import write_record

HERE = Path(__file__).resolve().parent
PAPER_FNO2D_L2 = 0.0128


class Frames(torch.utils.data.Dataset):
    """``x``: frames ``[0, n_in)`` of a stored trajectory, ``y``: frames ``[n_in, n_in + n_out)``."""

    def __init__(self, trajectories, n_in: int, n_out: int) -> None:
        if trajectories.y_shape[0] < n_in + n_out:
            raise ValueError(f"trajectories have {trajectories.y_shape[0]} frames; need {n_in + n_out}")
        self.data, self.n_in, self.n_out = trajectories, n_in, n_out

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i):
        w = self.data[i]["y"]  # (T, s, s): time folded into channels, one field
        return {"x": w[: self.n_in], "y": w[self.n_in: self.n_in + self.n_out]}


class Rollout(torch.nn.Module):
    """Apply ``step`` (last ``n_in`` frames -> next frame) ``n_out`` times; (B, n_in, s, s) -> (B, n_out, s, s)."""

    def __init__(self, step: torch.nn.Module, n_out: int) -> None:
        super().__init__()
        self.step, self.n_out = step, n_out
        self.in_channels, self.out_channels = step.in_channels, n_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = []
        for _ in range(self.n_out):
            nxt = self.step(x)
            frames.append(nxt)
            x = torch.cat([x[:, 1:], nxt], dim=1)
        return torch.cat(frames, dim=1)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.step.parameters() if p.requires_grad)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--solve-resolution", type=int, default=256)
    p.add_argument("--dt", type=float, default=1e-4)
    p.add_argument("--n-in", type=int, default=10)
    p.add_argument("--n-out", type=int, default=40)
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--lr", type=float, default=None, help="learning rate (paper 1e-3; --quick 3e-3)")
    p.add_argument("--modes", type=int, default=24,
                   help="Fourier modes per axis, counted as pdekit/neuraloperator count them (all kept "
                        "frequencies of an axis); the paper's modes=12 (+-12) is 24 here")
    p.add_argument("--width", type=int, default=20)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--rank", type=float, default=0.05, help="Tucker rank fraction of MG-TFNO / TFNO")
    p.add_argument("--levels", type=int, default=1, help="MG-TFNO multigrid levels (2**levels patches per axis)")
    p.add_argument("--models", nargs="+", default=["fno", "mgtfno", "tfno"], choices=["fno", "mgtfno", "tfno"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default=None, help="training device (default: cuda if available)")
    p.add_argument("--solver-device", default=None,
                   help="device of the data generator's time stepping (default: cuda if available, "
                        "else numpy on the CPU)")
    p.add_argument("--data-dir", default=str(HERE / "results" / "data"))
    p.add_argument("--out", default=str(HERE / "results" / "bench_navier_stokes.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test = min(args.n_train, 40), min(args.n_test, 10)
        args.resolution = args.solve_resolution = 32
        args.dt = max(args.dt, 5e-3)
        args.epochs = min(args.epochs, 12)
        args.batch_size = min(args.batch_size, 4)
        args.modes = min(args.modes, 8)
        args.lr = 3e-3 if args.lr is None else args.lr
    args.lr = 1e-3 if args.lr is None else args.lr
    return args


def make_data(args):
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    record_every = int(round(1.0 / args.dt))
    t_final = float(args.n_in + args.n_out)
    paths, report = {}, {}
    for name, n, seed in (("train", args.n_train, 0), ("test", args.n_test, 1)):
        path = data_dir / (f"ns_{name}_s{args.resolution}_from{args.solve_resolution}_dt{args.dt:g}"
                           f"_n{n}_seed{seed}.h5")
        t0 = time.perf_counter()
        solver_device = args.solver_device or ("cuda" if torch.cuda.is_available() else None)
        r = generate("navier-stokes", path, n=n, resolution=args.resolution, seed=seed,
                     workers=0 if solver_device else args.workers, nu=1e-3, t_final=t_final, dt=args.dt,
                     record_every=record_every, solve_resolution=args.solve_resolution, device=solver_device)
        report[name] = {"path": str(path), "n": n, "seconds": time.perf_counter() - t0,
                        "generated": r.n_generated}
        paths[name] = path
        print(f"data {name}: {n} trajectories at {args.resolution} (solved at {args.solve_resolution}, "
              f"dt {args.dt:g}), generated {r.n_generated} in {report[name]['seconds']:.1f} s", flush=True)
    return report, paths


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    data_report, paths = make_data(args)
    train = Frames(open_dataset(paths["train"]), args.n_in, args.n_out)
    test = Frames(open_dataset(paths["test"]), args.n_in, args.n_out)
    from pdekit.training.metrics import relative_l2_per_sample

    persistence = float(torch.cat([relative_l2_per_sample(b["x"][-1:].expand_as(b["y"])[None], b["y"][None])
                                   for b in (test[i] for i in range(len(test)))]).mean())
    print(f"persistence baseline (last input frame held): test relative L2 {persistence:.4f}", flush=True)
    results, skipped = [], {}
    for kind in args.models:
        torch.manual_seed(0)
        try:
            step = build_model(kind, in_channels=args.n_in, out_channels=1, n_dim=2, modes=args.modes,
                               width=args.width, layers=args.layers, rank=args.rank, levels=args.levels)
        except (ValueError, TypeError) as exc:
            skipped[kind] = str(exc)
            print(f"{kind}: skipped ({exc})", flush=True)
            continue
        model = Rollout(step, args.n_out)
        paper = args.epochs >= 100  # the paper's halving every epochs/5; cosine for short runs
        trainer = Trainer(model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=1e-4,
                          scheduler="step" if paper else "cosine", step_size=max(1, args.epochs // 5),
                          gamma=0.5, seed=0,
                          device=device, distributed=False,
                          out_dir=Path(args.data_dir).parent / f"ns_{kind}")
        t0 = time.perf_counter()
        history = trainer.fit(train, eval_data={"test": test})
        seconds = time.perf_counter() - t0
        l2 = history[-1][f"test/l2@{args.resolution}"]
        results.append({"model": kind, "n_parameters": model.n_parameters(), "epochs": args.epochs,
                        "schedule": "paper step" if paper else "cosine",
                        "train_seconds": seconds, "test_l2": l2, "final_train_loss": history[-1]["train_loss"],
                        "curve": [{"epoch": r["epoch"], "train_loss": r["train_loss"],
                                   "test_l2": r[f"test/l2@{args.resolution}"]} for r in history]})
        print(f"{kind}: {model.n_parameters():,} parameters, {args.epochs} epochs in {seconds:.0f} s, "
              f"test relative L2 {l2:.4f}", flush=True)
    by = {r["model"]: r for r in results}
    checks = {}
    if "fno" in by:
        checks["fno2d_l2_le_paper"] = by["fno"]["test_l2"] <= PAPER_FNO2D_L2
        if "mgtfno" in by:
            checks["mgtfno_below_fno"] = by["mgtfno"]["test_l2"] < by["fno"]["test_l2"]
            checks["mgtfno_10x_fewer_params"] = by["fno"]["n_parameters"] >= 10 * by["mgtfno"]["n_parameters"]
    print()
    print(f"{'model':<7} {'params':>9} {'epochs':>6} {'train s':>8} {'test L2':>8}  paper FNO-2D {PAPER_FNO2D_L2}")
    for r in results:
        print(f"{r['model']:<7} {r['n_parameters']:>9,} {r['epochs']:>6} {r['train_seconds']:>8.0f} {r['test_l2']:>8.4f}")
    print(f"{'persist':<7} {0:>9} {'-':>6} {'-':>8} {persistence:>8.4f}  (last input frame held)")
    for k, v in skipped.items():
        print(f"{k:<7} skipped: {v}")
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    record = {"benchmark": "navier_stokes", "args": vars(args), "device": str(device),
              "threads": torch.get_num_threads(), "machine": platform.platform(), "torch": torch.__version__,
              "data": data_report, "paper_fno2d_l2": PAPER_FNO2D_L2, "persistence_l2": persistence, "results": results, "skipped": skipped,
              "targets": checks, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = write_record(args.out, record)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
