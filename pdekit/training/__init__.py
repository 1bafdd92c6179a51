"""Training: the offline Trainer, checkpoints, distributed data parallel.

Public names are imported from their modules on first use (see ``_EXPORTS``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "dcdm_loss": "dcdm",
    "train_dcdm": "dcdm",
    "random_grid_system": "dcdm",
    "RitzBatches": "dcdm",
    "train_pretrained": "dcdm",
    "Trainer": "trainer",
    "relative_l2_loss": "trainer",
    "ShuffledBatches": "batches",
    "collate": "batches",
    "stride_batch": "batches",
    "resolution_stride": "batches",
    "DistributedContext": "distributed",
    "init_distributed": "distributed",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "capture_rng_state": "checkpoint",
    "restore_rng_state": "checkpoint",
    "build_optimizer": "optim",
    "build_scheduler": "optim",
    "MetricsLog": "metrics",
    "read_metrics": "metrics",
    "evaluate_model": "metrics",
    "relative_l2_per_sample": "metrics",
    "NormalizedOperator": "normalization",  # defined in pdekit.operators.normalizers
    "fit_normalizers": "normalization",
    "load_model": "normalization",
    "build_model": "models",
    "MODEL_NAMES": "models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
