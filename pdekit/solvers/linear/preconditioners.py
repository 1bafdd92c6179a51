"""Jacobi and the registry of preconditioner names.

A preconditioner approximates ``A^-1`` (scipy's convention for ``M``) and is a callable
``r -> z`` (see :class:`~pdekit.solvers.linear.Preconditioner`) whose ``update(A)`` re-sets it
up for new values of the same sparsity pattern. Incomplete Cholesky lives in
:mod:`pdekit.solvers.linear.ichol`, algebraic multigrid in :mod:`pdekit.solvers.linear.multigrid`.

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

from pdekit._validation import check_choice
from pdekit.solvers.linear._base import Preconditioner, as_csr_matrix
from pdekit.solvers.linear.multigrid import amg
from pdekit.solvers.linear.ichol import ic0

__all__ = ["JacobiPreconditioner", "jacobi", "make_preconditioner", "PRECONDITIONERS"]


class JacobiPreconditioner(Preconditioner):
    """``z = D^-1 r`` with ``D = diag(A)``; on torch vectors it stays on their device."""

    name = "jacobi"

    def __init__(self, A: Any) -> None:
        t = time.perf_counter()
        A = as_csr_matrix(A)
        super().__init__(A.shape[0])
        self._set_values(A)
        self.setup_time = time.perf_counter() - t

    def _set_values(self, A: sp.csr_matrix) -> None:
        d = A.diagonal()
        if not (d > 0).all():
            i = int(np.argmax(~(d > 0)))
            raise ValueError(f"Jacobi needs a positive diagonal (A must be SPD); A[{i}, {i}] = {d[i]:.3g}")
        self.inverse_diagonal = 1.0 / d
        self._torch_cache: dict = {}

    def update(self, A: Any) -> "JacobiPreconditioner":
        """Take the diagonal of a new matrix of the same size; returns ``self``."""
        A = as_csr_matrix(A)
        if A.shape != self.shape:
            raise ValueError(f"Jacobi update needs a matrix of shape {self.shape}; got {A.shape}")
        self._set_values(A)
        return self

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


def jacobi(A: Any) -> JacobiPreconditioner:
    """Jacobi (diagonal) preconditioner of an SPD matrix ``A`` ((n, n), sparse or dense)."""
    return JacobiPreconditioner(A)


def _rs_amg(A: Any, **options: Any):
    return amg(A, kind="rs", **options)


#: preconditioner name -> builder ``A -> Preconditioner``
PRECONDITIONERS = {"jacobi": jacobi, "ic0": ic0, "amg": amg, "sa-amg": amg, "rs-amg": _rs_amg}


def make_preconditioner(name: str, A: Any, **options: Any) -> Preconditioner:
    """Build the classical preconditioner called ``name`` (one of :data:`PRECONDITIONERS`) for ``A``.

    ``options`` go to the builder (e.g. ``near_null_space=`` for the AMG kinds).
    """
    check_choice("preconditioner", name, PRECONDITIONERS)
    return PRECONDITIONERS[name](A, **options)
