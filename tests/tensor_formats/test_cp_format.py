"""CP format: ALS recovers known CP tensors; algebra, slicing, storage, torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pdekit.tensor_formats import CPTensor, cp


def _cp_tensor(seed=0, rank=3):
    rng = np.random.default_rng(seed)
    f = [rng.standard_normal((n, rank)) for n in (8, 9, 10)]
    w = np.array([3.0, 2.0, 1.0])[:rank]
    return CPTensor(w, f)


def test_als_recovers_exact_cp_rank():
    x = _cp_tensor().full()
    t = cp(x, rank=3)
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) < 1e-7


def test_rank_from_tolerance():
    x = _cp_tensor().full()
    t = cp(x, tol=1e-6)
    assert t.rank == 3
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) <= 1e-6


def test_algebra_and_slicing():
    a, b = _cp_tensor(0), _cp_tensor(1)
    fa, fb = a.full(), b.full()
    assert a.norm() == pytest.approx(np.linalg.norm(fa), rel=1e-12)
    assert a.inner(b) == pytest.approx(np.sum(fa * fb), rel=1e-12)
    assert np.abs((a + b).full() - (fa + fb)).max() < 1e-12
    assert np.abs(a.hadamard(b).full() - fa * fb).max() < 1e-11
    assert (a + b).rank == 6 and a.hadamard(b).rank == 9
    assert np.allclose(a[2, :, 1:4].full(), fa[2, :, 1:4])
    assert a[1, 2, 3] == pytest.approx(fa[1, 2, 3])
    assert a.compression_ratio == pytest.approx(720 / (3 * 28))


def test_save_load(tmp_path):
    a = _cp_tensor()
    a.save(tmp_path / "cp.h5")
    assert np.array_equal(CPTensor.load(tmp_path / "cp.h5").full(), a.full())


def test_torch_matches_numpy():
    x = _cp_tensor().full()
    a, b = cp(x, rank=3), cp(torch.from_numpy(x), rank=3)
    assert isinstance(b.weights, torch.Tensor)
    assert np.abs(a.full() - b.full().numpy()).max() < 1e-6 * np.abs(x).max()


def test_bad_input():
    with pytest.raises(ValueError, match=">= 1"):
        cp(np.ones((3, 3)), rank=0)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        cp(np.ones((3, 3)), tol=2.0)
    with pytest.raises(ValueError, match="no CP rank"):
        cp(np.random.default_rng(0).standard_normal((6, 6, 6)), tol=1e-9, max_rank=2)
    with pytest.raises(ValueError, match="factor 1 must have shape"):
        CPTensor(np.ones(2), [np.ones((3, 2)), np.ones((3, 1))])


def test_complex_cp_als_and_progress():
    from pdekit.tensor_formats import CPTensor, cp

    rng = np.random.default_rng(6)
    factors = [rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3)) for n in (5, 6, 4)]
    x = CPTensor(np.ones(3, dtype=complex), factors).full()
    calls = []

    class Recorder:
        def start(self, total, desc=""):
            calls.append("start")

        def update(self, n=1, **postfix):
            calls.append("update")

        def close(self):
            calls.append("close")

    t = cp(x, rank=3, n_iter_max=500, iter_tol=1e-14, progress=Recorder())
    assert np.iscomplexobj(t.factors[0])
    assert np.linalg.norm(t.full() - x) / np.linalg.norm(x) < 1e-8
    assert t.norm() == pytest.approx(np.linalg.norm(x), rel=1e-8)
    assert calls[0] == "start" and calls[-1] == "close" and calls.count("update") >= 2
    assert set(calls[1:-1]) == {"update"}
