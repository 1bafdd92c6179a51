import numpy as np
import pytest

from pdekit.meshes import (disk, interval, l_shape, perturb, retriangulate, unit_cube, unit_square,
                           unstructured_box, unstructured_cube, unstructured_rectangle, unstructured_square)
from pdekit.meshes.geometry import signed_volumes
from pdekit.meshes.topology import edges


def test_perturb_fixed_boundary():
    m = unit_square(6)
    p = perturb(m, 0.3, rng=1)
    b = m.boundary_nodes()
    np.testing.assert_array_equal(p.points[b], m.points[b])
    moved = np.linalg.norm(p.points - m.points, axis=1)
    inner = np.setdiff1d(np.arange(m.n_points), b)
    assert np.all(moved[inner] > 0) and moved.max() <= 0.3 / 6 + 1e-12
    np.testing.assert_array_equal(p.cells, m.cells)
    np.testing.assert_array_equal(p.facets, m.facets)
    assert np.all(signed_volumes(p.points, p.cells) > 0)
    np.testing.assert_array_equal(perturb(m, 0.3, rng=1).points, p.points)  # reproducible
    assert not np.array_equal(perturb(m, 0.3, rng=2).points, p.points)


def test_perturb_sliding_keeps_points_on_their_faces():
    m = unit_cube(3)
    p = perturb(m, 0.4, rng=0, boundary="slide")
    assert p.volume == pytest.approx(1.0)
    for name, axis, value in [("left", 0, 0.0), ("right", 0, 1.0), ("front", 1, 0.0), ("top", 2, 1.0)]:
        np.testing.assert_allclose(p.points[p.boundary_nodes(name), axis], value, atol=1e-15)
    corners = np.flatnonzero(np.all((m.points == 0) | (m.points == 1), axis=1))
    np.testing.assert_array_equal(p.points[corners], m.points[corners])
    face = np.setdiff1d(m.boundary_nodes("left"), np.concatenate(
        [m.boundary_nodes(t) for t in ("front", "back", "bottom", "top")]))
    assert np.all(np.linalg.norm(p.points[face] - m.points[face], axis=1) > 0)
    # a curved boundary stays fixed
    d = disk(3)
    q = perturb(d, 0.3, rng=0, boundary="slide")
    np.testing.assert_array_equal(q.points[d.boundary_nodes()], d.points[d.boundary_nodes()])


def test_perturb_errors():
    with pytest.raises(ValueError, match=r"amount must lie in \[0, 0.5\]"):
        perturb(unit_square(2), 0.7)
    with pytest.raises(ValueError, match="unknown boundary 'free'"):
        perturb(unit_square(2), 0.1, boundary="free")


@pytest.mark.parametrize("n", [3, 8])
def test_unstructured_square(n):
    m = unstructured_square(n, rng=n)
    assert m.volume == pytest.approx(1.0)
    assert m.n_points == (n + 1) ** 2
    assert m.n_cells == 2 * n * n  # Euler: a triangulation of a square with 4n boundary points
    for name, axis, value in [("left", 0, 0.0), ("right", 0, 1.0), ("bottom", 1, 0.0), ("top", 1, 1.0)]:
        assert len(m.boundary_facets(name)) == n
        np.testing.assert_array_equal(m.points[m.boundary_nodes(name), axis], value)
    # the connectivity is not the structured one
    e_struct = {tuple(e) for e in edges(unit_square(n).cells, "triangle")[0].tolist()}
    e_new = {tuple(e) for e in edges(m.cells, "triangle")[0].tolist()}
    assert e_new != e_struct


def test_unstructured_cube_and_box():
    m = unstructured_cube(3, rng=0)
    assert m.volume == pytest.approx(1.0)
    assert m.n_points == 64
    assert {name: len(m.boundary_facets(name)) for name in m.tag_names} == {
        name: 18 for name in ("left", "right", "front", "back", "bottom", "top")}
    assert len(m.boundary_facets()) == 108
    b = unstructured_box(2, 2, 1, x=(0, 2), rng=1, method="perturb")
    assert b.volume == pytest.approx(2.0) and b.n_cells == 6 * 4
    r = unstructured_rectangle(3, 2, y=(0, 2), rng=1)
    assert r.volume == pytest.approx(2.0)
    with pytest.raises(ValueError, match="unknown method 'voronoi'"):
        unstructured_square(2, method="voronoi")


def test_retriangulate_errors():
    with pytest.raises(ValueError, match="convex domain"):
        retriangulate(perturb(l_shape(2), 0.2, rng=0))
    with pytest.raises(ValueError, match="triangle or tetra"):
        retriangulate(interval(3))
