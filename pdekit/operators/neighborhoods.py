"""Radius neighbourhoods between two point sets, as CSR lists, and the messages passed along them.

A graph neural operator integrates over the ball ``B_r(x)`` around each target point ``x``:
:func:`radius_neighborhoods` finds, once, the source points inside every ball (scipy's
``cKDTree``) and stores them as a :class:`Neighborhoods` in compressed sparse row form (row
``i`` lists the sources of target ``i``). :func:`neighborhood_sum` then computes
``out[b, i] = sum_{e: target(e) = i} f[b, source(e)] * k[e]`` with ``index_select`` and
``index_add_``: plain torch, the same code on CPU and GPU, no compiled extension. Its gradient
is written out (:class:`_WeightedNeighborhoodSum`) so that the ``(batch, n_edges, channels)``
messages are transient in both passes and never stored between them.

Examples
--------
>>> import numpy as np
>>> sources = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
>>> nb = radius_neighborhoods(sources, np.array([[0.1, 0.0], [0.9, 0.9]]), 0.5)
>>> nb.indptr.tolist(), nb.indices.tolist()
([0, 1, 1], [0])
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from scipy.spatial import cKDTree

__all__ = ["Neighborhoods", "radius_neighborhoods", "neighborhood_sum", "weighted_neighborhood_sum"]


@dataclasses.dataclass(frozen=True, eq=False)
class Neighborhoods:
    """Source points within a radius of each target point, in CSR form.

    Attributes
    ----------
    indptr : (n_targets + 1,) int64
        Row pointers: the sources of target ``i`` are ``indices[indptr[i]:indptr[i+1]]``.
    indices : (n_edges,) int64
        Source index of every edge, sorted within each row.
    n_sources : int
        Number of source points.
    """

    indptr: np.ndarray
    indices: np.ndarray
    n_sources: int
    _on_device: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def n_targets(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_edges(self) -> int:
        return len(self.indices)

    def counts(self) -> np.ndarray:
        """Number of sources of each target, ``(n_targets,)``."""
        return np.diff(self.indptr)

    def rows(self) -> np.ndarray:
        """Target index of every edge, ``(n_edges,)`` int64."""
        return np.repeat(np.arange(self.n_targets, dtype=np.int64), self.counts())

    def torch_edges(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """``(sources, targets)`` of every edge as int64 tensors on ``device`` (cached per device)."""
        device = torch.device(device)
        if device not in self._on_device:
            self._on_device[device] = (torch.from_numpy(self.indices).to(device),
                                       torch.from_numpy(self.rows()).to(device))
        return self._on_device[device]


def _as_points(name: str, points, dim: int | None = None) -> np.ndarray:
    if isinstance(points, torch.Tensor):
        points = points.detach().cpu().numpy()
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or not 1 <= arr.shape[1] <= 3:
        raise ValueError(f"{name} must have shape (n, d) with d = 1, 2 or 3; got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} are {arr.shape[1]}-D; expected {dim}-D points, shape (n, {dim})")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contain NaN or inf coordinates")
    return arr


def radius_neighborhoods(sources, targets, radius: float, *, tree: cKDTree | None = None) -> Neighborhoods:
    """The sources within distance ``radius`` (inclusive) of each target.

    Parameters
    ----------
    sources : (n_s, d) array
    targets : (n_t, d) array
    radius : float
        Positive, in the units of the coordinates.
    tree : cKDTree, optional
        A tree already built over ``sources`` (saves rebuilding it for every target set).

    Returns
    -------
    Neighborhoods
        ``n_targets = n_t``; rows sorted by source index.
    """
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive number; got {radius!r}")
    sources = _as_points("sources", sources)
    targets = _as_points("targets", targets, sources.shape[1])
    if tree is None:
        tree = cKDTree(sources)
    lists = tree.query_ball_point(targets, r=float(radius), return_sorted=True)
    counts = np.fromiter((len(row) for row in lists), dtype=np.int64, count=len(lists))
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = (np.concatenate([np.asarray(row, dtype=np.int64) for row in lists])
               if indptr[-1] else np.zeros(0, dtype=np.int64))
    return Neighborhoods(indptr=indptr, indices=indices, n_sources=len(sources))


def neighborhood_sum(values: torch.Tensor, targets: torch.Tensor, n_targets: int) -> torch.Tensor:
    """Sum edge values into their targets: ``out[..., i, :] = sum_{e: targets[e] = i} values[..., e, :]``.

    Parameters
    ----------
    values : (batch, n_edges, channels) tensor
    targets : (n_edges,) int64 tensor
        Target index of every edge (:meth:`Neighborhoods.torch_edges`).
    n_targets : int

    Returns
    -------
    (batch, n_targets, channels) tensor
        Zero for targets without edges.
    """
    out = values.new_zeros(values.shape[0], n_targets, values.shape[-1])
    return out.index_add_(1, targets, values)


class _WeightedNeighborhoodSum(torch.autograd.Function):
    """``out[b, i] = sum_{e: targets[e] = i} f[b, sources[e]] * k[e]`` with a memory-lean backward.

    Autograd of the three plain ops would keep the gathered ``f[:, sources]`` and the product
    (two ``(batch, n_edges, channels)`` tensors per call) until the backward pass; this function
    keeps only its inputs and rebuilds the gathers in the backward pass.
    """

    @staticmethod
    def forward(ctx, f, k, sources, targets, n_targets):
        messages = f.index_select(1, sources).mul_(k)
        out = f.new_zeros(f.shape[0], n_targets, f.shape[2]).index_add_(1, targets, messages)
        ctx.save_for_backward(f, k, sources, targets)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        f, k, sources, targets = ctx.saved_tensors
        grad_f = grad_k = None
        g = grad.index_select(1, targets)  # (batch, n_edges, channels)
        if ctx.needs_input_grad[0]:
            grad_f = torch.zeros_like(f).index_add_(1, sources, g * k)
        if ctx.needs_input_grad[1]:
            grad_k = g.mul_(f.index_select(1, sources)).sum(0)
        return grad_f, grad_k, None, None, None


def weighted_neighborhood_sum(f: torch.Tensor, k: torch.Tensor, neighborhoods: Neighborhoods) -> torch.Tensor:
    """Sum every source's values times its edge's weights into the edge's target.

    ``out[b, i, c] = sum_{e in row i} f[b, indices[e], c] * k[e, c]``.

    Parameters
    ----------
    f : (batch, n_sources, channels) tensor
    k : (n_edges, channels) tensor
        One weight per edge and channel (a kernel times quadrature weights).
    neighborhoods : Neighborhoods

    Returns
    -------
    (batch, n_targets, channels) tensor
        Zero for targets without edges.
    """
    sources, targets = neighborhoods.torch_edges(f.device)
    k = k.to(f.dtype)
    return _WeightedNeighborhoodSum.apply(f, k, sources, targets, neighborhoods.n_targets)
