"""``pdekit stream``: run an ensemble of simulations and train a surrogate on their live output.

Thin: parses options (and ``--config FILE.toml``) into a
:class:`~pdekit.streaming.config.StreamConfig` and runs :class:`~pdekit.streaming.run.StreamRun`.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]

#: option -> (type, help); every one defaults to None so --config values can fill it
_OPTIONS = {
    "pde": (str, "one of pdekit's time-dependent problems: heat, advection-diffusion, wave, navier-stokes"),
    "resolution": (int, "grid points per axis (with --pde)"),
    "command": (str, "shell command of an external solver that uses StreamClient"),
    "simulations": (int, "simulations in the training ensemble"),
    "steps": (int, "time steps each simulation sends (0 .. steps-1)"),
    "clients": (int, "simulations running at once (default 4)"),
    "ranks": (int, "training ranks (torchrun processes; default 1)"),
    "model": (str, "fno, tfno or mgtfno (default fno)"),
    "modes": (int, "Fourier modes per axis (default 12)"),
    "width": (int, "hidden channels (default 32)"),
    "layers": (int, "Fourier blocks (default 4)"),
    "buffer": (str, "reservoir (default), fifo or firo"),
    "memory": (str, "memory budget of all ranks together, e.g. 2GB, 512MiB (default 2GB)"),
    "watermark": (int, "samples per rank before training starts (default 32)"),
    "batch_size": (int, "samples per batch per rank (default 16)"),
    "lr": (float, "learning rate (default 1e-3)"),
    "target": (str, "autoregressive (fields at t -> t+1, default) or parameters ((parameters, t) -> fields)"),
    "validation": (int, "held-out validation simulations, kept in memory (default 2)"),
    "eval_every": (int, "training steps between validation scores and metrics lines (default 100)"),
    "timeout": (float, "seconds without a new time step before a simulation is killed and relaunched"),
    "max_crashes": (int, "failed attempts of one draw before its parameters are redrawn (default 3)"),
    "max_redraws": (int, "redraws before a simulation fails for good (default 3)"),
    "seed": (int, "seed of the parameter draws and of the model (default 0)"),
    "launcher": (str, "local (default) or slurm"),
    "checkpoint_every": (int, "training steps between checkpoints (default 0: none)"),
    "max_restarts": (int, "trainer restarts allowed (torchrun --max-restarts, default 3)"),
    "device": (str, "cpu or cuda (default: GPU if any)"),
    "host": (str, "address the ranks and the coordinator listen on (default 127.0.0.1)"),
    "heartbeat": (float, "seconds between heartbeats (default 1)"),
    "liveness": (int, "silent heartbeats before a client is presumed dead (default 10)"),
    "out": (str, "run folder (created; the same settings resume it)"),
}


def _dest(name: str) -> str:
    return "solver_command" if name == "command" else name  # args.command is the verb


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``stream`` verb."""
    p = subparsers.add_parser(
        "stream", help="train a surrogate online on an ensemble of running simulations",
        description="Run --simulations simulations with parameters drawn per --parameter, stream every "
                    "time step over ZeroMQ into --ranks training ranks (torchrun + DDP), and train a neural "
                    "operator while they run; nothing but checkpoints is written to disk. The run folder "
                    "receives model.pt, metrics.jsonl, stream.log and report.json. Example: pdekit stream "
                    "--pde heat --resolution 64 --simulations 100 --steps 50 --out run/")
    for name, (typ, text) in _OPTIONS.items():
        p.add_argument("--" + name.replace("_", "-"), dest=_dest(name), type=typ, default=None, help=text)
    p.add_argument("--parameter", action="append", default=None, metavar="NAME=LOW:HIGH",
                   help="a parameter drawn uniformly in [LOW, HIGH] for each simulation (repeatable)")
    p.add_argument("--config", default=None, help="TOML file with the same keys (command-line options win)")
    c = p.add_argument_group("SLURM", "Jobs of --launcher slurm: each simulation launch is a task of a job "
                                      "array, the trainer one job (srun torchrun).")
    c.add_argument("--partition", dest="slurm_partition", default=None, help="SLURM partition")
    c.add_argument("--account", dest="slurm_account", default=None, help="SLURM account")
    c.add_argument("--time-limit", dest="slurm_time", default=None,
                   help="wall-clock limit per job: minutes or [D-]HH:MM:SS (default 01:00:00)")
    c.add_argument("--cpus-per-task", dest="slurm_cpus_per_task", type=int, default=None, help="CPUs per job")
    c.add_argument("--mem-gb", dest="slurm_mem_gb", type=float, default=None, help="memory per job in GB")
    c.add_argument("--gpus-per-node", dest="slurm_gpus_per_node", type=int, default=None,
                   help="GPUs per trainer node (ranks = nodes x GPUs)")
    c.add_argument("--sbatch", dest="slurm_sbatch_lines", action="append", default=None, metavar="LINE",
                   help="extra sbatch option, e.g. --sbatch=--qos=high (repeatable)")
    c.add_argument("--setup", dest="slurm_setup", action="append", default=None, metavar="LINE",
                   help="shell line run before each job, e.g. 'module load python' (repeatable)")
    p.add_argument("--quiet", action="store_true", default=None, help="no progress bar or summary")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def settings(args: argparse.Namespace) -> dict:
    """The run's settings: ``--config`` values, overridden by the options given."""
    from pdekit.streaming.config import load_toml

    values = load_toml(args.config) if args.config else {}
    for name in list(_OPTIONS) + ["quiet"]:
        v = getattr(args, _dest(name))
        if v is not None:
            values[name] = v
    if args.parameter is not None:
        values["parameters"] = list(args.parameter)
    slurm = dict(values.get("slurm", {}))
    slurm.update({k[6:]: v for k, v in vars(args).items() if k.startswith("slurm_") and v is not None})
    if slurm:
        values["slurm"] = slurm
    for key in ("out", "simulations", "steps"):
        if key not in values:
            raise ValueError(f"--{key} is required (on the command line or in --config)")
    return values


def run(args: argparse.Namespace) -> int:
    """Run the streaming ensemble; print a summary; return the exit code."""
    from pdekit._progress import TqdmProgress
    from pdekit.streaming.config import StreamConfig
    from pdekit.streaming.run import StreamRun

    cfg = StreamConfig.from_mapping(settings(args))
    report = StreamRun(cfg, progress=TqdmProgress(disable=cfg.quiet)).run()
    if not cfg.quiet:
        val = report.get("validation_l2")
        print(f"accepted   {report['accepted_samples']:,} of {report['expected_samples']:,} expected samples "
              f"({report['finished_simulations']} simulations finished, {report['failed_simulations']} failed)")
        print(f"dropped    {report['duplicates_dropped']:,} duplicates, rejected {report['rejected_messages']:,} "
              f"stale or invalid messages, {report['client_restarts']} client and "
              f"{report['trainer_restarts']} trainer restarts")
        print(f"trained    {report['samples_trained']:,} samples in {report['training_steps']:,} steps, "
              f"{report['samples_per_second']:.0f} samples/s, blocked {100 * report['blocked_fraction']:.1f}%"
              + (f", validation relative L2 {val:.4g}" if val is not None else ""))
        print(f"model      {report.get('model')}\nreport     {cfg.out}/report.json")
    sys.stdout.flush()
    return 0
