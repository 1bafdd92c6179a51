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
