"""Cell forms: stiffness (diffusion), mass and load, assembled for all cells at once.

Each form is a vectorised product over cells x quadrature points, with a Python loop over
local basis pairs at most, scattered into the CSR data through the space's cached
:class:`~pdekit.solvers.fem.assembly.SparsityPattern`. The forms are symmetric, so only the
packed upper triangle of each local matrix is computed and scattered. The coefficient-free
("unit") local matrices are cached in the space, so re-assembling with a new coefficient is:

* constant ``a``: ``a`` times the cached unit data (no scatter at all);
* per-cell ``a (m,)``: the first call scatters ``a[e] unit_e`` directly (one ``bincount``);
  from the second call on, one sparse product with the cell operator, ``op @ a`` (built by
  an O(N) counting sort on the second call and cached), and one gather to the CSR layout;
* per-quadrature-point ``a (m, nq)``: an exact reduction to per-cell values for P1 (constant
  gradients), a pair loop over the cached physical gradients for P2.

P1 stiffness has constant gradients and rows that sum to zero, so only its off-diagonal
(edge) entries are assembled (:mod:`pdekit.solvers.fem.p1_stiffness`); each diagonal entry is
minus its row sum.

Examples
--------
>>> from pdekit.meshes import unit_square
>>> V = function_space(unit_square(8), 1)
>>> round(float(mass_matrix(V).sum()), 12)      # the mass matrix sums to the area
1.0
>>> bool(abs(stiffness_matrix(V) @ np.ones(V.n_dofs)).max() < 1e-12)   # constants: kernel
True
"""

from __future__ import annotations

import contextlib
from math import factorial

import numpy as np
import scipy.sparse as sp

from .assembly import assemble_vector, pack_symmetric, packed_pairs
from pdekit._progress import as_progress
from pdekit._validation import check_finite

from .function import Coefficient, _call, at_quadrature
from .p1_stiffness import p1_stiffness_half
from .space import FunctionSpace, function_space  # noqa: F401 (doctest)

__all__ = ["stiffness_matrix", "mass_matrix", "load_vector", "gradient_gram", "unit_stiffness",
           "unit_mass"]


@contextlib.contextmanager
def _assembly_stages(space: FunctionSpace, progress, desc: str):
    """Report the stages of a first assembly on a (large) mesh: the sparsity pattern, then the
    matrix (later assemblies on the same space reuse the pattern). Nothing is computed here
    that the assembly would not compute anyway (P1 needs no cell geometry, for one)."""
    bar = as_progress(progress)
    bar.start(2, desc)
    try:
        space.pattern
        bar.update(1, stage="sparsity pattern")
        yield
        bar.update(1, stage="matrix")
    finally:
        bar.close()


