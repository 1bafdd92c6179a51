"""The surrogate step of ``pdekit demo``: train a small TFNO on the demo's Darcy data.

:func:`train_demo_surrogate` fits a Tucker-factorized FNO for a fixed wall-clock budget
(about two minutes on two CPU cores), scores it on the held-out part of the file, and
measures how much faster it predicts a solution than the finite-difference solver computes
one. :func:`format_summary` turns the returned metrics into the lines the demo prints.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

__all__ = ["train_demo_surrogate", "format_summary"]


def _median_seconds(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train_demo_surrogate(data_path: str | os.PathLike, out_dir: str | os.PathLike, *,
                         progress=None, epochs: int = 60, budget_seconds: float = 120.0,
                         train_resolution: int | None = None, modes: int = 8, width: int = 24,
                         layers: int = 4, rank: float = 0.2, batch_size: int = 8, lr: float = 3e-3,
                         test_fraction: float = 0.2, seed: int = 0, solver_reps: int = 3) -> dict[str, Any]:
    """Train a small TFNO on ``data_path`` within ``budget_seconds``; return its metrics.

    Parameters
    ----------
    data_path : path-like
        A Darcy dataset written by :func:`pdekit.data.generate`.
    out_dir : path-like
        Folder for ``model.pt``, ``checkpoint.pt``, ``metrics.jsonl``, ``config.json`` and
        ``curves.png`` (created).
    progress : progress object, optional
        Receives one update per training step.
    epochs : int
        Upper bound on the number of epochs.
    budget_seconds : float
        Training wall-clock budget: the number of epochs is chosen from a timing of the
        first steps so that training fits (at least 2 epochs).
    train_resolution : int, optional
        Train on the data strided to this many points per axis (default: the data's own
        resolution if it is at most 65, else the largest stride-reachable one <= 65).
    modes, width, layers, rank : TFNO size.
    batch_size, lr, test_fraction, seed : training settings.
    solver_reps : int
        Solver runs timed for the speed comparison (median).

    Returns
    -------
    dict
        ``n_parameters``, ``epochs``, ``train_seconds``, ``n_train``, ``n_test``,
        ``train_resolution``, ``test_l2`` (resolution -> relative L2 on the test split),
        ``solver_seconds`` (one solve, median), ``surrogate_seconds`` (per sample in
        batches of 32), ``surrogate_single_seconds`` (one sample at a time), ``speedup`` and
        ``speedup_single`` (solver time over surrogate time), ``model_path``.
    """
    import numpy as np
    import torch

    from pdekit._atomic import atomic_path
    from pdekit.training.datasets import eval_strides, open_train_test
    from pdekit.data.problems import get_problem
    from pdekit.data.strides import reachable_resolutions, resolution_stride
    from pdekit.training.models import build_model
    from pdekit.training.normalization import NormalizedOperator, fit_normalizers
    from pdekit.training.plots import plot_curves
    from pdekit.training.trainer import Trainer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from pdekit.data.torch_dataset import open_dataset

    full = open_dataset(data_path)
    size = int(full.x_shape[-1])
    if train_resolution is None:
        train_resolution = reachable_resolutions(size, at_most=65)[0]
    resolution_stride(size, train_resolution)  # clear error if unreachable
    train, test, _ = open_train_test(str(data_path), test_data=None, test_fraction=test_fraction,
                                  n_train=None, train_resolution=train_resolution)
    torch.manual_seed(seed)
    net = build_model("tfno", in_channels=train.in_channels, out_channels=train.out_channels,
                      n_dim=len(train.x_shape) - 1, modes=min(modes, train_resolution // 2),
                      width=width, layers=layers, rank=rank)
    model = NormalizedOperator(net, *fit_normalizers(train))
    resolutions = sorted({train_resolution, size})
    strides = eval_strides(test, resolutions)

    # choose the number of epochs from the time of a few steps on a throw-away copy
    probe = Trainer(copy.deepcopy(model), batch_size=batch_size, lr=lr, device="cpu",
                    distributed=False, seed=seed)
    batches = probe.batches_for(train)
    first = next(batches.batches(0))
    probe.train_step(first)  # warm-up
    t0 = time.perf_counter()
    for _ in range(3):
        probe.train_step(first)
    epoch_seconds = 1.25 * (time.perf_counter() - t0) / 3 * len(batches)  # margin for load
    n_epochs = int(max(2, min(epochs, budget_seconds // max(epoch_seconds, 1e-9))))

    trainer = Trainer(model, epochs=n_epochs, batch_size=batch_size, lr=lr, weight_decay=1e-4,
                      scheduler="cosine", seed=seed, device="cpu", distributed=False,
                      out_dir=out, eval_strides=strides, progress=progress,
                      checkpoint_every=max(1, n_epochs), overwrite=True)  # the demo's own folder
    t0 = time.perf_counter()
    history = trainer.fit(train)
    train_seconds = time.perf_counter() - t0
    scores = trainer.evaluate(test, strides=strides)
    model.to("cpu").eval().save(out / "model.pt", overwrite=True)
    config = {"model": "tfno", "data": str(data_path), "data_resolved": str(Path(data_path).resolve()),
              "test_fraction": test_fraction, "train_resolution": train_resolution, "modes": modes,
              "width": width, "layers": layers, "rank": rank, "batch_size": batch_size, "lr": lr,
              "epochs": n_epochs, "seed": seed}
    with atomic_path(out / "config.json") as tmp:  # what `pdekit evaluate` reads
        tmp.write_text(json.dumps(config, indent=2) + "\n")
    plot_curves(history, out / "curves.png", overwrite=True)

    # speed: the solver on fresh instances vs the surrogate on one input, same resolution
    problem = get_problem(full.pde)
    params = full.params
    rng = np.random.default_rng(12345)
    solver_seconds = _median_seconds(lambda: problem.solve(rng, size, **params), solver_reps)
    x = test[0]["x"][None]
    xs = torch.stack([test[i % len(test)]["x"] for i in range(32)])
    with torch.no_grad():
        single_seconds = _median_seconds(lambda: model(x), 5)
        surrogate_seconds = _median_seconds(lambda: model(xs), 3) / xs.shape[0]
    return {
        "n_parameters": int(model.n_parameters()),
        "epochs": n_epochs,
        "steps": trainer.step,
        "final_train_loss": history[-1]["train_loss"],
        "train_seconds": train_seconds,
        "n_train": len(train),
        "n_test": len(test),
        "train_resolution": train_resolution,
        "test_l2": {int(v["resolution"]): float(v["l2"]) for v in scores.values()},
        "solver_seconds": solver_seconds,
        "surrogate_seconds": surrogate_seconds,
        "surrogate_single_seconds": single_seconds,
        "speedup": solver_seconds / surrogate_seconds,
        "speedup_single": solver_seconds / single_seconds,
        "resolution": size,
        "solve_resolution": int(params.get("solve_resolution") or size),
        "torch_threads": torch.get_num_threads(),
        "model_path": str(out / "model.pt"),
        "test_fraction": test_fraction,
    }


def _times(ratio: float) -> str:
    return f"{ratio:.2g}x faster" if ratio >= 1 else f"{1 / ratio:.2g}x slower"


def format_summary(metrics: dict[str, Any]) -> str:
    """The lines ``pdekit demo`` prints about the surrogate."""
    l2 = ", ".join(f"{v:.3g} at {r}x{r}" for r, v in sorted(metrics["test_l2"].items()))
    return "\n".join([
        f"surrogate   TFNO with {metrics['n_parameters']:,} parameters, trained {metrics['epochs']} "
        f"epochs ({metrics['train_seconds']:.0f} s) on {metrics['n_train']} samples at "
        f"{metrics['train_resolution']}x{metrics['train_resolution']}",
        f"test error  relative L2 {l2} ({metrics['n_test']} held-out samples)",
        f"speed       per solution at {metrics['resolution']}x{metrics['resolution']}: solver "
        f"{metrics['solver_seconds'] * 1e3:.1f} ms (solving on {metrics['solve_resolution']}x"
        f"{metrics['solve_resolution']} nodes, as the data were made), surrogate {metrics['surrogate_seconds'] * 1e3:.2f} ms "
        f"in batches of 32 ({_times(metrics['speedup'])}), {metrics['surrogate_single_seconds'] * 1e3:.2f} ms "
        f"one at a time ({_times(metrics['speedup_single'])}); {metrics['torch_threads']} threads",
        f"model       {metrics['model_path']}",
    ])
