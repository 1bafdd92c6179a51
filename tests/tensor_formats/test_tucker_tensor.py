"""The TuckerTensor class: norms, inner products, algebra with recompression, slicing, storage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdekit.tensor_formats import TuckerTensor, tucker
from tests.tensor_formats._tensors import low_rank_tucker


@pytest.fixture
def pair():
    a = low_rank_tucker((9, 8, 7), (2, 3, 2), seed=1)
    b = low_rank_tucker((9, 8, 7), (3, 2, 2), seed=2)
    return a, b, tucker(a, rank=(2, 3, 2)), tucker(b, rank=(3, 2, 2))


def test_norm_and_inner(pair):
    a, b, ta, tb = pair
    assert ta.norm() == pytest.approx(np.linalg.norm(a), rel=1e-13)
    assert ta.inner(tb) == pytest.approx(np.sum(a * b), rel=1e-12)
    assert ta.inner(b) == pytest.approx(np.sum(a * b), rel=1e-12)
    s = ta + tb  # non-orthogonal factors: norm through the factor Gram matrices
    assert not s.orthogonal
    assert s.norm() == pytest.approx(np.linalg.norm(a + b), rel=1e-12)


def test_add_and_recompress(pair):
    a, b, ta, tb = pair
    s = ta + tb
    assert s.rank == (5, 5, 4)
    assert np.abs(s.full() - (a + b)).max() < 1e-13
    d = (ta - ta).truncate(rank=1)
    assert np.abs(d.full()).max() < 1e-12
    r = (ta + ta).truncate(tol=1e-12)
    assert r.rank == (2, 3, 2)
    assert np.abs(r.full() - 2 * a).max() < 1e-12
    assert np.abs((3.0 * ta).full() - 3 * a).max() < 1e-13


def test_hadamard_exact_and_truncated(pair):
    a, b, ta, tb = pair
    h = ta.hadamard(tb)
    assert h.rank == (6, 6, 4)
    assert np.abs(h.full() - a * b).max() < 1e-13
    ht = ta.hadamard(tb, tol=1e-3)
    err = np.linalg.norm(ht.full() - a * b) / np.linalg.norm(a * b)
    assert err <= 1e-3
    assert all(r1 <= r2 for r1, r2 in zip(ht.rank, h.rank))


def test_slicing(pair):
    a, _, ta, _ = pair
    assert np.allclose(ta[2].full(), a[2])
    assert np.allclose(ta[:, 1:5, 3].full(), a[:, 1:5, 3])
    assert np.allclose(ta[::2, [0, 3], :].full(), a[::2, [0, 3], :])
    assert ta[1, 2, 3] == pytest.approx(a[1, 2, 3])
    with pytest.raises(IndexError, match="out of range"):
        ta[9]
    with pytest.raises(IndexError, match="too many"):
        ta[0, 0, 0, 0]


def test_compression_ratio_and_params(pair):
    _, _, ta, _ = pair
    assert ta.n_params == 2 * 3 * 2 + 9 * 2 + 8 * 3 + 7 * 2
    assert ta.compression_ratio == pytest.approx(9 * 8 * 7 / ta.n_params)


def test_save_load_roundtrip(pair, tmp_path):
    _, _, ta, _ = pair
    path = tmp_path / "t.h5"
    ta.save(path)
    back = TuckerTensor.load(path)
    assert back.rank == ta.rank and back.orthogonal
    assert np.array_equal(back.full(), ta.full())
    assert [p.name for p in tmp_path.iterdir()] == ["t.h5"]  # no temporary left behind


def test_load_rejects_other_formats(tmp_path):
    from pdekit.tensor_formats import tt

    tt(np.ones((3, 3)), rank=1).save(tmp_path / "x.h5")
    with pytest.raises(ValueError, match="expected a 'tucker' tensor"):
        TuckerTensor.load(tmp_path / "x.h5")
    with pytest.raises(FileNotFoundError):
        TuckerTensor.load(tmp_path / "missing.h5")


def test_torch_tensors_stay_torch(pair):
    a, b, _, _ = pair
    ta, tb = tucker(torch.from_numpy(a), rank=(2, 3, 2)), tucker(torch.from_numpy(b), rank=(3, 2, 2))
    h = ta.hadamard(tb, tol=1e-10)
    assert isinstance(h.core, torch.Tensor)
    assert np.abs(h.full().numpy() - a * b).max() < 1e-12


def test_mismatched_factors():
    with pytest.raises(ValueError, match="factor 1 must have shape"):
        TuckerTensor(np.ones((2, 2)), [np.ones((4, 2)), np.ones((4, 3))])
    with pytest.raises(ValueError, match="shapes differ"):
        tucker(np.ones((3, 4)), rank=1) + tucker(np.ones((4, 3)), rank=1)
