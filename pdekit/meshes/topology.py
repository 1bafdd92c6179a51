"""Mesh topology: local facet tables, unique facets, boundary extraction, facet-to-cell maps.

A *facet* of a cell is a sub-simplex of one dimension less: the end points of a line, the
edges of a triangle, the triangular faces of a tetrahedron. Facet ``i`` of a cell is the one
opposite its vertex ``i``; the local vertex order of each facet (:data:`LOCAL_FACETS`) is
chosen so that, for a positively oriented cell, the facet's normal (right-hand rule in 3D,
"to the right of the edge" in 2D) points out of the cell.
"""

from __future__ import annotations

import numpy as np

try:  # scipy's compiled O(N) counting sort (COO -> CSR; private but long-stable)
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - exercised only on a scipy without it
    _sparsetools = None

__all__ = [
    "CELL_TYPES",
    "LOCAL_FACETS",
    "LOCAL_EDGES",
    "cell_facets",
    "unique_facets",
    "boundary_facets",
    "facet_to_cells",
    "cell_neighbors",
    "edges",
    "sorted_keys",
    "locate_facets",
]

#: cell type -> (topological dimension, vertices per cell)
CELL_TYPES: dict[str, tuple[int, int]] = {"line": (1, 2), "triangle": (2, 3), "tetra": (3, 4)}

#: cell type -> (k, k-1) local vertex indices of facet i (opposite vertex i), outward oriented
LOCAL_FACETS: dict[str, np.ndarray] = {
    "line": np.array([[1], [0]], dtype=np.int64),
    "triangle": np.array([[1, 2], [2, 0], [0, 1]], dtype=np.int64),
    "tetra": np.array([[1, 2, 3], [0, 3, 2], [0, 1, 3], [0, 2, 1]], dtype=np.int64),
}

#: cell type -> (e, 2) local vertex pairs of the cell's edges
LOCAL_EDGES: dict[str, np.ndarray] = {
    "line": np.array([[0, 1]], dtype=np.int64),
    "triangle": np.array([[1, 2], [2, 0], [0, 1]], dtype=np.int64),
    "tetra": np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]], dtype=np.int64),
}


def _check_cell_type(cell_type: str) -> None:
    if cell_type not in CELL_TYPES:
        raise ValueError(f"unknown cell_type {cell_type!r}; expected one of {sorted(CELL_TYPES)}")


