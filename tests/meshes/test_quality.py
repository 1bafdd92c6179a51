import numpy as np
import pytest

from pdekit.meshes import Mesh, aspect_ratio, circumradius, inradius, min_angles, radius_ratio, unit_cube
from pdekit.meshes.quality import quality_summary

EQUILATERAL = Mesh(np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]]), np.array([[0, 1, 2]]),
                   "triangle")
RIGHT = Mesh(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), np.array([[0, 1, 2]]), "triangle")
REGULAR_TET = Mesh(np.array([[0, 0, 0], [1, 0, 0], [0.5, np.sqrt(3) / 2, 0],
                             [0.5, np.sqrt(3) / 6, np.sqrt(2 / 3)]]), np.array([[0, 1, 2, 3]]), "tetra")


def test_regular_simplices_are_optimal():
    for m in (EQUILATERAL, REGULAR_TET):
        assert radius_ratio(m)[0] == pytest.approx(1.0)
        assert aspect_ratio(m)[0] == pytest.approx(1.0)
    assert min_angles(EQUILATERAL)[0] == pytest.approx(60.0)
    assert min_angles(REGULAR_TET)[0] == pytest.approx(np.degrees(np.arccos(1 / 3)))


def test_right_triangle_values():
    assert inradius(RIGHT)[0] == pytest.approx((2 - np.sqrt(2)) / 2)
    assert circumradius(RIGHT)[0] == pytest.approx(np.sqrt(2) / 2)
    assert radius_ratio(RIGHT)[0] == pytest.approx(2 * (2 - np.sqrt(2)) / 2 / (np.sqrt(2) / 2))
    assert min_angles(RIGHT)[0] == pytest.approx(45.0)


def test_kuhn_tetrahedra_dihedral_angles_and_scale_invariance():
    m = unit_cube(2)
    np.testing.assert_allclose(min_angles(m), 45.0)
    scaled = m.with_points(m.points * np.array([3.0, 3.0, 3.0]))
    np.testing.assert_allclose(radius_ratio(scaled), radius_ratio(m))
    np.testing.assert_allclose(circumradius(scaled), 3 * circumradius(m))
    stretched = m.with_points(m.points * np.array([10.0, 1.0, 1.0]))
    assert radius_ratio(stretched).min() < 0.3 * radius_ratio(m).min()
    assert aspect_ratio(stretched).max() > 3 * aspect_ratio(m).max()


def test_flat_triangle_scores_badly():
    flat = Mesh(np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.01]]), np.array([[0, 1, 2]]), "triangle")
    assert radius_ratio(flat)[0] < 0.05
    assert min_angles(flat)[0] == pytest.approx(np.degrees(np.arctan(0.02)), rel=1e-6)
    s = quality_summary(flat)
    assert s["min_angle"] < 2 and s["max_aspect_ratio"] > 20 and s["min_volume"] == pytest.approx(0.005)
