import numpy as np
import pytest

from pdekit.meshes import disk, unit_cube, unit_square
from pdekit.meshes.topology import (
    boundary_facets,
    cell_neighbors,
    edges,
    facet_to_cells,
    sorted_keys,
    unique_facets,
)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_cube_counts_and_euler_characteristic(n):
    m = unit_cube(n)
    e, c2e = edges(m.cells, "tetra")
    f, c2f = unique_facets(m.cells, "tetra")
    bf, _, _ = boundary_facets(m.cells, "tetra")
    assert len(bf) == 12 * n * n
    assert len(f) == (4 * m.n_cells + len(bf)) // 2
    assert m.n_points - len(e) + len(f) - m.n_cells == 1  # a ball
    if n == 1:  # 12 cube edges, 6 face diagonals, 1 main diagonal
        assert len(e) == 19
    # every local edge/facet maps to the right vertices
    np.testing.assert_array_equal(np.sort(m.cells[:, [0, 1]], axis=1), e[c2e[:, 0]])
    np.testing.assert_array_equal(np.sort(m.cells[:, [1, 2, 3]], axis=1), f[c2f[:, 0]])


def test_square_edge_count():
    n = 5
    m = unit_square(n)
    e, _ = edges(m.cells, "triangle")
    assert len(e) == 3 * n * n + 2 * n
    f, _ = unique_facets(m.cells, "triangle")
    np.testing.assert_array_equal(e, f)


def test_facet_to_cells_and_neighbors():
    m = disk(3)
    facets, cells, local = facet_to_cells(m.cells, "triangle")
    on_boundary = cells[:, 1] < 0
    assert on_boundary.sum() == 18
    assert np.all(local[on_boundary, 1] == -1)
    # the facet opposite local vertex i of the owning cell is the facet itself
    for col in (0, 1):
        ok = cells[:, col] >= 0
        verts = m.cells[cells[ok, col]]
        for row, (v, i) in enumerate(zip(verts, local[ok, col])):
            assert sorted(np.delete(v, i).tolist()) == facets[ok][row].tolist()
    nb = cell_neighbors(m.cells, "triangle")
    assert (nb == -1).sum() == 18
    c, i = np.nonzero(nb >= 0)
    # symmetry: my neighbour's neighbour across the shared facet is me
    assert all(c0 in nb[nb[c0, i0]] for c0, i0 in zip(c, i))


def test_non_manifold_mesh_raises():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 1.0], [0.5, -1.0], [0.6, 2.0]])
    cells = np.array([[0, 1, 2], [1, 0, 3], [0, 1, 4]])
    with pytest.raises(ValueError, match=r"facet \[0, 1\] is shared by 3 cells"):
        facet_to_cells(cells, "triangle")


def test_sorted_keys_ignore_vertex_order_and_fall_back_for_huge_indices():
    rows = np.array([[3, 1, 2], [2, 3, 1], [1, 2, 4]])
    keys, srt = sorted_keys(rows)
    assert keys[0] == keys[1] != keys[2]
    np.testing.assert_array_equal(srt[0], [1, 2, 3])
    big = rows + 10**7  # (1e7)^3 does not fit in an int64 key
    keys, _ = sorted_keys(big)
    assert keys.dtype.kind == "V" and keys[0] == keys[1] != keys[2]


def test_unknown_cell_type():
    with pytest.raises(ValueError, match="unknown cell_type 'hex'"):
        edges(np.zeros((1, 8), dtype=int), "hex")


def test_locate_facets():
    from pdekit.meshes.topology import locate_facets

    m = unit_square(2)
    cell, local = locate_facets(m.cells, "triangle", [[4, 0], [0, 8], [1, 4]])
    assert cell[1] == -1 and local[1] == -1
    for c, i, f in zip(cell[[0, 2]], local[[0, 2]], ([0, 4], [1, 4])):
        assert sorted(np.delete(m.cells[c], i).tolist()) == f
    # an interior edge is found in its lowest-numbered cell
    shared = np.flatnonzero((m.cells == 0).any(1) & (m.cells == 4).any(1))
    assert cell[0] == shared.min()


def test_locate_facets_matches_a_brute_force_search():
    from pdekit.meshes import unstructured_cube
    from pdekit.meshes.topology import LOCAL_FACETS, locate_facets

    m = unstructured_cube(2, rng=4)
    local = m.cells[:, LOCAL_FACETS["tetra"]]  # (m, 4, 3)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, m.n_cells, 25), rng.integers(0, 4, 25)
    query = np.vstack([local[picks][:, ::-1], [[0, 1, 2 + m.n_points // 2]], m.cells[:1, :3] * 0])
    cell, loc = locate_facets(m.cells, "tetra", query)
    keys = {tuple(sorted(f)) for f in local.reshape(-1, 3).tolist()}
    for q, c, i in zip(query.tolist(), cell, loc):
        if tuple(sorted(q)) not in keys:
            assert c == -1 and i == -1
            continue
        owners = [e for e in range(m.n_cells) if sorted(q) in (sorted(f) for f in local[e].tolist())]
        assert c == owners[0]  # the lowest-numbered cell holding it
        assert sorted(local[c, i].tolist()) == sorted(q)
    assert (cell[:25] >= 0).all()


@pytest.mark.parametrize("fallback", [False, True])
def test_boundary_facets_match_the_facet_to_cells_reference(monkeypatch, fallback):
    import pdekit.meshes.topology as topology
    from pdekit.meshes import interval, unstructured_cube
    from pdekit.meshes.topology import LOCAL_FACETS

    if fallback:
        monkeypatch.setattr(topology, "_sparsetools", None)
    for m in (unstructured_cube(2, rng=1), disk(4), interval(5), unit_cube(2)):
        _, fc, fl = facet_to_cells(m.cells, m.cell_type)
        on = fc[:, 1] < 0
        ref = m.cells[fc[on, 0][:, None], LOCAL_FACETS[m.cell_type][fl[on, 0]]]
        facets, cell, local = boundary_facets(m.cells, m.cell_type)
        np.testing.assert_array_equal(facets, ref)
        np.testing.assert_array_equal(cell, fc[on, 0])
        np.testing.assert_array_equal(local, fl[on, 0])
    with pytest.raises(ValueError, match=r"facet \[0, 1, 2\] is shared by 3 cells"):
        boundary_facets(np.array([[0, 1, 2, 3], [0, 2, 1, 4], [0, 1, 2, 5]]), "tetra")
