"""Low-rank tensor formats: Tucker, CP, TT, Chebyshev interpolation and the Chebyshev-Tucker format.

Public names are imported from their modules on first use (see ``_EXPORTS``), so importing
this package stays cheap.
"""

from __future__ import annotations

import importlib

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "tucker": "tucker_decomposition",
    "TuckerTensor": "tucker_tensor",
    "cp": "cp_format",
    "CPTensor": "cp_format",
    "tt": "tt_format",
    "TTTensor": "tt_format",
    "ChebyshevInterpolant": "chebyshev_interpolant",
    "ChebyshevTucker": "chebyshev_tucker",
    "chebyshev_points": "chebyshev",
    "values_to_coefficients": "chebyshev",
    "coefficients_to_values": "chebyshev",
    "clenshaw": "chebyshev",
    "long_range_potential": "potentials",
    "long_range_cp": "potentials",
    "erf_kernel_quadrature": "potentials",
    "random_cluster": "potentials",
    "ion_lattice": "potentials",
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
