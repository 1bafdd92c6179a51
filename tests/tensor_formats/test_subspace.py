"""Leading subspaces: Gram where it resolves the decision, true singular values where not."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.tensor_formats._subspace import leading_subspace


def _wide(s, n_cols=4000, seed=0):
    rng = np.random.default_rng(seed)
    n = s.size
    u = np.linalg.qr(rng.standard_normal((n, n)))[0]
    v = np.linalg.qr(rng.standard_normal((n_cols, n)))[0]
    return (u * s) @ v.T


@pytest.mark.parametrize("budget_rel", [1e-6, 1e-20])
def test_tail_budget_is_exact_even_below_sqrt_eps(budget_rel):
    s = np.logspace(0, -15, 120)
    m = _wide(s)
    total = (s ** 2).sum()
    u, sv, tail = leading_subspace(m, budget=budget_rel * total)
    best = int(np.flatnonzero(np.cumsum((s ** 2)[::-1])[::-1] <= budget_rel * total)[0])
    assert u.shape[1] == best
    resid = m - u @ (u.T @ m)
    assert np.linalg.norm(resid) ** 2 == pytest.approx(tail, rel=0.05, abs=1e-28)
    assert np.allclose(sv[:5], s[:5], rtol=1e-12)


def test_rank_and_signs_are_reproducible():
    m = _wide(np.logspace(0, -3, 30), seed=1)
    u1, _, _ = leading_subspace(m, rank=5)
    u2, _, _ = leading_subspace(-m, rank=5)
    assert np.allclose(u1, u2)
    idx = np.argmax(np.abs(u1), axis=0)
    assert np.all(u1[idx, np.arange(5)] > 0)


@pytest.mark.parametrize("complex_", [False, True])
def test_refined_gram_subspace_has_exact_tails(complex_, monkeypatch):
    """Few trusted Gram directions and a sketched complement: the refinement path itself."""
    from pdekit.tensor_formats import _subspace

    used = []
    refine = _subspace._refine
    monkeypatch.setattr(_subspace, "_refine", lambda *a, **k: used.append(refine(*a, **k)) or used[-1])
    s = np.concatenate([np.logspace(0, -14, 30), np.zeros(170)])
    m = _wide(s, n_cols=3000)
    if complex_:
        m = m + 1j * _wide(s, n_cols=3000, seed=7)
    s_true = np.linalg.svd(m, compute_uv=False)
    total = float((s_true ** 2).sum())
    tails = np.concatenate([np.cumsum((s_true ** 2)[::-1])[::-1], [0.0]])
    u, sv, tail = leading_subspace(m, budget=1e-20 * total)
    assert used and used[-1] is not None  # the refinement, not the QR fallback, answered
    assert u.shape[1] == int(np.flatnonzero(tails <= 1e-20 * total)[0])
    resid = np.linalg.norm(m - u @ (u.conj().T @ m)) ** 2
    assert resid == pytest.approx(tail, rel=1e-4) and tail <= 1e-20 * total
    assert np.allclose(sv[:5], s_true[:5], rtol=1e-12)
    u, sv, tail = leading_subspace(m, rank=25)
    resid = np.linalg.norm(m - u @ (u.conj().T @ m)) ** 2
    assert resid == pytest.approx(tail, rel=1e-4) and tail <= 1.2 * tails[25]
