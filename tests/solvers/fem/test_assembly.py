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


def test_edge_operator_and_zero_row_sums_match_the_full_assembly():
    mesh = unstructured_square(6, rng=5)
    cells = mesh.cells[np.random.default_rng(2).permutation(mesh.n_cells)]
    p = SparsityPattern(cells, mesh.n_points)
    # symmetric local matrices with zero row sums, some off-diagonal entries exactly zero
    rng = np.random.default_rng(7)
    upper = rng.normal(size=(3, mesh.n_cells))
    upper[1, ::3] = 0.0
    local = np.zeros((3, 3, mesh.n_cells))
    for k, (a, b) in enumerate(zip(*np.triu_indices(3, 1))):
        local[a, b] = local[b, a] = upper[k]
    local[np.arange(3), np.arange(3)] = -local.sum(axis=1)
    op = p.edge_operator(upper)
    assert op.shape == (p.n_edges, mesh.n_cells)
    assert op.nnz == np.count_nonzero(upper)  # exact zeros are dropped
    a = rng.uniform(1, 2, mesh.n_cells)
    A = p.zero_row_sum_matrix(op @ a)
    B = reference_assembly(cells, local * a, mesh.n_points)
    assert A.nnz == p.nnz and A.has_sorted_indices
    assert abs(A - B).max() < 1e-12
    assert abs(A @ np.ones(mesh.n_points)).max() < 1e-12
    with pytest.raises(ValueError, match=r"\(nloc \(nloc - 1\) / 2, m\)"):
        p.edge_operator(upper.T)
    with pytest.raises(ValueError, match=r"\(n_edges,\)"):
        p.zero_row_sum_matrix(np.ones(p.n_edges + 1))
    half = np.concatenate([np.zeros(mesh.n_points), op @ a])
    assert np.array_equal(p.zero_row_sum_from_half(half).data, A.data)
    with pytest.raises(ValueError, match=r"\(n_dofs \+ n_edges,\)"):
        p.zero_row_sum_from_half(np.ones(3))
    half[0] = 1.0
    with pytest.raises(ValueError, match="diagonal slots.*must be zero"):
        p.zero_row_sum_from_half(half)


def test_edge_grouping_and_lazy_half_scatter_agree_with_the_fallback(monkeypatch):
    import pdekit.solvers.fem.assembly as assembly

    cells = np.array([[0, 1, 2, 3], [1, 2, 3, 4], [0, 2, 4, 5]])
    ref = SparsityPattern(cells, 6)
    monkeypatch.setattr(assembly, "_sparsetools", None)
    alt = SparsityPattern(cells, 6)
    assert np.array_equal(ref._edge_ptr, alt._edge_ptr) and np.array_equal(ref._edge_src, alt._edge_src)
    assert np.array_equal(ref.half_scatter, alt.half_scatter)
    # the edge slots of each cell's pairs are the edges (min, max) of its dofs, in CSR order
    rows = np.repeat(np.arange(6), np.diff(ref.indptr))
    edge_of = {}
    for pos in np.flatnonzero(rows < ref.indices):
        edge_of[(rows[pos], ref.indices[pos])] = ref.csr_to_half[pos]
    for k, (a, b) in enumerate(zip(*np.triu_indices(4, 1))):
        for e in range(len(cells)):
            i, j = sorted((cells[e, a], cells[e, b]))
            assert ref.half_scatter[4 + k, e] == edge_of[(i, j)]
    assert ref.n_edges == len(edge_of) == 13  # 6 + 3 + 4 new edges, cell by cell


@pytest.mark.parametrize("fallback", [False, True])
def test_unique_pairs_matches_numpy_unique(monkeypatch, fallback):
    import pdekit.solvers.fem.assembly as assembly
    from pdekit.solvers.fem.assembly import unique_pairs

    if fallback:
        monkeypatch.setattr(assembly, "_sparsetools", None)
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 40, 500), rng.integers(0, 40, 500)
    b[a == b] = (b[a == b] + 1) % 40
    pairs, inverse = unique_pairs(a, b, 40)
    keys = np.minimum(a, b) * 40 + np.maximum(a, b)
    uniq, ref_inverse = np.unique(keys, return_inverse=True)
    assert pairs.dtype == np.int64 and inverse.dtype == np.int64
    assert np.array_equal(pairs[:, 0] * 40 + pairs[:, 1], uniq)
    assert np.array_equal(inverse, ref_inverse)
