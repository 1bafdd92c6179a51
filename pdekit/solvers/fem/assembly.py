"""Sparsity pattern and element-to-CSR scatter map, computed once per mesh and space.

Local element matrices are stored *pair-major*: ``local[a, b, e]`` is the entry of local basis
pair ``(a, b)`` in cell ``e``, shape ``(nloc, nloc, m)``. Cell-wise arithmetic then runs over
long contiguous arrays, and a Python loop touches at most the ``nloc^2`` basis pairs.

A :class:`SparsityPattern` never sorts all ``nloc^2 m`` entries. The matrix graph is symmetric,
so only the ``nloc (nloc - 1) / 2`` strict upper pairs of each cell are grouped into the
unique *edges* ``i < j`` of the graph, by two stable O(N) counting sorts (an LSD radix sort
by ``(lo, hi)`` in scipy's compiled sparse tools; large buffers are reused between passes).
Every CSR row is then ``[lower neighbours, diagonal, upper neighbours]``, already in column
order, and the lower half is the transpose of the upper half (another counting sort, of the
edges only). The result is

* the CSR structure (``indptr``, ``indices``, sorted),
* the grouping of the local pairs by edge (kept: every operator below is built from it
  without sorting again),
* ``half_scatter`` (built on first use, stored cell-major): for the packed upper triangle of
  each (symmetric) local matrix, its slot in a *half* array with one value per dof
  (diagonal) and per edge, and ``csr_to_half``, the slot each CSR position reads
  (``(i, j)`` and ``(j, i)`` share one).

Symmetric assembly is then ``data = bincount(half_scatter, packed)[csr_to_half]``; for a
coefficient constant per cell, :meth:`SparsityPattern.cell_operator` folds the unit local
matrices into a sparse ``(n_dofs + n_edges, m)`` matrix (rows grouped by an O(N) counting
sort), so re-assembly with new cell values ``a (m,)`` is ``(op @ a)[csr_to_half]``: one
gather-multiply-scatter. Local matrices whose rows sum to zero (stiffness) need only their
off-diagonal part: :meth:`SparsityPattern.edge_operator` ``(n_edges, m)`` (exact zeros
dropped) and :meth:`SparsityPattern.zero_row_sum_matrix`, which sets each diagonal entry to
minus its row sum. Non-symmetric local matrices use the full scatter map
(:attr:`SparsityPattern.scatter`, built on first use).

Examples
--------
>>> import numpy as np
>>> p = SparsityPattern(np.array([[0, 1, 2], [1, 3, 2]]), 4)
>>> p.nnz
14
>>> A = p.assemble(np.ones((3, 3, 2)))
>>> float(A[1, 2]), float(A[0, 3])
(2.0, 0.0)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:  # scipy's compiled COO -> CSR counting sort and per-row sort (private but long-stable)
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - exercised only on a scipy without it
    _sparsetools = None

__all__ = ["SparsityPattern", "assemble_vector", "pack_symmetric", "packed_pairs", "unique_pairs"]


#: edges per block in :meth:`SparsityPattern.edge_operator`
_EDGE_BLOCK = 16384
#: rows per block when expanding a row pointer to row numbers
_ROW_BLOCK = 1 << 16


def _index_dtype(n: int):
    return np.int32 if n < 2**31 - 1 else np.int64


def _group_rows(n_rows: int, rows: np.ndarray, cols: np.ndarray, payload: np.ndarray,
                *, sort: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counting sort of entries by row (stable), optionally sorting each row by column.

    Returns ``indptr (n_rows + 1,)``, the columns and the payloads in row order.
    """
    nnz = len(rows)
    if _sparsetools is None:
        order = np.lexsort((cols, rows)) if sort else np.argsort(rows, kind="stable")
        indptr = np.zeros(n_rows + 1, dtype=rows.dtype)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        return indptr, cols[order], payload[order]
    indptr = np.empty(n_rows + 1, dtype=rows.dtype)
    out_cols = np.empty(nnz, dtype=rows.dtype)
    out_payload = np.empty(nnz, dtype=payload.dtype)
    _sparsetools.coo_tocsr(n_rows, n_rows, nnz, rows, cols, payload, indptr, out_cols, out_payload)
    if sort:
        _sparsetools.csr_sort_indices(n_rows, indptr, out_cols, out_payload)
    return indptr, out_cols, out_payload


