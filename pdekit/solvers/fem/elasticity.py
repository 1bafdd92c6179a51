"""Linear elasticity: the stiffness form, rigid-body modes and a one-call solver.

Small-strain isotropic elasticity, ``-div sigma(u) = f`` with
``sigma = 2 mu eps(u) + lam tr(eps(u)) I`` and ``eps(u) = (grad u + grad u^T) / 2``; in 2D this
is plane strain. The stiffness form is split into its ``lam`` part ``int div u div v`` and its
``mu`` part ``int 2 eps(u) : eps(v)``; both unit local matrices are cached, so re-assembly with
new Lamé parameters per cell is two sparse products ``op_lam @ lam + op_mu @ mu``.

Examples
--------
>>> import numpy as np
>>> from pdekit.meshes import unit_square
>>> V = function_space(unit_square(4), 1, n_components=2)
>>> K = elasticity_matrix(V, lam=1.0, mu=1.0)
>>> float(np.abs(K @ rigid_body_modes(V)).max()) < 1e-12
True
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from pdekit._validation import check_finite
from pdekit.meshes.geometry import cell_centroids

from .assembly import pack_symmetric
from .boundary import condense, dirichlet_values
from .diffusion import dirichlet_dofs
from .facets import facet_load_vector
from .forms import load_vector
from .function import FEFunction
from .space import FunctionSpace, function_space

__all__ = ["elasticity_matrix", "rigid_body_modes", "linear_elasticity", "lame_parameters"]


def lame_parameters(young: float, poisson_ratio: float) -> tuple[float, float]:
    """Lamé parameters ``(lam, mu)`` from Young's modulus ``E`` and Poisson's ratio ``nu``."""
    if not young > 0 or not -1.0 < poisson_ratio < 0.5:
        raise ValueError(f"need E > 0 and -1 < nu < 0.5; got E = {young}, nu = {poisson_ratio}")
    mu = young / (2.0 * (1.0 + poisson_ratio))
    lam = young * poisson_ratio / ((1.0 + poisson_ratio) * (1.0 - 2.0 * poisson_ratio))
    return lam, mu


def _check_vector_space(space: FunctionSpace) -> None:
    if space.n_components != space.dim:
        raise ValueError(f"elasticity needs a vector space with n_components = dim = {space.dim}; "
                         f"got n_components = {space.n_components}")


def _unit_parts(space: FunctionSpace) -> tuple[np.ndarray, np.ndarray]:
    """Packed unit local matrices of the ``lam`` and ``mu`` parts (cached)."""
    if "elasticity_units" not in space.cache:
        det = space.geometry.det
        if space.degree == 1:
            g = space.gradients()
            wq = (det / {2: 2.0, 3: 6.0}[space.dim])[None, :]
        else:
            rule = space.quadrature(2 * (space.degree - 1))
            g = space.gradients(rule)
            wq = rule.weights[:, None] * det[None, :]
        nq, nloc, d, m = g.shape
        div = np.einsum("qaie,qbje,qe->aibje", g, g, wq, optimize=True)  # d_i phi_a d_j phi_b
        gram = np.einsum("qaie,qbie,qe->abe", g, g, wq, optimize=True)
        mu = div.transpose(0, 3, 2, 1, 4).copy()  # d_j phi_a d_i phi_b
        for i in range(d):
            mu[:, i, :, i] += gram
        space.cache["elasticity_units"] = (pack_symmetric(div.reshape(nloc * d, nloc * d, m)),
                                           pack_symmetric(mu.reshape(nloc * d, nloc * d, m)))
    return space.cache["elasticity_units"]


def _per_cell(space: FunctionSpace, value, name: str) -> np.ndarray:
    m = space.n_cells
    if callable(value):
        centroids = cell_centroids(space.mesh.points, space.mesh.cells)  # (m, d)
        value = np.asarray(value(np.ascontiguousarray(centroids.T)), dtype=np.float64)
    arr = check_finite(name, np.asarray(value, dtype=np.float64))
    if arr.ndim == 0:
        arr = np.full(m, float(arr))
    if arr.shape != (m,):
        raise ValueError(f"{name} has shape {arr.shape}; expected a number, ({m},) (one value per "
                         "cell) or a callable of x (d, n) evaluated at cell centroids")
    return arr


def elasticity_matrix(space: FunctionSpace, lam, mu) -> sp.csr_matrix:
    """Assemble ``K = int lam div u div v + 2 mu eps(u) : eps(v) dx``.

    Parameters
    ----------
    space : FunctionSpace
        Vector P1 / P2 space with ``n_components == dim`` (plane strain in 2D).
    lam, mu : number, (m,) array or callable
        Lamé parameters, constant per cell (a callable is evaluated at cell centroids);
        ``mu > 0`` and ``lam + 2 mu / d > 0`` (positive shear and bulk moduli) everywhere.

    Returns
    -------
    (n_dofs, n_dofs) csr_matrix
        Symmetric; its kernel before boundary conditions is the rigid-body motions.
    """
    _check_vector_space(space)
    lam_c, mu_c = _per_cell(space, lam, "lam"), _per_cell(space, mu, "mu")
    if not (mu_c > 0).all():
        raise ValueError(f"mu must be positive everywhere; min(mu) = {mu_c.min():.6g}")
    if not (lam_c + 2.0 * mu_c / space.dim > 0).all():
        raise ValueError("the bulk modulus lam + 2 mu / d must be positive everywhere; "
                         f"min = {(lam_c + 2.0 * mu_c / space.dim).min():.6g}")
    if "elasticity_ops" not in space.cache:
        u_div, u_mu = _unit_parts(space)
        space.cache["elasticity_ops"] = (space.pattern.cell_operator(u_div),
                                         space.pattern.cell_operator(u_mu))
    op_div, op_mu = space.cache["elasticity_ops"]
    return space.pattern.symmetric_matrix(op_div @ lam_c + op_mu @ mu_c)


def rigid_body_modes(space: FunctionSpace) -> np.ndarray:
    """Rigid-body motions as dof vectors: ``(n_dofs, 3)`` in 2D, ``(n_dofs, 6)`` in 3D.

    Translations along each axis, then infinitesimal rotations (about z in 2D; about x, y, z
    in 3D). They span the kernel of :func:`elasticity_matrix` and are the near-null space
    for AMG.
    """
    _check_vector_space(space)
    x = space.dofmap.node_coordinates
    n, d = x.shape
    modes = []
    for i in range(d):
        t = np.zeros((n, d))
        t[:, i] = 1.0
        modes.append(t)
    planes = [(0, 1)] if d == 2 else [(1, 2), (2, 0), (0, 1)]
    for i, j in planes:
        r = np.zeros((n, d))
        r[:, i], r[:, j] = -x[:, j], x[:, i]
        modes.append(r)
    return np.stack([mo.reshape(-1) for mo in modes], axis=1)


def linear_elasticity(mesh, *, lam, mu, body_force=None, clamped="left", displacement=0.0,
                      traction: Mapping | None = None, degree: int = 1, solver: str = "auto",
                      preconditioner: Any = None, rtol: float = 1e-10) -> FEFunction:
    """Solve small-strain linear elasticity (plane strain in 2D) in one call.

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
    lam, mu : number, (m,) array or callable
        Lamé parameters per cell (see :func:`lame_parameters` to convert from ``E, nu``).
    body_force : (d,) array or callable ``f(x) -> (d, n)``, optional
        Force per unit volume; None for none.
    clamped : str, int, sequence or None
        Boundary part where the displacement is prescribed (None: the whole boundary).
    displacement : number, (d,) array or callable ``g(x) -> (d, n)``
        Prescribed displacement on ``clamped`` (default 0).
    traction : dict tag -> (d,) array or callable, optional
        Surface loads ``sigma n = t`` on those parts.
    degree : {1, 2}
    solver : {"auto", "direct", "cg", "pcg", "fcg", "dcdm"}
        The method of :func:`pdekit.solvers.linear.solve` (``"amg-cg"``, the former name, is
        ``"pcg"`` with AMG); the AMG preconditioners use the rigid-body modes as near-null
        space, and their transfers are built once per mesh from ``lam = mu = 1``.
    preconditioner : str, Preconditioner, network or callable, optional
        As in :func:`pdekit.solvers.linear.solve`.
    rtol : float

    Returns
    -------
    FEFunction
        Vector field; ``.nodal_values()`` is ``(n_nodes, d)``.
    """
    d = mesh.dim
    space = function_space(mesh, degree, n_components=d)
    K = elasticity_matrix(space, lam, mu)
    b = np.zeros(space.n_dofs) if body_force is None else load_vector(space, body_force)
    for tag, t in dict(traction or {}).items():
        b = b + facet_load_vector(space, t, tag)
    dofs = dirichlet_dofs(space, clamped)
    g = dirichlet_values(space, dofs, displacement)
    from pdekit.solvers.linear import solve

    system = condense(K, b, dofs, g)
    rbm = rigid_body_modes(space)[system.free]
    x, info = solve(system.matrix, system.rhs, method=solver, preconditioner=preconditioner, rtol=rtol,
                    check_symmetry=False, near_null_space=rbm,
                    reference=lambda: condense(elasticity_matrix(space, 1.0, 1.0), b, dofs, g).matrix)
    return FEFunction(space, system.expand(x), info=info)
