import numpy as np
import pytest

from pdekit.meshes import Mesh, UnknownTagError, box, interval, unit_cube, unit_square
from pdekit.meshes.geometry import signed_volumes

TRI_POINTS = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
TRI_CELLS = np.array([[0, 1, 2], [0, 2, 3]])


def test_basic_properties_and_dtypes():
    m = Mesh(TRI_POINTS.astype(np.float32), TRI_CELLS.astype(np.int32), "triangle")
    assert (m.dim, m.n_points, m.n_cells) == (2, 4, 2)
    assert m.points.dtype == np.float64 and m.cells.dtype == np.int64
    assert m.facets.shape == (0, 2) and m.facet_tags.shape == (0,)
    assert m.subdomains.tolist() == [0, 0]
    assert m.volume == pytest.approx(1.0)
    np.testing.assert_allclose(m.cell_volumes(), [0.5, 0.5])
    assert "n_cells=2" in repr(m)


def test_nan_points_raise():
    pts = TRI_POINTS.copy()
    pts[2, 1] = np.nan
    with pytest.raises(ValueError, match="points must be finite.*index \\(2, 1\\)"):
        Mesh(pts, TRI_CELLS, "triangle")


def test_out_of_range_index_raises():
    with pytest.raises(ValueError, match=r"cells\[1, 2\] = 4 is out of range \[0, 4\)"):
        Mesh(TRI_POINTS, np.array([[0, 1, 2], [0, 2, 4]]), "triangle")
    with pytest.raises(ValueError, match="out of range"):
        Mesh(TRI_POINTS, np.array([[0, 1, 2], [0, 2, -1]]), "triangle")


def test_unused_points_raise_and_can_be_removed():
    pts = np.vstack([TRI_POINTS, [[5.0, 5.0]]])
    with pytest.raises(ValueError, match="1 points are used by no cell, the first is point 4"):
        Mesh(pts, TRI_CELLS, "triangle")
    pts = np.vstack([[[9.0, 9.0]], TRI_POINTS])
    m = Mesh.from_arrays(pts, TRI_CELLS + 1, remove_unused=True, facets=[[1, 2]], facet_tags=[7])
    assert m.n_points == 4
    np.testing.assert_array_equal(m.cells, TRI_CELLS)
    np.testing.assert_array_equal(np.sort(m.facets, axis=1), [[0, 1]])


def test_degenerate_cells_raise():
    with pytest.raises(ValueError, match="cell 1 has a repeated vertex"):
        Mesh(TRI_POINTS, np.array([[0, 1, 2], [0, 2, 2]]), "triangle")
    collinear = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="cell 0 .* has zero measure"):
        Mesh(collinear, np.array([[0, 1, 2], [0, 1, 3]]), "triangle")
    flat = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.0]])
    with pytest.raises(ValueError, match="zero measure"):
        Mesh(flat, np.array([[0, 1, 2, 3]]), "tetra")


def test_inverted_cells_raise_unless_oriented():
    cells = np.array([[0, 2, 1], [0, 2, 3]])
    with pytest.raises(ValueError, match="1 cells are inverted.*cell 0.*orient=True"):
        Mesh(TRI_POINTS, cells, "triangle")
    m = Mesh.from_arrays(TRI_POINTS, cells, orient=True)
    assert m.cell_type == "triangle"
    assert np.all(signed_volumes(m.points, m.cells) > 0)
    # tetra: flip every other cell of a cube mesh and repair
    cube = unit_cube(2)
    bad = cube.cells.copy()
    bad[::2, [0, 1]] = bad[::2, [1, 0]]
    with pytest.raises(ValueError, match="24 cells are inverted"):
        Mesh(cube.points, bad, "tetra")
    fixed = Mesh.from_arrays(cube.points, bad, orient=True)
    assert np.all(signed_volumes(fixed.points, fixed.cells) > 0)
    assert fixed.volume == pytest.approx(1.0)


def test_shape_and_type_errors():
    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\) for 'triangle'"):
        Mesh(np.zeros((4, 3)), TRI_CELLS, "triangle")
    with pytest.raises(ValueError, match="unknown cell_type 'quad'"):
        Mesh(TRI_POINTS, TRI_CELLS, "quad")
    with pytest.raises(ValueError, match="cannot infer cell_type"):
        Mesh.from_arrays(TRI_POINTS, np.zeros((1, 5), dtype=int))
    with pytest.raises(ValueError, match="integer indices"):
        Mesh(TRI_POINTS, TRI_CELLS + 0.5, "triangle")
    with pytest.raises(TypeError, match="integer array"):
        Mesh(TRI_POINTS, TRI_CELLS.astype(str), "triangle")
    with pytest.raises(ValueError, match="at least one cell"):
        Mesh(TRI_POINTS, np.zeros((0, 3), dtype=int), "triangle")
    with pytest.raises(ValueError, match=r"subdomains must have shape \(2,\)"):
        Mesh(TRI_POINTS, TRI_CELLS, "triangle", subdomains=[1, 2, 3])
    with pytest.raises(ValueError, match=r"facet_tags must have shape \(1,\)"):
        Mesh(TRI_POINTS, TRI_CELLS, "triangle", facets=[[0, 1]], facet_tags=[1, 2])
    with pytest.raises(TypeError, match="tag_names must map str -> int"):
        Mesh(TRI_POINTS, TRI_CELLS, "triangle", tag_names={"left": "1"})