def _order_in_place(lo: np.ndarray, hi: np.ndarray, step: int = 1 << 18) -> None:
    """``lo, hi = minimum(lo, hi), maximum(lo, hi)`` in place, block by block (no big temporary)."""
    for i in range(0, len(lo), step):
        a, b = lo[i:i + step], hi[i:i + step]
        t = np.minimum(a, b)
        np.maximum(a, b, out=b)
        a[...] = t


def _arange_into(out: np.ndarray, step: int = 1 << 20) -> np.ndarray:
    """``out[:] = arange(len(out))`` without a second full-size array."""
    for i in range(0, len(out), step):
        j = min(i + step, len(out))
        out[i:j] = np.arange(i, j, dtype=out.dtype)
    return out


def _sorted_pairs(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``lo[s] <= hi[s]`` (values in ``[0, n)``) ordered by ``(lo, hi)``, then by ``s``.

    Two stable O(N) counting sorts (by ``hi``, then by ``lo``: an LSD radix sort); ``lo`` and
    ``hi`` (same int dtype, contiguous) are consumed: their buffers are reused. Returns the row
    pointer ``(n + 1,)`` of the ``lo`` groups, the sorted ``hi (N,)`` and the source ids ``(N,)``.
    """
    idx = lo.dtype
    n_up = len(lo)
    src = _arange_into(np.empty(n_up, dtype=idx))
    if _sparsetools is None:
        order = np.lexsort((src, hi, lo))
        up_ptr = np.zeros(n + 1, dtype=idx)
        np.cumsum(np.bincount(lo, minlength=n), out=up_ptr[1:])
        return up_ptr, hi[order], order.astype(idx)
    ptr1 = np.empty(n + 1, dtype=idx)
    lo_by_hi, src1 = np.empty(n_up, dtype=idx), np.empty(n_up, dtype=idx)
    _sparsetools.coo_tocsr(n, n, n_up, hi, lo, src, ptr1, lo_by_hi, src1)
    hi_by_hi = hi  # buffer reused: the row of each sorted entry, filled block by block
    counts = np.diff(ptr1)
    for r0 in range(0, n, _ROW_BLOCK):
        r1 = min(r0 + _ROW_BLOCK, n)
        hi_by_hi[ptr1[r0]:ptr1[r1]] = np.repeat(np.arange(r0, r1, dtype=idx), counts[r0:r1])
    del hi, counts
    up_ptr = np.empty(n + 1, dtype=idx)
    up_cols, up_src = lo, src  # free buffers, reused
    _sparsetools.coo_tocsr(n, n, n_up, lo_by_hi, hi_by_hi, src1, up_ptr, up_cols, up_src)
    return up_ptr, up_cols, up_src


def _edge_starts(up_ptr: np.ndarray, up_cols: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: the sorted pair starts a new distinct ``(lo, hi)``."""
    new = np.ones(len(up_cols), dtype=bool)
    np.not_equal(up_cols[1:], up_cols[:-1], out=new[1:])
    new[up_ptr[:-1][np.diff(up_ptr) > 0]] = True  # a row's first entry starts an edge
    return new


def unique_pairs(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct unordered pairs ``{a, b}`` (``a != b``, values in ``[0, n)``), without a sort.

    Parameters
    ----------
    a, b : (N,) int arrays
    n : int
        Upper bound of the values.

    Returns
    -------
    pairs : (E, 2) int64
        Distinct pairs, ``pairs[:, 0] < pairs[:, 1]``, in lexicographic order (as
        ``np.unique`` of ``min * n + max`` would give).
    inverse : (N,) int64
        Index in ``pairs`` of each input pair.
    """
    idx = _index_dtype(max(int(n) + 1, len(a) + 1))
    a = np.asarray(a, dtype=idx)
    b = np.asarray(b, dtype=idx)
    lo = np.minimum(a, b)
    hi = np.maximum(a, b)
    up_ptr, up_cols, up_src = _sorted_pairs(lo, hi, int(n))
    new = _edge_starts(up_ptr, up_cols)
    starts = np.flatnonzero(new)
    rows = np.searchsorted(up_ptr, starts, side="right") - 1
    pairs = np.stack([rows, up_cols[starts].astype(np.int64)], axis=1)
    inverse = np.empty(len(a), dtype=np.int64)
    inverse[up_src] = np.cumsum(new) - 1
    return pairs, inverse


def packed_pairs(nloc: int) -> tuple[np.ndarray, np.ndarray]:
    """Local pairs ``(a, b)`` of the packed symmetric layout: the diagonal, then ``a < b``."""
    pa, pb = np.triu_indices(nloc, 1)
    diag = np.arange(nloc)
    return np.concatenate([diag, pa]), np.concatenate([diag, pb])


def pack_symmetric(local: np.ndarray) -> np.ndarray:
    """Packed ``(nloc (nloc + 1) / 2, m)`` upper triangle of symmetric ``(nloc, nloc, m)``."""
    a, b = packed_pairs(local.shape[0])
    return local[a, b]


class SparsityPattern:
    """CSR structure of the matrix coupling the dofs that share a cell.

    Symmetric local matrices can be given *packed*: ``packed[k, e]`` for the local pairs of
    :func:`packed_pairs` (the diagonal, then ``a < b``). They are summed into a *half* array
    ``(n_dofs + n_edges,)`` (one value per dof and per graph edge) and expanded to the CSR data
    by one gather, which touches ``(nloc + 1) / (2 nloc)`` of the entries a full scatter would.

    Parameters
    ----------
    cell_dofs : (m, nloc) int array
        Global dofs of each cell (distinct within a cell).
    n_dofs : int
        Number of rows and columns.

    Attributes
    ----------
    indptr : (n_dofs + 1,) int array
    indices : (nnz,) int array
        Sorted column indices of each row.
    half_scatter : (nloc (nloc + 1) / 2, m) int array
        Half-array slot of each packed local entry: the dof for diagonal pairs,
        ``n_dofs + edge`` otherwise.
    csr_to_half : (nnz,) int array
        Half-array slot of each CSR position (both ``(i, j)`` and ``(j, i)`` read edge ``ij``).
    """

    def __init__(self, cell_dofs: np.ndarray, n_dofs: int) -> None:
        cell_dofs = np.asarray(cell_dofs)
        m, nloc = cell_dofs.shape
        n = int(n_dofs)
        self.n_dofs, self.n_cells, self.n_local = n, m, nloc
        idx = _index_dtype(max(n + 1, nloc * nloc * m + 1))
        dofs = np.ascontiguousarray(cell_dofs, dtype=idx)  # (m, nloc)
        pa, pb = np.triu_indices(nloc, 1)
        n_pairs = len(pa)
        n_up = n_pairs * m
        # 1. unique edges i < j of the graph, from the strict upper local pairs, numbered
        #    cell by cell (source id e * n_pairs + p); two stable O(N) counting sorts (by the
        #    larger dof, then by the smaller) order them by (lo, hi) and, within an edge, by
        #    source id, i.e. by cell
        lo = np.take(dofs, pa, axis=1).reshape(-1)  # take: C-ordered (m, n_pairs), no copy
        hi = np.take(dofs, pb, axis=1).reshape(-1)
        _order_in_place(lo, hi)
        up_ptr, up_cols, up_src = _sorted_pairs(lo, hi, n)
        del lo, hi
        new = _edge_starts(up_ptr, up_cols)
        starts = np.flatnonzero(new).astype(idx)
        cols_e = up_cols[starts]
        del up_cols, new
        n_edges = len(cols_e)
        self._edge_ptr = np.append(starts, np.asarray(n_up, dtype=idx))  # (n_edges + 1,)
        self._edge_src = up_src  # (n_up,) cell-major source ids e * n_pairs + p, grouped by edge
        self.n_pairs = n_pairs
        # 2. full CSR rows: [lower neighbours, diagonal, upper neighbours], by one stable
        #    counting sort by row of the entries listed as (all lower, all diagonal, all
        #    upper): the edges are sorted by (row, column), so each group of a row comes out
        #    sorted by column, and the payload is each position's half-array slot
        e_ptr = np.searchsorted(starts, up_ptr)  # first edge of each row
        rows_e = np.repeat(np.arange(n, dtype=idx), np.diff(e_ptr))
        del e_ptr
        n_all = 2 * n_edges + n
        ent_rows, ent_cols, ent_half = (np.empty(n_all, dtype=idx) for _ in range(3))
        diag = slice(n_edges, n_edges + n)
        ent_rows[:n_edges], ent_rows[diag], ent_rows[n_edges + n:] = cols_e, np.arange(n), rows_e
        ent_cols[:n_edges], ent_cols[diag], ent_cols[n_edges + n:] = rows_e, np.arange(n), cols_e
        np.add(np.arange(n_edges, dtype=idx), n, out=ent_half[:n_edges])
        ent_half[diag], ent_half[n_edges + n:] = np.arange(n), ent_half[:n_edges]
        del rows_e
        indptr, indices, csr_to_half = _group_rows(n, ent_rows, ent_cols, ent_half, sort=False)
        del ent_rows, ent_cols, ent_half
        self.indptr, self.indices = indptr, indices
        self.csr_to_half = csr_to_half
        self._half_scatter = None  # built on first use (the P1 edge path never needs it)
        self.n_edges = n_edges
        # CSR position of each diagonal entry: after the row's lower neighbours
        self._pos_diag = indptr[:-1] + np.bincount(cols_e, minlength=n).astype(idx)
        self._cell_dofs = dofs
        self._scatter = None
        self._keys = None

    @property
    def half_scatter(self) -> np.ndarray:
        """Half-array slot of each packed local entry, ``(nloc (nloc + 1) / 2, m)`` (cached)."""
        if self._half_scatter is None:
            nloc, n = self.n_local, self.n_dofs
            dofs = self._cell_dofs
            pairs = np.empty((self.n_cells, self.n_pairs), dtype=dofs.dtype)  # cell-major
            slots = np.repeat(np.arange(n, n + self.n_edges, dtype=dofs.dtype), np.diff(self._edge_ptr))
            pairs.reshape(-1)[self._edge_src] = slots
            del slots
            # stored cell-major (a transposed view is returned): the cell-by-cell sums of
            # ``half_data(..., cell_major=True)`` and ``cell_operator`` then read it in order
            cell_major = np.empty((self.n_cells, nloc + self.n_pairs), dtype=dofs.dtype)
            cell_major[:, :nloc] = dofs
            cell_major[:, nloc:] = pairs
            self._half_scatter = cell_major.T
        return self._half_scatter

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indices.shape[0])

    @property
    def scatter(self) -> np.ndarray:
        """Position in the CSR data of every local entry ``(a, b, e)``, ``(nloc, nloc, m)``."""
        if self._scatter is None:
            nloc, m, n = self.n_local, self.n_cells, self.n_dofs
            pos_diag = self._pos_diag
            row_of = np.repeat(np.arange(n, dtype=self.indices.dtype), np.diff(self.indptr))
            pos_upper = np.flatnonzero(self.indices > row_of)  # in edge order
            lower = np.flatnonzero(self.indices < row_of)
            pos_lower = np.empty(self.n_edges, dtype=lower.dtype)
            pos_lower[self.csr_to_half[lower] - n] = lower
            del row_of, lower
            dofs_t = self._cell_dofs.T
            scatter = np.empty((nloc, nloc, m), dtype=self.indices.dtype)
            for a in range(nloc):
                scatter[a, a] = pos_diag[dofs_t[a]]
            pa, pb = np.triu_indices(nloc, 1)
            for p, (a, b) in enumerate(zip(pa, pb)):
                e = self.half_scatter[nloc + p] - n
                a_low = dofs_t[a] < dofs_t[b]
                up, down = pos_upper[e], pos_lower[e]
                scatter[a, b] = np.where(a_low, up, down)
                scatter[b, a] = np.where(a_low, down, up)
            self._scatter = scatter
        return self._scatter

    def _check_local(self, local: np.ndarray) -> np.ndarray:
        shape = (self.n_local, self.n_local, self.n_cells)
        local = np.asarray(local, dtype=np.float64)
        if local.shape != shape:
            raise ValueError(f"local matrices must have shape (nloc, nloc, m) = {shape}; got {local.shape}")
        return local

    def _check_packed(self, packed: np.ndarray) -> np.ndarray:
        shape = self.half_scatter.shape
        packed = np.asarray(packed, dtype=np.float64)
        if packed.shape != shape:
            raise ValueError(f"packed local matrices must have shape (nloc (nloc + 1) / 2, m) = "
                             f"{shape}; got {packed.shape}")
        return packed

    def half_data(self, packed: np.ndarray, *, cell_major: bool = False) -> np.ndarray:
        """Sum packed symmetric local matrices into the half array ``(n_dofs + n_edges,)``.

        ``cell_major=True`` adds the contributions cell by cell, the order in which
        ``cell_operator(unit) @ a`` adds them, so ``half_data(unit * a, cell_major=True)``
        equals the operator's result bit for bit.
        """
        packed = self._check_packed(packed)
        if cell_major:
            slots, weights = self.half_scatter.T.reshape(-1), packed.T.reshape(-1)
        else:
            slots, weights = self.half_scatter.reshape(-1), packed.reshape(-1)
        return np.bincount(slots, weights=weights, minlength=self.n_dofs + self.n_edges)

    def symmetric_matrix(self, half: np.ndarray) -> sp.csr_matrix:
        """The CSR matrix whose entries ``(i, i)`` and ``(i, j) = (j, i)`` are read from ``half``."""
        return self.matrix(half[self.csr_to_half])

    def cell_operator(self, unit_packed: np.ndarray) -> sp.csr_matrix:
        """Matrix ``(n_dofs + n_edges, m)`` mapping per-cell coefficients to the half array.

        Parameters
        ----------
        unit_packed : (nloc (nloc + 1) / 2, m) float array
            Packed symmetric local matrices for a coefficient equal to 1 in every cell.

        Returns
        -------
        csr_matrix
            ``symmetric_matrix(op @ a)`` is the matrix assembled from ``a[e] * unit_e``.
        """
        unit_packed = self._check_packed(unit_packed)
        k, m = unit_packed.shape
        cells = np.repeat(np.arange(m, dtype=self.half_scatter.dtype), k)
        n_half = self.n_dofs + self.n_edges
        # entries taken cell by cell: the stable counting sort leaves each row ordered by
        # cell, so the product reads ``a`` in order and adds in the order of ``half_data``
        ptr, cols, vals = _group_rows(n_half, self.half_scatter.T.reshape(-1), cells,
                                      unit_packed.T.reshape(-1), sort=False)
        return sp.csr_matrix((vals, cols, ptr), shape=(n_half, m), copy=False)

    def edge_operator(self, upper: np.ndarray) -> sp.csr_matrix:
        """Matrix ``(n_edges, m)`` mapping per-cell coefficients to the off-diagonal edge values.

        For local matrices whose rows sum to zero (stiffness matrices: the basis sums to one),
        the diagonal follows from the off-diagonal entries, so only these are assembled; see
        :meth:`zero_row_sum_matrix`. Built from the edge grouping kept from the pattern
        construction (no sort); local entries that are exactly zero (frequent on structured
        meshes) are left out, as they add nothing for any coefficient.

        Parameters
        ----------
        upper : (nloc (nloc - 1) / 2, m) float array
            Strict upper local entries, pairs ``a < b`` in ``np.triu_indices`` order (the packed
            layout without its diagonal), for a coefficient equal to 1 in every cell.

        Returns
        -------
        csr_matrix
            One row per edge.
        """
        shape = (self.n_pairs, self.n_cells)
        upper = np.asarray(upper, dtype=np.float64)
        if upper.shape != shape:
            raise ValueError(f"strict upper local entries must have shape (nloc (nloc - 1) / 2, m) = "
                             f"{shape}; got {upper.shape}")
        src, ptr = self._edge_src, self._edge_ptr
        flat = np.ascontiguousarray(upper.T).reshape(-1)  # cell-major, as the source ids
        n_pairs = self.n_pairs
        n_edges, m = self.n_edges, self.n_cells
        # blocks of edges, so the temporaries stay in cache; the outputs are filled in order
        # and only their used part is ever touched
        vals = np.empty(len(src))
        cols = np.empty(len(src), dtype=self.indices.dtype)
        op_ptr = np.empty(n_edges + 1, dtype=ptr.dtype)
        nnz = 0
        for e0 in range(0, n_edges, _EDGE_BLOCK):
            e1 = min(e0 + _EDGE_BLOCK, n_edges)
            j0 = ptr[e0]
            s_blk = src[j0:ptr[e1]]
            v_blk = flat[s_blk]
            keep = v_blk != 0.0
            before = np.cumsum(keep, dtype=ptr.dtype)
            before -= keep
            op_ptr[e0:e1] = before[ptr[e0:e1] - j0]
            op_ptr[e0:e1] += nnz
            kept = v_blk[keep]
            k = len(kept)
            vals[nnz:nnz + k] = kept
            np.floor_divide(s_blk[keep], n_pairs, out=cols[nnz:nnz + k])
            nnz += k
        op_ptr[n_edges] = nnz
        return sp.csr_matrix((vals[:nnz], cols[:nnz], op_ptr), shape=(n_edges, m), copy=False)

    def zero_row_sum_matrix(self, edge_values: np.ndarray) -> sp.csr_matrix:
        """The symmetric CSR matrix with off-diagonal ``(i, j) = (j, i)`` from ``edge_values``
        ``(n_edges,)`` and each diagonal entry minus the sum of its row's off-diagonal ones."""
        edge_values = np.asarray(edge_values, dtype=np.float64)
        if edge_values.shape != (self.n_edges,):
            raise ValueError(f"edge values must have shape (n_edges,) = ({self.n_edges},); "
                             f"got {edge_values.shape}")
        half = np.zeros(self.n_dofs + self.n_edges)
        half[self.n_dofs:] = edge_values
        return self.zero_row_sum_from_half(half)

    def zero_row_sum_from_half(self, half: np.ndarray) -> sp.csr_matrix:
        """:meth:`zero_row_sum_matrix` from a half array ``(n_dofs + n_edges,)`` whose first
        ``n_dofs`` entries (the diagonal slots) are zero, such as ``padded_op @ a`` for an
        :meth:`edge_operator` with ``n_dofs`` empty rows put in front (no copy is made)."""
        if half.shape != (self.n_dofs + self.n_edges,):
            raise ValueError(f"half array must have shape (n_dofs + n_edges,) = "
                             f"({self.n_dofs + self.n_edges},); got {half.shape}")
        if half[: self.n_dofs].any():
            raise ValueError("the first n_dofs entries of the half array (diagonal slots) must be "
                             "zero; the diagonal is computed from the row sums")
        data = np.take(half, self.csr_to_half, mode="clip")  # indices are in range: no checks
        row_sums = np.add.reduceat(data, self.indptr[:-1])  # the diagonal slots read zeros
        np.negative(row_sums, out=row_sums)
        data[self._pos_diag] = row_sums
        return self.matrix(data)

    def data(self, local: np.ndarray) -> np.ndarray:
        """Sum full local matrices ``(nloc, nloc, m)`` into a CSR data array ``(nnz,)``."""
        local = self._check_local(local)
        return np.bincount(self.scatter.reshape(-1), weights=local.reshape(-1), minlength=self.nnz)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """A CSR matrix with this pattern and ``data (nnz,)`` (the index arrays are shared)."""
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_dofs, self.n_dofs),
                             copy=False)

    def assemble(self, local: np.ndarray) -> sp.csr_matrix:
        """Global CSR matrix ``(n_dofs, n_dofs)`` from full local matrices ``(nloc, nloc, m)``."""
        return self.matrix(self.data(local))

    def assemble_symmetric(self, packed: np.ndarray) -> sp.csr_matrix:
        """Global symmetric CSR matrix from packed local matrices (see :func:`pack_symmetric`)."""
        return self.symmetric_matrix(self.half_data(packed))

    def positions(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Positions in the data array of entries ``(rows, cols)``; raises if one is absent."""
        if self._keys is None:
            row_of = np.repeat(np.arange(self.n_dofs, dtype=np.int64), np.diff(self.indptr))
            self._keys = row_of * self.n_dofs + self.indices
        keys = np.asarray(rows, dtype=np.int64) * self.n_dofs + np.asarray(cols, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._keys, keys), self.nnz - 1)
        if not np.all(self._keys[pos] == keys):
            raise ValueError("some entries are outside the sparsity pattern")
        return pos


def assemble_vector(cell_dofs: np.ndarray, local: np.ndarray, n_dofs: int) -> np.ndarray:
    """Global vector ``(n_dofs,)`` from local vectors ``local (nloc, m)`` on ``cell_dofs (m, nloc)``."""
    local = np.asarray(local, dtype=np.float64)
    if local.shape != cell_dofs.T.shape:
        raise ValueError(f"local vectors must have shape (nloc, m) = {cell_dofs.T.shape}; got {local.shape}")
    return np.bincount(cell_dofs.T.reshape(-1), weights=local.reshape(-1), minlength=n_dofs)
