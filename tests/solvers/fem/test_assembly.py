import numpy as np
import pytest
import scipy.sparse as sp

from pdekit.meshes import unstructured_square
from pdekit.solvers.fem.assembly import SparsityPattern, assemble_vector, pack_symmetric


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


def test_symmetric_paths_match_the_full_scatter():
    mesh = unstructured_square(5, rng=2)
    p = SparsityPattern(mesh.cells, mesh.n_points)
    unit = np.random.default_rng(3).normal(size=(3, 3, mesh.n_cells))
    unit = unit + unit.transpose(1, 0, 2)
    packed = pack_symmetric(unit)
    assert packed.shape == (6, mesh.n_cells)
    A = p.assemble(unit)
    assert abs(p.assemble_symmetric(packed) - A).max() < 1e-13
    op = p.cell_operator(packed)
    a = np.random.default_rng(4).uniform(1, 2, mesh.n_cells)
    assert abs(p.symmetric_matrix(op @ a) - p.assemble(unit * a)).max() < 1e-13
    with pytest.raises(ValueError, match="packed local matrices"):
        p.cell_operator(unit)


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


def test_numpy_fallback_of_the_row_grouping(monkeypatch):
    import pdekit.solvers.fem.assembly as assembly

    mesh = unstructured_square(4, rng=1)
    ref = SparsityPattern(mesh.cells, mesh.n_points)
    monkeypatch.setattr(assembly, "_sparsetools", None)
    alt = SparsityPattern(mesh.cells, mesh.n_points)
    assert np.array_equal(ref.indptr, alt.indptr) and np.array_equal(ref.indices, alt.indices)
    local = np.random.default_rng(0).normal(size=(3, 3, mesh.n_cells))
    assert abs(ref.assemble(local) - alt.assemble(local)).max() < 1e-13
    packed = pack_symmetric(local + local.transpose(1, 0, 2))
    a = np.arange(mesh.n_cells, dtype=float)
    assert np.allclose(ref.cell_operator(packed) @ a, alt.cell_operator(packed) @ a)
