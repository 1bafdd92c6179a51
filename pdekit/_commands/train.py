"""``pdekit train --model fno|tfno|mgtfno|gino --data FILE.h5 --epochs N --out RUN/ [options]``.

Trains a neural operator on a pdekit dataset: FNO, TFNO and MG-TFNO on grid data, GINO on
mesh data (``darcy-fem``, ``wave-fem``; its latent grid spans the training mesh's box).
Inputs and outputs are standardized with per-channel statistics of the training split, stored
inside the saved model. The run folder receives ``config.json`` (the options of the run), ``checkpoint.pt`` (exact resume with
``--resume``), ``metrics.jsonl`` (one line per epoch) and, at the end, ``model.pt`` (load with
:func:`pdekit.training.load_model` or ``pdekit evaluate``) and ``curves.png`` (loss and error
curves). Under ``torchrun`` every rank trains a share of each epoch.

A folder holding another run is refused unless ``--resume`` (continue it) or ``--overwrite``
(start over). A resume checks that the training data are the same (the checkpoint stores
their fingerprint), refuses options that would change the run (model, sizes, data subset,
seed, batch size, optimizer, schedule kind), and says which options it ignores (learning
rate, weight decay, schedule settings: the optimizer state continues); ``config.json`` only
ever records what the run used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``train`` verb."""
    from pdekit.training.models import MODEL_NAMES
    from pdekit.training.optim import OPTIMIZERS, SCHEDULERS

    p = subparsers.add_parser(
        "train", help="train a neural operator (FNO, TFNO, MG-TFNO; GINO on meshes) on a dataset file",
        description="Train a neural operator on a pdekit HDF5 dataset. The last --test-fraction of "
                    "the file (or --test-data) is held out and scored every epoch at each "
                    "--eval-resolutions. Launch with `torchrun --nproc_per_node K -m pdekit.cli train "
                    "...` for data-parallel training.")
    p.add_argument("--model", required=True, choices=MODEL_NAMES, help="operator kind")
    p.add_argument("--data", required=True, help="training dataset (.h5 from `pdekit generate`)")
    p.add_argument("--out", required=True, help="run folder (created)")
    p.add_argument("--epochs", type=int, default=100, help="epochs (default 100)")
    p.add_argument("--batch-size", type=int, default=16, help="samples per batch per rank (default 16)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="weight decay (default 1e-4)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="step")
    p.add_argument("--step-size", type=int, default=None, help="epochs between lr drops (step)")
    p.add_argument("--gamma", type=float, default=0.5, help="lr factor (step, plateau)")
    p.add_argument("--modes", type=int, nargs="+", default=[12], help="Fourier modes (default 12)")
    p.add_argument("--width", type=int, default=32, help="hidden channels (default 32)")
    p.add_argument("--layers", type=int, default=4, help="Fourier blocks (default 4)")
    p.add_argument("--rank", type=float, default=0.1, help="factorization rank fraction (tfno, mgtfno)")
    p.add_argument("--levels", type=int, default=2, help="multigrid levels (mgtfno)")
    p.add_argument("--latent-shape", type=int, nargs="+", default=[32],
                   help="latent grid nodes per axis (gino; default 32)")
    p.add_argument("--radius", type=float, default=None,
                   help="neighbourhood radius of the graph layers, in mesh units (gino; default 1.5 latent spacings)")
    p.add_argument("--gno-frequencies", type=int, default=0,
                   help="Fourier features (octaves) of the graph kernels' inputs (gino; default 0, raw inputs)")
    p.add_argument("--padding", type=float, default=None,
                   help="domain padding as a fraction of the domain (non-periodic data)")
    p.add_argument("--n-train", type=int, default=None, help="use only the first N training samples")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="held-out tail of --data when no --test-data (default 0.2)")
    p.add_argument("--test-data", default=None, help="separate test dataset (e.g. another seed)")
    p.add_argument("--train-resolution", type=int, default=None,
                   help="train on the data strided to this many points per axis")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--eval-resolutions", type=int, nargs="+", default=None,
                       help="score the test data at these resolutions (default: the training one)")
    group.add_argument("--eval-strides", type=int, nargs="+", default=None,
                       help="score the test data strided by these factors (1: its own resolution)")
    p.add_argument("--no-normalize", action="store_true", help="do not standardize inputs/outputs")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="start a new run in --out even if it holds another run (its files are deleted)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: GPU if any)")
    p.add_argument("--mixed-precision", action="store_true",
                   help="float16 autocast on CUDA (power-of-two grids: cuFFT half precision)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialization and data order")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


#: options that define a run: a resume must not change them
RUN_DEFINING = ("model", "modes", "width", "layers", "rank", "levels", "padding", "latent_shape", "radius",
                "gno_frequencies", "no_normalize", "n_train",
                "test_fraction", "train_resolution", "seed", "batch_size", "optimizer", "scheduler")
#: options whose values a resume takes from the checkpoint (optimizer and schedule state)
KEPT_BY_RESUME = ("lr", "weight_decay", "step_size", "gamma")
#: not written to config.json
_NOT_CONFIG = ("func", "argv", "debug", "resume", "overwrite", "quiet")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _resume_options(args: argparse.Namespace, out: Path) -> list[str]:
    """Put the run's own values of the run-defining and kept options into ``args``.

    Returns the notes about the options this resume ignores; raises ValueError for an
    option given on the command line that would change the run.
    """
    from pdekit.cli import given_options

    path = out / "config.json"
    if not path.is_file():
        return []
    saved = json.loads(path.read_text())
    given = given_options(args)
    conflicts, ignored = [], []
    for dest in RUN_DEFINING + KEPT_BY_RESUME:
        if dest not in saved:
            continue
        mine, theirs = getattr(args, dest), saved[dest]
        if dest in given and mine != theirs:
            (conflicts if dest in RUN_DEFINING else ignored).append(
                f"{_flag(dest)} {mine} (the run uses {theirs})")
        setattr(args, dest, theirs)
    if conflicts:
        raise ValueError(f"cannot resume the run in {str(out)!r} with other settings: "
                         + "; ".join(conflicts)
                         + ". Drop these options to continue it, or start a new run (--overwrite or another --out)")
    return [f"a resume keeps the run's optimizer and schedule state; ignoring {', '.join(ignored)}"] if ignored else []


