"""Classical preconditioners: Jacobi and smoothed-aggregation / Ruge-Stuben AMG (pyamg).

A preconditioner approximates ``A^-1`` (scipy's convention for ``M``) and is a callable
``r -> z``; it also has ``matvec``, ``shape`` and :meth:`Preconditioner.as_linear_operator`,
so it can be handed to scipy's solvers too. Incomplete Cholesky lives in
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

__all__ = ["Preconditioner", "JacobiPreconditioner", "AMGPreconditioner", "jacobi", "amg",
           "make_preconditioner", "PRECONDITIONERS"]


def as_csr_matrix(A: Any, what: str = "A") -> sp.csr_matrix:
    """Return ``A`` (scipy sparse, numpy, or torch sparse/dense) as a square finite scipy CSR matrix."""
    if type(A).__module__.startswith("torch"):
        import torch

        if A.layout == torch.strided:
            A = A.detach().cpu().numpy()
        else:
            coo = A.detach().to_sparse_coo().coalesce().cpu()
            idx = coo.indices().numpy()
            A = sp.coo_matrix((coo.values().numpy(), (idx[0], idx[1])), shape=tuple(coo.shape))
    if isinstance(A, spla.LinearOperator):
        raise TypeError(f"{what} must be an explicit matrix to build this preconditioner; got a LinearOperator")
    if not (sp.issparse(A) or isinstance(A, np.ndarray)):
        raise TypeError(f"{what} must be a scipy sparse matrix or an array; got {type(A).__name__}")
    A = sp.csr_matrix(A, dtype=np.float64)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{what} must be square; got shape {A.shape}")
    if not np.isfinite(A.data).all():
        raise ValueError(f"{what} must be finite; it holds NaN/inf entries")
    A.sum_duplicates()
    A.sort_indices()
    return A


class Preconditioner:
    """Base of pdekit's preconditioners: ``M(r)`` returns ``z ~ A^-1 r``.

    Attributes
    ----------
    shape : (n, n)
    setup_time : float
        Seconds spent building it.
    """

    name = "identity"

    def __init__(self, n: int) -> None:
        self.shape = (n, n)
        self.setup_time = 0.0

    def _apply(self, r: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, r):
        """Apply to ``r`` ((n,) numpy array, or torch tensor: computed on the CPU and moved back)."""
        if type(r).__module__.startswith("torch"):
            import torch

            z = self._apply(r.detach().cpu().numpy().astype(np.float64, copy=False))
            return torch.as_tensor(z, dtype=r.dtype, device=r.device)
        return self._apply(np.asarray(r, dtype=np.float64).reshape(-1))

    def matvec(self, r):
        return self(r)

    def as_linear_operator(self) -> spla.LinearOperator:
        """This preconditioner as a scipy LinearOperator (for scipy.sparse.linalg.cg's ``M``)."""
        return spla.LinearOperator(self.shape, matvec=self._apply, dtype=np.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.shape[0]}, setup_time={self.setup_time:.3g}s)"


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


def _ic0(A):
    from pdekit.solvers.linear.ichol import ic0

    return ic0(A)


#: preconditioner name -> builder ``A -> Preconditioner``
PRECONDITIONERS = {"jacobi": jacobi, "ic0": _ic0, "amg": amg, "sa-amg": amg,
                   "rs-amg": lambda A: amg(A, kind="rs")}


def make_preconditioner(name: str, A: Any) -> Preconditioner:
    """Build the classical preconditioner called ``name`` (one of :data:`PRECONDITIONERS`) for ``A``."""
    check_choice("preconditioner", name, PRECONDITIONERS)
    return PRECONDITIONERS[name](A)