def sorted_keys(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One sortable int64 key per row of vertex indices, independent of the vertex order.

    Parameters
    ----------
    rows : (r, j) int array, non-negative

    Returns
    -------
    keys : (r,) int64 or (r,) void array
        Equal for rows holding the same vertices; integer keys when ``max + 1`` to the power
        ``j`` fits in int64, otherwise a byte view of the sorted rows.
    srt : (r, j) int64
        The rows with their vertices sorted ascending.
    """
    srt = np.sort(np.asarray(rows, dtype=np.int64), axis=1)
    base = int(srt.max()) + 1 if srt.size else 1
    if float(base) ** srt.shape[1] < 2.0**62:
        keys = np.zeros(len(srt), dtype=np.int64)
        for col in range(srt.shape[1]):
            keys = keys * base + srt[:, col]
        return keys, srt
    srt = np.ascontiguousarray(srt)
    return srt.view(np.dtype((np.void, srt.dtype.itemsize * srt.shape[1]))).ravel(), srt


def cell_facets(cells: np.ndarray, cell_type: str) -> np.ndarray:
    """Return the oriented facets of every cell.

    Parameters
    ----------
    cells : (m, k) int array
    cell_type : {"line", "triangle", "tetra"}

    Returns
    -------
    facets : (m, k, k-1) int64
        ``facets[c, i]`` is the facet of cell ``c`` opposite its vertex ``i``.
    """
    _check_cell_type(cell_type)
    cells = np.asarray(cells, dtype=np.int64)
    return cells[:, LOCAL_FACETS[cell_type]]


def unique_facets(cells: np.ndarray, cell_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct facets of a mesh.

    Parameters
    ----------
    cells : (m, k) int array
    cell_type : {"line", "triangle", "tetra"}

    Returns
    -------
    facets : (f, k-1) int64
        Distinct facets, each with its vertex indices sorted ascending.
    cell_to_facet : (m, k) int64
        ``cell_to_facet[c, i]`` is the index in ``facets`` of the facet of cell ``c``
        opposite its vertex ``i``.
    """
    local = cell_facets(cells, cell_type)
    m, k, _ = local.shape
    keys, srt = sorted_keys(local.reshape(m * k, -1))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return srt[first], inverse.reshape(m, k).astype(np.int64)


def facet_to_cells(cells: np.ndarray, cell_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells on either side of every distinct facet.

    Parameters
    ----------
    cells : (m, k) int array
    cell_type : {"line", "triangle", "tetra"}

    Returns
    -------
    facets : (f, k-1) int64
        Distinct facets with sorted vertex indices (as :func:`unique_facets`).
    cells_of_facet : (f, 2) int64
        The one or two cells sharing each facet; ``-1`` in column 1 on the boundary.
    local_index : (f, 2) int64
        Local facet index of the facet in each of those cells (``-1`` where no cell).

    Raises
    ------
    ValueError
        A facet is shared by more than two cells (the mesh is not a manifold).
    """
    facets, c2f = unique_facets(cells, cell_type)
    m, k = c2f.shape
    flat = c2f.ravel()
    order = np.argsort(flat, kind="stable")
    counts = np.bincount(flat, minlength=len(facets))
    if counts.size and counts.max() > 2:
        bad = int(np.argmax(counts))
        raise ValueError(
            f"facet {facets[bad].tolist()} is shared by {int(counts[bad])} cells; a valid mesh "
            "has at most two cells per facet"
        )
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cell_idx = order // k
    local_idx = order % k
    out_c = np.full((len(facets), 2), -1, dtype=np.int64)
    out_l = np.full((len(facets), 2), -1, dtype=np.int64)
    out_c[:, 0] = cell_idx[starts]
    out_l[:, 0] = local_idx[starts]
    two = counts == 2
    out_c[two, 1] = cell_idx[starts[two] + 1]
    out_l[two, 1] = local_idx[starts[two] + 1]
    return facets, out_c, out_l


def boundary_facets(cells: np.ndarray, cell_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Facets that belong to exactly one cell, oriented outward.

    Parameters
    ----------
    cells : (m, k) int array
    cell_type : {"line", "triangle", "tetra"}

    Returns
    -------
    facets : (b, k-1) int64
        Boundary facets in the local vertex order of their cell (outward normal for a
        positively oriented cell), sorted by their sorted vertex tuple.
    cell : (b,) int64
        The cell each facet belongs to.
    local_index : (b,) int64
        Local facet index in that cell (the facet is opposite that local vertex).
    """
    _check_cell_type(cell_type)
    cells = np.asarray(cells)
    m, k = cells.shape
    if m == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros((0, k - 1), dtype=np.int64), empty, empty
    src, start, size = _group_facets(cells, cell_type)
    if size.max() > 2:
        bad = int(np.argmax(size > 2))
        facet = np.sort(_facet_vertices(cells, cell_type, src[start[bad]: start[bad] + 1]), axis=1)
        raise ValueError(
            f"facet {facet[0].tolist()} is shared by {int(size[bad])} cells; a valid mesh "
            "has at most two cells per facet"
        )
    first = src[start[size == 1]].astype(np.int64)  # facet-major id i * m + c
    local, cell = np.divmod(first, m)
    oriented = np.asarray(cells, dtype=np.int64)[cell[:, None], LOCAL_FACETS[cell_type][local]]
    return oriented, cell, local


def _facet_vertices(cells: np.ndarray, cell_type: str, ids: np.ndarray) -> np.ndarray:
    """Vertices ``(len(ids), k-1)`` of the facets with facet-major ids ``i * m + c``."""
    local, cell = np.divmod(np.asarray(ids, dtype=np.int64), len(cells))
    return np.asarray(cells, dtype=np.int64)[cell[:, None], LOCAL_FACETS[cell_type][local]]


def _counting_sort(keys: np.ndarray, n_keys: int, carry: np.ndarray,
                   payload: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable O(N) sort of ``(carry, payload)`` by ``keys`` in ``[0, n_keys)``; returns the
    group pointer ``(n_keys + 1,)`` and both arrays in key order."""
    if _sparsetools is None:
        order = np.argsort(keys, kind="stable")
        ptr = np.zeros(n_keys + 1, dtype=keys.dtype)
        np.cumsum(np.bincount(keys, minlength=n_keys), out=ptr[1:])
        return ptr, carry[order], payload[order]
    ptr = np.empty(n_keys + 1, dtype=keys.dtype)
    out_carry, out_payload = np.empty_like(carry), np.empty_like(payload)
    _sparsetools.coo_tocsr(n_keys, n_keys, len(keys), keys, carry, payload, ptr, out_carry, out_payload)
    return ptr, out_carry, out_payload


def _group_facets(cells: np.ndarray, cell_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group the ``k m`` cell facets by vertex set with O(N) counting sorts (no comparison sort).

    Returns the facet-major ids ``i * m + c`` in the order of the sorted vertex tuples, the
    start of each group of equal facets in that order and the group sizes; groups come in
    the order of :func:`unique_facets`.
    """
    m, k = cells.shape
    n = int(cells.max()) + 1
    idx = np.int32 if max(n, k * m) < 2**31 - 1 else np.int64
    cols = np.ascontiguousarray(cells.T, dtype=idx)  # (k, m)
    local = LOCAL_FACETS[cell_type]
    verts = [cols[local[:, j]].reshape(-1) for j in range(k - 1)]  # facet-major (k m,)
    if k - 1 == 2:
        verts = [np.minimum(*verts), np.maximum(*verts)]
    elif k - 1 == 3:
        a, b, c = verts
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        v0, v2 = np.minimum(lo, c), np.maximum(hi, c)
        np.maximum(lo, np.minimum(hi, c), out=lo)  # the middle one
        verts = [v0, lo, v2]
        del a, b, c, hi
    src = np.arange(k * m, dtype=idx)
    # LSD radix: sort by the last vertex, then the previous ones; "rank" is the dense rank
    # of the trailing vertices already sorted, carried so equal facets end up adjacent
    rank = np.zeros(k * m, dtype=idx)
    for j in range(k - 2, -1, -1):
        key = verts[j][src] if j < k - 2 else verts[j]
        ptr, rank, src = _counting_sort(key, n, rank, src)
        if j > 0:  # dense rank of (vertex j, rank): both are sorted within a group now
            row = np.repeat(np.arange(n, dtype=idx), np.diff(ptr))
            change = np.ones(k * m, dtype=bool)
            change[1:] = (row[1:] != row[:-1]) | (rank[1:] != rank[:-1])
            rank = np.cumsum(change, dtype=idx)
    row = np.repeat(np.arange(n, dtype=idx), np.diff(ptr))
    change = np.ones(k * m, dtype=bool)
    change[1:] = (row[1:] != row[:-1]) | (rank[1:] != rank[:-1])
    start = np.flatnonzero(change)
    size = np.diff(np.append(start, k * m))
    return src, start, size


def cell_neighbors(cells: np.ndarray, cell_type: str) -> np.ndarray:
    """Neighbor across each facet.

    Returns
    -------
    neighbors : (m, k) int64
        ``neighbors[c, i]`` is the cell across the facet opposite vertex ``i`` of cell ``c``,
        or ``-1`` on the boundary.
    """
    cells = np.asarray(cells, dtype=np.int64)
    _, fc, fl = facet_to_cells(cells, cell_type)
    out = np.full(cells.shape, -1, dtype=np.int64)
    inner = fc[:, 1] >= 0
    out[fc[inner, 0], fl[inner, 0]] = fc[inner, 1]
    out[fc[inner, 1], fl[inner, 1]] = fc[inner, 0]
    return out


def edges(cells: np.ndarray, cell_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct edges of a mesh.

    Returns
    -------
    edges : (e, 2) int64
        Distinct edges with ``edges[:, 0] < edges[:, 1]``.
    cell_to_edge : (m, n_local_edges) int64
        Edge index of each local edge (order of :data:`LOCAL_EDGES`).
    """
    _check_cell_type(cell_type)
    cells = np.asarray(cells, dtype=np.int64)
    local = LOCAL_EDGES[cell_type]
    keys, srt = sorted_keys(cells[:, local].reshape(-1, 2))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return srt[first], inverse.reshape(len(cells), len(local)).astype(np.int64)


def locate_facets(cells: np.ndarray, cell_type: str, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Find the cell that holds each query facet.

    Parameters
    ----------
    cells : (m, k) int array
    cell_type : {"line", "triangle", "tetra"}
    query : (f, k-1) int array
        Facets, vertices in any order. Only the cell facets whose vertices all occur in
        ``query`` are compared (no sort of all ``k m`` cell facets).

    Returns
    -------
    cell : (f,) int64
        First cell (lowest index) having the facet; -1 where none has it.
    local_index : (f,) int64
        The facet is opposite this local vertex of ``cell``; -1 where not found.
    """
    _check_cell_type(cell_type)
    cells = np.asarray(cells)
    query = np.asarray(query, dtype=np.int64)
    m, k = cells.shape
    nf = len(query)
    if nf == 0 or m == 0:
        return np.full(nf, -1, dtype=np.int64), np.full(nf, -1, dtype=np.int64)
    # only cell facets whose vertices are all query vertices can match: mark those vertices
    # and keep the (usually few) candidate facets, in cell order, before sorting anything
    size = int(max(cells.max(), query.max())) + 1
    marked = np.zeros(size, dtype=bool)
    qv = query.reshape(-1)
    marked[qv[qv >= 0]] = True
    on = marked[cells]  # (m, k)
    n_on = on.sum(axis=1, dtype=np.int8 if k < 127 else np.int64)
    cand = np.flatnonzero(((n_on[:, None] - on) == k - 1).reshape(-1))  # facet i: all but vertex i
    del on, n_on, marked
    if len(cand) == 0:
        return np.full(nf, -1, dtype=np.int64), np.full(nf, -1, dtype=np.int64)
    cand_cell, cand_loc = np.divmod(cand, k)
    local = np.asarray(cells[cand_cell[:, None], LOCAL_FACETS[cell_type][cand_loc]], dtype=np.int64)
    keys, _ = sorted_keys(np.vstack([local, query]))
    allkeys, qkeys = keys[: len(cand)], keys[len(cand):]
    order = np.argsort(allkeys, kind="stable")
    pos = np.searchsorted(allkeys[order], qkeys)
    pos = np.minimum(pos, len(cand) - 1)
    hit = allkeys[order[pos]] == qkeys
    cell = np.where(hit, cand_cell[order[pos]], -1)
    loc = np.where(hit, cand_loc[order[pos]], -1)
    return cell, loc
