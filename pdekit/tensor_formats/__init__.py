"""Low-rank tensor formats: Tucker, CP, TT, Chebyshev interpolation and the Chebyshev-Tucker format.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "tucker": "tucker_decomposition",
    "Tucker": "tucker_decomposition",
    "tucker_rank": "_ranks",
    "tt_rank": "_ranks",
    "cp_rank": "_ranks",
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
    "ConvergenceWarning": "_sampling",  # defined in pdekit._warnings (shared with the Krylov solvers)
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
