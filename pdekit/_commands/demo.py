"""``pdekit demo [--out DIR] [--quiet] [--workers W]``: pdekit end to end, in about three minutes.

The demo is a sequence of step functions run in order on one :class:`DemoContext`
(see :data:`STEPS`). Each step reads what the earlier ones left in the context (paths of
datasets, reports) and adds its own. Later steps (e.g. training a small surrogate on
``ctx.datasets["darcy"]``) are added by appending ``(name, function)`` to :data:`STEPS`.

Steps:

1. ``darcy``: 256 Darcy samples (FNO's piecewise-constant coefficient, solved on 253 x 253
   nodes and stored at 64 x 64, as the FNO data are).
2. ``navier-stokes``: 32 Navier–Stokes vorticity trajectories (64 x 64, 10 frames).
3. ``surrogate``: a small TFNO trained on the Darcy data for about two minutes; its test
   error, parameter count and speed against the solver that made the data.
4. ``figure``: a PNG of a few Darcy test samples with the surrogate's prediction and error
   next to the data, and Navier–Stokes samples (matplotlib, Agg canvas).

The demo ends by printing what to run next.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any, Callable

__all__ = ["add_parser", "run", "DemoContext", "STEPS", "run_demo", "DATASETS", "SURROGATE"]

#: what the demo generates: name -> (pde, keyword arguments of generate)
DATASETS: dict[str, tuple[str, dict[str, Any]]] = {
    # FNO's Darcy coefficient (12 / 3 thresholded GRF), solved at 253 x 253, stored at 64 x 64
    "darcy": ("darcy", dict(n=256, resolution=64, seed=0, solve_resolution=253)),
    # FNO's vorticity set at nu = 1e-3, solved at 64 x 64 (not 256) with dt = 5e-3, stored at
    # t = 1, ..., 10 (not 50): about half a second a sample
    "navier-stokes": ("navier-stokes", dict(n=32, resolution=64, seed=0, solve_resolution=64,
                                            t_final=10.0, dt=5e-3, record_every=200)),
}


#: settings of the surrogate step (keyword arguments of ``train_demo_surrogate``)
SURROGATE: dict[str, Any] = dict(budget_seconds=120.0)


@dataclasses.dataclass
class DemoContext:
    """What the demo steps share.

    Attributes
    ----------
    out : Path
        Folder of everything the demo writes.
    quiet : bool
        Print nothing and draw no progress bars.
    workers : int
        Worker processes for data generation.
    datasets : dict of str -> Path
        Dataset files made so far (``"darcy"``, ``"navier-stokes"``).
    reports : dict of str -> GenerationReport
        How each was made (samples, seconds, samples/s).
    artifacts : dict of str -> Path
        Other files made (``"figure"``, ...).
    """

    out: Path
    quiet: bool = False
    workers: int = 2
    datasets: dict[str, Path] = dataclasses.field(default_factory=dict)
    reports: dict[str, Any] = dataclasses.field(default_factory=dict)
    artifacts: dict[str, Path] = dataclasses.field(default_factory=dict)

    def log(self, message: str = "") -> None:
        """Print ``message`` unless quiet."""
        if not self.quiet:
            print(message, flush=True)

    def progress(self):
        """A progress object for long steps (a tqdm bar, silent when quiet)."""
        from pdekit._progress import TqdmProgress

        return TqdmProgress(disable=self.quiet, leave=False)


def _generate_step(name: str) -> Callable[[DemoContext], None]:
    def step(ctx: DemoContext) -> None:
        from pdekit.data import generate, read_info
        from pdekit.data.journal import journal_dir

        pde, kwargs = DATASETS[name]
        path = ctx.out / f"{name}.h5"
        # the demo measures generation: start from scratch (the folder is the demo's own)
        shutil.rmtree(journal_dir(path), ignore_errors=True)
        path.unlink(missing_ok=True)
        report = generate(pde, path, workers=ctx.workers, progress=ctx.progress(), **kwargs)
        ctx.datasets[name] = path
        ctx.reports[name] = report
        info = read_info(path)
        rate = f"{report.samples_per_second:.1f} samples/s with {ctx.workers} workers"
        ctx.log(f"  {path}: {info.n_completed} samples, inputs {info.input_shape[1:]} "
                f"{list(info.header.input_names)}, outputs {info.output_shape[1:]} "
                f"{list(info.header.output_names)}, {info.file_size / 1e6:.1f} MB; "
                f"{report.seconds:.1f} s, {rate}")

    step.__name__ = f"step_{name.replace('-', '_')}"
    step.__doc__ = f"Generate the demo's {name} dataset into ``ctx.out``."
    return step


step_darcy = _generate_step("darcy")
step_navier_stokes = _generate_step("navier-stokes")


def _last_time(arr):
    """The last time step of a ``(T, *spatial, C)`` sample, or the sample itself when steady."""
    return arr[-1] if arr.ndim == 4 else arr


def _data_rows(path, n_samples: int, kinds: tuple[str, str]) -> list:
    """Rows (input, output) of the first completed samples of a dataset file."""
    import h5py

    rows = []
    with h5py.File(path, "r") as f:
        names_in = [str(s) for s in f.attrs["input_names"]]
        names_out = [str(s) for s in f.attrs["output_names"]]
        done = [int(i) for i in range(f["completed"].shape[0]) if f["completed"][i]]
        when = ""
        if f["outputs"].ndim == 5:  # (N, T, X, Y, C): show the last frame
            t = f["coords/t"][-1] if "t" in f["coords"] else f["outputs"].shape[1] - 1
            when = f" at t = {float(t):g}"
        for i in done[:n_samples]:
            x, y = f["inputs"][i], _last_time(f["outputs"][i])
            rows.append([(f"#{i}: {names_in[0]}", _last_time(x)[..., 0], kinds[0]),
                         (f"#{i}: {names_out[0]}{when}", y[..., 0], kinds[1])])
    return rows


def step_figure(ctx: DemoContext, *, n_samples: int = 3) -> None:
    """Save ``samples.png``: Darcy test samples with the surrogate's prediction and error
    next to the data (coefficient a, solution u), and Navier–Stokes (w0, w(T))."""
    from pdekit.training.plots import draw_panels

    rows = []
    if "darcy" in ctx.datasets and "model" in ctx.artifacts:
        from pdekit.data.torch_dataset import open_dataset
        from pdekit.training.normalization import load_model
        from pdekit.training.plots import prediction_panels

        test = open_dataset(ctx.datasets["darcy"], split="test",
                            test_fraction=ctx.reports["surrogate"].get("test_fraction", 0.2))
        rows += [[(f"Darcy test {title}", img, kind) for title, img, kind in row]
                 for row in prediction_panels(load_model(ctx.artifacts["model"]), test,
                                              indices=range(n_samples), names=("a", "u"))]
    elif "darcy" in ctx.datasets:
        rows += [[(f"Darcy {t}", img, k) for t, img, k in row]
                 for row in _data_rows(ctx.datasets["darcy"], n_samples, ("field", "field"))]
    if "navier-stokes" in ctx.datasets:
        rows += [[(f"Navier-Stokes {t}", img, k) for t, img, k in row]
                 for row in _data_rows(ctx.datasets["navier-stokes"], n_samples, ("signed", "signed"))]
    if not rows:
        raise ValueError("no dataset to plot: run the data steps first")
    path = draw_panels(rows, ctx.out / "samples.png", share=[(1, 2)], overwrite=True)  # the demo's own folder
    ctx.artifacts["figure"] = path
    ctx.log(f"  {path}: {sum(len(r) for r in rows)} panels"
            + (" (Darcy rows: coefficient, solution, TFNO prediction, error)" if "model" in ctx.artifacts else ""))


def next_steps(ctx: DemoContext) -> list[str]:
    """What to run after the demo (the lines it ends with)."""
    out = ctx.out
    lines = ["next steps (in a new shell, first `source .venv/bin/activate`, or call .venv/bin/pdekit):"]
    if "darcy" in ctx.datasets:
        lines.append(f"  pdekit info {ctx.datasets['darcy']}                      # what the file holds")
    if "model" in ctx.artifacts and "darcy" in ctx.datasets:
        lines.append(f"  pdekit evaluate {ctx.artifacts['model'].parent} {ctx.datasets['darcy']} --plot   "
                     f"# score and draw the surrogate")
    if "darcy" in ctx.datasets:
        lines.append(f"  pdekit train --model tfno --data {ctx.datasets['darcy']} --epochs 50 --out {out}/run   "
                     f"# train longer (curves in {out}/run/curves.png)")
    lines.append("  pdekit generate darcy --n 1000 --resolution 85 -o darcy.h5   # a dataset of the FNO paper's size")
    if "figure" in ctx.artifacts:
        lines.append(f"  open {ctx.artifacts['figure']}")
    return lines


def step_surrogate(ctx: DemoContext) -> None:
    """Train a small TFNO on the Darcy data; report its error, size and speed-up over the solver."""
    from pdekit._commands._demo_surrogate import format_summary, train_demo_surrogate

    if "darcy" not in ctx.datasets:
        raise ValueError("the surrogate step needs the Darcy dataset: run the darcy step first")
    metrics = train_demo_surrogate(ctx.datasets["darcy"], ctx.out / "surrogate",
                                   progress=ctx.progress(), **SURROGATE)
    ctx.reports["surrogate"] = metrics
    ctx.artifacts["model"] = Path(metrics["model_path"])
    ctx.log(format_summary(metrics))


#: the demo, in order: (name, step function taking the context)
STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("darcy", step_darcy),
    ("navier-stokes", step_navier_stokes),
    ("surrogate", step_surrogate),
    ("figure", step_figure),
]


def run_demo(out: str | Path = "pdekit-demo", *, quiet: bool = False, workers: int = 2,
             steps: list[tuple[str, Callable[[DemoContext], None]]] | None = None) -> DemoContext:
    """Run the demo steps (default :data:`STEPS`) into folder ``out``; returns the context."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out=out, quiet=quiet, workers=workers)
    steps = STEPS if steps is None else steps
    t_all = time.perf_counter()
    for k, (name, step) in enumerate(steps, 1):
        ctx.log(f"[{k}/{len(steps)}] {name}")
        t0 = time.perf_counter()
        step(ctx)
        ctx.log(f"      done in {time.perf_counter() - t0:.1f} s")
    ctx.log(f"demo finished in {time.perf_counter() - t_all:.1f} s; everything is in {out}/")
    ctx.log("\n".join(next_steps(ctx)))
    return ctx


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``demo`` verb."""
    p = subparsers.add_parser("demo", help="generate small Darcy and Navier-Stokes datasets, train a TFNO, draw a figure",
                              description="Run pdekit end to end on small problems (about three "
                                          "minutes on two cores): datasets and their speed, a small "
                                          "TFNO surrogate and its error and speed, a PNG of samples.")
    p.add_argument("--out", default="pdekit-demo", help="output folder (default ./pdekit-demo)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    run_demo(args.out, quiet=args.quiet, workers=args.workers)
    return 0
