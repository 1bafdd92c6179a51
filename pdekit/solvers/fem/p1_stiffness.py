"""P1 stiffness from its edges: the strict upper local entries, block by block from the points.

P1 gradients are constant per cell and the rows of the stiffness matrix sum to zero, so only
the off-diagonal (edge) entries need assembling. They are computed in blocks of
:data:`_BLOCK` cells straight from the points (``vol grad(l_a).grad(l_b) = C_a.C_b / (d! det J)``
with cofactor columns ``C``; no all-cell temporaries), or from the space's geometry when that
is already built, and scattered through
:meth:`~pdekit.solvers.fem.assembly.SparsityPattern.edge_operator` (exact zeros dropped: 3 of
the 6 pairs of a Kuhn tetrahedron). :func:`pdekit.solvers.fem.stiffness_matrix` takes the
diagonal as minus the row sums.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import scipy.sparse as sp

from .geometry import DEGENERATE_RTOL, cell_geometry
from .space import FunctionSpace

__all__ = ["p1_upper_stiffness", "p1_stiffness_half"]

#: cells per block in the P1 stiffness kernel (keeps the block's temporaries in cache)
_BLOCK = 8192


def p1_upper_stiffness(space: FunctionSpace) -> np.ndarray:
    """Strict upper P1 local stiffness entries for coefficient 1, ``(d (d + 1) / 2, m)``.

    ``vol_e grad(lambda_a) . grad(lambda_b)`` for the pairs ``a < b`` of ``np.triu_indices``;
    the gradients are constant, so this is computed block by block straight from the points
    (or from the space's geometry when that is already built): no all-cell temporaries.
    """
    d, m = space.dim, space.n_cells
    nloc = d + 1
    pa, pb = np.triu_indices(nloc, 1)
    out = np.empty((m, len(pa))).T  # cell-major storage, as the pattern's edge grouping
    if "geometry" not in space.cache:
        _p1_upper_from_points(space.mesh.points, space.mesh.cells, out)
        return out
    geo = space.geometry
    blocks = ((c0, min(c0 + _BLOCK, m), geo.det[c0:c0 + _BLOCK], geo.inv_t[:, :, c0:c0 + _BLOCK])
              for c0 in range(0, m, _BLOCK))
    g = np.empty((nloc, d, _BLOCK))
    dot = np.empty(_BLOCK)
    tmp = np.empty(_BLOCK)
    vol = np.empty(_BLOCK)
    for c0, c1, det, inv_t in blocks:
        w = c1 - c0
        gb, dt, tp, vb = g[:, :, :w], dot[:w], tmp[:w], vol[:w]
        np.divide(det, factorial(d), out=vb)
        gb[1:] = inv_t.transpose(1, 0, 2)  # grad lambda_(j+1) = column j of J^-T
        np.sum(gb[1:], axis=0, out=gb[0])
        np.negative(gb[0], out=gb[0])
        _scaled_pair_dots(gb, pa, pb, vb, out[:, c0:c1], dt, tp)
    return out


def _p1_upper_from_points(points: np.ndarray, cells: np.ndarray, out: np.ndarray) -> None:
    """:func:`p1_upper_stiffness` in 2D / 3D from cofactors: ``vol grad(l_a).grad(l_b) =
    C_a . C_b / (d! det J)`` with ``C_(j+1)`` column ``j`` of ``cof(J)`` and ``C_0 = -sum C_j``.

    Checks every block for inverted or degenerate cells (then raises as ``cell_geometry``).
    """
    pts = np.ascontiguousarray(points, dtype=np.float64)
    pts_t = np.ascontiguousarray(pts.T)  # (d, n): one contiguous take per coordinate
    d, m = pts.shape[1], len(cells)
    nloc = d + 1
    pa, pb = np.triu_indices(nloc, 1)
    c = np.empty((nloc, d, _BLOCK))
    edges = np.empty((d, d, _BLOCK))
    det, dot, tmp, scale = (np.empty(_BLOCK) for _ in range(4))
    for c0 in range(0, m, _BLOCK):
        c1 = min(c0 + _BLOCK, m)
        w = c1 - c0
        verts = np.ascontiguousarray(cells[c0:c1, :nloc].T)  # (d+1, w)
        e = edges[:, :, :w]  # e[i, j]: component i of edge j (= J)
        for i in range(d):
            xi = pts_t[i].take(verts)
            np.subtract(xi[1:], xi[:1], out=e[i])
        cb, db, dt, tp, sc = c[:, :, :w], det[:w], dot[:w], tmp[:w], scale[:w]
        if d == 3:
            for j in range(3):  # C_(j+1) = e_(j+1) x e_(j+2) (indices mod 3)
                u, v = e[:, (j + 1) % 3], e[:, (j + 2) % 3]
                for i in range(3):
                    i1, i2 = (i + 1) % 3, (i + 2) % 3
                    np.multiply(u[i1], v[i2], out=cb[j + 1, i])
                    np.multiply(u[i2], v[i1], out=tp)
                    cb[j + 1, i] -= tp
            np.multiply(e[0, 0], cb[1, 0], out=db)
            for i in (1, 2):
                np.multiply(e[i, 0], cb[1, i], out=tp)
                db += tp
        else:
            np.copyto(cb[1, 0], e[1, 1])
            np.negative(e[0, 1], out=cb[1, 1])
            np.negative(e[1, 0], out=cb[2, 0])
            np.copyto(cb[2, 1], e[0, 0])
            np.multiply(e[0, 0], e[1, 1], out=db)
            np.multiply(e[0, 1], e[1, 0], out=tp)
            db -= tp
        np.abs(e, out=e)
        np.max(e.reshape(d * d, w), axis=0, out=sc)
        sc **= d
        sc *= DEGENERATE_RTOL
        if ((np.abs(db) <= sc) | (db < 0)).any():
            cell_geometry(pts, cells)  # raises, naming the first bad cell of the mesh
        np.sum(cb[1:], axis=0, out=cb[0])
        np.negative(cb[0], out=cb[0])
        np.multiply(db, factorial(d), out=sc)
        np.reciprocal(sc, out=sc)
        _scaled_pair_dots(cb, pa, pb, sc, out[:, c0:c1], dt, tp)

def _scaled_pair_dots(vectors: np.ndarray, pa: np.ndarray, pb: np.ndarray, scale: np.ndarray,
                      out: np.ndarray, dot: np.ndarray, tmp: np.ndarray) -> None:
    """``out[k] = scale * vectors[pa[k]] . vectors[pb[k]]`` for a block of cells.

    ``vectors : (d + 1, d, w)`` per-vertex vectors (gradients or cofactor columns), ``out :
    (len(pa), w)``; ``dot`` and ``tmp`` are ``(w,)`` work arrays (no allocation in the loop).
    """
    d = vectors.shape[1]
    for k, (a, b) in enumerate(zip(pa, pb)):
        np.multiply(vectors[a, 0], vectors[b, 0], out=dot)
        for i in range(1, d):
            np.multiply(vectors[a, i], vectors[b, i], out=tmp)
            dot += tmp
        np.multiply(dot, scale, out=out[k])


def p1_stiffness_half(space: FunctionSpace, a: np.ndarray | None) -> np.ndarray:
    """Half array ``(n_dofs + n_edges,)`` of the P1 stiffness matrix for per-cell ``a`` (None:
    ones): zero diagonal slots, then the edge values (the product writes both at once)."""
    if "stiffness_edge_op" not in space.cache:
        pattern = space.pattern
        op = pattern.edge_operator(p1_upper_stiffness(space))
        # n_dofs empty rows in front: ``op @ a`` is then directly the half array
        ptr = np.concatenate([np.zeros(pattern.n_dofs, dtype=op.indptr.dtype), op.indptr])
        space.cache["stiffness_edge_op"] = sp.csr_matrix(
            (op.data, op.indices, ptr), shape=(pattern.n_dofs + pattern.n_edges, space.n_cells), copy=False)
    op = space.cache["stiffness_edge_op"]
    if a is None:
        if "stiffness_half_ones" not in space.cache:
            space.cache["stiffness_half_ones"] = op @ np.ones(space.n_cells)
        return space.cache["stiffness_half_ones"]
    return op @ a
