"""Checkpoints of a streaming run: one consistent set of files per checkpointed training step.

At step ``N`` every rank writes ``checkpoints/rank-<r>.step-<N>.pt`` (its ledger, buffer and
validation set: the receiver's :meth:`~pdekit.streaming.receiver.Receiver.state_dict`); after
a barrier rank 0 writes ``checkpoint.pt`` (model, optimizer, RNGs of every rank, the step
``N``) atomically. ``checkpoint.pt`` is the commit point: a restart reads it and then the
rank files of its step, so a crash between the two writes falls back to the previous set.
Older rank files are deleted after the commit.

Numpy arrays of any dtype are stored as raw bytes in uint8 tensors, so the files load with
``weights_only=True`` (:mod:`pdekit.training.checkpoint`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdekit.training.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["to_storable", "from_storable", "rank_file", "save_rank_state", "load_rank_state",
           "prune_rank_files"]

_ARRAY = "__ndarray__"


def to_storable(obj: Any) -> Any:
    """Replace numpy arrays (any dtype) and numpy scalars in a nested structure by plain data."""
    if isinstance(obj, np.ndarray):
        raw = torch.from_numpy(np.ascontiguousarray(obj).reshape(-1).view(np.uint8).copy())
        return {_ARRAY: raw, "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_storable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_storable(v) for v in obj)
    return obj


def from_storable(obj: Any) -> Any:
    """Undo :func:`to_storable` (arrays come back writable, in their dtype and shape)."""
    if isinstance(obj, dict):
        if _ARRAY in obj:
            raw = obj[_ARRAY].numpy().tobytes()
            return np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).reshape(obj["shape"]).copy()
        return {k: from_storable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(from_storable(v) for v in obj)
    return obj


def rank_file(run_dir: str | os.PathLike, rank: int, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"rank-{int(rank)}.step-{int(step)}.pt"


def save_rank_state(run_dir: str | os.PathLike, rank: int, step: int, state: dict[str, Any]) -> Path:
    """Write one rank's stream state for step ``step`` atomically; return the path."""
    path = rank_file(run_dir, rank, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(path, to_storable(state), overwrite=True)  # a resumed rank may pass the step again


def load_rank_state(run_dir: str | os.PathLike, rank: int, step: int) -> dict[str, Any]:
    """The state :func:`save_rank_state` wrote (FileNotFoundError names what is missing)."""
    path = rank_file(run_dir, rank, step)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint.pt is at step {step} but {str(path)!r} is missing; was the run "
                                f"restarted with another number of ranks?")
    state = load_checkpoint(path)
    state.pop("format", None)
    return from_storable(state)


def prune_rank_files(run_dir: str | os.PathLike, rank: int, keep_step: int) -> None:
    """Delete this rank's files of steps other than ``keep_step``."""
    folder = Path(run_dir) / "checkpoints"
    for path in folder.glob(f"rank-{int(rank)}.step-*.pt"):
        if path.name != rank_file(run_dir, rank, keep_step).name:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
