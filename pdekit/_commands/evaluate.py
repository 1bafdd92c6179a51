"""``pdekit evaluate MODEL DATA [DATA ...] [--resolution R ...] [--split test|train|all] [--plot [PNG]]``.

MODEL is a file saved by ``pdekit train`` (``RUN/model.pt``) or its run folder. DATA is a
dataset file (or several, scored one after the other); each requested resolution is reached by
striding the data's grid (421 -> 141 with stride 3), so a model trained at one resolution is
scored at others. A mesh operator (GINO) is scored on mesh data at the data's own points: given
a file on another mesh of the training domain (refined, or meshed differently), the model
re-binds to that mesh.

By default only held-out samples are scored (``--split test``): the tail of DATA that the
run kept for testing (its ``--test-fraction``, read from ``RUN/config.json``) when DATA is
the file the model was trained on, and the whole of DATA when it is another file (the run's
``--test-data``, another seed). ``--plot`` draws input / truth / prediction / error panels
of a few scored samples.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

__all__ = ["add_parser", "run", "evaluate_file", "held_out_selection"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``evaluate`` verb."""
    p = subparsers.add_parser(
        "evaluate", help="relative L2 error of a trained model on a dataset, at chosen resolutions",
        description="Score a trained operator on a dataset file. Resolutions are reached by "
                    "striding the data (points per axis); the default is the data's own. Only "
                    "held-out samples are scored unless --split says otherwise.")
    p.add_argument("model", help="model file (RUN/model.pt) or run folder")
    p.add_argument("data", nargs="+", help="dataset file(s) (.h5); for a GINO, files on any mesh of its domain")
    p.add_argument("--resolution", type=int, nargs="+", default=None,
                   help="points per axis to evaluate at (default: the data's resolution)")
    p.add_argument("--split", choices=("test", "train", "all"), default="test",
                   help="test (default): the held-out samples (the run's test tail of its training "
                        "file, or all of another file); train: the rest; all: every sample")
    p.add_argument("--test-fraction", type=float, default=None,
                   help="size of the test tail (default: the run's, else 0.2)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default=None, help="cpu or cuda (default: GPU if any)")
    p.add_argument("--plot", nargs="?", const="", default=None, metavar="PNG",
                   help="draw input / truth / prediction / error of the first scored samples "
                        "(default file: predictions.png next to the model)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --plot file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def _run_config(model_path: str) -> dict:
    folder = model_path if os.path.isdir(model_path) else os.path.dirname(os.path.abspath(model_path))
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        return {}
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _same_file(a: str, b: str | None) -> bool:
    if not b:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def held_out_selection(model_path: str, data_path: str, *, split: str = "test",
                       test_fraction: float | None = None) -> tuple[str | None, float, str]:
    """Which part of ``data_path`` to score: ``(split for open_dataset, test_fraction, description)``.

    ``split="test"`` means held out: the tail of the run's training file, all of any other file.
    """
    config = _run_config(model_path)
    fraction = test_fraction if test_fraction is not None else float(config.get("test_fraction") or 0.2)
    trained_on = config.get("data_resolved") or config.get("data")
    if split == "all":
        return None, fraction, "all samples"
    if split == "test" and config and not _same_file(data_path, trained_on):
        return None, fraction, "all samples (not the run's training file: held out)"
    if split == "test":
        return "test", fraction, f"the test tail ({fraction:g} of the file)"
    return "train", fraction, f"the training part ({1 - fraction:g} of the file)"


def evaluate_file(model_path: str, data_path: str, *, resolutions=None, split: str = "test",
                  test_fraction: float | None = None, batch_size: int = 16, device=None,
                  plot: str | os.PathLike | None = None, overwrite: bool = False) -> list[dict]:
    """Rows ``{"data", "resolution", "stride", "n", "relative_l2", "split"}``, one per requested resolution.

    For mesh data, ``resolution`` is the number of mesh points: a mesh model (GINO) is bound to
    the data's mesh and scored there (stride 1).

    ``plot``: also write the input / truth / prediction / error panels of the first three
    scored samples to this PNG (refused if it exists, unless ``overwrite``).
    """
    from pdekit.data.torch_dataset import open_dataset
    from pdekit.operators.gino import uses_mesh
    from pdekit.training.batches import MeshBatches, ShuffledBatches, resolution_stride
    from pdekit.training.distributed import pick_device
    from pdekit.training.metrics import evaluate_model
    from pdekit.training.normalization import load_model

    if int(batch_size) < 1:
        raise ValueError(f"--batch-size must be a positive integer; got {batch_size}")
    dev = pick_device(device)
    if plot is not None and Path(plot).exists() and not overwrite:
        raise FileExistsError(f"{str(plot)!r} exists; pass --overwrite to replace it, or name another file")
    model = load_model(model_path)
    part, fraction, described = held_out_selection(model_path, data_path, split=split,
                                                   test_fraction=test_fraction)
    data = open_dataset(data_path)  # channels first: the clearest error when the file does not fit
    if plot is not None and "node" in data.info.input_axes.split(","):
        raise ValueError(f"--plot draws fields on 1D or 2D grids; {data_path!r} holds mesh data "
                         f"(axes {data.info.input_axes}): write them for ParaView instead")
    expected = getattr(model, "in_channels", None)
    if isinstance(expected, int) and data.in_channels != expected:
        raise ValueError(f"the model takes {expected} input channels; {data_path!r} has "
                         f"{data.in_channels} (shape {data.x_shape})")
    expected = getattr(model, "out_channels", None)
    if isinstance(expected, int) and data.out_channels != expected:
        raise ValueError(f"the model predicts {expected} output channels; {data_path!r} has "
                         f"{data.out_channels} (shape {data.y_shape})")
    mesh_model, mesh_data = uses_mesh(model), bool(getattr(data, "is_mesh", False))
    if mesh_model != mesh_data:
        raise ValueError(f"{str(data_path)!r} holds {'mesh' if mesh_data else 'grid'} data but the model is a "
                         f"{'mesh operator (GINO)' if mesh_model else 'grid operator'}"
                         + ("; train a GINO on mesh data (`pdekit train --model gino`)" if mesh_data else ""))
    data = open_dataset(data_path, split=part, test_fraction=fraction) if part else data
    if mesh_data:
        if resolutions:
            raise ValueError("mesh data are scored at their own points; --resolution applies to grids "
                             "(to score a finer mesh, pass a file generated on it)")
        model.to(dev)
        score = evaluate_model(model, MeshBatches(model, data, batch_size=batch_size), strides=[1], device=dev)[1]
        return [{"data": str(data_path), "resolution": score["resolution"], "stride": 1, "n": score["n"],
                 "relative_l2": score["l2"], "split": described}]
    size = int(data.x_shape[-1])
    resolutions = resolutions or [size]
    strides = [resolution_stride(size, r) for r in resolutions]
    model.to(dev)
    batches = ShuffledBatches(data, batch_size=batch_size, shuffle=False).batches(0)
    scores = evaluate_model(model, batches, strides=strides, device=dev)
    if plot is not None:
        from pdekit.training.plots import plot_predictions

        coords = data.coords
        extent = tuple(float(f(coords[k])) for k in ("x", "y") if k in coords for f in (min, max))
        plot_predictions(model, data, plot, device=dev, overwrite=overwrite,
                         names=(data.info.header.input_names[-1], data.info.header.output_names[-1]),
                         **({"extent": extent} if len(extent) == 4 else {}))
    return [{"data": str(data_path), "resolution": scores[s]["resolution"], "stride": s, "n": scores[s]["n"],
             "relative_l2": scores[s]["l2"], "split": described} for s in strides]


def run(args: argparse.Namespace) -> int:
    """Print the table (or JSON); return the exit code."""
    plot = None
    if args.plot is not None:
        if len(args.data) > 1:
            raise ValueError(f"--plot draws the samples of one file; got {len(args.data)} DATA files")
        folder = args.model if os.path.isdir(args.model) else os.path.dirname(args.model) or "."
        plot = args.plot or os.path.join(folder, "predictions.png")
    rows = [row for data in args.data
            for row in evaluate_file(args.model, data, resolutions=args.resolution, split=args.split,
                                     test_fraction=args.test_fraction, batch_size=args.batch_size,
                                     device=args.device, plot=plot, overwrite=args.overwrite)]
    if args.json:
        print(json.dumps(rows))
        return 0
    for data in args.data:
        mine = [r for r in rows if r["data"] == str(data)]
        print(f"scored {mine[0]['split']} of {data}")
        print(f"{'resolution':>10} {'stride':>6} {'samples':>7} {'relative L2':>12}")
        for r in mine:
            print(f"{r['resolution']:>10} {r['stride']:>6} {r['n']:>7} {r['relative_l2']:>12.4e}")
    if plot is not None:
        print(f"plot: {plot}")
    return 0
