"""Classical preconditioners: Jacobi, smoothed-aggregation / Ruge-Stuben AMG (pyamg), and the
registry of preconditioner names.

A preconditioner approximates ``A^-1`` (scipy's convention for ``M``) and is a callable
``r -> z`` (see :class:`~pdekit.solvers.linear.Preconditioner`). Incomplete Cholesky lives in
:mod:`pdekit.solvers.linear.ichol`.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> from pdekit.solvers.linear import pcg
>>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(32, 32))
>>> A = (sp.kron(sp.identity(32), T) + sp.kron(T, sp.identity(32))).tocsr()
>>> x, info = pcg(A, np.ones(1024), rtol=1e-8, M=amg(A))
>>> info.converged and info.iterations < 10
True
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pdekit._validation import check_choice
from pdekit.solvers.linear._base import Preconditioner, as_csr_matrix
from pdekit.solvers.linear.ichol import ic0

__all__ = ["JacobiPreconditioner", "AMGPreconditioner", "jacobi", "amg",
           "make_preconditioner", "PRECONDITIONERS"]


class JacobiPreconditioner(Preconditioner):
    """``z = D^-1 r`` with ``D = diag(A)``; on torch vectors it stays on their device."""

    name = "jacobi"

    def __init__(self, A: Any) -> None:
        t = time.perf_counter()
        A = as_csr_matrix(A)
        super().__init__(A.shape[0])
        d = A.diagonal()
        if not (d > 0).all():
            i = int(np.argmax(~(d > 0)))
            raise ValueError(f"Jacobi needs a positive diagonal (A must be SPD); A[{i}, {i}] = {d[i]:.3g}")
        self.inverse_diagonal = 1.0 / d
        self._torch_cache: dict = {}
        self.setup_time = time.perf_counter() - t

    def _apply(self, r: np.ndarray) -> np.ndarray:
        return self.inverse_diagonal * r

    def __call__(self, r):
        if type(r).__module__.startswith("torch"):
            import torch

            key = (r.device, r.dtype)
            if key not in self._torch_cache:
                self._torch_cache[key] = torch.as_tensor(self.inverse_diagonal, dtype=r.dtype, device=r.device)
            return self._torch_cache[key] * r.reshape(-1)
        return super().__call__(r)


class AMGPreconditioner(Preconditioner):
    """One pyamg multigrid cycle as a (linear, SPD for symmetric smoothing) preconditioner.

    Attributes
    ----------
    hierarchy : pyamg.multilevel.MultilevelSolver
    levels : int
    operator_complexity : float
    """

    def __init__(self, A: Any, *, kind: str = "sa", cycle: str = "V", **options: Any) -> None:
        import pyamg

        check_choice("AMG kind", kind, ("sa", "rs"))
        check_choice("AMG cycle", cycle, ("V", "W", "F"))
        A = as_csr_matrix(A)
        super().__init__(A.shape[0])
        self.name = f"{kind}-amg"
        t = time.perf_counter()
        build = pyamg.smoothed_aggregation_solver if kind == "sa" else pyamg.ruge_stuben_solver
        self.hierarchy = build(A, **options)
        self._M = self.hierarchy.aspreconditioner(cycle=cycle)
        self.setup_time = time.perf_counter() - t
        self.levels = len(self.hierarchy.levels)
        self.operator_complexity = float(self.hierarchy.operator_complexity())

    def _apply(self, r: np.ndarray) -> np.ndarray:
        return self._M.matvec(r)


def jacobi(A: Any) -> JacobiPreconditioner:
    """Jacobi (diagonal) preconditioner of an SPD matrix ``A`` ((n, n), sparse or dense)."""
    return JacobiPreconditioner(A)


def amg(A: Any, *, kind: str = "sa", cycle: str = "V", **options: Any) -> AMGPreconditioner:
    """Algebraic multigrid preconditioner from pyamg (setup happens here, timed in ``setup_time``).

    Parameters
    ----------
    A : (n, n) SPD sparse matrix
    kind : {"sa", "rs"}
        Smoothed aggregation or classical Ruge-Stuben.
    cycle : {"V", "W", "F"}
    **options
        Passed to ``pyamg.smoothed_aggregation_solver`` / ``ruge_stuben_solver``.
    """
    return AMGPreconditioner(A, kind=kind, cycle=cycle, **options)


#: preconditioner name -> builder ``A -> Preconditioner``
PRECONDITIONERS = {"jacobi": jacobi, "ic0": ic0, "amg": amg, "sa-amg": amg,
                   "rs-amg": lambda A: amg(A, kind="rs")}


def make_preconditioner(name: str, A: Any) -> Preconditioner:
    """Build the classical preconditioner called ``name`` (one of :data:`PRECONDITIONERS`) for ``A``."""
    check_choice("preconditioner", name, PRECONDITIONERS)
    return PRECONDITIONERS[name](A)
