"""Striding a grid to a coarser resolution: which stride gives how many points.

Striding by ``k`` keeps the points ``0, k, 2k, ...`` of an axis of ``size`` points, so it keeps
``ceil(size / k)`` of them. Which strides are allowed depends on the grid:

* ``endpoint=True``: node grids holding both ends of the interval (the FNO Darcy grids, 421
  nodes on [0, 1]): the coarse grid must end on the last node, ``size - 1 = k (resolution - 1)``
  (421 -> 211, 141, 106, 85, 61, ...);
* ``endpoint=False``: periodic grids of ``size`` points on [0, 1): ``size = k resolution``;
* ``endpoint=None`` (default): any stride that leaves ``resolution`` points (scoring a model on
  data of another resolution, where only the point count matters).

This is the one stride rule of pdekit: generation (solve fine, store coarse), training and
evaluation (train or score at a coarser resolution) and the demo use it.

Examples
--------
>>> resolution_stride(421, 141), resolution_stride(421, 85, endpoint=True), resolution_stride(256, 64, endpoint=False)
(3, 5, 4)
>>> reachable_resolutions(421, endpoint=True, at_most=100)
[85, 71, 61, 43, 36, 31, 29, 22, 21, 16, 15, 13, 11, 8, 7, 6, 5, 4, 3, 2]
"""

from __future__ import annotations

__all__ = ["resolution_stride", "reachable_resolutions"]


def _check_size(size: int) -> int:
    if int(size) != size or size < 1:
        raise ValueError(f"a grid axis must have a positive integer number of points; got {size!r}")
    return int(size)


def _points(size: int, k: int, endpoint: bool | None) -> int | None:
    """Points left by stride ``k`` under the rule ``endpoint`` (None if the rule forbids ``k``)."""
    if endpoint is True and (size - 1) % k:
        return None
    if endpoint is False and size % k:
        return None
    return -(-size // k)


def reachable_resolutions(size: int, *, endpoint: bool | None = None,
                          at_most: int | None = None) -> list[int]:
    """Resolutions reachable from ``size`` points by an integer stride, largest first.

    Parameters
    ----------
    size : int
        Points per axis of the data.
    endpoint : bool or None
        The grid rule (see the module doc).
    at_most : int, optional
        Keep only resolutions ``<= at_most``.
    """
    size = _check_size(size)
    found = {_points(size, k, endpoint) for k in range(1, size + 1)} - {None}
    if endpoint is True and size > 1:
        found.discard(1)  # a node grid keeps both ends
    return sorted((r for r in found if at_most is None or r <= at_most), reverse=True)


def resolution_stride(size: int, resolution: int, *, endpoint: bool | None = None) -> int:
    """The stride that subsamples an axis of ``size`` points down to ``resolution`` points.

    Parameters
    ----------
    size : int
        Points per axis of the data (or of the grid solved on).
    resolution : int
        Points per axis wanted.
    endpoint : bool or None
        ``True``: node grid with both ends (``size - 1`` a multiple of ``resolution - 1``);
        ``False``: periodic grid (``size`` a multiple of ``resolution``); ``None``: any stride
        leaving ``resolution`` points.

    Returns
    -------
    int
        The stride ``k >= 1`` (the smallest one when several leave ``resolution`` points).

    Raises
    ------
    ValueError
        ``resolution`` is out of range or no stride allowed by the rule reaches it; the message
        lists reachable resolutions.
    """
    size = _check_size(size)
    if int(resolution) != resolution or not 1 <= resolution <= size or (endpoint is True and resolution < 2 < size):
        low = 2 if endpoint is True and size > 1 else 1
        raise ValueError(f"resolution must be an integer between {low} and the data's {size} points; "
                         f"got {resolution!r}")
    resolution = int(resolution)
    for k in range(1, size + 1):
        if _points(size, k, endpoint) == resolution:
            return k
    rule = {True: "(size - 1) must be a multiple of (resolution - 1) on a grid with both ends",
            False: "size must be a multiple of resolution on a periodic grid",
            None: "no integer stride leaves that many points"}[endpoint]
    reachable = reachable_resolutions(size, endpoint=endpoint)[:12]
    raise ValueError(f"data with {size} points per axis cannot be strided to {resolution} points: "
                     f"{rule}; reachable resolutions include {reachable}")
