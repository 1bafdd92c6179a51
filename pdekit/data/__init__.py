"""Datasets: the HDF5 layout, parallel resumable generation, torch datasets.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

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
    "Shard": "shards",
    "shard_progress": "shards",
    "CorruptPartError": "journal",
    "open_dataset": "torch_dataset",
    "H5Dataset": "torch_dataset",
    "MultiMeshDataset": "multi_mesh",
    "read_info": "reading",
    "DatasetInfo": "reading",
    "sample_seeds": "layout",
    "compress_dataset": "compression",
    "export_dataset": "export",
    "CompressedDataset": "compression",
    "resolution_stride": "strides",
    "reachable_resolutions": "strides",
    "save_system": "systems",
    "load_system": "systems",
    "SystemFileError": "matrix_market",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
