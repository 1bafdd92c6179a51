"""How ``method="auto"`` chooses between the direct solver and AMG-preconditioned CG.

The crossovers were measured side by side on pdekit's FD and FEM matrices
(``benchmarks/bench_linear_auto.py``, one thread): the direct solver is faster for small
systems, and for two-dimensional problems up to larger sizes than for three-dimensional ones,
whose factorisations fill in far more. A matrix does not say which dimension it comes from; its
graph does (:func:`graph_dimension`).
"""

from __future__ import annotations

import collections
import threading
import zlib

import numpy as np
import scipy.sparse as sp

__all__ = ["graph_dimension", "prefers_direct", "DIRECT_ALWAYS", "DIRECT_2D", "DIRECT_2D_REPEATED", "DENSE_ROWS"]

_LOCK = threading.Lock()
#: measured crossovers of ``method="auto"`` (``benchmarks/bench_linear_auto.py``): below the first
#: the direct solver wins in 2D and 3D, above the second AMG-PCG wins; in between the direct solver
#: wins for two-dimensional matrix graphs only. For one matrix with many right-hand sides (time
#: steps) one factorisation is amortised: 2D graphs take it up to ``DIRECT_2D_REPEATED`` unknowns.
DIRECT_ALWAYS, DIRECT_2D, DIRECT_2D_REPEATED = 2_000, 10_000, 250_000
#: rows denser than this fill in like 3D ones whatever the graph reads (P2 tetrahedra: 22-27)
DENSE_ROWS = 18.0
_DIMENSIONS: collections.OrderedDict = collections.OrderedDict()


def graph_dimension(A: sp.spmatrix) -> float:
    """Growth dimension of the matrix graph: ``log2(N(2r) / N(r))`` for the balls of radius ``r``
    (a quarter of the graph's radius) around a central node; about 2 for planar grids and
    meshes whatever the stencil, about 2.2-3 for 3D ones (small 3D graphs read low)."""
    from scipy.sparse.csgraph import shortest_path

    G = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape)

    def distances(i):
        d = shortest_path(G, method="D", unweighted=True, directed=False, indices=i)
        d[~np.isfinite(d)] = -1
        return d

    d1 = distances(int(distances(0).argmax()))
    d2 = distances(int(d1.argmax()))
    centre = int(np.argmin(np.abs(d1 - d2) + np.abs(d1 + d2 - d1.max())))
    dc = distances(centre)
    r = max(1, int(dc.max() // 4))
    return float(np.log2(np.count_nonzero(dc <= 2 * r) / np.count_nonzero(dc <= r)))


def prefers_direct(A: sp.spmatrix, *, repeated: bool = False, family: bool = False) -> bool:
    """Whether ``method="auto"`` takes the direct solver for ``A`` (see the module doc).

    Up to :data:`DIRECT_ALWAYS` unknowns: yes; above :data:`DIRECT_2D` (``DIRECT_2D_REPEATED``
    when the factorisation serves many right-hand sides, ``repeated=True``): no; in between,
    yes when the rows are not denser than :data:`DENSE_ROWS` and :func:`graph_dimension` is
    below 2.1 (computed once per sparsity pattern). For a *family* of matrices on one pattern
    (``family=True``: a dataset's samples, whose AMG is only re-set-up after the first), the
    measured crossover is :data:`DIRECT_ALWAYS` whatever the dimension.
    """
    n = A.shape[0]
    if family and not repeated:
        return n <= DIRECT_ALWAYS
    upper = DIRECT_2D_REPEATED if repeated else DIRECT_2D
    if n <= DIRECT_ALWAYS or n > upper:
        return n <= DIRECT_ALWAYS
    A = sp.csr_matrix(A)
    if A.nnz / n > DENSE_ROWS:
        return False
    key = (n, A.nnz, zlib.crc32(np.ascontiguousarray(A.indptr)), zlib.crc32(np.ascontiguousarray(A.indices)))
    with _LOCK:
        dim = _DIMENSIONS.get(key)
    if dim is None:
        dim = graph_dimension(A)
        with _LOCK:
            _DIMENSIONS[key] = dim
            while len(_DIMENSIONS) > 16:
                _DIMENSIONS.popitem(last=False)
    return dim < 2.1
