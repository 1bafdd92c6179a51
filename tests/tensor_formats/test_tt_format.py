"""Tensor trains: TT-SVD, rounding, algebra, slicing, storage, torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdekit.tensor_formats import TTTensor, tt
from tests._progress import RecordingProgress
from tests.tensor_formats._tensors import smooth_field


def _tt_random(seed, ranks=(1, 2, 3, 2, 1), shape=(5, 6, 4, 3)):
    rng = np.random.default_rng(seed)
    return TTTensor([rng.standard_normal((ranks[m], n, ranks[m + 1])) for m, n in enumerate(shape)])


def test_tt_svd_recovers_exact_ranks():
    x = _tt_random(0).full()
    t = tt(x, tol=1e-10)
    assert t.rank == (1, 2, 3, 2, 1)
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) < 1e-12


@pytest.mark.parametrize("tol", [1e-3, 1e-8])
def test_tolerance_met(tol):
    x = smooth_field(24)
    t = tt(x, tol=tol)
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) <= tol
    assert t.compression_ratio > 1


def test_algebra_and_rounding():
    a, b = _tt_random(1), _tt_random(2)
    fa, fb = a.full(), b.full()
    assert a.norm() == pytest.approx(np.linalg.norm(fa), rel=1e-12)
    assert a.inner(b) == pytest.approx(np.sum(fa * fb), rel=1e-11)
    s = a + b
    assert s.rank == (1, 4, 6, 4, 1)
    assert np.abs(s.full() - (fa + fb)).max() < 1e-12
    r = (a + a).round(tol=1e-12)
    assert r.rank == a.rank and np.abs(r.full() - 2 * fa).max() < 1e-11
    h = a.hadamard(b)
    assert np.abs(h.full() - fa * fb).max() < 1e-11
    assert a.hadamard(b, tol=1e-12).rank[1] <= 4


def test_slicing_and_storage(tmp_path):
    a = _tt_random(3)
    fa = a.full()
    assert np.allclose(a[1, :, 2].full(), fa[1, :, 2])
    assert np.allclose(a[:, 2].full(), fa[:, 2])
    assert np.allclose(a[1:3, :, :, 2].full(), fa[1:3, :, :, 2])
    assert a[1, 2, 3, 0] == pytest.approx(fa[1, 2, 3, 0])
    a.save(tmp_path / "tt.h5")
    assert np.array_equal(TTTensor.load(tmp_path / "tt.h5").full(), fa)


def test_torch_matches_numpy():
    x = smooth_field(16)
    a, b = tt(x, rank=4), tt(torch.from_numpy(x), rank=4)
    assert isinstance(b.cores[0], torch.Tensor)
    assert np.abs(a.full() - b.full().numpy()).max() < 1e-10


def test_bad_input():
    with pytest.raises(ValueError, match="exceeds"):
        tt(np.ones((3, 4, 5)), rank=10)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        tt(np.ones((3, 4)), tol=-1)
    with pytest.raises(ValueError, match="must match"):
        TTTensor([np.ones((1, 3, 2)), np.ones((3, 3, 1))])


def test_complex_tt_svd_and_progress():
    rng = np.random.default_rng(5)
    cores = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in [(1, 4, 2), (2, 5, 3), (3, 6, 1)]]
    from pdekit.tensor_formats import TTTensor, tt

    x = TTTensor(cores).full()
    rec = RecordingProgress()
    t = tt(x, rank=[2, 3], progress=rec)
    assert np.iscomplexobj(t.cores[0]) and t.rank == (1, 2, 3, 1)
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) < 1e-13
    assert t.norm() == pytest.approx(np.linalg.norm(x), rel=1e-12)
    assert t.inner(TTTensor(cores)) == pytest.approx(np.vdot(x, x), rel=1e-12)
    assert rec.calls == [("start", 2), ("update", 1), ("update", 1), ("close",)]
