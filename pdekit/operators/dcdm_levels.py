"""The grid hierarchy a learned V-cycle runs on: masks, neighbours, transfers, Galerkin operators.

Level 0 is the grid of the system: its shape (boundary nodes included), the mask of the nodes
that are unknowns (numbered in C order, as :class:`pdekit.solvers.fd.GridSystem` numbers
them) and the matrix. Each coarser level keeps every other node along each axis (and the last
node), so a 2^k + 1 grid coarsens to 2^(k-1) + 1. A coarse node is an unknown when the fine
node it sits on is one, so Dirichlet sides and obstacles stay out of every level.
Prolongation is bilinear / trilinear interpolation restricted to the unknowns (a fine node
near an obstacle or a Dirichlet side simply loses the missing coarse neighbours), restriction
is its transpose, and the coarse matrix is the Galerkin product ``P^T A P``. The coarsest
level (at most ``coarse_size`` unknowns) is solved exactly.

Everything here depends on the matrix and the mask only, not on learned weights, so it is
built once per system (a setup phase, like an AMG setup).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Sequence

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

__all__ = ["GridLevel", "GridHierarchy", "build_hierarchy", "stencil_offsets"]


def stencil_offsets(ndim: int, stencil: str) -> list[tuple[int, ...]]:
    """Offsets of a ``"box"`` (3^d points) or ``"star"`` (2d + 1 points) stencil, in C order."""
    box = list(itertools.product((-1, 0, 1), repeat=ndim))
    if stencil == "box":
        return box
    if stencil == "star":
        return [o for o in box if sum(abs(v) for v in o) <= 1]
    raise ValueError(f"unknown stencil {stencil!r}; expected 'box' or 'star'")


def _neighbours(mask: np.ndarray, offsets: Sequence[tuple[int, ...]]) -> np.ndarray:
    """(n, K) index of the unknown at ``node + offset`` for every unknown, ``n`` where there is none."""
    n = int(mask.sum())
    number = np.full(mask.shape, n, dtype=np.int64)
    number[mask] = np.arange(n)
    padded = np.pad(number, 1, constant_values=n)
    strides = np.array([int(np.prod(padded.shape[a + 1:])) for a in range(mask.ndim)])
    nodes = np.ravel_multi_index(tuple(c + 1 for c in np.nonzero(mask)), padded.shape)
    shifts = np.asarray(offsets, dtype=np.int64) @ strides
    return padded.ravel()[nodes[:, None] + shifts[None, :]]


def _parents_1d(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per fine index along one axis: two coarse parents and their weights (linear interpolation).

    Coarse nodes sit on the even fine indices and on the last one; a fine node on a coarse node
    takes it with weight 1 (second weight 0), one between two takes each with weight 1/2.
    """
    coarse = np.unique(np.r_[np.arange(0, size, 2), size - 1])
    where = np.full(size, -1)
    where[coarse] = np.arange(coarse.size)
    i = np.arange(size)
    on = where >= 0
    first = np.where(on, where, where[np.maximum(i - 1, 0)])
    second = np.where(on, where, where[np.minimum(i + 1, size - 1)])
    return first, second, np.where(on, 1.0, 0.5), np.where(on, 0.0, 0.5)


@dataclasses.dataclass
class GridLevel:
    """One level of the hierarchy.

    Attributes
    ----------
    shape : tuple of int
        Grid shape of the level.
    mask : bool array of ``shape``
        Unknown nodes (C order numbering).
    matrix : (n, n) scipy CSR
        The level's operator (the system matrix on level 0, Galerkin products below).
    neighbours : (n, K) int array
        Unknown number of each stencil neighbour, ``n`` where the neighbour is not an unknown.
    inv_sqrt_diagonal : (n,) float array
    prolongation : (n, n_coarse) scipy CSR or None
        Interpolation from the next coarser level (None on the coarsest).
    """

    shape: tuple[int, ...]
    mask: np.ndarray
    matrix: sp.csr_matrix
    neighbours: np.ndarray
    inv_sqrt_diagonal: np.ndarray
    prolongation: sp.csr_matrix | None = None

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])


