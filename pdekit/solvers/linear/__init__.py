"""Krylov solvers (CG, PCG, flexible CG, deep conjugate directions) and classical preconditioners.

Public names are imported on first use (:mod:`pdekit._lazy`).
"""

from __future__ import annotations

from pdekit._lazy import attach

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    "solve": "dispatch",
    "LinearSolver": "dispatch",
    "prefers_direct": "auto",
    "graph_dimension": "auto",
    "clear_preconditioner_cache": "pattern_cache",
    "DirectSolver": "direct",
    "cg": "krylov",
    "pcg": "krylov",
    "fcg": "krylov",
    "dcdm": "conjugate_directions",
    "SolveInfo": "_common",
    "inner_product": "reductions",
    "vector_norm": "reductions",
    "ConvergenceWarning": "_common",
    "ConvergenceError": "_common",
    "Preconditioner": "_base",
    "JacobiPreconditioner": "preconditioners",
    "AMGPreconditioner": "multigrid",
    "jacobi": "preconditioners",
    "amg": "multigrid",
    "DenseCholesky": "dense_cholesky",
    "smoothed_aggregation_transfers": "multigrid",
    "make_preconditioner": "preconditioners",
    "IncompleteCholesky": "ichol",
    "ic0": "ichol",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
