"""The 5-/7-point system of -div(a grad u) = f on the node grid of the unit square or cube.

The scheme is the vertex-centred finite-volume form of the second-order finite-difference
stencil. Node p owns the box of half-widths h_i/2 around it (clipped at the boundary, so
boundary nodes own half cells and corners quarter cells). The flux through the face between
neighbours p and q = p + e_i is ``a_pq * (u_p - u_q) * area / h_i`` with ``a_pq`` the harmonic
(or arithmetic) mean of ``a_p`` and ``a_q``. Dividing each equation by h_1 ... h_d gives the
usual stencil at interior nodes, and scaled (half-cell) rows at Neumann nodes, so the matrix
is symmetric and, with at least one Dirichlet node, positive definite.

Dirichlet nodes (those on Dirichlet sides, and solid ``obstacle`` nodes) carry u = 0 and are
not unknowns; every other node is. Axis i of the arrays is coordinate i: sides ``left``/
``right`` are x = 0/1 (axis 0), ``bottom``/``top`` are y = 0/1 (axis 1), ``front``/``back`` are
z = 0/1 (axis 2). Where a Dirichlet side meets a Neumann side, the shared nodes are Dirichlet.

The sparsity pattern, and the gather that fills the CSR data array from the face weights,
are built once per (shape, boundary conditions, obstacle) and cached, so assembling the matrix
for a new coefficient is a few vectorised array operations.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import threading
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from pdekit._validation import check_choice, check_finite, check_positive

__all__ = ["GridSystem", "poisson_system", "side_names"]

_SIDES = ("left", "right", "bottom", "top", "front", "back")
_KINDS = ("dirichlet", "neumann")
_AVERAGES = ("harmonic", "arithmetic")


def side_names(ndim: int) -> tuple[str, ...]:
    """Names of the sides of the unit square (``ndim=2``) or cube (``ndim=3``), axis by axis."""
    return _SIDES[: 2 * ndim]


@dataclasses.dataclass
class GridSystem:
    """A linear system ``matrix @ x = rhs`` for the unknown nodes of a grid.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, (n, n)
        Symmetric positive definite.
    rhs : (n,) float array
    unknowns : bool array of grid shape
        True where the node is an unknown (numbered in C order).
    shape : tuple of int
        Grid shape (s1, s2) or (s1, s2, s3), boundary nodes included.
    """

    matrix: sp.csr_matrix
    rhs: np.ndarray
    unknowns: np.ndarray
    shape: tuple[int, ...]

    def to_grid(self, x: np.ndarray) -> np.ndarray:
        """Scatter unknowns ``x`` of shape (n,) to a field of grid shape (zero elsewhere)."""
        x = np.asarray(x)
        n = int(self.rhs.shape[0])
        if x.shape != (n,):
            raise ValueError(f"x must have shape ({n},), one value per unknown; got {x.shape}")
        out = np.zeros(self.shape, dtype=x.dtype)
        out[self.unknowns] = x
        return out

    def from_grid(self, u: np.ndarray) -> np.ndarray:
        """Gather the unknowns of a field ``u`` of grid shape into a vector of shape (n,)."""
        u = np.asarray(u)
        if u.shape != self.shape:
            raise ValueError(f"u must have the grid shape {self.shape}; got {u.shape}")
        return u[self.unknowns]


@dataclasses.dataclass(frozen=True, eq=False)
class _Pattern:
    key: tuple  # (shape, side kinds, obstacle digest)
    shape: tuple[int, ...]
    unknowns: np.ndarray  # bool, grid shape
    face_geometry: tuple[np.ndarray, ...]  # per axis: area/(volume*h) factors, face-grid shape
    volume: np.ndarray  # grid shape: fraction of a full cell each node owns
    indptr: np.ndarray
    indices: np.ndarray
    take: np.ndarray  # CSR data = concat(diag.ravel(), -faces_0.ravel(), ...)[take]

    @property
    def n(self) -> int:
        return int(self.indptr.shape[0] - 1)


def _normalise_bc(bc, ndim: int) -> tuple[str, ...]:
    sides = side_names(ndim)
    if isinstance(bc, str):
        check_choice("bc", bc, _KINDS)
        return (bc,) * len(sides)
    if not isinstance(bc, Mapping):
        raise TypeError(f"bc must be 'dirichlet', 'neumann' or a mapping side -> kind; got {bc!r}")
    unknown = sorted(set(bc) - set(sides))
    if unknown:
        raise ValueError(f"unknown side(s) {unknown} in bc; expected some of {list(sides)}")
    out = []
    for side in sides:
        kind = bc.get(side, "dirichlet")
        check_choice(f"bc[{side!r}]", kind, _KINDS)
        out.append(kind)
    return tuple(out)


def _check_grid_shape(shape) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"grid shape must be 2D (s1, s2) or 3D (s1, s2, s3); got {shape}")
    if min(shape) < 3:
        raise ValueError(f"every grid size must be >= 3 nodes; got shape {shape}")
    return shape


def _slab(ndim: int, axis: int, index) -> tuple:
    return tuple(index if i == axis else slice(None) for i in range(ndim))


_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()


def _pattern(shape: tuple[int, ...], kinds: tuple[str, ...], obstacle: np.ndarray | None) -> _Pattern:
    key = (shape, kinds, None if obstacle is None else hashlib.sha1(np.packbits(obstacle)).digest())
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    pattern = _build_pattern(key, shape, kinds, obstacle)
    with _LOCK:
        _CACHE[key] = pattern
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return pattern


def _build_pattern(key, shape, kinds, obstacle) -> _Pattern:
    ndim = len(shape)
    unknowns = np.ones(shape, dtype=bool)
    for axis in range(ndim):
        for end, kind in zip((0, -1), kinds[2 * axis: 2 * axis + 2]):
            if kind == "dirichlet":
                unknowns[_slab(ndim, axis, end)] = False
    if obstacle is not None:
        unknowns &= ~obstacle
    n = int(unknowns.sum())
    if n == 0:
        raise ValueError(f"the grid of shape {shape} has no unknown node (all Dirichlet/obstacle)")
    if obstacle is None or not obstacle.any():
        if "dirichlet" not in kinds:
            raise ValueError(
                "pure-Neumann problem: the matrix is singular (u is defined up to a constant); "
                "make at least one side 'dirichlet' or add an obstacle"
            )

    h = [1.0 / (s - 1) for s in shape]
    # fraction of a full cell width owned by each node along each axis (1/2 at the ends)
    widths = []
    for s in shape:
        w = np.ones(s)
        w[[0, -1]] = 0.5
        widths.append(w)

    def outer(factors):
        out = np.ones(())
        for i, f in enumerate(factors):
            out = out[..., None] * f if i else np.asarray(f, dtype=float)
        return out

    volume = outer(widths)
    face_geometry = []
    for axis in range(ndim):
        factors = [np.full(shape[axis] - 1, 1.0 / h[axis] ** 2) if i == axis else widths[i]
                   for i in range(ndim)]
        face_geometry.append(outer(factors))

    n_nodes = int(np.prod(shape))
    total_values = n_nodes + sum(int(np.prod(g.shape)) for g in face_geometry)
    idx_dtype = np.int32 if max(total_values, (2 * ndim + 1) * n) < 2**31 - 1 else np.int64
    flat = np.flatnonzero(unknowns)
    multi = np.unravel_index(flat, shape)
    number = np.full(n_nodes, -1, dtype=idx_dtype)
    number[flat] = np.arange(n, dtype=idx_dtype)
    node_strides = [int(np.prod(shape[k + 1:])) for k in range(ndim)]
    # candidate entries of a row, in increasing column order: -e_0, ..., -e_{d-1}, diag,
    # +e_{d-1}, ..., +e_0 (C-order numbering is monotone in the flat node index)
    width = 2 * ndim + 1
    cols = np.empty((n, width), dtype=idx_dtype)
    srcs = np.empty((n, width), dtype=idx_dtype)
    cols[:, ndim] = np.arange(n, dtype=idx_dtype)
    srcs[:, ndim] = flat
    offset = n_nodes
    for axis in range(ndim):
        face_shape = face_geometry[axis].shape
        face_strides = [int(np.prod(face_shape[k + 1:])) for k in range(ndim)]
        face_of_node = sum(m * fs for m, fs in zip(multi, face_strides)) + offset
        offset += int(np.prod(face_shape))
        for column, sign, has in (
            (axis, -1, multi[axis] > 0),
            (width - 1 - axis, 1, multi[axis] < shape[axis] - 1),
        ):
            neighbour = np.where(has, flat + sign * node_strides[axis], 0)
            cols[:, column] = np.where(has, number[neighbour], -1)
            srcs[:, column] = face_of_node - (face_strides[axis] if sign < 0 else 0)
    valid = cols >= 0
    indptr = np.zeros(n + 1, dtype=idx_dtype)
    np.cumsum(valid.sum(axis=1), out=indptr[1:])
    pattern = _Pattern(
        key=key,
        shape=shape,
        unknowns=unknowns,
        face_geometry=tuple(face_geometry),
        volume=volume,
        indptr=indptr,
        indices=cols[valid],
        take=srcs[valid],
    )
    for arr in (unknowns, volume, pattern.indptr, pattern.indices, pattern.take, *face_geometry):
        arr.setflags(write=False)
    return pattern


def _face_average(a: np.ndarray, axis: int, how: str) -> np.ndarray:
    ndim = a.ndim
    a_lo = a[_slab(ndim, axis, slice(None, -1))]
    a_hi = a[_slab(ndim, axis, slice(1, None))]
    if how == "harmonic":  # 2 a b / (a + b), written so that it neither overflows nor underflows early
        return 2.0 * a_lo * (a_hi / (a_lo + a_hi))
    return 0.5 * (a_lo + a_hi)


def _matrix_data(pattern: _Pattern, a: np.ndarray | None, face_average: str) -> np.ndarray:
    """CSR data array of the matrix for coefficient ``a`` (None: a = 1)."""
    shape, ndim = pattern.shape, len(pattern.shape)
    diag = np.zeros(shape)
    weights = []
    for axis in range(ndim):
        w = pattern.face_geometry[axis]
        if a is not None:
            w = _face_average(a, axis, face_average) * w
        diag[_slab(ndim, axis, slice(None, -1))] += w
        diag[_slab(ndim, axis, slice(1, None))] += w
        weights.append(-w.ravel())
    values = np.concatenate([diag.ravel(), *weights])
    return values[pattern.take]


def _check_coefficient(a, shape) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.shape != shape:
        raise ValueError(f"coefficient a must have the grid shape {shape}; got {a.shape}")
    return check_positive("coefficient a", a)


def _check_source(f, shape) -> np.ndarray | float:
    if np.ndim(f) == 0:
        return float(check_finite("source f", float(f)))
    f = np.asarray(f, dtype=float)
    if f.shape != shape:
        raise ValueError(f"source f must be a scalar or have the grid shape {shape}; got {f.shape}")
    return check_finite("source f", f)


def _check_obstacle(obstacle, shape) -> np.ndarray | None:
    if obstacle is None:
        return None
    obstacle = np.asarray(obstacle)
    if obstacle.dtype != bool:
        raise TypeError(f"obstacle must be a boolean mask; got dtype {obstacle.dtype}")
    if obstacle.shape != shape:
        raise ValueError(f"obstacle must have the grid shape {shape}; got {obstacle.shape}")
    return obstacle


def _prepare(shape, bc, obstacle, face_average):
    shape = _check_grid_shape(shape)
    check_choice("face_average", face_average, _AVERAGES)
    kinds = _normalise_bc(bc, len(shape))
    return shape, _pattern(shape, kinds, _check_obstacle(obstacle, shape))


def poisson_system(
    shape: tuple[int, ...],
    *,
    a: np.ndarray | None = None,
    f: float | np.ndarray = 1.0,
    obstacle: np.ndarray | None = None,
    bc: str | Mapping[str, str] = "dirichlet",
    face_average: str = "harmonic",
) -> GridSystem:
    """Assemble -div(a grad u) = f on the node grid of the unit square or cube.

    Second-order 5-point (2D) or 7-point (3D) scheme, grid spacing h_i = 1 / (s_i - 1).

    Parameters
    ----------
    shape : (s1, s2) or (s1, s2, s3)
        Number of nodes per axis, boundary nodes included (each >= 3).
    a : array of grid shape, optional
        Positive, finite coefficient at the nodes; default a = 1.
    f : float or array of grid shape
        Source term at the nodes.
    obstacle : bool array of grid shape, optional
        Solid nodes, where u = 0 (homogeneous Dirichlet); they are not unknowns.
    bc : {"dirichlet", "neumann"} or mapping side -> kind
        Homogeneous condition on every side, or per side (``left``, ``right``, ``bottom``,
        ``top``, and ``front``, ``back`` in 3D; missing sides are Dirichlet).
    face_average : {"harmonic", "arithmetic"}
        Mean of the two nodal coefficients used on each face.

    Returns
    -------
    GridSystem
        ``matrix`` (n, n) symmetric positive definite CSR; ``rhs`` (n,); ``unknowns`` mask.

    Raises
    ------
    ValueError
        Bad shapes, non-positive or non-finite ``a``, unknown sides or options, or a
        pure-Neumann (singular) problem.

    Examples
    --------
    >>> sys = poisson_system((5, 5))
    >>> sys.matrix.shape, float(sys.matrix[0, 0])
    ((9, 9), 64.0)
    """
    shape, pattern = _prepare(shape, bc, obstacle, face_average)
    a_arr = None if a is None else _check_coefficient(a, shape)
    f_val = _check_source(f, shape)
    data = _matrix_data(pattern, a_arr, face_average)
    matrix = sp.csr_matrix((data, pattern.indices.copy(), pattern.indptr.copy()),
                           shape=(pattern.n, pattern.n))
    matrix.has_sorted_indices = True
    rhs = (pattern.volume * f_val)[pattern.unknowns]
    return GridSystem(matrix=matrix, rhs=rhs, unknowns=pattern.unknowns.copy(), shape=shape)