def per_point(a: float | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Broadcast a number, per-cell ``(m,)`` or per-point ``(m, nq)`` values to ``shape``."""
    a = np.asarray(a, dtype=np.float64)
    return np.broadcast_to(a[:, None] if a.ndim == 1 else a, shape)


def _scalar_space(space: FunctionSpace, what: str) -> None:
    if space.n_components != 1:
        raise ValueError(f"{what} is defined on scalar spaces; got n_components = {space.n_components}"
                         " (use elasticity_matrix for vector fields)")


def _varying_degree(space: FunctionSpace, base: int, quadrature_degree: int | None) -> int:
    if quadrature_degree is not None:
        return int(quadrature_degree)
    return base + space.degree


def gradient_gram(g: np.ndarray, wq: np.ndarray) -> np.ndarray:
    """Packed ``local[k, e] = sum_q wq[q, e] grad phi_a . grad phi_b`` for the pairs ``(a, b)``
    of :func:`~pdekit.solvers.fem.assembly.packed_pairs` (diagonal, then ``a < b``).

    Parameters
    ----------
    g : (nq, nloc, d, m) float array
        Physical gradients.
    wq : (nq, m) float array
        Quadrature weight x det J x coefficient.

    Returns
    -------
    (nloc (nloc + 1) / 2, m) float array
    """
    nq, nloc, d, m = g.shape
    pa, pb = packed_pairs(nloc)
    local = np.zeros((len(pa), m))
    dot = np.empty(m)
    tmp = np.empty(m)
    for k, (a, b) in enumerate(zip(pa, pb)):
        out = local[k]
        for q in range(nq):
            np.multiply(g[q, a, 0], g[q, b, 0], out=dot)
            for i in range(1, d):
                np.multiply(g[q, a, i], g[q, b, i], out=tmp)
                dot += tmp
            dot *= wq[q]
            out += dot
    return local


def _reference_gram(ref_grad: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(d (d + 1) / 2, k)`` reference products for :func:`unit_stiffness`.

    Row ``s`` of the pair ``(i, j)``, ``i <= j`` (``np.triu_indices`` order), column ``k`` of
    the packed local pair ``(a, b)``: ``sum_q w_q (G_ai G_bj + G_aj G_bi)`` (once for
    ``i = j``), with ``G = ref_grad (nq, nloc, d)`` the reference gradients.
    """
    nloc, d = ref_grad.shape[1], ref_grad.shape[2]
    pa, pb = packed_pairs(nloc)
    si, sj = np.triu_indices(d)
    prod = np.einsum("q,qai,qbj->ijab", weights, ref_grad, ref_grad)  # (d, d, nloc, nloc)
    sym = prod[si, sj] + np.where((si != sj)[:, None, None], prod[sj, si], 0.0)
    return np.ascontiguousarray(sym[:, pa, pb])


def unit_stiffness(space: FunctionSpace) -> np.ndarray:
    """Packed local stiffness matrices for coefficient 1, ``(nloc (nloc + 1) / 2, m)`` (cached).

    ``vol grad phi_a . grad phi_b = det J sum_ij (J^-1 J^-T)_ij R_ij^ab`` with the reference
    products ``R`` of :func:`_reference_gram`: one ``(m, d (d + 1) / 2) x (d (d + 1) / 2, k)``
    matrix product for all cells. The result is a transposed view of a cell-major array, so
    the cell-by-cell sums of the assembly read it in order.
    """
    if "unit_stiffness" not in space.cache:
        geo = space.geometry
        d, m = space.dim, space.n_cells
        if space.degree == 1:
            ref = space.element.gradients(np.zeros((1, d)))
            weights = np.array([1.0 / factorial(d)])
        else:
            rule = space.quadrature(2 * (space.degree - 1))
            ref, weights = space.element.gradients(rule.points), rule.weights
        gram = _reference_gram(np.asarray(ref, dtype=np.float64), np.asarray(weights, dtype=np.float64))
        si, sj = np.triu_indices(d)
        metric = np.empty((len(si), m))  # det J (J^-1 J^-T)_ij, cell-last
        tmp = np.empty(m)
        inv_t = geo.inv_t
        for s, (i, j) in enumerate(zip(si, sj)):
            np.multiply(inv_t[0, i], inv_t[0, j], out=metric[s])
            for k in range(1, d):
                np.multiply(inv_t[k, i], inv_t[k, j], out=tmp)
                metric[s] += tmp
            metric[s] *= geo.det
        space.cache["unit_stiffness"] = (metric.T @ gram).T  # (k, m) view of (m, k)
    return space.cache["unit_stiffness"]


def _operator(space: FunctionSpace, key: str, unit_fn) -> sp.csr_matrix:
    """Cached ``(nnz, m)`` map from per-cell coefficients to CSR data."""
    if key not in space.cache:
        space.cache[key] = space.pattern.cell_operator(unit_fn(space))
    return space.cache[key]


def cell_weighted_data(space: FunctionSpace, key: str, unit_fn, a: np.ndarray | None) -> np.ndarray:
    """Half array (see :class:`SparsityPattern`) of ``sum_e a[e] unit_e``; ``a=None``: all ones.

    The first call with per-cell values scatters the weighted entries directly (one
    ``bincount``); the second builds the cell operator (an O(N) counting sort) and caches it,
    so every later assembly is a single sparse product ``op @ a``. Both add the same products
    in the same order as ``half_data(unit * a, cell_major=True)``, so all agree bit for bit.
    """
    if a is None:
        if key + "_ones" not in space.cache:
            space.cache[key + "_ones"] = space.pattern.half_data(unit_fn(space), cell_major=True)
        return space.cache[key + "_ones"]
    if key not in space.cache and key + "_scattered" not in space.cache:
        # first per-cell call: one direct scatter is cheaper than building the operator,
        # which only pays off from the second call on
        space.cache[key + "_scattered"] = True
        return space.pattern.half_data(unit_fn(space) * a, cell_major=True)
    return _operator(space, key, unit_fn) @ a


def stiffness_matrix(space: FunctionSpace, coefficient: Coefficient = 1.0, *,
                     quadrature_degree: int | None = None, progress=None) -> sp.csr_matrix:
    """Assemble ``K_ij = int_Omega a grad(phi_j) . grad(phi_i) dx``.

    Parameters
    ----------
    space : FunctionSpace
        Scalar P1 or P2 space.
    coefficient : number, callable, (m,), (m, nq), (n_nodes,) array or FEFunction
        Diffusion coefficient ``a`` (see :mod:`pdekit.solvers.fem.function`).
    quadrature_degree : int, optional
        Rule for a varying coefficient; default ``2 (p - 1) + p``. A constant or per-cell
        coefficient is integrated exactly whatever this says.
    progress : bool, tqdm bar or class, or progress object, optional
        Told about the stages (sparsity pattern, matrix); ``True`` draws a bar (see
        :mod:`pdekit._progress`). Worth it on meshes of millions of cells.

    Returns
    -------
    (n_dofs, n_dofs) scipy.sparse.csr_matrix
    """
    _scalar_space(space, "stiffness_matrix")
    with _assembly_stages(space, progress, "stiffness matrix"):
        return _stiffness(space, coefficient, quadrature_degree)


def _stiffness(space: FunctionSpace, coefficient: Coefficient, quadrature_degree: int | None) -> sp.csr_matrix:
    rule = space.quadrature(_varying_degree(space, 2 * (space.degree - 1), quadrature_degree))
    a = at_quadrature(space, coefficient, rule, name="coefficient")
    pattern = space.pattern
    if space.degree == 1:
        # constant gradients: rows of every local matrix sum to zero, so only the edge
        # (off-diagonal) values are assembled and each diagonal entry is minus its row sum
        if np.ndim(a) == 0:
            return pattern.zero_row_sum_from_half(float(a) * p1_stiffness_half(space, None))
        if a.ndim == 2:  # exact per-cell average
            a = a @ rule.weights / rule.weights.sum()
        return pattern.zero_row_sum_from_half(p1_stiffness_half(space, a))
    if np.ndim(a) == 0:
        return pattern.symmetric_matrix(float(a) * cell_weighted_data(space, "stiffness_op", unit_stiffness, None))
    if a.ndim == 1:
        return pattern.symmetric_matrix(cell_weighted_data(space, "stiffness_op", unit_stiffness, a))
    wq = (a * space.geometry.det[:, None] * rule.weights[None, :]).T
    return pattern.assemble_symmetric(gradient_gram(space.gradients(rule), np.ascontiguousarray(wq)))


def reference_mass(space: FunctionSpace) -> np.ndarray:
    """Mass matrix of the scalar basis on the reference cell, ``(nloc, nloc)``."""
    rule = space.quadrature(2 * space.degree)
    phi = space.basis_values(rule)
    return np.einsum("q,qa,qb->ab", rule.weights, phi, phi)


def _blocked(local: np.ndarray, c: int) -> np.ndarray:
    """Expand scalar local matrices ``(n, n, m)`` to interleaved vector ones ``(nc, nc, m)``."""
    if c == 1:
        return local
    n, _, m = local.shape
    out = np.zeros((n, c, n, c, m))
    for k in range(c):
        out[:, k, :, k] = local
    return out.reshape(n * c, n * c, m)


def unit_mass(space: FunctionSpace) -> np.ndarray:
    """Packed local mass matrices for coefficient 1, ``(nloc c (nloc c + 1) / 2, m)``."""
    ref = pack_symmetric(_blocked(reference_mass(space)[:, :, None], space.n_components))
    return ref * space.geometry.det[None, :]


def mass_matrix(space: FunctionSpace, coefficient: Coefficient = 1.0, *,
                quadrature_degree: int | None = None, progress=None) -> sp.csr_matrix:
    """Assemble ``M_ij = int_Omega c phi_j . phi_i dx`` (componentwise for vector spaces).

    Parameters
    ----------
    space : FunctionSpace
    coefficient : number, callable, (m,), (m, nq), (n_nodes,) array or FEFunction
        Weight ``c`` (density, heat capacity, reaction rate).
    quadrature_degree : int, optional
        Rule for a varying coefficient; default ``3 p``.
    progress : bool, tqdm bar or class, or progress object, optional
        Told about the stages, as in :func:`stiffness_matrix`.

    Returns
    -------
    (n_dofs, n_dofs) scipy.sparse.csr_matrix
    """
    with _assembly_stages(space, progress, "mass matrix"):
        return _mass(space, coefficient, quadrature_degree)


def _mass(space: FunctionSpace, coefficient: Coefficient, quadrature_degree: int | None) -> sp.csr_matrix:
    rule = space.quadrature(_varying_degree(space, 2 * space.degree, quadrature_degree))
    a = at_quadrature(space, coefficient, rule, name="coefficient")
    if np.ndim(a) == 0:
        return space.pattern.symmetric_matrix(float(a) * cell_weighted_data(space, "mass_op", unit_mass, None))
    if a.ndim == 1:
        return space.pattern.symmetric_matrix(cell_weighted_data(space, "mass_op", unit_mass, a))
    phi = space.basis_values(rule)
    wq = (a * space.geometry.det[:, None] * rule.weights[None, :]).T  # (nq, m)
    local = np.einsum("qa,qb,qc->abc", phi, phi, wq, optimize=True)
    return space.pattern.assemble_symmetric(pack_symmetric(_blocked(local, space.n_components)))


def load_vector(space: FunctionSpace, f: Coefficient, *,
                quadrature_degree: int | None = None) -> np.ndarray:
    """Assemble ``b_i = int_Omega f . phi_i dx``.

    Parameters
    ----------
    space : FunctionSpace
    f : number, callable, (m,), (m, nq), (n_nodes,) array or FEFunction
        Source. For a vector space: a length-``c`` constant or a callable returning ``(c, n)``.
    quadrature_degree : int, optional
        Default ``2 p + 1``.

    Returns
    -------
    (n_dofs,) float array
    """
    rule = space.quadrature(quadrature_degree if quadrature_degree is not None else 2 * space.degree + 1)
    phi = space.basis_values(rule)
    wdet = space.geometry.det[:, None] * rule.weights[None, :]  # (m, nq)
    c = space.n_components
    m, nq = wdet.shape
    dm = space.dofmap
    if c == 1:
        fq = at_quadrature(space, f, rule, name="f")
        local = np.einsum("qa,cq->ac", phi, per_point(fq, wdet.shape) * wdet, optimize=True)
        return assemble_vector(dm.cell_dofs, local, space.n_dofs)
    if callable(f):
        x = space.quadrature_points(rule).reshape(-1, space.dim)
        fq = _call(f, x, "f", c).reshape(m, nq, c)
    else:
        arr = np.asarray(f, dtype=np.float64)
        if arr.shape != (c,):
            raise ValueError(f"f for a {c}-component space must be a callable returning (c, n) "
                             f"or a constant of shape ({c},); got shape {arr.shape}")
        fq = np.broadcast_to(check_finite("f", arr), (m, nq, c))
    local = np.einsum("cq,cqk,qa->akc", wdet, fq, phi, optimize=True).reshape(-1, m)
    return assemble_vector(dm.cell_dofs, local, space.n_dofs)
