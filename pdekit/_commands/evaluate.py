"""``pdekit evaluate MODEL DATA [--resolution R ...]``: relative L2 error of a trained model.

MODEL is a file saved by ``pdekit train`` (``RUN/model.pt``) or its run folder. DATA is a
dataset file; each requested resolution is reached by striding the data's grid (421 -> 141
with stride 3), so a model trained at one resolution is scored at others.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_parser", "run", "evaluate_file"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``evaluate`` verb."""
    p = subparsers.add_parser(
        "evaluate", help="relative L2 error of a trained model on a dataset, at chosen resolutions",
        description="Score a trained operator on a dataset file. Resolutions are reached by "
                    "striding the data (points per axis); the default is the data's own.")
    p.add_argument("model", help="model file (RUN/model.pt) or run folder")
    p.add_argument("data", help="dataset file (.h5)")
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


def evaluate_file(model_path: str, data_path: str, *, resolutions=None, split: str = "all",
                  test_fraction: float = 0.2, batch_size: int = 16, device=None) -> list[dict]:
    """Rows ``{"resolution", "stride", "n", "relative_l2"}``, one per requested resolution."""
    import torch

    from pdekit.data.torch_dataset import open_dataset
    from pdekit.training.batches import ShuffledBatches, resolution_stride
    from pdekit.training.metrics import evaluate_model
    from pdekit.training.normalization import load_model

    model = load_model(model_path)
    data = open_dataset(data_path, split=None if split == "all" else split, test_fraction=test_fraction)
    expected = getattr(model, "in_channels", None)
    if isinstance(expected, int) and data.in_channels != expected:
        raise ValueError(f"the model takes {expected} input channels; {data_path!r} has "
                         f"{data.in_channels} (shape {data.x_shape})")
    expected = getattr(model, "out_channels", None)
    if isinstance(expected, int) and data.out_channels != expected:
        raise ValueError(f"the model predicts {expected} output channels; {data_path!r} has "
                         f"{data.out_channels} (shape {data.y_shape})")
    size = int(data.x_shape[-1])
    resolutions = resolutions or [size]
    strides = [resolution_stride(size, r) for r in resolutions]
    dev = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(dev)
    batches = ShuffledBatches(data, batch_size=batch_size, shuffle=False).batches(0)
    scores = evaluate_model(model, batches, strides=strides, device=dev)
    return [{"resolution": scores[s]["resolution"], "stride": s, "n": scores[s]["n"],
             "relative_l2": scores[s]["l2"]} for s in strides]


def run(args: argparse.Namespace) -> int:
    """Print the table (or JSON); return the exit code."""
    rows = evaluate_file(args.model, args.data, resolutions=args.resolution, split=args.split,
                         test_fraction=args.test_fraction, batch_size=args.batch_size,
                         device=args.device)
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'resolution':>10} {'stride':>6} {'samples':>7} {'relative L2':>12}")
    for r in rows:
        print(f"{r['resolution']:>10} {r['stride']:>6} {r['n']:>7} {r['relative_l2']:>12.4e}")
    return 0
