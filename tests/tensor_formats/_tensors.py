"""Shared fixtures of the tensor-format tests: tensors of known Tucker rank and smooth fields."""

from __future__ import annotations

import numpy as np


def low_rank_tucker(shape, ranks, seed=0):
    """A random tensor of exact Tucker rank ``ranks`` (orthonormal factors, dense core)."""
    rng = np.random.default_rng(seed)
    core = rng.standard_normal(ranks)
    factors = [np.linalg.qr(rng.standard_normal((n, r)))[0] for n, r in zip(shape, ranks)]
    x = core
    for m, u in enumerate(factors):
        x = np.moveaxis(np.tensordot(u, x, axes=(1, m)), 0, m)
    return x


def smooth_field(n=40):
    """A smooth 3-D field with geometrically decaying multilinear singular values."""
    x = np.linspace(-1, 1, n)
    a, b, c = np.meshgrid(x, x, x, indexing="ij")
    return 1.0 / np.sqrt(0.05 + (a - 0.1) ** 2 + b ** 2 + (c + 0.2) ** 2) + np.sin(4 * a * b + c)


