"""What every pdekit preconditioner shares: the :class:`Preconditioner` base and the matrix check.

A preconditioner approximates ``A^-1`` (scipy's convention for ``M``) and is a callable
``r -> z``; it also has ``matvec``, ``shape`` and :meth:`Preconditioner.as_linear_operator`,
so it can be handed to scipy's solvers too. The concrete ones live in
:mod:`~pdekit.solvers.linear.preconditioners` (Jacobi, the registry of names),
:mod:`~pdekit.solvers.linear.ichol` (IC(0)) and :mod:`~pdekit.solvers.linear.multigrid`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["Preconditioner", "as_csr_matrix"]


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
