import numpy as np
import pytest

from pdekit.meshes import unstructured_cube, unstructured_square
from pdekit.solvers.fem.geometry import cell_geometry, facet_geometry


@pytest.mark.parametrize("mesh", [unstructured_square(4, rng=0), unstructured_cube(2, rng=0)])
def test_inverse_transpose_and_determinant(mesh):
    g = cell_geometry(mesh.points, mesh.cells)
    J = g.jacobian.transpose(2, 0, 1)
    assert np.allclose(np.linalg.det(J), g.det)
    assert np.allclose(np.linalg.inv(J).transpose(0, 2, 1), g.inv_t.transpose(2, 0, 1))
    assert np.allclose(g.map_points(np.eye(mesh.dim)), mesh.points[mesh.cells[:, 1:]])


def test_inverted_cell_is_rejected():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="1 cells are inverted.*cell 1"):
        cell_geometry(pts, np.array([[0, 1, 2], [1, 2, 3]]))


def test_degenerate_cell_is_rejected():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="degenerate.*cell 1"):
        cell_geometry(pts, np.array([[0, 1, 3], [0, 1, 2]]))


def test_facet_measures():
    pts = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    _, _, factor = facet_geometry(pts, np.array([[0, 1, 2]]))
    assert np.isclose(factor[0] / 2, 3.0)


def test_geometry_blocks_match_cell_geometry_and_reject_bad_cells():
    from pdekit.solvers.fem.geometry import geometry_blocks

    mesh = unstructured_cube(2, rng=1)
    g = cell_geometry(mesh.points, mesh.cells)
    seen = 0
    for c0, c1, det, inv_t in geometry_blocks(mesh.points, mesh.cells, block=7):
        assert c0 == seen and c1 - c0 <= 7
        assert np.array_equal(det, g.det[c0:c1]) and np.array_equal(inv_t, g.inv_t[:, :, c0:c1])
        seen = c1
    assert seen == mesh.n_cells
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="1 cells are inverted.*cell 1"):
        list(geometry_blocks(pts, np.array([[0, 1, 2], [1, 2, 3]]), block=1))
