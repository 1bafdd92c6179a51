"""P1 stiffness from its edges: the kernel agrees with the packed local matrices, bit-stable re-assembly."""

import numpy as np
import pytest

from pdekit.meshes import unstructured_cube, unstructured_square
from pdekit.solvers.fem import stiffness_matrix
from pdekit.solvers.fem.p1_stiffness import p1_upper_stiffness

MESHES = {"tri": unstructured_square(5, rng=0), "tet": unstructured_cube(2, rng=0)}


@pytest.mark.parametrize("key", ["tri", "tet"])
def test_p1_edge_assembly_matches_the_packed_local_matrices(key):
    from pdekit.solvers.fem import FunctionSpace
    from pdekit.solvers.fem.forms import unit_stiffness

    V = FunctionSpace(MESHES[key], 1)
    upper = p1_upper_stiffness(V)  # from the points, block by block
    ref = unit_stiffness(V)  # from the cached geometry (diagonal first, then a < b)
    d1 = V.dim + 1
    assert upper.shape == (d1 * (d1 - 1) // 2, V.n_cells)
    assert np.allclose(upper, ref[d1:], rtol=1e-13, atol=1e-13 * abs(ref).max())
    assert np.allclose(p1_upper_stiffness(V), upper, rtol=0, atol=1e-13 * abs(upper).max())  # geometry path
    a = np.random.default_rng(1).uniform(1, 3, V.n_cells)
    K = stiffness_matrix(V, a)
    R = V.pattern.assemble_symmetric(ref * a)
    assert abs(K - R).max() < 1e-12 * abs(R).max()
    assert np.array_equal(stiffness_matrix(V, a).data, K.data)  # re-assembly: same bits


def test_p1_edge_operator_drops_the_zero_pairs_of_kuhn_cells():
    from pdekit.meshes import unit_cube
    from pdekit.solvers.fem import FunctionSpace

    V = FunctionSpace(unit_cube(3), 1)
    a = np.random.default_rng(0).uniform(1, 2, V.n_cells)
    K = stiffness_matrix(V, a)
    # each Kuhn tetrahedron has 3 orthogonal gradient pairs: 3 of its 6 edges carry nothing
    assert V.cache["stiffness_edge_op"].nnz == 3 * V.n_cells
    assert abs(K @ np.ones(V.n_dofs)).max() < 1e-12
    assert np.allclose(K.diagonal(), -(K.sum(axis=1).A1 - K.diagonal()))


def test_p1_kernel_rejects_inverted_cells_with_the_mesh_wide_message(monkeypatch):
    import pdekit.solvers.fem.p1_stiffness as kernel
    from pdekit.solvers.fem import FunctionSpace

    monkeypatch.setattr(kernel, "_BLOCK", 4)  # the bad cells sit in a later block
    mesh = unstructured_square(3, rng=2)
    cells = mesh.cells.copy()
    cells[[6, 9], 1], cells[[6, 9], 2] = mesh.cells[[6, 9], 2], mesh.cells[[6, 9], 1]
    mesh.cells = cells  # bypasses validation on purpose
    with pytest.raises(ValueError, match="2 cells are inverted.*cell 6 "):
        stiffness_matrix(FunctionSpace(mesh, 1), 1.0)
