"""The preconditioners :func:`pdekit.solvers.linear.solve` keeps per sparsity pattern.

A named preconditioner (``"amg"``, ``"ic0"``, ...) built for one matrix is kept under a key of
its sparsity pattern; the next matrix with that pattern re-sets it up with ``update`` instead
of building it again (for AMG: aggregates and transfers kept, coarse operators recomputed).
Transfers come from the first matrix of the pattern, or from a ``reference`` matrix of the same
pattern (then every answer is independent of the order of the solves). Without a reference, a
re-set-up AMG that needs clearly more iterations than the fresh one did
(``max(fresh + 3, 1.5 fresh)``) is dropped, so the next solve rebuilds it. At most
:data:`CACHE_SIZE` patterns are kept per process; each entry has a lock, and a solver whose
entry was meanwhile re-set-up for another matrix sets it up for its own again before solving.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import zlib
from typing import Any

import numpy as np
import scipy.sparse as sp

from pdekit.solvers.linear._base import Preconditioner, as_csr_matrix
from pdekit.solvers.linear._common import SolveInfo
from pdekit.solvers.linear.preconditioners import make_preconditioner

__all__ = ["CachedPreconditioner", "cached_preconditioner", "clear_preconditioner_cache", "CACHE_SIZE", "AMG_NAMES"]

#: sparsity patterns whose preconditioners are kept (per process)
CACHE_SIZE = 4
#: the names that build an AMG hierarchy (watched for degraded re-setups)
AMG_NAMES = ("amg", "sa-amg", "rs-amg")

_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()


@dataclasses.dataclass
class CachedPreconditioner:
    """One kept preconditioner: ``M``, its lock, where its structure came from, its fresh
    iteration count, and the solver whose matrix it is set up for now (``owner``)."""

    name: str
    M: Preconditioner
    lock: threading.Lock
    from_reference: bool = False
    fresh_iterations: int | None = None
    owner: Any = None

    def watch(self, info: SolveInfo) -> None:
        """Record the fresh AMG's iterations; drop a re-set-up one that has clearly degraded."""
        if self.from_reference or self.name not in AMG_NAMES:
            return
        if self.M.updates == 0 or self.fresh_iterations is None:
            if info.converged:
                self.fresh_iterations = info.iterations
            return
        fresh = self.fresh_iterations
        if info.iterations > max(fresh + 3, 1.5 * fresh):
            with _CACHE_LOCK:
                for key, value in list(_CACHE.items()):
                    if value is self:
                        del _CACHE[key]


def clear_preconditioner_cache() -> None:
    """Forget the preconditioners :func:`~pdekit.solvers.linear.solve` keeps per sparsity pattern."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _pattern_key(name: str, A: sp.csr_matrix, options: dict, from_reference: bool) -> tuple:
    extra = tuple(sorted((k, zlib.crc32(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else repr(v))
                         for k, v in options.items()))
    return (name, from_reference, A.shape[0], A.nnz, zlib.crc32(A.indptr), zlib.crc32(A.indices), extra)


def _matches(M: Preconditioner, A: sp.csr_matrix) -> bool:
    same = getattr(M, "same_pattern", None)
    return M.shape == A.shape and (same is None or same(A))


def cached_preconditioner(name: str, A: sp.csr_matrix, options: dict, reference: Any = None, *,
                          owner: Any = None) -> CachedPreconditioner:
    """The kept preconditioner ``name`` for ``A``'s pattern, re-set-up for ``A`` (built when missing).

    Parameters
    ----------
    name : str
        A name of :data:`~pdekit.solvers.linear.preconditioners.PRECONDITIONERS`.
    A : (n, n) CSR matrix (sorted, no duplicates)
    options : dict
        Builder options (``near_null_space`` for AMG); part of the key.
    reference : sparse matrix or callable, optional
        A matrix of ``A``'s pattern (or a function returning one) to build the structure from.
    owner : object
        Recorded as the entry's owner (the solver it is now set up for).
    """
    key = _pattern_key(name, A, options, reference is not None)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
    if entry is not None and entry.lock.acquire(blocking=False):
        try:
            if _matches(entry.M, A):
                entry.M.update(A)
                entry.owner = owner
                return entry
        finally:
            entry.lock.release()
    if reference is None:
        M = make_preconditioner(name, A, **options)
    else:
        reference = as_csr_matrix(reference() if callable(reference) else reference, "reference")
        if reference.shape != A.shape:
            raise ValueError(f"reference must have the shape {A.shape} of A; got {reference.shape}")
        M = make_preconditioner(name, reference, **options)
        try:
            M.update(A)
        except ValueError:  # the reference's pattern differs (entries that cancelled): use A's own
            M, reference = make_preconditioner(name, A, **options), None
    entry = CachedPreconditioner(name, M, threading.Lock(), from_reference=reference is not None, owner=owner)
    with _CACHE_LOCK:
        _CACHE[key] = entry
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return entry
