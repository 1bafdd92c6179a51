"""Tucker decomposition: exact recovery, HOOI vs HOSVD, tolerance control, torch, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdekit.tensor_formats import tucker
from tests.tensor_formats._tensors import low_rank_tucker, smooth_field


@pytest.mark.parametrize("method", ["hosvd", "sthosvd", "hooi"])
def test_exact_recovery_of_known_rank(method):
    x = low_rank_tucker((12, 15, 10), (3, 4, 2), seed=1)
    t = tucker(x, rank=(3, 4, 2), method=method)
    assert t.rank == (3, 4, 2)
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) < 1e-13
    for u in t.factors:
        assert np.allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-13)


def test_tolerance_finds_the_true_rank_of_a_low_rank_tensor():
    x = low_rank_tucker((20, 18, 16), (4, 3, 5), seed=2)
    t = tucker(x, tol=1e-8)
    assert t.rank == (4, 3, 5)


def test_hooi_error_never_above_hosvd():
    x = smooth_field(30) + 0.05 * np.random.default_rng(0).standard_normal((30, 30, 30))
    nx = np.linalg.norm(x)
    errs = {m: np.linalg.norm(tucker(x, rank=(4, 5, 3), method=m).full() - x) / nx
            for m in ("hosvd", "sthosvd", "hooi")}
    assert errs["hooi"] <= errs["hosvd"] * (1 + 1e-12)
    assert errs["hooi"] <= errs["sthosvd"] * (1 + 1e-12)
    assert errs["hooi"] < errs["hosvd"]  # noise makes HOSVD measurably sub-optimal


@pytest.mark.parametrize("tol", [1e-3, 1e-6, 1e-10])
def test_tolerance_is_met_and_estimate_is_accurate(tol):
    field = smooth_field()
    t = tucker(field, tol=tol)
    err = np.linalg.norm(t.full() - field) / np.linalg.norm(field)
    assert err <= tol
    assert t.info["rel_error"] == pytest.approx(err, rel=1e-2)
    # minimal: one rank less in any mode breaks the tolerance
    for m in range(3):
        smaller = list(t.rank)
        smaller[m] -= 1
        e = np.linalg.norm(tucker(field, rank=smaller, method="hooi").full() - field)
        assert e / np.linalg.norm(field) > tol / 3


def test_small_tolerance_ranks_come_from_true_singular_values():
    # wide unfolding (Gram route) with singular values 10^0 .. 10^-15: at tol 1e-10 the
    # Gram eigenvalues cannot tell sigma = 1e-11 from round-off, the true SVD can
    rng = np.random.default_rng(3)
    n, s = 40, np.logspace(0, -15, 40)
    u = np.linalg.qr(rng.standard_normal((n, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n * n, n)))[0]
    x = ((u * s) @ v.T).reshape(n, n, n)
    t = tucker(x, tol=1e-10, method="sthosvd")
    sv = np.linalg.svd(x.reshape(n, -1), compute_uv=False)
    tails = np.sqrt(np.cumsum((sv ** 2)[::-1])[::-1] / (sv ** 2).sum())
    best = int(np.flatnonzero(tails <= 1e-10 / np.sqrt(3))[0])
    assert t.rank[0] <= best + 1
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) <= 1e-10


def test_torch_and_numpy_agree():
    field = smooth_field()
    a = tucker(field, rank=(5, 6, 4))
    b = tucker(torch.from_numpy(field), rank=(5, 6, 4))
    assert isinstance(b.core, torch.Tensor)
    assert np.abs(a.full() - b.full().numpy()).max() < 1e-10
    bt = tucker(torch.from_numpy(field), tol=1e-6)
    assert bt.rank == tucker(field, tol=1e-6).rank


def test_zero_tensor():
    t = tucker(np.zeros((3, 4, 5)), rank=2)
    assert np.all(t.full() == 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(rank=(3, 20, 2)), "larger than the mode size"),
    (dict(rank=(3, 2)), "one value per mode"),
    (dict(rank=0), ">= 1"),
    (dict(tol=0.0), r"in \(0, 1\)"),
    (dict(tol=1.5), r"in \(0, 1\)"),
    (dict(), "give the rank"),
    (dict(rank=2, tol=1e-3), "either rank or tol"),
    (dict(rank=2, method="svd"), "unknown method"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tucker(np.ones((4, 5, 6)), **kwargs)


def test_nan_input():
    x = np.ones((4, 5, 6))
    x[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        tucker(x, rank=2)
