import numpy as np
import pytest

from pdekit.meshes import (Mesh, disk, interval, l_shape, perturb, quality_summary, rectangle,
                           refine, unit_cube, unit_square, unstructured_cube)
from pdekit.meshes.refine import _split_tetra
from pdekit.meshes.geometry import signed_volumes
from pdekit.meshes.topology import edges

REGULAR_TET = np.array([[0, 0, 0], [1, 0, 0], [0.5, np.sqrt(3) / 2, 0],
                        [0.5, np.sqrt(3) / 6, np.sqrt(2 / 3)]])


def _cell_set(m):
    return {tuple(sorted(map(tuple, np.round(m.points[c], 12).tolist()))) for c in m.cells}


@pytest.mark.parametrize("mesh", [interval(3), unit_square(2), rectangle(2, 1, diagonal="crossed"),
                                  unit_cube(1), disk(2), perturb(unit_cube(2), 0.45, rng=0),
                                  unstructured_cube(2, rng=0)],
                         ids=["line", "tri", "crossed", "tet", "disk", "jittered-tet", "delaunay-tet"])
def test_counts_volumes_and_orientation(mesh):
    children = {"line": 2, "triangle": 4, "tetra": 8}[mesh.cell_type]
    n_edges = len(edges(mesh.cells, mesh.cell_type)[0])
    fine, parents = refine(mesh, return_parents=True)
    assert fine.n_cells == children * mesh.n_cells
    assert fine.n_points == mesh.n_points + n_edges
    assert np.all(signed_volumes(fine.points, fine.cells) > 0)
    # each parent's children exactly tile it
    np.testing.assert_allclose(np.bincount(parents, fine.cell_volumes()), mesh.cell_volumes())
    assert fine.volume == pytest.approx(mesh.volume)
    # conforming: the boundary is split, never duplicated
    facet_children = {"line": 1, "triangle": 2, "tetra": 4}[mesh.cell_type]
    assert len(fine.boundary_facets()) == facet_children * len(mesh.boundary_facets())


def test_exact_counts_after_several_rounds():
    m = refine(unit_square(2), 3)
    assert (m.n_points, m.n_cells) == (17**2, 8 * 4**3)
    c = refine(unit_cube(1), 2)
    assert (c.n_points, c.n_cells) == (5**3, 6 * 8**2)
    assert refine(unit_square(2), 0) is not None and refine(unit_square(2), 0).n_cells == 8


def test_structured_meshes_refine_to_structured_meshes():
    assert _cell_set(refine(unit_square(1), 2)) == _cell_set(unit_square(4))
    assert _cell_set(refine(unit_cube(1), 2)) == _cell_set(unit_cube(4))


def test_tags_follow_children():
    coarse = l_shape(1)
    coarse.subdomains[:] = np.arange(coarse.n_cells)
    fine, parents = refine(coarse, 2, return_parents=True)
    np.testing.assert_array_equal(fine.subdomains, parents)
    assert fine.tag_names == coarse.tag_names
    for name in coarse.tag_names:
        assert len(fine.boundary_facets(name)) == 4 * len(coarse.boundary_facets(name))
    np.testing.assert_array_equal(fine.points[fine.boundary_nodes("left"), 0], -1.0)
    cube = refine(unit_cube(1))
    for name, axis, value in [("front", 1, 0.0), ("top", 2, 1.0)]:
        assert len(cube.boundary_facets(name)) == 8
        np.testing.assert_array_equal(cube.points[cube.boundary_nodes(name), axis], value)


def test_quality_stays_bounded():
    kuhn = quality_summary(unit_cube(1))["min_radius_ratio"]
    assert quality_summary(refine(unit_cube(1), 2))["min_radius_ratio"] == pytest.approx(kuhn)
    regular = Mesh(REGULAR_TET, np.array([[0, 1, 2, 3]]), "tetra")
    ratios = [quality_summary(refine(regular, k))["min_radius_ratio"] for k in range(4)]
    assert ratios[0] == pytest.approx(1.0)
    assert min(ratios) > 0.8  # shortest-diagonal children of a regular tet: ratio 0.8038
    m = perturb(unit_cube(2), 0.3, rng=3)
    q0 = quality_summary(m)["min_radius_ratio"]
    assert quality_summary(refine(m, 2))["min_radius_ratio"] > 0.5 * q0
    tri = quality_summary(unit_square(2, diagonal="crossed"))["min_angle"]
    assert quality_summary(refine(unit_square(2, diagonal="crossed"), 2))["min_angle"] == pytest.approx(tri)


def test_bad_times():
    with pytest.raises(ValueError, match="times must be a non-negative integer"):
        refine(unit_square(1), -1)
    with pytest.raises(ValueError, match="times must be"):
        refine(unit_square(1), 1.5)


def test_all_three_octahedron_diagonals_tile_the_parent():
    # stretch a tetrahedron so that each of the three diagonals is the shortest in turn
    base = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    for stretch in ([1, 1, 5], [5, 1, 1], [1, 5, 1]):
        mesh = Mesh(base * stretch, np.array([[0, 1, 2, 3]]), "tetra")
        fine = refine(mesh)
        assert fine.volume == pytest.approx(mesh.volume)
        assert np.all(signed_volumes(fine.points, fine.cells) > 0)
        assert len(fine.boundary_facets()) == 16
    # the three stretches really pick three different diagonals
    diagonals = set()
    for stretch in ([1, 1, 5], [5, 1, 1], [1, 5, 1]):
        pts = np.vstack([base * stretch, np.zeros((6, 3))])
        edges6 = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        for j, (a, b) in enumerate(edges6):
            pts[4 + j] = 0.5 * (pts[a] + pts[b])
        kids = _split_tetra(pts, np.array([[0, 1, 2, 3]]), np.arange(4, 10)[None, :])
        inner = kids[4:]
        common = set(inner[0].tolist())
        for k in inner[1:]:
            common &= set(k.tolist())
        diagonals.add(tuple(sorted(common)))
    assert len(diagonals) == 3