@dataclasses.dataclass
class GridHierarchy:
    """All levels plus the Cholesky factor of the coarsest matrix."""

    levels: list[GridLevel]
    coarse_cholesky: tuple
    offsets: list[tuple[int, ...]]

    def coarse_solve(self, r: np.ndarray) -> np.ndarray:
        return sla.cho_solve(self.coarse_cholesky, r)

    def coarse_inverse(self) -> np.ndarray:
        """Dense inverse of the coarsest matrix, ``(n_c, n_c)``."""
        return sla.cho_solve(self.coarse_cholesky, np.eye(self.levels[-1].n))


def _coarsen(level: GridLevel) -> tuple[np.ndarray, sp.csr_matrix, tuple[int, ...]]:
    """Coarse mask, prolongation (n_fine, n_coarse) and coarse grid shape of ``level``."""
    axes = [_parents_1d(s) for s in level.shape]
    positions = [np.unique(np.r_[np.arange(0, s, 2), s - 1]) for s in level.shape]
    coarse_mask = level.mask[np.ix_(*positions)]
    n_coarse = int(coarse_mask.sum())
    coarse_number = np.full(coarse_mask.shape, -1, dtype=np.int64)
    coarse_number[coarse_mask] = np.arange(n_coarse)
    fine = np.nonzero(level.mask)
    rows, cols, vals = [], [], []
    for choice in itertools.product((0, 1), repeat=level.mask.ndim):
        weight = np.ones(fine[0].size)
        index = []
        for axis, c in enumerate(choice):
            first, second, w_first, w_second = axes[axis]
            weight = weight * (w_second if c else w_first)[fine[axis]]
            index.append((second if c else first)[fine[axis]])
        col = coarse_number[tuple(index)]
        keep = (weight > 0) & (col >= 0)
        rows.append(np.flatnonzero(keep))
        cols.append(col[keep])
        vals.append(weight[keep])
    P = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(int(level.mask.sum()), n_coarse))
    return coarse_mask, P, coarse_mask.shape


def build_hierarchy(A: sp.spmatrix, mask: np.ndarray, *, stencil: str = "box",
                    coarse_size: int = 256) -> GridHierarchy:
    """Build the levels of ``A`` on the grid described by ``mask``.

    Parameters
    ----------
    A : (n, n) SPD sparse matrix
        Numbered like the True entries of ``mask`` in C order.
    mask : bool array, 2D or 3D
        Unknown nodes of the grid; ``mask.sum() == n``.
    stencil : {"box", "star"}
        Neighbourhood of the smoothers.
    coarse_size : int
        Coarsen until a level has at most this many unknowns (or cannot be coarsened).

    Raises
    ------
    ValueError
        ``mask`` does not match ``A``, or ``A`` has a non-positive diagonal.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim not in (2, 3):
        raise ValueError(f"the grid mask must be 2D or 3D; got shape {mask.shape}")
    A = sp.csr_matrix(A, dtype=np.float64)
    if A.shape != (int(mask.sum()),) * 2:
        raise ValueError(f"A has shape {A.shape} but the grid mask {mask.shape} holds "
                         f"{int(mask.sum())} unknowns; they must match")
    offsets = stencil_offsets(mask.ndim, stencil)

    def make(shape, m, matrix):
        d = matrix.diagonal()
        if not (d > 0).all():
            raise ValueError("the learned V-cycle needs an SPD matrix with a positive diagonal; "
                             f"found diagonal entry {d.min():.3g}")
        return GridLevel(tuple(int(s) for s in shape), m, matrix, _neighbours(m, offsets), 1.0 / np.sqrt(d))

    levels = [make(mask.shape, mask, A)]
    while levels[-1].n > coarse_size and max(levels[-1].shape) > 2:
        fine = levels[-1]
        coarse_mask, P, shape = _coarsen(fine)
        if coarse_mask.sum() == 0:
            break
        fine.prolongation = P
        Ac = (P.T @ fine.matrix @ P).tocsr()
        Ac.sort_indices()
        levels.append(make(shape, coarse_mask, Ac))
    dense = levels[-1].matrix.toarray()
    return GridHierarchy(levels, sla.cho_factor(dense, lower=True), offsets)
