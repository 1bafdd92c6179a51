import numpy as np
import pytest

from pdekit.meshes import annulus, disk, l_shape, mark_boundary, unit_square
from pdekit.meshes.quality import min_angles


@pytest.mark.parametrize("n", [1, 3])
def test_l_shape(n):
    m = l_shape(n)
    assert m.n_cells == 6 * n * n
    assert m.n_points == (2 * n + 1) ** 2 - n * n
    assert m.volume == pytest.approx(3.0)
    counts = {name: len(m.boundary_facets(name)) for name in m.tag_names}
    assert counts == {"left": 2 * n, "right": n, "bottom": n, "top": 2 * n, "reentrant": 2 * n}
    x = m.points[m.boundary_nodes("reentrant")]
    assert np.all(((x[:, 0] == 0) & (x[:, 1] <= 0)) | ((x[:, 1] == 0) & (x[:, 0] >= 0)))
    assert len(m.boundary_facets()) == 8 * n


@pytest.mark.parametrize("n", [1, 2, 6])
def test_disk(n):
    m = disk(n, radius=2.0, center=(1.0, -1.0))
    assert m.n_cells == 6 * n * n
    assert m.n_points == 1 + 3 * n * (n + 1)
    k = 6 * n  # the boundary is the regular k-gon inscribed in the circle
    assert m.volume == pytest.approx(0.5 * k * np.sin(2 * np.pi / k) * 4.0)
    outer = m.boundary_nodes("outer")
    assert len(outer) == k and len(m.boundary_facets()) == k
    np.testing.assert_allclose(np.linalg.norm(m.points[outer] - [1.0, -1.0], axis=1), 2.0)
    assert min_angles(m).min() > 40.0


def test_annulus():
    m = annulus(3, 0.5, r_outer=1.5, n_theta=24)
    assert m.n_cells == 2 * 3 * 24 and m.n_points == 4 * 24
    ring_area = 0.5 * 24 * np.sin(2 * np.pi / 24)
    assert m.volume == pytest.approx(ring_area * (1.5**2 - 0.5**2))
    np.testing.assert_allclose(np.linalg.norm(m.points[m.boundary_nodes("outer")], axis=1), 1.5)
    np.testing.assert_allclose(np.linalg.norm(m.points[m.boundary_nodes("inner")], axis=1), 0.5)
    assert len(m.boundary_facets("inner")) == len(m.boundary_facets("outer")) == 24
    default = annulus(4, 0.5)
    assert default.n_cells == 2 * 4 * round(np.pi * 1.5 / 0.125)
    with pytest.raises(ValueError, match="0 < r_inner < r_outer"):
        annulus(2, 1.0)


def test_mark_boundary():
    m = mark_boundary(unit_square(3), {"lid": lambda x: x[:, 1] > 1 - 1e-12,
                                       "walls": lambda x: np.ones(len(x), dtype=bool)})
    assert m.tag_names == {"lid": 1, "walls": 2}
    assert len(m.boundary_facets("lid")) == 3 and len(m.boundary_facets("walls")) == 9
    kept = mark_boundary(unit_square(3), {"inlet": lambda x: x[:, 0] < 1e-12}, keep=True)
    assert kept.tag_names["inlet"] == 5 and len(kept.boundary_facets("bottom")) == 3
    assert len(kept.boundary_facets("inlet")) == 3
    with pytest.raises(ValueError, match="9 boundary facets match no predicate"):
        mark_boundary(unit_square(3), {"lid": lambda x: x[:, 1] > 1 - 1e-12})
    with pytest.raises(ValueError, match="boolean mask of shape"):
        mark_boundary(unit_square(3), {"bad": lambda x: True})
