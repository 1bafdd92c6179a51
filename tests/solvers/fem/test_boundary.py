import numpy as np
import pytest

from pdekit.meshes import unstructured_cube, unstructured_square
from pdekit.solvers.fem import (condense, dirichlet_dofs, dirichlet_values, function_space, lift,
                                load_vector, stiffness_matrix)
from pdekit.solvers.linear import solve


@pytest.mark.parametrize("mesh", [unstructured_square(6, rng=0), unstructured_cube(3, rng=0)])
@pytest.mark.parametrize("p", [1, 2])
def test_condensed_matrix_is_symmetric_positive_definite(mesh, p):
    V = function_space(mesh, p)
    A = stiffness_matrix(V, lambda x: 1.0 + x[0])
    dofs = dirichlet_dofs(V)
    s = condense(A, load_vector(V, 1.0), dofs, 0.0)
    assert s.matrix.shape == (V.n_dofs - len(dofs),) * 2
    assert abs(s.matrix - s.matrix.T).max() < 1e-14
    assert s.matrix.shape[0] > 5
    lam_min = np.linalg.eigvalsh(s.matrix.toarray())[0]
    assert lam_min > 1e-3
    # before elimination the constant vector is in the kernel (singular)
    assert abs(A @ np.ones(V.n_dofs)).max() < 1e-12


def test_condensation_and_lifting_agree():
    V = function_space(unstructured_square(8, rng=1), 2)
    A, b = stiffness_matrix(V), load_vector(V, 1.0)
    dofs = dirichlet_dofs(V, "left")
    g = dirichlet_values(V, dofs, lambda x: x[1] ** 2)
    s = condense(A, b, dofs, g)
    x1 = s.expand(solve(s.matrix, s.rhs, rtol=1e-13)[0])
    Al, bl = lift(A, b, dofs, g)
    assert abs(Al - Al.T).max() < 1e-14
    x2 = solve(Al, bl, rtol=1e-13)[0]
    assert np.abs(x1 - x2).max() < 1e-12
    assert np.allclose(x1[dofs], g)


def test_dirichlet_values_forms():
    V = function_space(unstructured_square(3, rng=0), 1, n_components=2)
    dofs = dirichlet_dofs(V, "bottom")
    assert np.allclose(dirichlet_values(V, dofs, np.array([1.0, 2.0])), np.tile([1.0, 2.0], len(dofs) // 2))
    vals = dirichlet_values(V, dofs, lambda x: np.stack([x[0], -x[0]]))
    assert np.allclose(vals[0::2], -vals[1::2])
    with pytest.raises(ValueError, match="dirichlet data has shape"):
        dirichlet_values(V, dofs, np.ones(3))
    with pytest.raises(ValueError, match="finite"):
        dirichlet_values(V, dofs, np.nan)
