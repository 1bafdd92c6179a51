import numpy as np
import pytest

from pdekit.meshes import box, interval, rectangle, unit_cube, unit_square
from pdekit.meshes.geometry import signed_volumes
from pdekit.meshes.structured import DIAGONALS


@pytest.mark.parametrize("diagonal", DIAGONALS)
def test_rectangle_counts_area_and_tags(diagonal):
    nx, ny = 4, 3
    m = rectangle(nx, ny, x=(-1.0, 2.0), y=(0.5, 1.5), diagonal=diagonal)
    crossed = diagonal == "crossed"
    assert m.n_cells == (4 if crossed else 2) * nx * ny
    assert m.n_points == (nx + 1) * (ny + 1) + (nx * ny if crossed else 0)
    assert m.volume == pytest.approx(3.0)
    assert np.all(signed_volumes(m.points, m.cells) > 0)
    assert m.tag_names == {"left": 1, "right": 2, "bottom": 3, "top": 4}
    for name, axis, value, count in [("left", 0, -1.0, ny), ("right", 0, 2.0, ny),
                                     ("bottom", 1, 0.5, nx), ("top", 1, 1.5, nx)]:
        assert len(m.boundary_facets(name)) == count
        nodes = m.boundary_nodes(name)
        assert len(nodes) == count + 1
        np.testing.assert_array_equal(m.points[nodes, axis], value)
    assert len(m.boundary_facets()) == 2 * (nx + ny)


def _max_degree(m):
    e = np.sort(m.cells[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2), axis=1)
    e = np.unique(e, axis=0)
    return np.bincount(e.ravel()).max()


def test_diagonal_patterns_differ():
    assert _max_degree(unit_square(4, diagonal="right")) == 6
    assert _max_degree(unit_square(4, diagonal="union-jack")) == 8
    assert _max_degree(unit_square(4, diagonal="crossed")) == 8
    right, left = unit_square(1, diagonal="right"), unit_square(1, diagonal="left")
    diag = lambda m: {tuple(sorted(e)) for c in m.cells for e in [(c[0], c[1]), (c[1], c[2]), (c[2], c[0])]}  # noqa: E731
    assert (0, 3) in diag(right) and (1, 2) in diag(left)
    alt = unit_square(2, diagonal="alternating")
    assert (0, 4) in diag(alt) and (4, 6) in diag(alt)  # row 0 "/", row 1 "\"


def test_interval():
    m = interval(5, x=(1.0, 3.0))
    assert (m.n_points, m.n_cells, m.dim) == (6, 5, 1)
    assert m.volume == pytest.approx(2.0)
    assert m.boundary_nodes("left").tolist() == [0]
    assert m.boundary_nodes("right").tolist() == [5]


def test_box_counts_volume_and_tags():
    m = box(2, 3, 4, x=(0, 1), y=(0, 2), z=(-1, 0))
    assert m.n_cells == 6 * 24 and m.n_points == 3 * 4 * 5
    assert m.volume == pytest.approx(2.0)
    assert np.all(signed_volumes(m.points, m.cells) > 0)
    expected = {"left": (0, 0.0, 3 * 4), "right": (0, 1.0, 3 * 4), "front": (1, 0.0, 2 * 4),
                "back": (1, 2.0, 2 * 4), "bottom": (2, -1.0, 2 * 3), "top": (2, 0.0, 2 * 3)}
    for name, (axis, value, squares) in expected.items():
        assert len(m.boundary_facets(name)) == 2 * squares
        np.testing.assert_array_equal(m.points[m.boundary_nodes(name), axis], value)
    assert len(m.boundary_facets()) == len(m.facets) == 2 * 2 * (12 + 8 + 6)
    assert unit_cube(2).n_cells == 48


@pytest.mark.parametrize("call, match", [
    (lambda: rectangle(0, 2), "nx must be a positive integer"),
    (lambda: rectangle(2, 2.5), "ny must be a positive integer"),
    (lambda: rectangle(2, 2, x=(1, 0)), "x must be a finite pair with start < stop"),
    (lambda: rectangle(2, 2, y=(0, np.inf)), "finite pair"),
    (lambda: rectangle(2, 2, diagonal="zigzag"), "unknown diagonal 'zigzag'"),
    (lambda: box(1, 1, 1, z=3), "z must be a pair"),
    (lambda: interval(True), "n must be a positive integer"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
