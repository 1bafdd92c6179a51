"""Neural operators: spectral convolutions, FNO, TFNO, multigrid patching, losses, normalizers, learned inverses.

Public names are imported from their modules on first use (see ``_EXPORTS``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "VCycleNet": "dcdm",
    "BoundVCycle": "dcdm",
    "pretrained": "pretrained_networks",
    "list_pretrained": "pretrained_networks",
    "OperatorModel": "base",
    "CheckpointError": "base",
    "load": "base",
    "from_checkpoint": "base",
    "registered_models": "base",
    "SpectralWeights": "spectral_weights",
    "SpectralConv": "spectral_conv",
    "FNO": "fno",
    "TFNO": "fno",
    "LpLoss": "losses",
    "H1Loss": "losses",
    "UnitGaussianNormalizer": "normalizers",
    "NormalizedOperator": "normalizers",
    "MGPatching": "mg_patching",
    "MGTFNO": "mgtfno",
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
