import numpy as np
import pytest

from pdekit.meshes import box, interval, rectangle
from pdekit.meshes.geometry import cell_centroids, cell_volumes, facet_measures, jacobians, signed_volumes


def test_reference_simplices():
    assert signed_volumes(np.array([[0.0], [2.0]]), np.array([[0, 1]]))[0] == 2.0
    tri = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert signed_volumes(tri, np.array([[0, 1, 2]]))[0] == pytest.approx(0.5)
    assert signed_volumes(tri, np.array([[0, 2, 1]]))[0] == pytest.approx(-0.5)
    tet = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert signed_volumes(tet, np.array([[0, 1, 2, 3]]))[0] == pytest.approx(1 / 6)
    assert cell_volumes(tet, np.array([[0, 2, 1, 3]]))[0] == pytest.approx(1 / 6)
    J = jacobians(tet * 3.0, np.array([[0, 1, 2, 3]]))
    np.testing.assert_allclose(J[0], 3.0 * np.eye(3))


def test_domain_measures():
    m = box(2, 3, 4, x=(0, 2), y=(-1, 2), z=(0, 0.5))
    assert cell_volumes(m.points, m.cells).sum() == pytest.approx(3.0)
    area = facet_measures(m.points, m.boundary_facets()).sum()
    assert area == pytest.approx(2 * (2 * 3 + 2 * 0.5 + 3 * 0.5))
    r = rectangle(3, 2, x=(0, 3), y=(0, 1))
    assert facet_measures(r.points, r.boundary_facets()).sum() == pytest.approx(8.0)
    assert facet_measures(r.points, r.boundary_facets("top")).sum() == pytest.approx(3.0)
    i = interval(4)
    np.testing.assert_array_equal(facet_measures(i.points, i.boundary_facets()), [1.0, 1.0])
    with pytest.raises(ValueError, match="1, 2 or 3 vertices"):
        facet_measures(m.points, m.cells)


def test_centroids_average_to_domain_centroid():
    m = box(2, 2, 2, x=(1, 3))
    c = cell_centroids(m.points, m.cells)
    w = cell_volumes(m.points, m.cells)
    np.testing.assert_allclose((c * w[:, None]).sum(0) / w.sum(), [2.0, 0.5, 0.5])


def test_vertex_volumes_are_the_lumped_mass_and_sum_to_the_measure():
    from pdekit import meshes
    from pdekit.solvers.fem import FunctionSpace, mass_matrix

    mesh = meshes.unstructured_square(6, rng=0)
    w = meshes.vertex_volumes(mesh.points, mesh.cells)
    lumped = np.asarray(mass_matrix(FunctionSpace(mesh, degree=1)).sum(axis=1)).ravel()
    np.testing.assert_allclose(w, lumped, rtol=1e-12)
    cube = meshes.unit_cube(3)
    assert meshes.vertex_volumes(cube.points, cube.cells).sum() == pytest.approx(1.0, rel=1e-12)


def test_vertex_volumes_need_cells():
    from pdekit.meshes import vertex_volumes

    with pytest.raises(ValueError, match="without cells has no quadrature weights"):
        vertex_volumes(np.zeros((4, 2)), np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="cells index points 0..3"):
        vertex_volumes(np.zeros((4, 2)), np.array([[0, 1, 4]]))
    with pytest.raises(ValueError, match=r"integer \(m, 3\) array"):
        vertex_volumes(np.zeros((4, 2)), np.array([[0, 1, 2, 3]]))
