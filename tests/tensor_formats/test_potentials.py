"""Range-separated potentials: the erf-kernel quadrature, the CP form, particle systems."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from pdekit.tensor_formats.potentials import (erf_kernel_quadrature, ion_lattice, long_range_cp,
                                              long_range_potential, random_cluster, slater)


@pytest.mark.parametrize("r_cut, tol", [(1.0, 1e-8), (0.5, 1e-11)])
def test_quadrature_accuracy(r_cut, tol):
    t, w = erf_kernel_quadrature(r_cut, 30.0, tol=tol)
    r = np.linspace(1e-3, 30.0, 3001)
    approx = np.exp(-np.outer(r * r, t * t)) @ w
    scale = 2 / (np.sqrt(np.pi) * r_cut)
    assert np.abs(approx - erf(r / r_cut) / r).max() <= tol * scale
    assert len(t) < 120


def test_cp_form_equals_direct_sum():
    pos, q = ion_lattice(3, spacing=1.5)
    w, fs = long_range_cp(pos, q, r_cut=1.0, r_max=20.0, tol=1e-10)
    pts = np.random.default_rng(0).uniform(-4, 4, (300, 3))
    vals = [g(pts[:, m]) for m, g in enumerate(fs)]
    assert np.array_equal(fs[0](pts[:, 0], slice(3, 9)), vals[0][:, 3:9])
    cp_vals = (vals[0] * vals[1] * vals[2]) @ w
    direct = long_range_potential(pts, pos, q, r_cut=1.0)
    assert np.abs(cp_vals - direct).max() <= 1e-9 * 2 / np.sqrt(np.pi) * np.abs(q).sum()


def test_limit_at_a_particle_and_lattice_charges():
    pos, q = ion_lattice(2)
    assert q.sum() == 0 and pos.shape == (8, 3)
    v = long_range_potential(np.zeros((1, 3)), np.zeros((1, 3)), np.ones(1), r_cut=0.5)
    assert v[0] == pytest.approx(2 / (np.sqrt(np.pi) * 0.5))


def test_cluster_spacing():
    pos, q = random_cluster(60, radius=4.0, min_distance=1.0, seed=1)
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.eye(60) * 10
    assert dist.min() >= 1.0 and np.linalg.norm(pos, axis=1).max() <= 4.0
    assert abs(q.sum()) < abs(q).sum() / 5
    with pytest.raises(ValueError, match="enlarge the radius"):
        random_cluster(30, radius=1.0, min_distance=1.0)


def test_slater_value():
    assert slater(np.array([[3.0, 4.0, 0.0]]))[0] == pytest.approx(np.exp(-5.0))
