import numpy as np
import pytest
import scipy.sparse.linalg as spla

from pdekit.meshes import unstructured_cube, unstructured_square
from pdekit.solvers.fem import function_space, interpolate, load_vector, mass_matrix, stiffness_matrix

MESHES = {"tri": unstructured_square(5, rng=0), "tet": unstructured_cube(2, rng=0)}
CASES = [(k, p) for k in MESHES for p in (1, 2)]


def poly(p):
    if p == 1:
        return lambda x: 1.0 + 2.0 * x[0] - x[1]
    return lambda x: 1.0 + x[0] * x[1] - 0.5 * x[0] ** 2 + x[-1]


@pytest.mark.parametrize("key,p", CASES)
def test_mass_matrix_sums_to_the_domain_measure(key, p):
    V = function_space(MESHES[key], p)
    M = mass_matrix(V)
    assert abs(M.sum() - 1.0) < 1e-12
    assert abs(M - M.T).max() < 1e-15
    assert spla.eigsh(M, k=1, which="SA", return_eigenvectors=False)[0] > 0


@pytest.mark.parametrize("key,p", CASES)
def test_energy_of_a_polynomial_is_exact(key, p):
    V = function_space(MESHES[key], p)
    K = stiffness_matrix(V)
    assert abs(K @ np.ones(V.n_dofs)).max() < 1e-12
    u = interpolate(V, poly(p)).values
    # exact energies int |grad u|^2 over the unit square / cube:
    # P1: u = 1 + 2x - y -> 5;  P2 2D: u = 1 + xy - x^2/2 + y, grad = (y - x, x + 1) -> 1/6 + 7/3;
    # P2 3D: u = 1 + xy - x^2/2 + z, grad = (y - x, x, 1) -> 1/6 + 1/3 + 1
    expect = 5.0 if p == 1 else (1 / 6 + 7 / 3 if V.dim == 2 else 1 / 6 + 1 / 3 + 1)
    assert np.isclose(u @ K @ u, expect, rtol=1e-12)


@pytest.mark.parametrize("key,p", CASES)
def test_coefficient_forms_agree(key, p):
    V = function_space(MESHES[key], p)
    K = stiffness_matrix(V, 2.5)
    m = V.n_cells
    nq = V.quadrature(2 * (p - 1) + p).n_points
    for a in (lambda x: 2.5 + 0 * x[0], np.full(m, 2.5), np.full((m, nq), 2.5), np.full(V.dofmap.n_nodes, 2.5)):
        assert abs(stiffness_matrix(V, a) - K).max() < 1e-12
    # a linear coefficient: per-point quadrature equals nodal interpolation (exact in both)
    lin = lambda x: 1.0 + x[0]  # noqa: E731
    K1, K2 = stiffness_matrix(V, lin), stiffness_matrix(V, interpolate(V, lin))
    assert abs(K1 - K2).max() < 1e-12


def test_per_cell_reassembly_uses_the_new_values():
    V = function_space(MESHES["tri"], 1)
    a = np.random.default_rng(0).uniform(1, 3, V.n_cells)
    K = stiffness_matrix(V, a)
    u = interpolate(V, lambda x: x[0]).values
    area = V.geometry.det / 2
    gx = V.gradients()[0, :, 0, :]  # d phi_a / dx per cell
    expect = (a * area * (gx * u[V.dofmap.cell_dofs].T).sum(0) ** 2).sum()
    assert np.isclose(u @ K @ u, expect, rtol=1e-12)


@pytest.mark.parametrize("key,p", CASES)
def test_load_vector_integrates_polynomials(key, p):
    V = function_space(MESHES[key], p)
    b = load_vector(V, lambda x: x[0] ** 2)
    assert np.isclose(b.sum(), 1 / 3, rtol=1e-12)
    u = interpolate(V, poly(1)).values
    assert np.isclose(b @ u, 1 / 3 + 2 / 4 - 1 / 6, rtol=1e-12)  # int x^2 (1 + 2x - y)


def test_vector_mass_and_load():
    V = function_space(MESHES["tri"], 2, n_components=2)
    M = mass_matrix(V)
    assert abs(M.sum() - 2.0) < 1e-12
    b = load_vector(V, np.array([1.0, -2.0]))
    assert np.isclose(b[0::2].sum(), 1.0) and np.isclose(b[1::2].sum(), -2.0)


@pytest.mark.parametrize("bad,match", [
    (np.ones(7), r"coefficient has shape \(7,\)"),
    (np.array([1.0, np.nan] * 25), "finite"),
    (lambda x: np.ones(3), r"must return shape"),
])
def test_bad_coefficients(bad, match):
    V = function_space(MESHES["tri"], 1)
    if np.ndim(bad) == 1 and len(bad) == 50:
        bad = np.resize(bad, V.n_cells)
    with pytest.raises(ValueError, match=match):
        stiffness_matrix(V, bad)


def test_stiffness_on_vector_space_is_refused():
    with pytest.raises(ValueError, match="scalar spaces"):
        stiffness_matrix(function_space(MESHES["tri"], 1, n_components=2))


def test_reassembly_paths_agree():
    from pdekit.solvers.fem import FunctionSpace
    from pdekit.solvers.fem.forms import unit_stiffness

    V = FunctionSpace(MESHES["tet"], 2)  # a fresh space: first call scatters, later ones use the operator
    rng = np.random.default_rng(0)
    for _ in range(3):
        a = rng.uniform(1, 2, V.n_cells)
        ref = V.pattern.symmetric_matrix(V.pattern.half_data(unit_stiffness(V) * a, cell_major=True))
        assert np.array_equal(stiffness_matrix(V, a).data, ref.data)  # bit for bit, either path
    assert "stiffness_op" in V.cache


def test_assembly_reports_its_stages_to_a_progress_object():
    import io

    from tqdm import tqdm

    from pdekit.meshes import unit_square
    from pdekit.solvers.fem import function_space, mass_matrix, stiffness_matrix

    class Stages:
        def start(self, total, desc=""):
            self.total, self.desc, self.stages, self.closed = total, desc, [], False

        def update(self, n=1, **postfix):
            self.stages.append(postfix["stage"])

        def close(self):
            self.closed = True

    V = function_space(unit_square(8), 2)
    seen = Stages()
    K = stiffness_matrix(V, progress=seen)
    assert (seen.total, seen.desc, seen.closed) == (2, "stiffness matrix", True)
    assert seen.stages == ["sparsity pattern", "matrix"]
    assert abs(K - stiffness_matrix(V)).max() == 0
    buf = io.StringIO()
    bar = tqdm(file=buf)
    mass_matrix(V, progress=bar)
    assert bar.n == 2 and bar.total == 2
    # a P1 stiffness matrix never builds the cell geometry (the progress stages add no work)
    W = function_space(unit_square(8), 1)
    stiffness_matrix(W, progress=Stages())
    assert "geometry" not in W.cache
