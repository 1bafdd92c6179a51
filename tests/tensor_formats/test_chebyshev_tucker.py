"""The Chebyshev–Tucker format: tolerance met at random points, three ways in, operations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from pdekit._warnings import ConvergenceWarning
from pdekit.tensor_formats import ChebyshevTucker, TuckerTensor, tucker
from pdekit.tensor_formats.chebyshev import chebyshev_points
from pdekit.tensor_formats.potentials import (gaussian, long_range_cp, long_range_potential,
                                              random_cluster, slater)

RNG = np.random.default_rng(0)


def erf_over_r(p):
    r = np.sqrt((p ** 2).sum(1))
    return np.where(r < 1e-12, 2 / np.sqrt(np.pi), erf(r) / np.maximum(r, 1e-300))


def gaussians(p):
    return (gaussian(p, center=np.array([0.3, -0.2, 0.1]), width=0.4)
            - 0.5 * gaussian(p, center=np.array([-0.5, 0.4, 0.0]), width=0.3))


def _errors(ct, f, box, n=4000, seed=1):
    box = np.asarray(box, dtype=float)
    pts = np.random.default_rng(seed).uniform(box[:, 0], box[:, 1], (n, box.shape[0]))
    ref, got = f(pts), ct.evaluate(pts)
    return (np.linalg.norm(got - ref) / np.linalg.norm(ref),
            np.abs(got - ref).max() / np.abs(ref).max())


def test_paper_figure_erf_kernel_rank_11_at_129_points():
    # Benner et al.: erf(r)/r on [-10, 10]^3, 129 points per mode, tol 1e-8 -> rank 11, ~3e-9
    box = [(-10, 10)] * 3
    ct = ChebyshevTucker.from_function(erf_over_r, box, tol=1e-8, degrees=[128] * 3)
    assert ct.ranks == (11, 11, 11)
    rms, mx = _errors(ct, erf_over_r, box)
    assert mx < 5e-9 and rms < 1e-8


@pytest.mark.parametrize("tol", [1e-4, 1e-7])
def test_requested_tolerance_met_at_random_points(tol):
    box = [(-2, 2), (-2, 2), (-2, 2)]
    ct = ChebyshevTucker.from_function(gaussians, box, tol=tol)
    assert all(ct.converged)
    rms, mx = _errors(ct, gaussians, box)
    assert rms <= tol and mx <= 2 * tol
    assert ct.tucker_error <= tol


def test_ranks_grow_as_tolerance_shrinks_and_track_grid_tucker():
    box = [(-10, 10)] * 3
    ranks = []
    for tol in (1e-4, 1e-6, 1e-8):
        ct = ChebyshevTucker.from_function(erf_over_r, box, tol=tol, degrees=[64] * 3)
        ranks.append(ct.ranks[0])
        # grid-based Tucker of the same function on a 64^3 uniform grid at the same tolerance
        g = np.linspace(-10, 10, 64)
        vals = erf_over_r(np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3))
        grid_rank = tucker(vals.reshape(64, 64, 64), None, max_rel_error=tol).rank[0]
        assert abs(ct.ranks[0] - grid_rank) <= 2
    assert ranks == sorted(ranks) and ranks[0] < ranks[-1]


def test_from_grid_dense_and_tucker_agree_with_from_function():
    box = [(-2, 2)] * 3
    ref = ChebyshevTucker.from_function(gaussians, box, tol=1e-8, degrees=[40, 40, 40])
    g = [chebyshev_points(40, b) for b in box]
    vals = gaussians(np.stack(np.meshgrid(*g, indexing="ij"), -1).reshape(-1, 3)).reshape(41, 41, 41)
    dense = ChebyshevTucker.from_grid(vals, box, tol=1e-8)
    via_tucker = ChebyshevTucker.from_grid(tucker(vals, None, max_rel_error=1e-10), box, tol=1e-8)
    pts = RNG.uniform(-2, 2, (500, 3))
    for ct in (dense, via_tucker):
        assert ct.ranks == ref.ranks
        assert np.abs(ct.evaluate(pts) - ref.evaluate(pts)).max() < 1e-8


def test_cp_route_matches_direct_long_range_potential():
    pos, q = random_cluster(40, radius=4.0, seed=3)
    box = [(-8, 8)] * 3
    w, fs = long_range_cp(pos, q, r_cut=1.0, r_max=16 * np.sqrt(3), tol=1e-9)
    ct = ChebyshevTucker.from_cp(w, fs, box, tol=1e-6)
    f = lambda p: long_range_potential(p, pos, q)  # noqa: E731
    rms, mx = _errors(ct, f, box, n=2000)
    assert rms <= 1e-6 and mx <= 2e-6
    assert max(ct.ranks) < 40


def test_on_grid_is_orthogonal_tucker_equal_to_pointwise_values():
    box = [(-2, 2)] * 3
    ct = ChebyshevTucker.from_function(gaussians, box, tol=1e-8)
    grids = [np.linspace(-2, 2, 33), np.linspace(-1, 1, 20), np.linspace(-2, 0, 9)]
    t = ct.on_grid(grids)
    assert isinstance(t, TuckerTensor) and t.orthogonal and t.shape == (33, 20, 9)
    pts = np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, 3)
    assert np.abs(t.full().ravel() - ct.evaluate(pts)).max() < 1e-12


def test_integrate_and_differentiate():
    box = [(-3, 3)] * 3
    f = lambda p: gaussian(p, width=0.5)  # noqa: E731
    ct = ChebyshevTucker.from_function(f, box, tol=1e-10)
    exact = (np.sqrt(2 * np.pi) * 0.5 * erf(3 / (np.sqrt(2) * 0.5))) ** 3
    assert ct.integrate() == pytest.approx(exact, rel=1e-9)
    d = ct.derivative(0)
    pts = RNG.uniform(-3, 3, (500, 3))
    ref = -pts[:, 0] / 0.25 * f(pts)
    assert np.abs(d.evaluate(pts) - ref).max() < 1e-7
    assert d.ranks == ct.ranks


def test_add_and_multiply_with_recompression():
    box = [(-2, 2)] * 3
    a = ChebyshevTucker.from_function(gaussians, box, tol=1e-9)
    b = ChebyshevTucker.from_function(lambda p: np.cos(p.sum(1)), box, tol=1e-9)
    pts = RNG.uniform(-2, 2, (500, 3))
    fa, fb = a.evaluate(pts), b.evaluate(pts)
    s = a.add(b, tol=1e-9)
    assert np.abs(s.evaluate(pts) - (fa + fb)).max() < 1e-8
    assert np.abs((a - a).evaluate(pts)).max() < 1e-12
    m = a.multiply(b, tol=1e-9)
    assert np.abs(m.evaluate(pts) - fa * fb).max() < 1e-8
    assert max(m.ranks) <= max(a.ranks) * max(b.ranks)


def test_slater_cusp_is_reported_not_hidden():
    box = [(-4, 4)] * 3
    with pytest.warns(ConvergenceWarning, match=r"did not reach tol=1e-06.*max_degree \[64, 64, 64\]"):
        ct = ChebyshevTucker.from_function(slater, box, tol=1e-6, max_degree=64)
    assert not any(ct.converged) and min(ct.tails) > 1e-5
    assert repr(ct).endswith("converged=False)")
    rms, _ = _errors(ct, slater, box, n=2000)
    assert rms > 1e-5  # the cusp limits accuracy, as the flags say


def test_save_load(tmp_path):
    ct = ChebyshevTucker.from_function(gaussians, [(-2, 2)] * 3, tol=1e-6)
    ct.save(tmp_path / "ct.h5")
    back = ChebyshevTucker.load(tmp_path / "ct.h5")
    pts = RNG.uniform(-2, 2, (50, 3))
    assert np.array_equal(back.evaluate(pts), ct.evaluate(pts))


def test_bad_input():
    box = [(-1, 1)] * 2
    with pytest.raises(ValueError, match="non-zero width"):
        ChebyshevTucker.from_function(lambda p: p[:, 0], [(-1, 1), (0, 0)], tol=1e-6)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        ChebyshevTucker.from_function(lambda p: p[:, 0], box, tol=0)
    with pytest.raises(ValueError, match="non-finite"):
        ChebyshevTucker.from_function(lambda p: np.where(p[:, 0] > 0, np.nan, 0.0), box, tol=1e-6)
    with pytest.raises(ValueError, match="one value per point"):
        ChebyshevTucker.from_function(lambda p: p[:, :1].T, box, tol=1e-6)
    with pytest.raises(ValueError, match="boxes differ"):
        a = ChebyshevTucker.from_function(lambda p: p[:, 0], box, tol=1e-6)
        b = ChebyshevTucker.from_function(lambda p: p[:, 0], [(-1, 2), (-1, 1)], tol=1e-6)
        a.add(b, tol=1e-6)
    with pytest.raises(ValueError, match="factor function must return shape"):
        ChebyshevTucker.from_cp(np.ones(2), [lambda x, c: np.ones((len(x), 3))] * 2, box, tol=1e-6)


def test_steep_function_at_low_degree_warns_instead_of_failing_silently():
    # issue 12: relative error 2.3 with no warning at max_degree 8
    steep = lambda x: np.exp(20 * x.sum(-1))  # noqa: E731
    box = [(-1, 1)] * 3
    with pytest.warns(ConvergenceWarning, match="did not reach tol=1e-10"):
        ct = ChebyshevTucker.from_function(steep, box, tol=1e-10, max_degree=8)
    assert ct.converged == [False] * 3 and "converged=False" in repr(ct)
    pts = RNG.uniform(-1, 1, (4000, 3))
    assert np.linalg.norm(ct(pts) - steep(pts)) / np.linalg.norm(steep(pts)) > 0.1  # what the warning is about
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ok = ChebyshevTucker.from_function(steep, box, tol=1e-6, max_degree=64)
    assert all(ok.converged) and "converged=True" in repr(ok)
    assert np.linalg.norm(ok(pts) - steep(pts)) / np.linalg.norm(steep(pts)) < 1e-6


def test_complex_input_is_rejected():
    with pytest.raises(TypeError, match="complex values"):
        ChebyshevTucker.from_function(lambda x: np.exp(1j * x.sum(-1)), [(-1, 1)] * 2, tol=1e-6)
    with pytest.raises(TypeError, match="complex"):
        ChebyshevTucker.from_grid(np.ones((5, 5), dtype=complex), [(-1, 1)] * 2, tol=1e-6)
