"""Small SPD test systems shared by the linear-solver tests."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def laplacian_2d(n: int, coefficient_seed: int | None = None) -> sp.csr_matrix:
    """5-point -div(a grad) on an n x n grid of unknowns, Dirichlet outside (h = 1)."""
    if coefficient_seed is None:
        T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
        I = sp.identity(n)
        return (sp.kron(I, T) + sp.kron(T, I)).tocsr()
    rng = np.random.default_rng(coefficient_seed)
    a = np.exp(rng.normal(size=(n + 1, n + 1)))  # random positive link coefficients
    idx = np.arange(n * n).reshape(n, n)
    rows, cols, vals = [], [], []
    diag = np.zeros((n, n))
    for axis in (0, 1):
        w = a[:n, :n + 1] if axis == 1 else a[:n + 1, :n]
        lo = w[:, :n] if axis == 1 else w[:n, :]
        hi = w[:, 1:] if axis == 1 else w[1:, :]
        diag += lo + hi
        i = idx[:, :-1] if axis == 1 else idx[:-1, :]
        j = idx[:, 1:] if axis == 1 else idx[1:, :]
        c = hi[:, :-1] if axis == 1 else hi[:-1, :]
        rows += [i.ravel(), j.ravel()]
        cols += [j.ravel(), i.ravel()]
        vals += [-c.ravel(), -c.ravel()]
    rows.append(idx.ravel()); cols.append(idx.ravel()); vals.append(diag.ravel())
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n, n * n))
