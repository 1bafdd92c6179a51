"""Training: the offline Trainer, checkpoints, distributed data parallel.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

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
    "open_train_test": "datasets",
    "eval_strides": "datasets",
    "MODEL_NAMES": "models",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
