"""Datasets: the HDF5 layout, parallel resumable generation, torch datasets.

Public names are imported from their modules on first use (see ``_EXPORTS``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "lanczos": "ritz",
    "ritz_pairs": "ritz",
    "ritz_rhs": "ritz",
    "Problem": "problems",
    "Sample": "problems",
    "register_problem": "problems",
    "get_problem": "problems",
    "list_problems": "problems",
    "generate": "generation",
    "GenerationReport": "generation",
    "open_dataset": "torch_dataset",
    "H5Dataset": "torch_dataset",
    "read_info": "layout",
    "DatasetInfo": "layout",
    "sample_seeds": "layout",
    "compress_dataset": "compression",
    "CompressedDataset": "compression",
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
