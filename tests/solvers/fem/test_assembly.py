import numpy as np
import pytest
import scipy.sparse as sp

from pdekit.meshes import unstructured_square
from pdekit.solvers.fem.assembly import SparsityPattern, assemble_vector


def reference_assembly(cell_dofs, local, n):
    m, k = cell_dofs.shape
    rows = np.repeat(cell_dofs, k, axis=1).ravel()
    cols = np.tile(cell_dofs, (1, k)).ravel()
    return sp.coo_matrix((local.transpose(2, 0, 1).ravel(), (rows, cols)), shape=(n, n)).tocsr()


def test_matches_coo_assembly_on_an_unstructured_mesh():
    mesh = unstructured_square(7, rng=3)
    cells = mesh.cells[np.random.default_rng(0).permutation(mesh.n_cells)]  # unordered cells
    p = SparsityPattern(cells, mesh.n_points)
    local = np.random.default_rng(1).normal(size=(3, 3, mesh.n_cells))
    A = p.assemble(local)
    B = reference_assembly(cells, local, mesh.n_points)
    assert p.nnz == B.nnz
    assert abs(A - B).max() < 1e-13
    assert A.has_sorted_indices


def test_cell_operator_reassembles_with_new_coefficients():
    mesh = unstructured_square(5, rng=2)
    p = SparsityPattern(mesh.cells, mesh.n_points)
    unit = np.random.default_rng(3).normal(size=(3, 3, mesh.n_cells))
    op = p.cell_operator(unit)
    a = np.random.default_rng(4).uniform(1, 2, mesh.n_cells)
    assert np.allclose(op @ a, p.data(unit * a), atol=1e-13)


def test_positions_and_vector():
    p = SparsityPattern(np.array([[0, 1, 2], [1, 3, 2]]), 4)
    pos = p.positions(np.array([1, 3]), np.array([2, 1]))
    A = p.matrix(np.arange(p.nnz, dtype=float))
    assert A[1, 2] == pos[0] and A[3, 1] == pos[1]
    with pytest.raises(ValueError, match="outside the sparsity pattern"):
        p.positions(np.array([0]), np.array([3]))
    b = assemble_vector(np.array([[0, 1, 2], [1, 3, 2]]), np.ones((3, 2)), 4)
    assert b.tolist() == [1.0, 2.0, 2.0, 1.0]


def test_wrong_local_shape():
    p = SparsityPattern(np.array([[0, 1, 2]]), 3)
    with pytest.raises(ValueError, match=r"\(nloc, nloc, m\)"):
        p.assemble(np.ones((1, 3, 3)))
