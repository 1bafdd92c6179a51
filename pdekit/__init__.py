"""pdekit: PDE solvers, datasets, tensor formats, neural operators and learned preconditioners.

The data flow, one folder each::

    meshes -> solvers -> data -> training -> operators
    streaming (live ensembles: clients -> ZeroMQ -> training ranks)
    tensor_formats (a leaf used by operators and by users)
    cluster (batch jobs through submitit: SLURM job arrays or local processes; a leaf)

Subpackages are imported on first use, so ``import pdekit`` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBPACKAGES = ("meshes", "solvers", "data", "training", "operators", "tensor_formats", "cluster",
                "streaming")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"pdekit.{name}")
    raise AttributeError(f"module 'pdekit' has no attribute {name!r}")
