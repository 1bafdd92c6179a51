"""Inner products and norms of numpy vectors that give the same bits at any BLAS thread count.

``numpy.dot``/``vdot`` and ``numpy.linalg.norm`` call BLAS, and OpenBLAS splits a dot product
of more than 10,000 entries across its threads, so its rounding, and with it every CG iterate,
depends on how many threads the process has (a pool worker has one, a serial run all of them).
These are numpy's pairwise sums of the elementwise products instead: the same bits whatever
the thread count, which generated datasets promise (the same samples byte for byte whatever the
process layout), and no less accurate.

Examples
--------
>>> import numpy as np
>>> float(inner_product(np.arange(4.0), np.ones(4))), vector_norm(np.array([3.0, 4.0]))
(6.0, 5.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["inner_product", "vector_norm"]


def inner_product(a: np.ndarray, b: np.ndarray):
    """``a^H b`` of two numpy vectors ``(n,)``: a float for real vectors, a complex for complex ones."""
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.dtype.kind == "c":
        a = np.conjugate(a)
    return np.add.reduce(np.multiply(a, b))


def vector_norm(a: np.ndarray) -> float:
    """Euclidean norm of a numpy vector ``(n,)``."""
    a = np.asarray(a).reshape(-1)
    if a.dtype.kind == "c":
        a = np.abs(a)
    return float(np.sqrt(np.add.reduce(np.multiply(a, a))))
