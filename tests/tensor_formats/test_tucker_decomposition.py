"""Tucker decomposition: exact recovery, HOOI vs HOSVD, tolerance control, torch, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdekit.tensor_formats import tucker
from tests._progress import RecordingProgress
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
    t = tucker(x, None, max_rel_error=1e-8)
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
    t = tucker(field, None, max_rel_error=tol)
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
    t = tucker(x, None, max_rel_error=1e-10, method="sthosvd")
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
    bt = tucker(torch.from_numpy(field), None, max_rel_error=1e-6)
    assert bt.rank == tucker(field, None, max_rel_error=1e-6).rank


def test_zero_tensor():
    t = tucker(np.zeros((3, 4, 5)), rank=2)
    assert t.rank == (2, 2, 2) and np.all(t.full() == 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(rank=(3, 20, 2)), "larger than the mode size"),
    (dict(rank=(3, 2)), "one value per mode"),
    (dict(rank=0), ">= 1"),
    (dict(rank=None, max_rel_error=0.0), r"in \(0, 1\)"),
    (dict(rank=None, max_rel_error=1.5), r"in \(0, 1\)"),
    (dict(rank=2, max_rel_error=1e-3), "either rank or max_rel_error"),
    (dict(rank=2, method="svd"), "unknown method"),
    (dict(rank=2, init="hosvd"), "unknown init"),
    (dict(rank=2, tol=-1.0), "iteration tolerance"),
    (dict(rank=2, n_iter_max=-1), "n_iter_max"),
    (dict(rank=2, fixed_factors=[0]), "fixed_factors"),
    (dict(rank=2, init=[np.ones((4, 2))] * 3), r"init factor 1 has shape \(4, 2\)"),
    (dict(rank=2, mask=np.ones((4, 5))), "mask must have the tensor's shape"),
    (dict(rank=2, mask=np.full((4, 5, 6), 2.0)), "1 \\(True\\) where an entry is known"),
    (dict(rank=2, method="hosvd", init="random"), "computes no iterations"),
    (dict(rank=None, max_rel_error=0.1, init="random"), "cannot be combined"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tucker(np.ones((4, 5, 6)), **kwargs)


def test_nan_input():
    x = np.ones((4, 5, 6))
    x[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        tucker(x, rank=2)


# ---------------------------------------------------------------- tensorly's signature and meaning
def test_requested_rank_is_the_returned_rank():
    # the HOOI sweep of mode 1 sees a 4 x 2 unfolding: its third direction must be completed
    x = np.random.default_rng(1234).random((3, 4, 3))
    t = tucker(x, rank=[2, 3, 1], tol=0, n_iter_max=300)
    assert t.rank == (2, 3, 1)
    assert [u.shape for u in t.factors] == [(3, 2), (4, 3), (3, 1)]
    for u in t.factors:
        assert np.allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-13)
    best = tucker(x, rank=[2, 2, 1], tol=0, n_iter_max=300)  # the third direction carries nothing
    assert np.linalg.norm(t.full() - x) == pytest.approx(np.linalg.norm(best.full() - x), rel=1e-9)


def test_rank_none_is_full_rank_and_unpacks_as_core_factors():
    x = np.random.default_rng(0).random((3, 4, 2))
    core, factors = tucker(x, None)
    assert core.shape == (3, 4, 2) and [f.shape for f in factors] == [(3, 3), (4, 4), (2, 2)]
    assert np.abs(tucker(x, None).full() - x).max() < 1e-14
    assert tucker(np.ones((32, 32, 16)), 0.1).rank == (12, 12, 6)  # tensorly's fraction of the parameters


def test_random_and_given_starts():
    x = low_rank_tucker((6, 7, 5), (2, 3, 2), seed=4) + 1e-3 * np.random.default_rng(5).standard_normal((6, 7, 5))
    svd = tucker(x, rank=(2, 3, 2))
    a = tucker(x, rank=(2, 3, 2), init="random", random_state=7, n_iter_max=200, tol=1e-12)
    b = tucker(x, rank=(2, 3, 2), init="random", random_state=np.random.RandomState(7), n_iter_max=200, tol=1e-12)
    assert np.array_equal(a.full(), b.full())
    nx = np.linalg.norm(x)
    assert np.linalg.norm(a.full() - x) / nx == pytest.approx(np.linalg.norm(svd.full() - x) / nx, rel=1e-6)
    # any basis of the right subspaces (not orthonormal) is recovered in one sweep
    exact = low_rank_tucker((6, 7, 5), (2, 3, 2), seed=4)
    start = [u @ np.array([[2.0, 1.0], [0.5, 3.0]])[:u.shape[1], :u.shape[1]] if u.shape[1] == 2 else 3 * u
             for u in tucker(exact, rank=(2, 3, 2)).factors]
    t = tucker(exact, rank=None, init=start, n_iter_max=1)
    assert t.rank == (2, 3, 2) and t.info["n_iter"] == 1
    assert np.linalg.norm(t.full() - exact) / np.linalg.norm(exact) < 1e-13


def test_fixed_factors_are_kept_and_the_core_fits_them():
    x = low_rank_tucker((6, 7, 5), (2, 3, 2), seed=8)
    ref = tucker(x, rank=(2, 3, 2))
    skew = ref.factors[1] @ np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.5], [0.0, 0.0, 4.0]])  # same span, not orthonormal
    t = tucker(x, rank=(2, 3, 2), init=(ref.core, [ref.factors[0], skew, ref.factors[2]]), fixed_factors=[1])
    assert t.factors[1] is not None and np.array_equal(t.factors[1], skew)
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) < 1e-12
    with pytest.raises(ValueError, match="linearly dependent"):
        bad = np.repeat(ref.factors[1][:, :1], 3, axis=1)
        tucker(x, rank=(2, 3, 2), init=[ref.factors[0], bad, ref.factors[2]], fixed_factors=[1])


def test_masked_entries_are_ignored():
    exact = low_rank_tucker((6, 6, 6), (1, 2, 1), seed=9)
    corrupted, mask = exact.copy(), np.ones(exact.shape, dtype=bool)
    for idx in [(0, 0, 0), (3, 1, 4), (5, 5, 2)]:
        corrupted[idx] += 10.0
        mask[idx] = False
    t = tucker(corrupted, rank=(1, 2, 1), mask=mask, tol=1e-12, n_iter_max=500)
    assert np.abs(t.full() - exact).max() < 1e-6 * np.abs(exact).max()
    assert t.info["rel_error"] < 1e-6  # on the known entries
    plain = tucker(corrupted, rank=(1, 2, 1))
    assert np.abs(plain.full() - exact).max() > 0.1  # without the mask the outliers pull it off
    ones = tucker(corrupted, rank=(1, 2, 1), mask=np.ones(exact.shape))
    assert np.array_equal(ones.full(), plain.full())
    corrupted[~mask] = np.nan  # missing entries may be NaN
    again = tucker(corrupted, rank=(1, 2, 1), mask=mask, tol=1e-12, n_iter_max=500)
    assert np.abs(again.full() - t.full()).max() < 1e-9 * np.abs(exact).max()


def test_iteration_tolerance_errors_verbose_and_progress(capsys):
    x = smooth_field(20) + 0.05 * np.random.default_rng(0).standard_normal((20, 20, 20))
    t, errors = tucker(x, rank=(3, 3, 3), tol=0, n_iter_max=4, return_errors=True)
    assert len(errors) == 4 == t.info["n_iter"] and errors == t.info["errors"]
    assert all(b <= a + 1e-15 for a, b in zip(errors, errors[1:]))
    loose = tucker(x, rank=(3, 3, 3), tol=1e-2, n_iter_max=50)
    assert loose.info["n_iter"] == 1  # the first sweep gains less than 1e-2
    tucker(x, rank=(3, 3, 3), n_iter_max=2, tol=0, verbose=True)
    out = capsys.readouterr().out
    assert out.count("relative error=") == 2 and "2 sweeps" in out

    rec = RecordingProgress()
    tucker(x, rank=(3, 3, 3), n_iter_max=3, tol=0, progress=rec)
    assert rec.calls == [("start", 3), ("update", 1), ("update", 1), ("update", 1), ("close",)]
    assert capsys.readouterr().out == ""  # nothing printed unless asked


def test_complex_tensors_are_decomposed_not_cast():
    rng = np.random.default_rng(11)
    core = rng.standard_normal((2, 3, 2)) + 1j * rng.standard_normal((2, 3, 2))
    factors = [np.linalg.qr(rng.standard_normal((n, r)) + 1j * rng.standard_normal((n, r)))[0]
               for n, r in [(6, 2), (7, 3), (5, 2)]]
    x = np.einsum("abc,ia,jb,kc->ijk", core, *factors)
    for method in ("hosvd", "sthosvd", "hooi"):
        t = tucker(x, rank=(2, 3, 2), method=method)
        assert np.iscomplexobj(t.core)
        assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) < 1e-13
        for u in t.factors:
            assert np.allclose(u.conj().T @ u, np.eye(u.shape[1]), atol=1e-13)
    assert tucker(x, None, max_rel_error=1e-8).rank == (2, 3, 2)
    xt = torch.from_numpy(x).to(torch.complex64)
    tt = tucker(xt, rank=(2, 3, 2))
    assert tt.core.dtype == torch.complex64
    assert torch.linalg.vector_norm(tt.full() - xt) / torch.linalg.vector_norm(xt) < 1e-5


def test_warns_when_tol_is_given_without_a_rank():
    with pytest.warns(UserWarning, match="max_rel_error"):
        t = tucker(np.ones((3, 4)), None, tol=1e-6)
    assert t.rank == (3, 4)


def test_class_face_passes_every_argument():
    from pdekit.tensor_formats import Tucker

    x = low_rank_tucker((5, 6, 4), (2, 2, 2), seed=3) + 0.1 * np.random.default_rng(0).standard_normal((5, 6, 4))
    est = Tucker(rank=(2, 2, 2), return_errors=True, n_iter_max=3, tol=0)
    t = est.fit_transform(x)
    assert t.rank == (2, 2, 2) and len(est.errors_) == 3 and est.fit(x) is est


def test_the_format_does_not_import_the_decomposition():
    import subprocess
    import sys

    code = ("import sys, pdekit.tensor_formats.tucker_tensor as tt, numpy as np; "
            "t = tt.TuckerTensor(np.ones((2, 2)), [np.eye(3, 2), np.eye(4, 2)]).truncate(rank=1); "
            "assert t.rank == (1, 1); "
            "print('pdekit.tensor_formats.tucker_decomposition' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_progress_true_draws_a_bar_on_stderr(capsys):
    x = smooth_field(16) + 0.05 * np.random.default_rng(1).standard_normal((16, 16, 16))
    tucker(x, rank=(3, 3, 3), n_iter_max=3, tol=0, progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "Tucker (HOOI sweeps)" in captured.err and "3/3" in captured.err