def test_facet_validation_and_orientation():
    with pytest.raises(ValueError, match=r"facets\[1\] = \[1, 3\] is not a facet"):
        Mesh(TRI_POINTS, TRI_CELLS, "triangle", facets=[[0, 1], [1, 3]], facet_tags=[1, 1])
    with pytest.raises(ValueError, match="listed 2 times"):
        Mesh(TRI_POINTS, TRI_CELLS, "triangle", facets=[[0, 1], [1, 0]], facet_tags=[1, 2])
    # a facet given against its cell's orientation is stored in the cell's order
    m = Mesh(TRI_POINTS, TRI_CELLS, "triangle", facets=[[1, 0]], facet_tags=[3])
    np.testing.assert_array_equal(m.facets, [[0, 1]])
    # an interior facet (interface) may carry a tag
    m = Mesh(TRI_POINTS, TRI_CELLS, "triangle", facets=[[0, 2]], facet_tags=[9],
             tag_names={"interface": 9})
    assert sorted(m.boundary_facets("interface")[0].tolist()) == [0, 2]
    assert len(m.boundary_facets()) == 4


@pytest.mark.parametrize("mesh", [unit_square(3), unit_cube(2), interval(4)], ids=["2d", "3d", "1d"])
def test_boundary_facets_point_outward(mesh):
    facets = mesh.boundary_facets()
    cells, local = mesh.facet_cells(facets)
    x = mesh.points[facets]
    inward = mesh.points[mesh.cells[cells, local]] - x[:, 0]
    if mesh.dim == 1:
        normal = np.where(facets[:, 0] == 0, -1.0, 1.0)[:, None]
    elif mesh.dim == 2:
        t = x[:, 1] - x[:, 0]
        normal = np.stack([t[:, 1], -t[:, 0]], axis=1)
    else:
        normal = np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0])
    assert np.all(np.einsum("fd,fd->f", normal, inward) < 0)
    # tagged facets are stored with the same orientation
    tagged = mesh.boundary_facets(list(mesh.tag_names))
    keys = {tuple(f) for f in facets.tolist()}
    assert all(tuple(f) in keys for f in tagged.tolist())


def test_boundary_by_tags():
    m = unit_square(4)
    assert len(m.boundary_facets()) == 16
    assert len(m.boundary_facets("left")) == 4
    assert len(m.boundary_facets(["left", 2])) == 8
    assert len(m.boundary_facets(np.array([3, 4]))) == 8
    left = m.boundary_nodes("left")
    assert left.tolist() == sorted(left.tolist()) and len(left) == 5
    np.testing.assert_array_equal(m.points[left, 0], 0.0)
    assert len(m.boundary_nodes()) == 16
    with pytest.raises(UnknownTagError, match="unknown boundary tag 'inlet'; known tag names: .*'left': 1"):
        m.boundary_facets("inlet")
    with pytest.raises(KeyError):
        m.boundary_nodes(7)
    with pytest.raises(ValueError, match=r"integer tags: \[1, 2, 3, 4\]"):
        m.boundary_facets(["left", 7])
    with pytest.raises(TypeError, match="tag must be"):
        m.boundary_facets(1.5)


def test_facet_cells_and_with_points():
    m = box(1, 1, 2)
    cells, local = m.facet_cells(m.facets[::-1])
    for f, c, i in zip(m.facets[::-1], cells, local):
        assert sorted(f.tolist()) == sorted(np.delete(m.cells[c], i).tolist())
    with pytest.raises(ValueError, match="is not a facet of the mesh"):
        m.facet_cells([[0, 1, 11]])
    moved = m.with_points(2.0 * m.points)
    assert moved.volume == pytest.approx(8.0 * m.volume)
    assert moved.tag_names == m.tag_names
    np.testing.assert_array_equal(moved.facet_tags, m.facet_tags)
    with pytest.raises(ValueError, match="inverted"):
        m.with_points(m.points * np.array([-1.0, 1.0, 1.0]))


def test_cached_arrays_are_read_only_and_reset_on_assignment():
    m = unit_square(2)
    with pytest.raises(ValueError, match="read-only"):
        m.boundary_facets()[0, 0] = 5
    with pytest.raises(ValueError, match="read-only"):
        m.cell_volumes()[0] = 1.0
    assert m.volume == pytest.approx(1.0)
    m.points = 2.0 * m.points
    assert m.volume == pytest.approx(4.0)


def test_blockwise_validation_reports_the_first_bad_cell(monkeypatch):
    import pdekit.meshes.geometry as mesh_module

    monkeypatch.setattr(mesh_module, "_BLOCK", 3)  # several blocks on a small mesh
    good = unit_square(3)
    cells = good.cells.copy()
    cells[7, 2] = cells[7, 1]
    cells[11, 0] = cells[11, 1]
    with pytest.raises(ValueError, match="cell 7 has a repeated vertex.*2 degenerate cells"):
        Mesh(good.points, cells, "triangle")
    cells = good.cells.copy()
    cells[[5, 13], 1], cells[[5, 13], 2] = good.cells[[5, 13], 2], good.cells[[5, 13], 1]
    with pytest.raises(ValueError, match="2 cells are inverted .* cell 5 "):
        Mesh(good.points, cells, "triangle")
    fixed = Mesh.from_arrays(good.points, cells, orient=True)
    assert np.allclose(fixed.cell_volumes(), good.cell_volumes())
    assert (signed_volumes(fixed.points, fixed.cells) > 0).all()
