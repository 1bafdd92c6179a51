"""Metrics: relative L2 errors of a model on a dataset at several resolutions, and a
JSON-lines log that survives crashes (each record appended and flushed).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import torch

from pdekit.training.batches import split_batch, stride_batch
from pdekit.training.distributed import all_reduce_sum

__all__ = ["MetricsLog", "relative_l2_per_sample", "evaluate_model", "read_metrics"]


def relative_l2_per_sample(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``||pred_i - target_i||_2 / ||target_i||_2`` for each sample i.

    Parameters
    ----------
    pred, target : (B, ...) tensors of the same shape

    Returns
    -------
    (B,) tensor
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"prediction shape {tuple(pred.shape)} does not match target shape {tuple(target.shape)}; "
            f"expected (batch, channels, *spatial) for both"
        )
    diff = (pred - target).reshape(pred.shape[0], -1).float().norm(dim=1)
    ref = target.reshape(target.shape[0], -1).float().norm(dim=1)
    return diff / ref.clamp_min(torch.finfo(torch.float32).tiny)


@torch.no_grad()
def evaluate_model(model: torch.nn.Module, batches: Iterable[Any], *, strides: Sequence[int] = (1,),
                   device: str | torch.device | None = None,
                   autocast_dtype: torch.dtype | None = None) -> dict[int, dict[str, float]]:
    """Mean relative L2 error of ``model`` over ``batches``, at each stride.

    Under a process group every rank evaluates its own batches and the sums are
    all-reduced, so all ranks return the same numbers.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``x : (B, C_in, *spatial)`` to ``(B, C_out, *spatial)``.
    batches : iterable of batches
        ``{"x", "y"}`` dicts or ``(x, y)`` tuples. Iterated once.
    strides : sequence of int
        Subsampling factors of the spatial axes; 1 is the data's own resolution.
    device : optional
        Where to run (default: the device of the model's first parameter).

    Returns
    -------
    dict
        ``{stride: {"l2": mean relative L2, "resolution": points per axis, "n": samples}}``.
    """
    strides = [int(s) for s in strides]
    if not strides or any(s < 1 for s in strides):
        raise ValueError(f"strides must be positive integers; got {strides}")
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    device = torch.device(device)
    was_training = model.training
    model.eval()
    sums = torch.zeros(len(strides), 2, dtype=torch.float64)
    resolution = {s: 0 for s in strides}
    try:
        for batch in batches:
            for j, s in enumerate(strides):
                x, y = split_batch(stride_batch(batch, s))
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=autocast_dtype,
                                    enabled=autocast_dtype is not None):
                    pred = model(x)
                err = relative_l2_per_sample(pred.float(), y.float())
                sums[j, 0] += err.double().sum().cpu()
                sums[j, 1] += err.numel()
                resolution[s] = int(y.shape[-1])
    finally:
        model.train(was_training)
    sums = all_reduce_sum(sums.to(device)).cpu() if torch.distributed.is_initialized() else sums
    out = {}
    for j, s in enumerate(strides):
        n = int(sums[j, 1])
        out[s] = {"l2": float(sums[j, 0] / n) if n else math.nan, "resolution": resolution[s], "n": n}
    return out


class MetricsLog:
    """Append one JSON object per line to ``path``, flushed and fsynced after each record.

    Parameters
    ----------
    path : path-like
        The ``.jsonl`` file; its folder must exist. Existing lines are kept (a resumed run
        continues the same log).
    enabled : bool
        False on non-main ranks: :meth:`write` does nothing.
    """

    def __init__(self, path: str | os.PathLike, *, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        if enabled and not self.path.parent.is_dir():
            raise FileNotFoundError(
                f"cannot write metrics to {str(self.path)!r}: folder {str(self.path.parent)!r} does not exist"
            )

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` (JSON-serialisable values; non-finite floats become null)."""
        if not self.enabled:
            return
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                 for k, v in record.items()}
        line = json.dumps(clean, sort_keys=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a JSON-lines metrics file, in order."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
