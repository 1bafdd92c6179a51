"""Thread-count-independent inner products and norms."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.solvers.linear import inner_product, vector_norm


@pytest.mark.parametrize("n", [0, 1, 7, 10_001, 50_000])
def test_match_blas_to_rounding(n):
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal((2, n))
    assert inner_product(a, b) == pytest.approx(np.dot(a, b), rel=1e-12, abs=1e-12)
    assert vector_norm(a) == pytest.approx(np.linalg.norm(a), rel=1e-13, abs=0)
    z, w = a + 1j * b, b - 2j * a
    assert inner_product(z, w) == pytest.approx(np.vdot(z, w), rel=1e-12, abs=1e-12)
    assert vector_norm(z) == pytest.approx(np.linalg.norm(z), rel=1e-13, abs=0)
    assert isinstance(vector_norm(a), float)


def test_float32_stays_float32_and_shapes_flatten():
    a = np.ones((3, 4), dtype=np.float32)
    assert inner_product(a, a) == 12.0 and np.asarray(inner_product(a, a)).dtype == np.float32
    assert vector_norm(a) == pytest.approx(np.sqrt(12.0))
