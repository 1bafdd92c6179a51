import numpy as np
import pytest

from pdekit.meshes import unstructured_cube, unstructured_square
from pdekit.solvers.fem import facet_load_vector, facet_mass_matrix, function_space, interpolate


@pytest.mark.parametrize("mesh,perimeter", [(unstructured_square(5, rng=0), 4.0), (unstructured_cube(2, rng=0), 6.0)])
@pytest.mark.parametrize("p", [1, 2])
def test_facet_integrals_of_polynomials(mesh, perimeter, p):
    V = function_space(mesh, p)
    assert np.isclose(facet_load_vector(V, 1.0).sum(), perimeter, rtol=1e-12)
    assert np.isclose(facet_mass_matrix(V).sum(), perimeter, rtol=1e-12)
    # int_{x=1} y^2 ds = 1/3 on the right side (tag 2)
    assert np.isclose(facet_load_vector(V, lambda x: x[1] ** 2, "right").sum(), 1 / 3, rtol=1e-12)
    u = interpolate(V, lambda x: x[1] if p == 1 else x[1] ** 2).values
    R = facet_mass_matrix(V, 1.0, "left")
    assert np.isclose(u @ R @ u, 1 / 3 if p == 1 else 1 / 5, rtol=1e-12)


def test_vector_traction():
    V = function_space(unstructured_square(4, rng=0), 1, n_components=2)
    b = facet_load_vector(V, np.array([0.0, -3.0]), "top")
    assert np.isclose(b[1::2].sum(), -3.0) and abs(b[0::2]).max() == 0


def test_errors():
    V = function_space(unstructured_square(4, rng=0), 1)
    with pytest.raises(ValueError, match="unknown boundary tag"):
        facet_load_vector(V, 1.0, "inlet")
    with pytest.raises(ValueError, match="one value per facet"):
        facet_load_vector(V, np.ones(3), "left")
