"""Boundary (facet) forms: Neumann loads ``int g v ds`` and Robin terms ``int alpha u v ds``.

Facets are taken from the mesh's tagged boundary (``mesh.boundary_facets(tag)``); an unknown
tag raises the mesh's error, which lists the known tags. The facet element is the Lagrange
element of the same degree on the facet simplex (edges in 2D, triangles in 3D), whose nodes
are those of the cell's trace, so facet terms couple only dofs already in the cell pattern.

Examples
--------
>>> from pdekit.meshes import unit_square
>>> from pdekit.solvers.fem import function_space
>>> V = function_space(unit_square(4), 2)
>>> round(float(facet_load_vector(V, 1.0).sum()), 12)    # perimeter of the unit square
4.0
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pdekit._validation import check_finite

from .elements import FACET_TYPE, lagrange_element
from .function import _call
from .geometry import facet_geometry
from .quadrature import quadrature_rule

__all__ = ["facet_load_vector", "facet_mass_matrix"]


def _facet_setup(space, tag, quadrature_degree):
    facets = space.mesh.boundary_facets(tag)
    ftype = FACET_TYPE[space.mesh.cell_type]
    el = lagrange_element(ftype, space.degree)
    rule = quadrature_rule(ftype, quadrature_degree if quadrature_degree is not None else 2 * space.degree + 1)
    origin, J, factor = facet_geometry(space.mesh.points, facets)
    x = origin[:, None, :] + np.einsum("fij,qj->fqi", J, rule.points)
    wds = factor[:, None] * rule.weights[None, :]
    return facets, el.values(rule.points), x, wds


def _facet_data(space, g, x: np.ndarray, name: str, comps: int) -> np.ndarray:
    """Data at facet quadrature points: ``(f, nq)`` or ``(f, nq, c)``."""
    f, nq, d = x.shape
    shape = (f, nq) if comps == 1 else (f, nq, comps)
    if callable(g):
        return _call(g, x.reshape(-1, d), name, comps).reshape(shape)
    arr = check_finite(name, np.asarray(g, dtype=np.float64))
    if arr.ndim == 0 or (comps > 1 and arr.shape == (comps,)):
        return np.broadcast_to(arr, shape)
    if arr.shape == (f,) and comps == 1:
        return np.broadcast_to(arr[:, None], shape)
    exp = "a number" if comps == 1 else f"a constant of shape ({comps},)"
    raise ValueError(f"{name} has shape {arr.shape}; expected {exp}, a callable of x (d, n)"
                     + (f", or ({f},) (one value per facet)" if comps == 1 else ""))


def facet_load_vector(space, g, tag=None, *, quadrature_degree: int | None = None) -> np.ndarray:
    """Assemble ``b_i = int_Gamma g . phi_i ds`` over the facets of ``tag``.

    Parameters
    ----------
    space : FunctionSpace
    g : number, callable ``g(x)`` with ``x (d, n)``, or ``(f,)`` per-facet array
        Boundary flux (scalar spaces) or traction (vector spaces: ``(c,)`` or ``(c, n)``).
    tag : str, int, sequence or None
        Boundary part; None is the whole boundary.
    quadrature_degree : int, optional
        Default ``2 p + 1``.

    Returns
    -------
    (n_dofs,) float array
    """
    facets, phi, x, wds = _facet_setup(space, tag, quadrature_degree)
    c = space.n_components
    gq = _facet_data(space, g, x, "g", c)
    if c == 1:
        local = np.einsum("fq,qa->fa", gq * wds, phi)
    else:
        local = np.einsum("fq,fqk,qa->fak", wds, gq, phi).reshape(len(facets), -1)
    dofs = space.dofmap.facet_dofs(facets)
    return np.bincount(dofs.reshape(-1), weights=local.reshape(-1), minlength=space.n_dofs)


def facet_mass_matrix(space, alpha=1.0, tag=None, *, quadrature_degree: int | None = None) -> sp.csr_matrix:
    """Assemble the Robin matrix ``R_ij = int_Gamma alpha phi_j phi_i ds`` over ``tag``.

    Parameters
    ----------
    space : FunctionSpace
        Scalar space.
    alpha : number, callable or ``(f,)`` per-facet array
        Robin (transfer) coefficient.
    tag : str, int, sequence or None
    quadrature_degree : int, optional
        Default ``2 p + 1``.

    Returns
    -------
    (n_dofs, n_dofs) csr_matrix
    """
    if space.n_components != 1:
        raise ValueError("facet_mass_matrix is defined on scalar spaces")
    facets, phi, x, wds = _facet_setup(space, tag, quadrature_degree)
    aq = _facet_data(space, alpha, x, "alpha", 1)
    local = np.einsum("fq,qa,qb->fab", aq * wds, phi, phi)
    dofs = space.dofmap.facet_dofs(facets)
    k = dofs.shape[1]
    rows = np.repeat(dofs, k, axis=1).reshape(-1)
    cols = np.tile(dofs, (1, k)).reshape(-1)
    return sp.csr_matrix((local.reshape(-1), (rows, cols)), shape=(space.n_dofs, space.n_dofs))
