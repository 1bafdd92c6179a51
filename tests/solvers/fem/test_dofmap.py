import numpy as np
import pytest

from pdekit.meshes import unit_cube, unit_square
from pdekit.solvers.fem.dofmap import DofMap


def test_p1_dofs_are_the_points():
    mesh = unit_square(3)
    dm = DofMap(mesh, 1)
    assert dm.n_dofs == 16 and dm.edges is None
    assert np.array_equal(dm.cell_dofs, mesh.cells)


@pytest.mark.parametrize("mesh,n_edges", [(unit_square(3), 33), (unit_cube(2), 98)])
def test_p2_counts_vertices_then_unique_edges(mesh, n_edges):
    dm = DofMap(mesh, 2)
    assert len(dm.edges) == n_edges  # Euler: square 3x3 -> 16 + 33 = 49 = 7^2
    assert dm.n_dofs == mesh.n_points + n_edges
    assert np.array_equal(dm.cell_dofs[:, : mesh.cells.shape[1]], mesh.cells)
    # each edge node sits at the midpoint of its local edge
    x = dm.node_coordinates
    k = mesh.cells.shape[1]
    e = dm.cell_dofs[:, k:]
    assert e.min() >= mesh.n_points
    a, b = dm.edges[e - mesh.n_points, 0], dm.edges[e - mesh.n_points, 1]
    assert np.allclose(x[e], 0.5 * (x[a] + x[b]))


def test_p2_square_node_count_is_the_finer_grid():
    assert DofMap(unit_square(4), 2).n_dofs == 9 * 9


def test_vector_dofs_are_interleaved():
    mesh = unit_square(2)
    dm = DofMap(mesh, 1, n_components=2)
    assert dm.n_dofs == 2 * mesh.n_points
    assert np.array_equal(dm.cell_dofs[:, 0::2], 2 * mesh.cells)
    assert np.array_equal(dm.cell_dofs[:, 1::2], 2 * mesh.cells + 1)
    left = dm.boundary_dofs("left", component=1)
    assert np.array_equal(left, 2 * mesh.boundary_nodes("left") + 1)


def test_boundary_nodes_p2_include_edge_midpoints():
    mesh = unit_square(4)
    dm = DofMap(mesh, 2)
    nodes = dm.boundary_nodes()
    assert len(nodes) == 4 * 8
    x = dm.node_coordinates[nodes]
    on_boundary = np.isclose(x, 0).any(axis=1) | np.isclose(x, 1).any(axis=1)
    assert on_boundary.all()
    assert len(dm.boundary_nodes("left")) == 9


def test_unknown_tag_is_a_clear_error():
    dm = DofMap(unit_square(2), 2)
    with pytest.raises(ValueError, match="unknown boundary tag 'inlet'"):
        dm.boundary_nodes("inlet")


def test_bad_components():
    with pytest.raises(ValueError, match="n_components"):
        DofMap(unit_square(2), 1, n_components=0)
