"""MeshGeometry: points with quadrature weights from the mesh, and its cache."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

from pdekit import meshes
from pdekit.operators.mesh_geometry import MeshGeometry, as_geometry


@pytest.mark.parametrize("mesh, measure", [(meshes.l_shape(3), 3.0), (meshes.unit_cube(3), 1.0),
                                           (meshes.disk(6), None)])
def test_weights_of_a_mesh_sum_to_its_measure(mesh, measure):
    g = MeshGeometry.from_mesh(mesh)
    assert g.n_points == mesh.n_points and g.dim == mesh.dim
    assert g.measure == pytest.approx(mesh.volume if measure is None else measure, rel=1e-12)
    assert (g.weights > 0).all()


def test_weights_integrate_affine_functions_exactly():
    mesh = meshes.unstructured_square(7, rng=3)
    g = MeshGeometry.from_mesh(mesh)
    u = 2.0 + 3.0 * g.points[:, 0] - g.points[:, 1]
    assert g.weights @ u == pytest.approx(2.0 + 1.5 - 0.5, rel=1e-12)


def test_mesh_without_cells_is_refused():
    with pytest.raises(ValueError, match="without cells has no quadrature weights"):
        MeshGeometry.from_mesh(points=np.random.rand(10, 2), cells=np.zeros((0, 3), dtype=np.int64))

    class PointCloud:
        points = np.random.rand(10, 2)
        cells = np.zeros((0, 3), dtype=np.int64)

    with pytest.raises(ValueError, match="need the mesh's cells"):
        as_geometry(PointCloud())


def test_raw_points_need_weights_of_the_right_shape():
    with pytest.raises(ValueError, match="need their quadrature weights"):
        as_geometry(np.random.rand(5, 2))
    with pytest.raises(ValueError, match=r"weights must have shape \(5,\)"):
        MeshGeometry(np.random.rand(5, 2), np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        MeshGeometry(np.random.rand(5, 2), -np.ones(5))
    with pytest.raises(ValueError, match=r"shape \(n, d\) with d = 1, 2 or 3"):
        MeshGeometry(np.random.rand(5, 4), np.ones(5))


def test_equal_geometries_share_one_cached_entry():
    mesh = meshes.unit_square(4)
    cache: OrderedDict = OrderedDict()
    a = as_geometry(mesh, cache=cache)
    b = as_geometry(MeshGeometry.from_mesh(mesh).points, MeshGeometry.from_mesh(mesh).weights, cache=cache)
    assert b is a and len(cache) == 1
    for n in range(2, 12):
        as_geometry(meshes.unit_square(n), cache=cache, max_cached=3)
    assert len(cache) == 3 and a.key not in cache
    assert a.tree is a.tree  # built once
    t = a.tensor("weights", "cpu", torch.float32)
    assert t is a.tensor("weights", "cpu", torch.float32) and t.dtype == torch.float32
    assert not a.points.flags.writeable
