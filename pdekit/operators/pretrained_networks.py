"""Small trained networks that ship inside the package.

``pretrained(name)`` loads one of them (``weights_only=True``, like every pdekit checkpoint).
Each ``NAME.pt`` in ``pdekit/operators/pretrained/`` has a ``NAME.json`` card beside it that
records how it was trained (problems, grid sizes, steps, seconds, loss), so the training cost
behind a shipped network is on record.

Examples
--------
>>> net = pretrained("dcdm-poisson-2d")
>>> type(net).__name__, net.ndim
('VCycleNet', 2)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pdekit.operators.base import OperatorModel, load

__all__ = ["pretrained", "list_pretrained", "pretrained_card", "PRETRAINED_DIR"]

#: folder holding the shipped weights
PRETRAINED_DIR = Path(__file__).with_name("pretrained")

#: shipped network name -> one-line description
CATALOG: dict[str, str] = {
    "dcdm-poisson-2d": "learned V-cycle (VCycleNet) for DCDM on 2D 5-point Poisson/Darcy grids",
    "dcdm-poisson-3d": "learned V-cycle (VCycleNet) for DCDM on 3D 7-point Poisson/Darcy grids",
    "dcdm-algebraic": "learned multigrid cycle on an aggregation hierarchy (AlgebraicVCycleNet) for DCDM on "
                      "any SPD matrix: unstructured P1/P2 FEM, 2D and 3D",
}


def list_pretrained() -> dict[str, str]:
    """Names of the shipped networks with a one-line description each."""
    return dict(CATALOG)


def _path(name: str, suffix: str) -> Path:
    if name not in CATALOG:
        raise ValueError(f"unknown pretrained network {name!r}; expected one of {sorted(CATALOG)}")
    path = PRETRAINED_DIR / f"{name}{suffix}"
    if not path.is_file():
        raise FileNotFoundError(f"the weights of {name!r} are missing from this installation "
                                f"(expected {str(path)!r}); reinstall pdekit with its package data")
    return path


def pretrained(name: str, *, map_location: Any = "cpu") -> OperatorModel:
    """Load the shipped network ``name`` (see :func:`list_pretrained`), in eval mode.

    Raises
    ------
    ValueError
        Unknown name.
    FileNotFoundError
        The installation lacks the weights file.
    """
    model = load(_path(name, ".pt"), map_location=map_location)
    return model.eval()


def pretrained_card(name: str) -> dict[str, Any]:
    """The training record of the shipped network ``name`` (problems, sizes, steps, seconds, loss)."""
    return json.loads(_path(name, ".json").read_text())
