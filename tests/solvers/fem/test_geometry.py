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



def test_blockwise_geometry_reports_the_first_bad_cell_of_the_mesh(monkeypatch):
    import pdekit.solvers.fem.geometry as geometry

    monkeypatch.setattr(geometry, "_BLOCK", 2)  # several blocks on a small mesh
    mesh = unstructured_square(3, rng=2)
    g = cell_geometry(mesh.points, mesh.cells)
    monkeypatch.setattr(geometry, "_BLOCK", 8192)
    ref = cell_geometry(mesh.points, mesh.cells)
    assert np.array_equal(g.det, ref.det) and np.array_equal(g.inv_t, ref.inv_t)
    assert np.array_equal(g.origin, mesh.points[mesh.cells[:, 0]].T)
    monkeypatch.setattr(geometry, "_BLOCK", 2)
    cells = mesh.cells.copy()
    cells[[5, 9], 1], cells[[5, 9], 2] = mesh.cells[[5, 9], 2], mesh.cells[[5, 9], 1]
    with pytest.raises(ValueError, match="2 cells are inverted.*cell 5 "):
        cell_geometry(mesh.points, cells)
