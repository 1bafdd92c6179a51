"""Neural operators: spectral convolutions, FNO, TFNO, multigrid patching, GINO on meshes, losses, normalizers,
learned inverses.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "VCycleNet": "dcdm",
    "BoundVCycle": "dcdm",
    "AlgebraicVCycleNet": "dcdm_algebraic",
    "BoundAlgebraicVCycle": "dcdm_algebraic",
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
    "GINO": "gino",
    "bind_geometry": "gino",
    "KernelIntegral": "gno",
    "MeshGeometry": "mesh_geometry",
    "Neighborhoods": "neighborhoods",
    "radius_neighborhoods": "neighborhoods",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
