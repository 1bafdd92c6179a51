"""Dense Cholesky of coarse matrices: exact solves, the same bits at any BLAS thread count."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg as sla

from pdekit.solvers.linear import DenseCholesky


def _spd(n, seed=0):
    M = np.random.default_rng(seed).standard_normal((n, n))
    return np.einsum("ik,jk->ij", M, M) / n + np.eye(n)  # einsum: no BLAS, the same matrix anywhere


@pytest.mark.parametrize("n", [1, 7, 32, 33, 100, 225])
def test_solves_and_inverse_match_lapack(n):
    A = _spd(n, n)
    C = DenseCholesky(A)
    b = np.random.default_rng(1).standard_normal((n, 40))
    expected = sla.cho_solve(sla.cho_factor(A), b)
    assert np.allclose(C.solve(b), expected, rtol=1e-11, atol=1e-12)
    assert np.allclose(C(b[:, 0]), expected[:, 0], rtol=1e-11, atol=1e-12)
    assert np.allclose(C.L @ C.L.T, A, atol=1e-12) and np.allclose(C.inverse() @ A, np.eye(n), atol=1e-10)
    assert np.array_equal(np.tril(C.L), C.L)


def test_bad_input():
    with pytest.raises(np.linalg.LinAlgError):
        DenseCholesky(np.diag([1.0, -1.0]))
    with pytest.raises(ValueError, match="square"):
        DenseCholesky(np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        DenseCholesky(np.eye(3)).solve(np.ones(4))


_HASH = """
import hashlib, numpy as np
from pdekit.solvers.linear import DenseCholesky
M = np.random.default_rng(0).standard_normal((200, 200))
C = DenseCholesky(np.einsum("ik,jk->ij", M, M) / 200 + np.eye(200))
x = C.solve(np.random.default_rng(1).standard_normal(200))
print(hashlib.sha256(C.L.tobytes() + x.tobytes()).hexdigest())
"""


def test_the_same_bits_at_any_blas_thread_count():
    # LAPACK's potrf splits a 200 x 200 matrix across threads (cho_factor's bits change with them)
    out = []
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        out.append(subprocess.run([sys.executable, "-c", _HASH], env=env, capture_output=True, text=True,
                                  timeout=60, check=True).stdout.strip())
    assert len(out[0]) == 64 and out[0] == out[1]
