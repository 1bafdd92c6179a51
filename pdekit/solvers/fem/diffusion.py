"""Poisson / diffusion problems in one call: ``-div(a grad u) = f`` with Dirichlet, Neumann
and Robin boundary conditions, and Darcy flow with a random permeability.

Examples
--------
>>> import numpy as np
>>> from pdekit.meshes import unit_square
>>> u = lambda x: np.sin(np.pi * x[0]) * np.sin(np.pi * x[1])
>>> uh = poisson(unit_square(16), f=lambda x: 2 * np.pi**2 * u(x), degree=2)
>>> float(error_norm(uh, u)) < 1e-4
True
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from pdekit.meshes.geometry import cell_centroids
from pdekit.meshes.topology import sorted_keys

from .boundary import condense, dirichlet_values
from .errors import error_norm  # noqa: F401  (re-exported for the doctest)
from .facets import facet_load_vector, facet_mass_matrix
from .forms import load_vector, stiffness_matrix
from .function import Coefficient, FEFunction, at_quadrature
from .space import FunctionSpace, function_space

__all__ = ["poisson", "darcy", "dirichlet_dofs"]


def dirichlet_dofs(space: FunctionSpace, tag=None, *, exclude=(), component: int | None = None) -> np.ndarray:
    """Dofs on the boundary part ``tag`` (None: the whole boundary), minus the facets of the
    tags in ``exclude`` (dofs shared with a kept facet stay).

    Raises
    ------
    KeyError / ValueError
        An unknown tag (the mesh's error names the known ones).
    """
    mesh = space.mesh
    facets = mesh.boundary_facets(tag)
    if exclude:
        drop = mesh.boundary_facets(list(exclude))
        keys, _ = sorted_keys(np.concatenate([facets, drop]))  # order-independent facet keys
        keep = ~np.isin(keys[: len(facets)], keys[len(facets):])
        facets = facets[keep]
    nodes = np.unique(space.dofmap.facet_nodes(facets))
    c = space.n_components
    if component is not None:
        return c * nodes + int(component)
    return (c * nodes[:, None] + np.arange(c)).reshape(-1)


def poisson(mesh, *, f: Coefficient, a: Coefficient = 1.0, dirichlet=0.0, degree: int = 1,
            dirichlet_tag=None, neumann: Mapping | None = None, robin: Mapping | None = None,
            solver: str = "auto", preconditioner: Any = None, rtol: float = 1e-10) -> FEFunction:
    """Solve ``-div(a grad u) = f`` with Lagrange P1 or P2 elements.

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
        Triangle or tetrahedron mesh.
    f : number, callable ``f(x)`` (``x (d, n)`` -> ``(n,)``), or array ``(m,)``, ``(n_nodes,)``
        Source term.
    a : number, callable, or array ``(m,)`` (per cell), ``(m, nq)``, ``(n_nodes,)``
        Diffusion coefficient; must be positive and finite everywhere.
    dirichlet : number, callable, array ``(n_dofs,)`` or None
        Value of ``u`` on the Dirichlet boundary; None for no Dirichlet condition (then a
        ``robin`` term is needed for a unique solution).
    degree : {1, 2}
    dirichlet_tag : str, int, sequence or None
        Dirichlet part of the boundary. None: the whole boundary except the facets named in
        ``neumann`` and ``robin``.
    neumann : dict tag -> g, optional
        Flux ``a du/dn = g`` on those parts (number, callable or per-facet array).
    robin : dict tag -> (alpha, g), optional
        ``a du/dn + alpha u = g`` on those parts.
    solver : {"auto", "direct", "cg", "pcg", "fcg", "dcdm"}
        The method of :func:`pdekit.solvers.linear.solve` (``"amg-cg"``, the former name, is
        ``"pcg"`` with AMG). ``"auto"`` is the measured fastest for the size; the AMG transfers
        are built from the ``a = 1`` matrix of the mesh once and re-set-up for every new
        coefficient, so repeated solves on one mesh pay the AMG setup once.
    preconditioner : str, Preconditioner, network or callable, optional
        As in :func:`pdekit.solvers.linear.solve` (e.g. ``pretrained("dcdm-algebraic")``).
    rtol : float
        Relative residual tolerance (the direct solver is checked against it too).

    Returns
    -------
    FEFunction
        ``.values`` are the dofs (``n_dofs,``); ``.info`` is the
        :class:`~pdekit.solvers.linear.SolveInfo`.

    Raises
    ------
    ValueError
        Non-positive or NaN coefficient, data of the wrong shape, inverted/degenerate cells,
        an unknown boundary tag, or a problem without any Dirichlet or Robin condition.
    pdekit.solvers.linear.ConvergenceError
        The iterative solver did not reach ``rtol``.
    """
    from pdekit.solvers.linear import solve

    space = function_space(mesh, degree)
    rule = space.quadrature(2 * (space.degree - 1) + space.degree)
    a_q = at_quadrature(space, a, rule, name="coefficient a", positive=True)
    if callable(a):  # already evaluated: do not call it again
        a = a_q
    b = load_vector(space, f)
    neumann, robin = dict(neumann or {}), dict(robin or {})
    for tag, g in neumann.items():
        b = b + facet_load_vector(space, g, tag)
    robin_mass = []
    for tag, spec in robin.items():
        if not (isinstance(spec, (tuple, list)) and len(spec) == 2):
            raise ValueError(f"robin[{tag!r}] must be a pair (alpha, g); got {spec!r}")
        alpha, g = spec
        robin_mass.append(facet_mass_matrix(space, alpha, tag))
        b = b + facet_load_vector(space, g, tag)

    def matrix(coefficient):
        return sum(robin_mass, stiffness_matrix(space, coefficient))

    if dirichlet is None:
        if not robin:
            raise ValueError("without a Dirichlet condition the problem needs a Robin term; "
                             "pass dirichlet= or robin=")
        x, info = solve(matrix(a), b, method=solver, preconditioner=preconditioner, rtol=rtol,
                        check_symmetry=False, reference=lambda: matrix(1.0))
        return FEFunction(space, x, info=info)
    exclude = list(neumann) + list(robin) if dirichlet_tag is None else []
    dofs = dirichlet_dofs(space, dirichlet_tag, exclude=exclude)
    if len(dofs) == 0 and not robin:
        raise ValueError("the Dirichlet boundary is empty and there is no Robin term: "
                         "the problem is singular")
    g = dirichlet_values(space, dofs, dirichlet)
    system = condense(matrix(a), b, dofs, g)
    x_free, info = solve(system.matrix, system.rhs, method=solver, preconditioner=preconditioner, rtol=rtol,
                         check_symmetry=False, reference=lambda: condense(matrix(1.0), b, dofs, g).matrix)
    return FEFunction(space, system.expand(x_free), info=info)


def darcy(mesh, *, rng=None, coefficient: str | Coefficient = "threshold", f: Coefficient = 1.0,
          degree: int = 1, length_scale: float = 0.1, kernel: str = "gaussian",
          a_high: float = 12.0, a_low: float = 3.0, scale: float = 1.0, n_features: int = 256,
          solver: str = "auto", preconditioner: Any = None) -> tuple[FEFunction, np.ndarray]:
    """Darcy flow ``-div(a grad p) = f``, ``p = 0`` on the boundary, with a random permeability.

    Parameters
    ----------
    mesh : pdekit.meshes.Mesh
    rng : numpy.random.Generator or int, optional
        Randomness of the coefficient draw.
    coefficient : {"threshold", "lognormal"} or a coefficient
        A map applied to a Gaussian random field (see
        :mod:`pdekit.solvers.random_fields`) evaluated at the cell centroids, or a
        given coefficient (number, callable, per-cell array, ...).
    f : coefficient
        Source (1 as in the FNO Darcy set).
    degree : {1, 2}
    length_scale, kernel, n_features
        The random field's correlation length, covariance and number of features.
    a_high, a_low : float
        Values of the thresholded map (12 / 3 as in the FNO set).
    scale : float
        ``a = exp(scale * g)`` for the lognormal map.
    solver, preconditioner
        As in :func:`poisson`.

    Returns
    -------
    pressure : FEFunction
    a : (m,) float array
        The per-cell permeability used.
    """
    from pdekit.solvers.random_fields import coefficient_from_field, draw_random_field

    if isinstance(coefficient, str):
        rng = np.random.default_rng(rng)
        field = draw_random_field(rng, mesh.dim, length_scale=length_scale, kernel=kernel,
                                  n_features=n_features)
        a = coefficient_from_field(field(cell_centroids(mesh.points, mesh.cells).T), coefficient,
                                   a_high=a_high, a_low=a_low, scale=scale)
    else:
        space = function_space(mesh, degree)
        a = at_quadrature(space, coefficient, space.quadrature(0), name="coefficient", positive=True)
        a = np.broadcast_to(np.asarray(a, dtype=np.float64).reshape(-1), (space.n_cells,)).copy()
    return poisson(mesh, f=f, a=a, degree=degree, solver=solver, preconditioner=preconditioner), a
