"""The :class:`Mesh` dataclass: a conforming simplicial mesh with tagged boundary facets.

A mesh holds points ``(n, d)``, cells ``(m, d+1)`` of one simplex type ("line" in 1D,
"triangle" in 2D, "tetra" in 3D), tagged facets (boundary parts such as "left" or "outer",
or interfaces), and integer subdomain tags per cell. Construction validates everything:

* points must be finite, cells must index existing points, every point must be used;
* degenerate cells (repeated vertices or zero measure) raise;
* inverted cells (``det J <= 0``) raise, unless built with ``Mesh.from_arrays(..., orient=True)``,
  which swaps two vertices of each inverted cell;
* tagged facets must be facets of the mesh; they are stored in the vertex order of the cell
  that owns them, so a boundary facet's normal (right-hand rule) points out of the domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from .._validation import check_finite
from .geometry import _volumes_sizes_repeats, cell_volumes
from .topology import CELL_TYPES, LOCAL_EDGES, LOCAL_FACETS, boundary_facets as _boundary_facets, locate_facets, sorted_keys

__all__ = ["Mesh", "UnknownTagError"]

TagSpec = Union[str, int, Sequence, None]

#: relative size below which |det J| / h^d counts as a zero-measure cell
DEGENERATE_RTOL = 1e-12

_SWAP = {"line": (0, 1), "triangle": (1, 2), "tetra": (2, 3)}


class UnknownTagError(KeyError, ValueError):
    """A boundary tag that the mesh does not know (catch as KeyError or ValueError)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _as_index_array(name: str, a, ncols: int | None, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.size == 0 and ncols is not None:
        return np.zeros((0, ncols), dtype=np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer indices; got non-integer floats")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array; got dtype {arr.dtype}")
    if ncols is not None and (arr.ndim != 2 or arr.shape[1] != ncols):
        raise ValueError(f"{name} must have shape (count, {ncols}) {what}; got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _check_names(name: str, names: Mapping) -> dict[str, int]:
    if not isinstance(names, Mapping):
        raise TypeError(f"{name} must be a dict str -> int; got {type(names).__name__}")
    out: dict[str, int] = {}
    for key, value in names.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must map str -> int; got {key!r}: {value!r}")
        out[key] = int(value)
    return out


@dataclass(eq=False)
class Mesh:
    """A conforming simplicial mesh with tagged boundary facets and subdomain tags.

    Parameters
    ----------
    points : (n, d) float64
        Vertex coordinates, ``d`` = 1, 2 or 3.
    cells : (m, k) int64
        Vertex indices of each cell; ``k = d + 1``.
    cell_type : {"line", "triangle", "tetra"}
        Simplex type, of topological dimension ``d``.
    facets : (f, k-1) int64, optional
        Tagged facets (points in 1D, edges in 2D, triangles in 3D). Usually boundary facets;
        interior facets (interfaces) are allowed. Each is stored in its cell's local order.
    facet_tags : (f,) int64, optional
        Integer tag of each facet.
    subdomains : (m,) int64, optional
        Integer tag of each cell; zeros by default.
    tag_names : dict[str, int], optional
        Boundary tag name -> integer tag, e.g. ``{"left": 1, "right": 2}``.
    subdomain_names : dict[str, int], optional
        Subdomain name -> integer cell tag.

    Raises
    ------
    ValueError
        NaN points, out-of-range indices, unused points, degenerate or inverted cells,
        facets that are not facets of the mesh, or mismatched array shapes.

    Examples
    --------
    >>> import numpy as np
    >>> m = Mesh(np.array([[0., 0.], [1., 0.], [0., 1.]]), np.array([[0, 1, 2]]), "triangle")
    >>> m.n_points, m.n_cells, m.dim
    (3, 1, 2)
    >>> m.boundary_nodes().tolist()
    [0, 1, 2]
    """

    points: np.ndarray
    cells: np.ndarray
    cell_type: str
    facets: np.ndarray = None  # type: ignore[assignment]
    facet_tags: np.ndarray = None  # type: ignore[assignment]
    subdomains: np.ndarray = None  # type: ignore[assignment]
    tag_names: dict[str, int] = field(default_factory=dict)
    subdomain_names: dict[str, int] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    # ------------------------------------------------------------------ construction
    def __post_init__(self) -> None:
        self._validate(orient=False)

    @classmethod
    def from_arrays(
        cls,
        points,
        cells,
        cell_type: str | None = None,
        *,
        facets=None,
        facet_tags=None,
        subdomains=None,
        tag_names: Mapping[str, int] | None = None,
        subdomain_names: Mapping[str, int] | None = None,
        orient: bool = False,
        remove_unused: bool = False,
    ) -> "Mesh":
        """Build a mesh from raw arrays, optionally repairing orientation and unused points.

        Parameters
        ----------
        points : (n, d) array_like
        cells : (m, k) array_like of int
        cell_type : str, optional
            Inferred from ``k`` (2 -> "line", 3 -> "triangle", 4 -> "tetra") when omitted.
        facets, facet_tags, subdomains, tag_names, subdomain_names
            As in :class:`Mesh`.
        orient : bool
            If True, inverted cells (negative determinant) are reoriented by swapping two
            vertices; if False (default) they raise ``ValueError``. Degenerate cells always raise.
        remove_unused : bool
            If True, points no cell uses are dropped and indices renumbered; otherwise they raise.
        """
        points = check_finite("points", np.asarray(points, dtype=np.float64))
        cells = _as_index_array("cells", cells, None, "")
        if cell_type is None:
            by_k = {k: t for t, (_, k) in CELL_TYPES.items()}
            if cells.ndim != 2 or cells.shape[1] not in by_k:
                raise ValueError(f"cannot infer cell_type from cells of shape {cells.shape}; "
                                 "expected (m, 2), (m, 3) or (m, 4)")
            cell_type = by_k[cells.shape[1]]
        if remove_unused and cells.ndim == 2 and cells.size and points.ndim == 2:
            if cells.min() < 0 or cells.max() >= len(points):
                bad = np.argwhere((cells < 0) | (cells >= len(points)))[0]
                raise ValueError(f"cells[{bad[0]}, {bad[1]}] = {cells[tuple(bad)]} is out of range "
                                 f"[0, {len(points)})")
            used = np.zeros(len(points), dtype=bool)
            used[cells.ravel()] = True
            new_index = np.cumsum(used) - 1
            points, cells = points[used], new_index[cells]
            if facets is not None and np.size(facets):
                facets = _as_index_array("facets", facets, None, "")
                if facets.min() < 0 or facets.max() >= len(used) or not used[facets].all():
                    raise ValueError("facets refer to points that no cell uses")
                facets = new_index[facets]
        mesh = cls.__new__(cls)
        mesh.points, mesh.cells, mesh.cell_type = points, cells, cell_type
        mesh.facets, mesh.facet_tags, mesh.subdomains = facets, facet_tags, subdomains
        mesh.tag_names = dict(tag_names or {})
        mesh.subdomain_names = dict(subdomain_names or {})
        mesh._cache = {}
        mesh._validate(orient=orient)
        return mesh

    def _validate(self, *, orient: bool) -> None:
        if self.cell_type not in CELL_TYPES:
            raise ValueError(f"unknown cell_type {self.cell_type!r}; expected one of {sorted(CELL_TYPES)}")
        tdim, k = CELL_TYPES[self.cell_type]
        pts = check_finite("points", np.asarray(self.points, dtype=np.float64))
        if pts.ndim != 2 or pts.shape[1] != tdim:
            raise ValueError(f"points must have shape (n, {tdim}) for {self.cell_type!r} cells; "
                             f"got shape {pts.shape}")
        self.points = np.ascontiguousarray(pts)
        n = len(self.points)
        cells = _as_index_array("cells", self.cells, k, f"for {self.cell_type!r} cells")
        if len(cells) == 0:
            raise ValueError("a mesh needs at least one cell; got cells of shape " f"{cells.shape}")
        if cells.min() < 0 or cells.max() >= n:
            out = (cells < 0) | (cells >= n)
            i, j = np.argwhere(out)[0]
            raise ValueError(f"cells[{i}, {j}] = {cells[i, j]} is out of range [0, {n}) "
                             f"({int(out.sum())} out-of-range indices)")
        used = np.zeros(n, dtype=bool)
        used[cells.reshape(-1)] = True
        vol, h, rep = _volumes_sizes_repeats(self.points, cells, LOCAL_EDGES[self.cell_type])
        if rep.any():
            c = int(np.argmax(rep))
            raise ValueError(f"cell {c} has a repeated vertex: {cells[c].tolist()}; "
                             f"{int(rep.sum())} degenerate cells in all")
        if not used.all():
            unused = np.flatnonzero(~used)
            raise ValueError(f"{unused.size} points are used by no cell, the first is point "
                             f"{unused[0]}; pass remove_unused=True to Mesh.from_arrays to drop them")
        zero = np.abs(vol) <= DEGENERATE_RTOL * h**tdim
        if zero.any():
            c = int(np.argmax(zero))
            raise ValueError(f"cell {c} (vertices {cells[c].tolist()}) has zero measure "
                             f"({vol[c]:.3g}); {int(zero.sum())} degenerate cells in all")
        neg = vol < 0
        if neg.any():
            if not orient:
                c = int(np.argmax(neg))
                raise ValueError(f"{int(neg.sum())} cells are inverted (negative det J), the first is "
                                 f"cell {c} with vertices {cells[c].tolist()}; use "
                                 "Mesh.from_arrays(..., orient=True) to reorient them")
            a, b = _SWAP[self.cell_type]
            cells = cells.copy()
            cells[neg, a], cells[neg, b] = cells[neg, b], cells[neg, a].copy()
        self.cells = cells
        self._validate_tags()

    def _validate_tags(self) -> None:
        m, k = self.cells.shape
        n = len(self.points)
        facets = _as_index_array("facets", np.zeros((0, k - 1)) if self.facets is None else self.facets,
                                 k - 1, f"for {self.cell_type!r} cells")
        tags = np.zeros(0, dtype=np.int64) if self.facet_tags is None else np.asarray(self.facet_tags)
        tags = _as_index_array("facet_tags", tags.reshape(-1), None, "")
        if tags.shape != (len(facets),):
            raise ValueError(f"facet_tags must have shape ({len(facets)},), one per facet; "
                             f"got shape {np.shape(self.facet_tags)}")
        if len(facets):
            out = (facets < 0) | (facets >= n)
            if out.any():
                i, j = np.argwhere(out)[0]
                raise ValueError(f"facets[{i}, {j}] = {facets[i, j]} is out of range [0, {n})")
            cell, loc = locate_facets(self.cells, self.cell_type, facets)
            missing = cell < 0
            if missing.any():
                i = int(np.argmax(missing))
                raise ValueError(f"facets[{i}] = {facets[i].tolist()} is not a facet of any cell "
                                 f"({int(missing.sum())} such facets)")
            facets = self.cells[cell[:, None], LOCAL_FACETS[self.cell_type][loc]]
            _, first, counts = np.unique(sorted_keys(facets)[0], return_index=True,
                                         return_counts=True)
            if counts.max() > 1:
                i = int(first[np.argmax(counts > 1)])
                raise ValueError(f"facet {facets[i].tolist()} is listed {int(counts.max())} times; "
                                 "each facet carries one tag")
        self.facets, self.facet_tags = facets, tags
        sub = np.zeros(m, dtype=np.int64) if self.subdomains is None else self.subdomains
        sub = _as_index_array("subdomains", np.asarray(sub).reshape(-1), None, "")
        if sub.shape != (m,):
            raise ValueError(f"subdomains must have shape ({m},), one tag per cell; "
                             f"got shape {np.shape(self.subdomains)}")
        self.subdomains = sub
        self.tag_names = _check_names("tag_names", self.tag_names)
        self.subdomain_names = _check_names("subdomain_names", self.subdomain_names)
        self._cache = {}

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int:
        """Spatial (= topological) dimension ``d``."""
        return int(self.points.shape[1])

    @property
    def n_points(self) -> int:
        """Number of points ``n``."""
        return int(self.points.shape[0])

    @property
    def n_cells(self) -> int:
        """Number of cells ``m``."""
        return int(self.cells.shape[0])

    @property
    def volume(self) -> float:
        """Measure of the domain (sum of cell volumes)."""
        return float(self.cell_volumes().sum())

    def __setattr__(self, name: str, value) -> None:
        # derived data (volumes, boundary) is cached; assigning a field drops the cache
        object.__setattr__(self, name, value)
        if name != "_cache" and "_cache" in self.__dict__:
            self.__dict__["_cache"] = {}

    def cell_volumes(self) -> np.ndarray:
        """Measure of each cell; shape (m,), read-only (cached)."""
        if "volumes" not in self._cache:
            vol = cell_volumes(self.points, self.cells)
            vol.setflags(write=False)
            self._cache["volumes"] = vol
        return self._cache["volumes"]

    # ------------------------------------------------------------------ boundary
    def _boundary(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if "boundary" not in self._cache:
            parts = _boundary_facets(self.cells, self.cell_type)
            for a in parts:
                a.setflags(write=False)
            self._cache["boundary"] = parts
        return self._cache["boundary"]

    def known_tags(self) -> list[int]:
        """Sorted integer facet tags that are named or present."""
        return sorted(set(self.tag_names.values()) | set(np.unique(self.facet_tags).tolist()))

    def _resolve(self, tag) -> set[int]:
        if isinstance(tag, str):
            if tag not in self.tag_names:
                raise UnknownTagError(f"unknown boundary tag {tag!r}; known tag names: {self.tag_names}, "
                               f"integer tags: {self.known_tags()}")
            return {self.tag_names[tag]}
        if isinstance(tag, (int, np.integer)) and not isinstance(tag, bool):
            if int(tag) not in self.known_tags():
                raise UnknownTagError(f"unknown boundary tag {int(tag)}; known tag names: {self.tag_names}, "
                               f"integer tags: {self.known_tags()}")
            return {int(tag)}
        if isinstance(tag, (Sequence, set, frozenset, np.ndarray)):
            out: set[int] = set()
            for t in (tag.tolist() if isinstance(tag, np.ndarray) else tag):
                out |= self._resolve(t)
            return out
        raise TypeError(f"tag must be a name, an int, a sequence of those, or None; got {tag!r}")

    def boundary_facets(self, tag: TagSpec = None) -> np.ndarray:
        """Facets of the boundary, or of the given tags.

        Parameters
        ----------
        tag : str, int, sequence of str/int, or None
            None gives the whole topological boundary (facets of exactly one cell), whether
            tagged or not; otherwise the tagged facets carrying any of the given tags.

        Returns
        -------
        facets : (f', k-1) int64
            Oriented so that the normal of a boundary facet points outward. The whole
            boundary (``tag=None``) is cached and returned read-only.

        Raises
        ------
        UnknownTagError
            An unknown tag (a KeyError and a ValueError); the message lists the known ones.
        """
        if tag is None:
            return self._boundary()[0]
        wanted = np.array(sorted(self._resolve(tag)), dtype=np.int64)
        return self.facets[np.isin(self.facet_tags, wanted)]

    def boundary_nodes(self, tag: TagSpec = None) -> np.ndarray:
        """Sorted unique point indices on the boundary (or on the given tags); shape (p,)."""
        return np.unique(self.boundary_facets(tag)).astype(np.int64)

    def facet_cells(self, facets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cell that owns each facet and the facet's local index in it.

        Parameters
        ----------
        facets : (f, k-1) int array, any vertex order

        Returns
        -------
        cell : (f,) int64
        local_index : (f,) int64
            The facet is opposite local vertex ``local_index`` of ``cell``.

        Raises
        ------
        ValueError
            A row is not a facet of the mesh.
        """
        k = self.cells.shape[1]
        facets = _as_index_array("facets", facets, k - 1, f"for {self.cell_type!r} cells")
        if len(facets) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        cell, loc = locate_facets(self.cells, self.cell_type, facets)
        if (cell < 0).any():
            i = int(np.argmax(cell < 0))
            raise ValueError(f"facets[{i}] = {facets[i].tolist()} is not a facet of the mesh")
        return cell, loc

    def with_points(self, points: np.ndarray, *, orient: bool = False) -> "Mesh":
        """A mesh with the same topology and tags on moved points (validated again)."""
        return Mesh.from_arrays(points, self.cells, self.cell_type, facets=self.facets,
                                facet_tags=self.facet_tags, subdomains=self.subdomains,
                                tag_names=self.tag_names, subdomain_names=self.subdomain_names,
                                orient=orient)

    def __repr__(self) -> str:
        return (f"Mesh({self.cell_type}, n_points={self.n_points}, n_cells={self.n_cells}, "
                f"dim={self.dim}, facets={len(self.facets)}, tags={self.tag_names})")
