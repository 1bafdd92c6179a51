"""Checkpoints for exact resume: model, optimizer, scheduler, RNG states, position in the data.

A checkpoint is one ``torch.save`` file written atomically (:func:`pdekit._atomic.atomic_path`)
and read back with ``weights_only=True``: every value in it is a tensor, a number, a string,
or a list/tuple/dict of those. The random number generators of torch (CPU and every CUDA
device), numpy's legacy global generator and Python's :mod:`random` are captured so that a
resumed run draws the same numbers (dropout masks, augmentations) as an uninterrupted one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from pdekit._atomic import atomic_path

__all__ = ["capture_rng_state", "restore_rng_state", "save_checkpoint", "load_checkpoint",
           "check_state_dict_compatible", "data_fingerprint", "CHECKPOINT_FORMAT"]

#: version tag stored in every checkpoint
CHECKPOINT_FORMAT = "pdekit-checkpoint-1"


def _hash_value(h, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().contiguous().numpy()
    if isinstance(value, np.ndarray):
        h.update(f"{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, Mapping):
        for key in sorted(value, key=str):
            h.update(str(key).encode())
            _hash_value(h, value[key])
    elif isinstance(value, (tuple, list)):
        for v in value:
            _hash_value(h, v)
    else:
        h.update(repr(value).encode())


def data_fingerprint(dataset: Any) -> str | None:
    """A short identity of a map-style training set: its length and the bytes of its first,
    middle and last samples (so another file, another subset or another resolution differ).

    Returns None for anything but a map-style ``torch.utils.data.Dataset`` (streams,
    buffers, lists of batches), whose identity cannot be taken without consuming them.
    """
    import hashlib

    if not isinstance(dataset, torch.utils.data.Dataset) or isinstance(
            dataset, torch.utils.data.IterableDataset) or not hasattr(dataset, "__len__"):
        return None
    try:
        n = len(dataset)
        h = hashlib.sha256(f"n={n}".encode())
        for i in sorted({0, n // 2, n - 1} if n else set()):
            _hash_value(h, dataset[i])
    except (TypeError, KeyError, IndexError, NotImplementedError):
        return None  # a list of batches, or a dataset that cannot be indexed this way
    return f"n={n} sha256={h.hexdigest()[:16]}"


def capture_rng_state() -> dict[str, Any]:
    """The state of every global RNG, as tensors and plain Python values."""
    kind, key, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Put back the RNG states captured by :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state((n["kind"], n["key"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["internal"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        saved = state["cuda"]
        if len(saved) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(saved)
        else:
            for i, s in enumerate(saved[: torch.cuda.device_count()]):
                torch.cuda.set_rng_state(s, i)


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, Any], *, overwrite: bool = False) -> Path:
    """Write ``state`` (plus the format tag) to ``path`` atomically; return the path.

    An existing ``path`` is refused (FileExistsError) unless ``overwrite=True`` (a run
    rewriting its own checkpoint).
    """
    payload = dict(state)
    payload["format"] = CHECKPOINT_FORMAT
    with atomic_path(path, overwrite=overwrite) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not a pdekit checkpoint (for instance a saved model, or another
        program's file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise ValueError(f"{str(path)!r} is not a readable pdekit checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"{str(path)!r} is not a pdekit training checkpoint (format {found!r}, expected "
            f"{CHECKPOINT_FORMAT!r}); to start from a saved model use pdekit.operators.load"
        )
    return state


def check_state_dict_compatible(saved: Mapping[str, torch.Tensor], model: torch.nn.Module, *,
                                saved_name: str = "", source: str = "checkpoint") -> None:
    """Raise ``ValueError`` unless ``saved`` has exactly ``model``'s parameter names and shapes.

    The message names the model the checkpoint was written for and the first mismatches.
    """
    current = model.state_dict()
    missing = sorted(set(current) - set(saved))
    unexpected = sorted(set(saved) - set(current))
    shapes = [(k, tuple(saved[k].shape), tuple(current[k].shape)) for k in sorted(set(saved) & set(current))
              if tuple(saved[k].shape) != tuple(current[k].shape)]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"missing {len(missing)} tensors (e.g. {missing[:3]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[:3]})")
    if shapes:
        k, a, b = shapes[0]
        parts.append(f"{len(shapes)} shape mismatches (e.g. {k!r}: saved {a}, model {b})")
    written_for = f" (written for {saved_name})" if saved_name else ""
    raise ValueError(
        f"the {source}{written_for} does not fit this {type(model).__name__}: "
        + "; ".join(parts)
        + ". Build the same model (architecture, modes, width, layers, rank) as the run that wrote it"
    )