def run(args: argparse.Namespace) -> int:
    """Train, save ``RUN/model.pt`` and ``RUN/curves.png``, print a summary; return the exit code."""
    import torch

    from pdekit._atomic import atomic_path
    from pdekit._progress import TqdmProgress
    from pdekit.operators.gino import bind_geometry
    from pdekit.training.batches import MeshBatches
    from pdekit.training.datasets import eval_strides, open_train_test
    from pdekit.training.distributed import env_world, pick_device
    from pdekit.training.models import build_model
    from pdekit.training.normalization import NormalizedOperator, fit_normalizers
    from pdekit.training.run_folder import claim_run_folder
    from pdekit.training.trainer import Trainer

    pick_device(args.device, env_world()[2])  # a clear error before any work
    out = Path(args.out)
    is_main = env_world()[0] == 0
    claim_run_folder(out, resume=args.resume, overwrite=args.overwrite, remove=is_main)
    notes = _resume_options(args, out) if args.resume else []
    if is_main:
        for note in notes:
            print(f"pdekit train: note: {note}", file=sys.stderr)
    train, test, _ = open_train_test(args.data, test_data=args.test_data, test_fraction=args.test_fraction,
                                     n_train=args.n_train, train_resolution=args.train_resolution)
    train_res = int(train.x_shape[-1])
    on_mesh = bool(getattr(train, "is_mesh", False))
    if on_mesh and ((args.eval_strides or [1]) != [1] or args.eval_resolutions):
        raise ValueError("mesh data are scored at their own points: --eval-resolutions/--eval-strides apply to "
                         "grids; score another mesh with `pdekit evaluate RUN OTHER-MESH.h5`")
    if on_mesh:
        strides = [1]
    elif args.eval_strides is not None:
        if min(args.eval_strides) < 1:
            raise ValueError(f"--eval-strides must be positive integers; got {args.eval_strides}")
        strides = list(args.eval_strides)
    else:
        strides = eval_strides(test, args.eval_resolutions or [train_res])
    if args.gno_frequencies and not on_mesh:
        raise ValueError(f"--gno-frequencies applies to the graph kernels of --model gino, not to {args.model}")
    torch.manual_seed(args.seed)
    net = build_model(args.model, in_channels=train.in_channels, out_channels=train.out_channels,
                      n_dim=train.points.shape[1] if on_mesh else len(train.x_shape) - 1,
                      modes=args.modes, width=args.width, layers=args.layers, rank=args.rank,
                      domain_padding=args.padding, levels=args.levels,
                      points=train.points if on_mesh else None, latent_shape=args.latent_shape,
                      radius=args.radius, **({"gno_frequencies": args.gno_frequencies} if on_mesh else {}))
    if args.no_normalize:
        model = net
    else:
        model = NormalizedOperator(net, *fit_normalizers(train))
    trainer = Trainer(model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      weight_decay=args.weight_decay, optimizer=args.optimizer,
                      scheduler=args.scheduler, step_size=args.step_size, gamma=args.gamma,
                      seed=args.seed, device=args.device, mixed_precision=args.mixed_precision,
                      out_dir=out, eval_strides=strides, overwrite=args.overwrite,
                      progress=TqdmProgress(disable=args.quiet))
    test_data = test
    if on_mesh:  # the model reads its mesh from the bound geometry; the test set may lie on another mesh
        bind_geometry(model, train)
        test_data = MeshBatches(model, test, batch_size=args.batch_size, rank=trainer.ctx.rank,
                                world_size=trainer.ctx.world_size)
    if args.resume:  # check everything before config.json is touched
        trainer.load_checkpoint(out / "checkpoint.pt")
        trainer.check_training_data(train)
    if trainer.ctx.is_main:
        config = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG}
        config["data_resolved"] = str(Path(args.data).resolve())
        if args.test_data is not None:
            config["test_data_resolved"] = str(Path(args.test_data).resolve())
        with atomic_path(out / "config.json") as tmp:
            tmp.write_text(json.dumps(config, indent=2) + "\n")
    history = trainer.fit(train, eval_data={"test": test_data})
    if trainer.ctx.is_main:
        from pdekit.training.plots import plot_curves

        model.to("cpu").save(out / "model.pt", overwrite=True)  # the run folder was claimed above
        plot_curves(history, out / "curves.png", overwrite=True)
        if not args.quiet:
            last = history[-1]
            print(f"model      {args.model}: {model.n_parameters():,} parameters -> {out / 'model.pt'}")
            where = f"on a mesh of {train_res} points" if on_mesh else f"at {train_res} points per axis"
            print(f"trained    {last['epoch']} epochs, {last['step']} steps, {len(train)} samples "
                  f"{where}; final train loss {last['train_loss']:.4g}")
            for key in sorted((k for k in last if k.startswith("test/")), key=lambda k: int(k.split("@")[1])):
                at = f"on {key.split('@')[1]} points" if on_mesh else f"at {key.split('@')[1]:>4}"
                print(f"test       relative L2 {at}: {last[key]:.4g}")
            print(f"curves     {out / 'curves.png'}")
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    sys.stdout.flush()
    return 0
