"""``pdekit evaluate MODEL DATA [DATA ...] [--resolution R ...]``: relative L2 error of a trained model.

MODEL is a file saved by ``pdekit train`` (``RUN/model.pt``) or its run folder. DATA is a
dataset file (or several, scored one by one); each requested resolution is reached by striding
the data's grid (421 -> 141 with stride 3), so a model trained at one resolution is scored at
others. A mesh operator (GINO) is scored on mesh data at the data's own points: given a file on
another mesh of the training domain (refined, or meshed differently), the model re-binds to it.
"""

from __future__ import annotations

import argparse
import json
import os

__all__ = ["add_parser", "run", "evaluate_file"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``evaluate`` verb."""
    p = subparsers.add_parser(
        "evaluate", help="relative L2 error of a trained model on a dataset, at chosen resolutions",
        description="Score a trained operator on a dataset file. Resolutions are reached by "
                    "striding the data (points per axis); the default is the data's own.")
    p.add_argument("model", help="model file (RUN/model.pt) or run folder")
    p.add_argument("data", nargs="+", help="dataset file(s) (.h5); for a GINO, files on any mesh of its domain")
    p.add_argument("--resolution", type=int, nargs="+", default=None,
                   help="points per axis to evaluate at (default: the data's resolution)")
    p.add_argument("--split", choices=("all", "train", "test"), default="all",
                   help="part of the file to score (default all)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="size of the test split")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default=None, help="cpu or cuda (default: GPU if any)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def evaluate_file(model_path: str, data_path, *, resolutions=None, split: str = "all",
                  test_fraction: float = 0.2, batch_size: int = 16, device=None) -> list[dict]:
    """Rows ``{"data", "resolution", "stride", "n", "relative_l2"}``, one per data file and resolution.

    For mesh data ``resolution`` is the number of mesh points (scored there, stride 1).
    """
    import torch

    from pdekit.data.torch_dataset import open_dataset
    from pdekit.operators.gino import uses_mesh
    from pdekit.training.batches import MeshBatches, ShuffledBatches, resolution_stride
    from pdekit.training.metrics import evaluate_model
    from pdekit.training.normalization import load_model

    model = load_model(model_path)
    dev = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(dev)
    rows = []
    for path in [data_path] if isinstance(data_path, (str, os.PathLike)) else list(data_path):
        data = open_dataset(path, split=None if split == "all" else split, test_fraction=test_fraction)
        _check_channels(model, data, path)
        mesh_model, mesh_data = uses_mesh(model), bool(getattr(data, "is_mesh", False))
        if mesh_model != mesh_data:
            raise ValueError(f"{str(path)!r} holds {'mesh' if mesh_data else 'grid'} data but the model is a "
                             f"{'mesh operator (GINO)' if mesh_model else 'grid operator'}"
                             + ("; train a GINO on mesh data (`pdekit train --model gino`)" if mesh_data else ""))
        if mesh_data:
            if resolutions:
                raise ValueError("mesh data are scored at their own points; --resolution applies to grids "
                                 "(to score a finer mesh, pass a file generated on it)")
            batches = MeshBatches(model, data, batch_size=batch_size)
            score = evaluate_model(model, batches, strides=[1], device=dev)[1]
            rows.append({"data": str(path), "resolution": score["resolution"], "stride": 1, "n": score["n"],
                         "relative_l2": score["l2"]})
            continue
        size = int(data.x_shape[-1])
        strides = [resolution_stride(size, r) for r in resolutions or [size]]
        batches = ShuffledBatches(data, batch_size=batch_size, shuffle=False).batches(0)
        scores = evaluate_model(model, batches, strides=strides, device=dev)
        rows += [{"data": str(path), "resolution": scores[s]["resolution"], "stride": s, "n": scores[s]["n"],
                  "relative_l2": scores[s]["l2"]} for s in strides]
    return rows


def _check_channels(model, data, data_path) -> None:
    expected = getattr(model, "in_channels", None)
    if isinstance(expected, int) and data.in_channels != expected:
        raise ValueError(f"the model takes {expected} input channels; {data_path!r} has "
                         f"{data.in_channels} (shape {data.x_shape})")
    expected = getattr(model, "out_channels", None)
    if isinstance(expected, int) and data.out_channels != expected:
        raise ValueError(f"the model predicts {expected} output channels; {data_path!r} has "
                         f"{data.out_channels} (shape {data.y_shape})")


def run(args: argparse.Namespace) -> int:
    """Print the table (or JSON); return the exit code."""
    rows = evaluate_file(args.model, args.data, resolutions=args.resolution, split=args.split,
                         test_fraction=args.test_fraction, batch_size=args.batch_size,
                         device=args.device)
    if args.json:
        print(json.dumps(rows))
        return 0
    several = len({r["data"] for r in rows}) > 1
    print(f"{'data':<24} " * several + f"{'resolution':>10} {'stride':>6} {'samples':>7} {'relative L2':>12}")
    for r in rows:
        print(f"{os.path.basename(r['data']):<24} " * several
              + f"{r['resolution']:>10} {r['stride']:>6} {r['n']:>7} {r['relative_l2']:>12.4e}")
    return 0
