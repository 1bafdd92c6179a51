"""Meshes of an L-shaped domain, a disk and an annulus, and tagging of boundary facets by position.

* :func:`l_shape`: ``(-1, 1)^2`` minus ``[0, 1) x (-1, 0]``; tags left=1, right=2, bottom=3,
  top=4, reentrant=5 (the two edges meeting at the re-entrant corner).
* :func:`disk`: a hexagonal triangle mesh mapped ring by ring onto the disk; tag outer=1.
* :func:`annulus`: a structured mesh of the ``(r, theta)`` rectangle, periodic in theta,
  mapped by polar coordinates; tags outer=1, inner=2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .mesh import Mesh
from .structured import _check_count, rectangle

__all__ = ["l_shape", "disk", "annulus", "mark_boundary"]


def mark_boundary(mesh: Mesh, predicates: Mapping[str, Callable[[np.ndarray], np.ndarray]], *,
                  keep: bool = False) -> Mesh:
    """Tag boundary facets by where their midpoints lie.

    Parameters
    ----------
    mesh : Mesh
    predicates : dict name -> callable
        Each callable takes facet midpoints ``(b, d)`` and returns a boolean mask ``(b,)``.
        Names get tags 1, 2, ... in the order given; the first predicate that holds wins.
    keep : bool
        If True, keep the mesh's existing tags for facets no predicate claims (tag numbers
        of new names start after the existing ones); else the result has only the new tags.

    Returns
    -------
    Mesh
        Same points and cells, with boundary facets tagged.

    Raises
    ------
    ValueError
        Some boundary facet matches no predicate (and is not kept).

    Examples
    --------
    >>> from pdekit.meshes import unit_square
    >>> m = mark_boundary(unit_square(2), {"wall": lambda x: x[:, 1] < 1 - 1e-12,
    ...                                    "lid": lambda x: x[:, 1] > 1 - 1e-12})
    >>> m.tag_names, len(m.boundary_facets("lid"))
    ({'wall': 1, 'lid': 2}, 2)
    """
    facets = mesh.boundary_facets()
    mid = mesh.points[facets].mean(axis=1)
    tags = np.zeros(len(facets), dtype=np.int64)
    names: dict[str, int] = {}
    start = max(mesh.known_tags(), default=0) if keep else 0
    for number, (name, predicate) in enumerate(predicates.items(), start=start + 1):
        mask = np.asarray(predicate(mid), dtype=bool)
        if mask.shape != (len(facets),):
            raise ValueError(f"predicate {name!r} must return a boolean mask of shape "
                             f"({len(facets)},); got shape {mask.shape}")
        tags[(tags == 0) & mask] = number
        names[name] = number
    if keep and len(mesh.facets):
        old_keys = {tuple(sorted(f)): t for f, t in zip(mesh.facets.tolist(), mesh.facet_tags.tolist())}
        for i in np.flatnonzero(tags == 0):
            tags[i] = old_keys.get(tuple(sorted(facets[i].tolist())), 0)
        names = {**mesh.tag_names, **names}
    if (tags == 0).any():
        i = int(np.argmax(tags == 0))
        raise ValueError(f"{int((tags == 0).sum())} boundary facets match no predicate, e.g. the "
                         f"facet with midpoint {mid[i].tolist()}; predicates: {list(predicates)}")
    return Mesh(mesh.points, mesh.cells, mesh.cell_type, facets=facets, facet_tags=tags,
                subdomains=mesh.subdomains, tag_names=names, subdomain_names=mesh.subdomain_names)


def l_shape(n: int, *, diagonal: str = "right") -> Mesh:
    """Triangle mesh of the L-shaped domain ``(-1, 1)^2 \\ [0, 1) x (-1, 0]``.

    Parameters
    ----------
    n : int
        Squares per unit length: three ``n x n`` blocks, ``6 n^2`` triangles, ``(2n+1)^2 - n^2``
        points.
    diagonal : str
        Diagonal pattern, see :func:`~pdekit.meshes.rectangle`.

    Returns
    -------
    Mesh
        Tags left=1 (x = -1), right=2 (x = 1), bottom=3 (y = -1), top=4 (y = 1),
        reentrant=5 (x = 0, y < 0 and y = 0, x > 0).
    """
    n = _check_count("n", n)
    square = rectangle(2 * n, 2 * n, x=(-1.0, 1.0), y=(-1.0, 1.0), diagonal=diagonal)
    centre = square.points[square.cells].mean(axis=1)
    keep = ~((centre[:, 0] > 0) & (centre[:, 1] < 0))
    cut = Mesh.from_arrays(square.points, square.cells[keep], "triangle", remove_unused=True)
    eps = 1e-9
    return mark_boundary(cut, {
        "left": lambda x: x[:, 0] < -1 + eps,
        "right": lambda x: x[:, 0] > 1 - eps,
        "bottom": lambda x: x[:, 1] < -1 + eps,
        "top": lambda x: x[:, 1] > 1 - eps,
        "reentrant": lambda x: (np.abs(x[:, 0]) < eps) | (np.abs(x[:, 1]) < eps),
    })


def disk(n: int, *, radius: float = 1.0, center: tuple[float, float] = (0.0, 0.0)) -> Mesh:
    """Triangle mesh of a disk: a hexagonal lattice mapped ring by ring onto circles.

    Ring ``k = 1..n`` of the hexagon (``6k`` points) is placed at radius ``k / n * radius``
    with equally spaced angles, so all triangles are close to equilateral.

    Parameters
    ----------
    n : int
        Number of rings (cells along a radius).
    radius : float
    center : (float, float)

    Returns
    -------
    Mesh
        ``6 n^2`` triangles, ``1 + 3 n (n + 1)`` points; tag outer=1.
    """
    n = _check_count("n", n)
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be positive and finite; got {radius!r}")
    pts = [np.zeros((1, 2))]
    offsets = [0]
    for k in range(1, n + 1):
        theta = 2 * np.pi * np.arange(6 * k) / (6 * k)
        pts.append(np.stack([np.cos(theta), np.sin(theta)], axis=1) * (k / n))
        offsets.append(offsets[-1] + (1 if k == 1 else 6 * (k - 1)))
    points = np.vstack(pts) * radius + np.asarray(center, dtype=np.float64)
    tris = []
    for k in range(1, n + 1):
        s = np.arange(6)[:, None]
        i_up = np.arange(k)[None, :]
        outer = lambda i: offsets[k] + (s * k + i) % (6 * k)  # noqa: E731
        inner = (lambda i: np.zeros_like(s + i)) if k == 1 else \
            (lambda i: offsets[k - 1] + (s * (k - 1) + i) % (6 * (k - 1)))
        tris.append(np.stack([inner(i_up), outer(i_up), outer(i_up + 1)], axis=-1).reshape(-1, 3))
        if k > 1:
            i_dn = np.arange(k - 1)[None, :]
            tris.append(np.stack([inner(i_dn), outer(i_dn + 1), inner(i_dn + 1)], axis=-1).reshape(-1, 3))
    ring = offsets[n] + np.arange(6 * n)
    facets = np.stack([ring, np.roll(ring, -1)], axis=1)
    return Mesh(points, np.vstack(tris), "triangle", facets=facets,
                facet_tags=np.ones(len(facets), dtype=np.int64), tag_names={"outer": 1})


def annulus(n: int, r_inner: float, *, r_outer: float = 1.0,
            center: tuple[float, float] = (0.0, 0.0), n_theta: int | None = None) -> Mesh:
    """Triangle mesh of an annulus, mapped from a periodic ``(r, theta)`` grid.

    Parameters
    ----------
    n : int
        Cells across the ring (radial direction).
    r_inner : float
        Inner radius, ``0 < r_inner < r_outer``.
    r_outer : float
    center : (float, float)
    n_theta : int, optional
        Cells around the ring; by default the one that makes cells about square at the
        mean radius (at least 6).

    Returns
    -------
    Mesh
        ``2 n n_theta`` triangles, ``(n + 1) n_theta`` points; tags outer=1, inner=2.
    """
    n = _check_count("n", n)
    if not (np.isfinite(r_outer) and np.isfinite(r_inner) and 0 < r_inner < r_outer):
        raise ValueError(f"radii must satisfy 0 < r_inner < r_outer; got r_inner={r_inner!r}, "
                         f"r_outer={r_outer!r}")
    if n_theta is None:
        h = (r_outer - r_inner) / n
        n_theta = max(6, int(round(np.pi * (r_inner + r_outer) / h)))
    nt = _check_count("n_theta", n_theta)
    if nt < 3:
        raise ValueError(f"n_theta must be at least 3; got {nt}")
    r = np.linspace(r_inner, r_outer, n + 1)
    theta = 2 * np.pi * np.arange(nt) / nt
    rr, tt = np.meshgrid(r, theta, indexing="ij")  # point (j, i) -> j * nt + i
    points = np.stack([rr.ravel() * np.cos(tt.ravel()), rr.ravel() * np.sin(tt.ravel())], axis=1)
    points += np.asarray(center, dtype=np.float64)
    j, i = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(nt), indexing="ij"))
    v00, v10 = j * nt + i, j * nt + (i + 1) % nt  # theta-neighbour
    v01, v11 = v00 + nt, v10 + nt  # radial neighbour
    # (r, theta) is a positively oriented chart, so (v00, v01, v11) is counterclockwise
    cells = np.vstack([np.stack([v00, v01, v11], 1), np.stack([v00, v11, v10], 1)])
    ring = np.arange(nt)
    outer = np.stack([n * nt + ring, n * nt + (ring + 1) % nt], axis=1)
    inner = np.stack([ring, (ring + 1) % nt], axis=1)
    return Mesh(points, cells, "triangle", facets=np.vstack([outer, inner]),
                facet_tags=np.repeat([1, 2], nt), tag_names={"outer": 1, "inner": 2})
