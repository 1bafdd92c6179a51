import meshio
import numpy as np
import pytest

from pdekit.meshes import unit_square
from pdekit.solvers.fem import darcy, linear_elasticity, write_function


def test_vtu_with_coefficient_roundtrip(tmp_path):
    uh, a = darcy(unit_square(6), rng=0, degree=2)
    path = write_function(tmp_path / "p.vtu", uh, name="p", coefficient=a)
    m = meshio.read(path)
    assert np.allclose(m.point_data["p"], uh.point_values())
    assert np.allclose(m.cell_data["a"][0], a)


def test_vector_field_is_padded_to_three_components(tmp_path):
    u = linear_elasticity(unit_square(3), lam=1.0, mu=1.0, body_force=np.array([0.0, -1.0]))
    m = meshio.read(write_function(tmp_path / "u.vtu", u))
    assert m.point_data["u"].shape == (16, 3) and np.all(m.point_data["u"][:, 2] == 0)


def test_bad_coefficient(tmp_path):
    uh, _ = darcy(unit_square(3), rng=0)
    with pytest.raises(ValueError, match=r"a has shape \(5,\)"):
        write_function(tmp_path / "x.vtu", uh, coefficient=np.ones(5))
