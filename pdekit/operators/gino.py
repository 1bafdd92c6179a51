"""GINO: a geometry-informed neural operator for functions on unstructured meshes (Li et al. 2023).

Mesh -> latent grid -> FNO -> mesh::

    h   = lifting(f)                                  pointwise, on the mesh points
    v   = GNO_in(h)  on the latent grid nodes         kernel integral over radius balls,
                                                      weighted by the mesh's quadrature weights
    z   = FNO([v, m])                                 pdekit's FNO on the grid (any factorization);
                                                      m = measure of each ball inside the domain
    u   = GNO_out(z) at the query points              kernel integral over the latent nodes
    out = projection(u)                               pointwise

Both graph layers approximate integrals (:mod:`pdekit.operators.gno`), so a model trained on
one mesh evaluates on another mesh of the same domain (refined, or meshed differently): it
re-binds to the new points, computes their neighbourhoods once and caches them
(:class:`~pdekit.operators.mesh_geometry.MeshGeometry`). The geometry is data, not weights:
``save`` / ``load`` store the configuration and the weights only.

Inputs follow pdekit's layout, channels first: ``x : (batch, in_channels, n_points)``, the
layout of :func:`pdekit.data.open_dataset` samples and of the Trainer;
``channels_last=True`` takes and returns ``(batch, n_points, channels)`` (neuraloperator's).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch

from pdekit.operators.base import OperatorModel
from pdekit.operators.fno import FNO
from pdekit.operators.gno import KernelIntegral, ball_volume, edge_features
from pdekit.operators.layers import ChannelMLP
from pdekit.operators.mesh_geometry import MeshGeometry, as_geometry
from pdekit.operators.neighborhoods import radius_neighborhoods

__all__ = ["GINO", "bind_geometry", "uses_mesh"]

#: relative tolerance (of the box size) for points on the boundary of the model's box
_BOX_RTOL = 1e-6


def _positive_ints(name: str, values, n: int | None = None) -> tuple[int, ...]:
    if isinstance(values, (int, np.integer)):
        values = (int(values),) * (n or 1)
    try:
        out = tuple(int(v) for v in values)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints; got {values!r}") from None
    if any(o != v for o, v in zip(out, values)) or not out or min(out) < 1:
        raise ValueError(f"{name} must hold positive integers; got {values!r}")
    if n is not None and len(out) != n:
        raise ValueError(f"{name} must have {n} entries, one per dimension; got {values!r}")
    return out


def _box(domain, dim: int) -> np.ndarray:
    if domain is None:
        return np.tile([0.0, 1.0], (dim, 1))
    box = np.asarray(domain, dtype=np.float64)
    if box.shape != (dim, 2) or not np.isfinite(box).all() or (box[:, 1] <= box[:, 0]).any():
        raise ValueError(f"domain must be {dim} pairs (lo, hi) with lo < hi, one per axis of the latent grid; "
                         f"got {domain!r}")
    return box


class GINO(OperatorModel):
    """Geometry-informed neural operator: mesh -> latent grid (GNO) -> FNO -> mesh (GNO).

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input function and of the output.
    latent_shape : sequence of int
        Nodes of the latent grid per axis (2 or 3 entries for 2D or 3D meshes, 1 for 1D);
        the nodes span ``domain`` including its faces.
    n_modes : int or sequence of int
        Fourier modes of the latent FNO per axis.
    hidden_channels : int
        Width of the latent FNO (and of the graph layers unless ``gno_channels``).
    radius : float
        Radius of the neighbourhoods of the input graph layer (mesh points within ``radius``
        of a latent node), in the units of the points.
    domain : sequence of (lo, hi), optional
        The box of the latent grid, one pair per axis; every mesh point must lie in it.
        Default: the unit box ``[0, 1]^d``.
    out_radius : float, optional
        Radius of the output graph layer (latent nodes within ``out_radius`` of a query
        point); default ``radius``. At least half the diagonal of a latent cell, so that every
        point of the box has a latent node in range.
    n_layers : int
        Fourier blocks of the FNO.
    gno_channels : int, optional
        Channels integrated by the input graph layer (default ``hidden_channels``).
    kernel_width, kernel_layers : int
        Hidden width and number of linear layers of the kernel MLPs.
    projection_channel_ratio : float
        Hidden width of the output projection as a multiple of ``hidden_channels``.
    non_linearity : {"gelu", "relu", "tanh", "silu"}
        Activation of the lifting, kernels and projection.
    gno_frequencies : int
        Octaves of the Fourier features of the kernels' inputs (edge offsets and positions,
        :func:`~pdekit.operators.gno.fourier_features`); 0 feeds them raw.
    in_transform : {"linear", "nonlinear"}
        Kernel of the input graph layer: ``k(x, y)`` or ``k(x, y, f(y))``
        (:class:`~pdekit.operators.gno.KernelIntegral`).
    factorization : {None, "dense", "tucker", "cp", "tt"}
        Spectral weights of the FNO: ``"tucker"`` makes the latent network a TFNO.
    rank : float or int
        Rank of factorized spectral weights.
    domain_padding : float, optional
        Zero padding of the latent grid as a fraction of the domain (the FNO is periodic).

    Examples
    --------
    >>> from pdekit import meshes
    >>> mesh = meshes.unit_square(8)
    >>> model = GINO(1, 1, latent_shape=(8, 8), n_modes=(4, 4), hidden_channels=8, radius=0.2,
    ...              n_layers=1)
    >>> a = torch.rand(3, 1, mesh.n_points)
    >>> model(a, mesh).shape
    torch.Size([3, 1, 81])
    >>> model(a, mesh, query_points=[[0.5, 0.5]]).shape   # anywhere in the domain
    torch.Size([3, 1, 1])
    >>> model.bind(meshes.refine(mesh))(torch.rand(2, 1, 289)).shape   # another mesh, bound
    torch.Size([2, 1, 289])
    """

    def __init__(self, in_channels: int, out_channels: int, *, latent_shape: Sequence[int],
                 n_modes: int | Sequence[int], hidden_channels: int, radius: float,
                 domain: Sequence[Sequence[float]] | None = None, out_radius: float | None = None,
                 n_layers: int = 4, gno_channels: int | None = None, kernel_width: int = 64,
                 kernel_layers: int = 2, projection_channel_ratio: float = 2.0,
                 non_linearity: str = "gelu", gno_frequencies: int = 0, in_transform: str = "linear",
                 factorization: str | None = None, rank=1.0, domain_padding: float | None = None):
        super().__init__()
        (self.in_channels, self.out_channels, self.hidden_channels, self.n_layers, kernel_width,
         kernel_layers) = _positive_ints(
            "in_channels, out_channels, hidden_channels, n_layers, kernel_width and kernel_layers",
            (in_channels, out_channels, hidden_channels, n_layers, kernel_width, kernel_layers))
        self.latent_shape = _positive_ints("latent_shape", latent_shape)
        dim = len(self.latent_shape)
        if dim > 3 or min(self.latent_shape) < 2:
            raise ValueError(f"latent_shape must hold 1 to 3 axes of at least 2 nodes; got {latent_shape!r}")
        self.n_dim = dim
        self.n_modes = _positive_ints("n_modes", n_modes, dim)
        too_many = [(m, n) for m, n in zip(self.n_modes, self.latent_shape) if m > n]
        if too_many:
            raise ValueError(f"n_modes {self.n_modes} exceed the latent grid {self.latent_shape}: "
                             f"at most one mode per node along each axis")
        self.box = _box(domain, dim)
        self.radius = self._check_radius("radius", radius)
        self.out_radius = self.radius if out_radius is None else self._check_radius("out_radius", out_radius)
        axes = [np.linspace(lo, hi, n) for (lo, hi), n in zip(self.box, self.latent_shape)]
        spacing = (self.box[:, 1] - self.box[:, 0]) / (np.asarray(self.latent_shape) - 1)
        half_diagonal = 0.5 * float(np.linalg.norm(spacing))
        if self.out_radius < half_diagonal * (1 - 1e-9):
            raise ValueError(f"out_radius = {self.out_radius:g} is below half the diagonal of a latent cell "
                             f"({half_diagonal:.4g}): points between latent nodes would have none in range; "
                             f"use out_radius >= {half_diagonal:.4g} (or a finer latent grid)")
        nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
        self._latent = MeshGeometry(nodes, np.full(len(nodes), float(np.prod(spacing))))
        self._latent_key = (tuple(map(tuple, self.box.tolist())), self.latent_shape)
        self._geometries: OrderedDict[str, MeshGeometry] = OrderedDict()
        self._bound: MeshGeometry | None = None

        width = self.hidden_channels if gno_channels is None else _positive_ints("gno_channels", (gno_channels,))[0]
        self.lifting = ChannelMLP(self.in_channels, width, width, non_linearity=non_linearity)
        self.gno_in = KernelIntegral(width, dim, kernel_width=kernel_width, kernel_layers=kernel_layers,
                                     non_linearity=non_linearity, frequencies=gno_frequencies,
                                     transform=in_transform)
        self.fno = FNO(self.n_modes, in_channels=width + 1, out_channels=self.hidden_channels,
                       hidden_channels=self.hidden_channels, n_layers=self.n_layers,
                       factorization=factorization, rank=rank, domain_padding=domain_padding)
        self.gno_out = KernelIntegral(self.hidden_channels, dim, kernel_width=kernel_width,
                                      kernel_layers=kernel_layers, non_linearity=non_linearity,
                                      frequencies=gno_frequencies)
        self.projection = ChannelMLP(self.hidden_channels, self.out_channels,
                                     max(1, int(round(projection_channel_ratio * self.hidden_channels))),
                                     non_linearity=non_linearity)

    @staticmethod
    def _check_radius(name: str, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number; got {value!r}")
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive distance in the units of the mesh points; got {value!r}")
        return float(value)

    # ------------------------------------------------------------------ geometry
    @property
    def latent_points(self) -> np.ndarray:
        """Coordinates of the latent grid nodes, ``(prod(latent_shape), d)`` in C order."""
        return self._latent.points

    @property
    def geometry(self) -> MeshGeometry | None:
        """The geometry the model is bound to (None if unbound)."""
        return self._bound

    def bind(self, points, weights=None) -> "GINO":
        """Bind the model to a mesh: later calls without points use it. Returns the model.

        ``points`` is a :class:`~pdekit.meshes.Mesh`, a :class:`MeshGeometry`, or an
        ``(n, d)`` array with its quadrature ``weights``; ``None`` unbinds.
        """
        self._bound = None if points is None and weights is None else self._geometry(points, weights)
        return self

    def _geometry(self, points, weights=None) -> MeshGeometry:
        geometry = as_geometry(points, weights, cache=self._geometries)
        if geometry.dim != self.n_dim:
            raise ValueError(f"this GINO works on {self.n_dim}-D points (its latent grid has {self.n_dim} axes); "
                             f"got {geometry.dim}-D points of shape {geometry.points.shape}")
        outside = geometry.cached(("gino-outside", self._latent_key), lambda: self._count_outside(geometry.points))
        if outside:
            lo, hi = geometry.points.min(axis=0), geometry.points.max(axis=0)
            raise ValueError(f"{outside} of the {geometry.n_points} points lie outside the model's domain "
                             f"{self.box.tolist()} (the points span {np.stack([lo, hi], 1).tolist()}); "
                             f"build the GINO with a domain that contains the mesh")
        return geometry

    def _count_outside(self, points: np.ndarray) -> int:
        tol = _BOX_RTOL * (self.box[:, 1] - self.box[:, 0])
        out = (points < self.box[:, 0] - tol) | (points > self.box[:, 1] + tol)
        return int(out.any(axis=1).sum())

    def _encoder_graph(self, geometry: MeshGeometry, device, dtype):
        """Mesh -> latent edges, kernel inputs, scaled weights and ball measures (cached on the geometry)."""
        key = ("gino-in", self._latent_key, self.radius)

        def build():
            nb = radius_neighborhoods(geometry.points, self.latent_points, self.radius, tree=geometry.tree)
            feats = edge_features(geometry.points, self.latent_points, nb, self.radius, self.box)
            scaled = geometry.weights / ball_volume(self.radius, self.n_dim)
            inside = np.bincount(nb.rows(), weights=scaled[nb.indices], minlength=nb.n_targets)
            return nb, feats, scaled, inside

        nb, feats, scaled, inside = geometry.cached(key, build)
        tensors = geometry.cached(key + (torch.device(device), dtype), lambda: tuple(
            torch.as_tensor(a, dtype=dtype).to(device) for a in (feats, scaled, inside)))
        return (nb, *tensors)

    def _decoder_graph(self, query: MeshGeometry, device, dtype):
        """Latent -> query edges and kernel inputs (cached on the query geometry)."""
        key = ("gino-out", self._latent_key, self.out_radius)

        def build():
            nb = radius_neighborhoods(self.latent_points, query.points, self.out_radius, tree=self._latent.tree)
            if (nb.counts() == 0).any():  # only outside the box, which _geometry refuses
                raise ValueError("some query points have no latent node within out_radius")
            return nb, edge_features(self.latent_points, query.points, nb, self.out_radius, self.box)

        nb, feats = query.cached(key, build)
        scaled = self._latent.weights / ball_volume(self.out_radius, self.n_dim)
        tensors = query.cached(key + (torch.device(device), dtype), lambda: tuple(
            torch.as_tensor(a, dtype=dtype).to(device) for a in (feats, scaled)))
        return (nb, *tensors)

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, points=None, *, weights=None, query_points=None,
                channels_last: bool = False) -> torch.Tensor:
        """Map ``x : (batch, in_channels, n_points)`` on a mesh to ``(batch, out_channels, n_query)``.

        Parameters
        ----------
        x : tensor
            The input function at the mesh points, ``(batch, in_channels, n_points)``
            (``(batch, n_points, in_channels)`` with ``channels_last``).
        points : Mesh, MeshGeometry or (n_points, d) array, optional
            The mesh of ``x`` (with ``weights`` if an array); default: the bound mesh.
        weights : (n_points,) array, optional
            Quadrature weights of raw ``points``.
        query_points : (n_query, d) array or MeshGeometry, optional
            Where to evaluate the output; default the mesh points.
        channels_last : bool
            Take and return ``(batch, n_points, channels)``.

        Returns
        -------
        (batch, out_channels, n_query) tensor (``(batch, n_query, out_channels)`` with ``channels_last``)
        """
        if points is None and weights is None:
            if self._bound is None:
                raise ValueError("GINO needs the mesh of its input: pass points (a Mesh, a MeshGeometry, or "
                                 "points with weights) or bind one first with model.bind(mesh)")
            geometry = self._bound
        else:
            geometry = self._geometry(points, weights)
        f = self._check_input(x, geometry, channels_last)
        query = geometry if query_points is None else self._query(query_points)
        latent = self.encode(f, geometry)
        out = self.decode(latent, query)
        return out if channels_last else out.transpose(1, 2)

    def _query(self, query_points) -> MeshGeometry:
        if isinstance(query_points, MeshGeometry):
            return self._geometry(query_points)
        pts = query_points.detach().cpu().numpy() if isinstance(query_points, torch.Tensor) else query_points
        pts = np.asarray(pts, dtype=np.float64)
        if pts.ndim != 2:
            raise ValueError(f"query_points must have shape (n, {self.n_dim}); got shape {pts.shape}")
        return self._geometry(pts, np.zeros(len(pts)))

    def _check_input(self, x, geometry: MeshGeometry, channels_last: bool) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"GINO expects a torch.Tensor; got {type(x).__name__}")
        layout = "(batch, n_points, channels)" if channels_last else "(batch, channels, n_points)"
        if x.ndim != 3:
            raise ValueError(f"GINO expects a 3-D input {layout}; got shape {tuple(x.shape)}")
        n, c = (x.shape[1], x.shape[2]) if channels_last else (x.shape[2], x.shape[1])
        if c != self.in_channels:
            raise ValueError(f"GINO expects {self.in_channels} input channels in {layout}; "
                             f"got shape {tuple(x.shape)}")
        dtype = self.projection.layers[-1].weight.dtype
        if x.dtype != dtype and not torch.is_autocast_enabled(x.device.type):
            raise TypeError(f"the input is {x.dtype} but the GINO's weights are {dtype}: convert one of them "
                            f"(x.to({dtype}) or model.to({x.dtype}))")
        if n != geometry.n_points:
            raise ValueError(f"the input has {n} points in {layout} (shape {tuple(x.shape)}) but its mesh has "
                             f"{geometry.n_points}: pass the points of this input (or bind its mesh)")
        return x if channels_last else x.transpose(1, 2)

    def encode(self, f: torch.Tensor, geometry: MeshGeometry) -> torch.Tensor:
        """Mesh function ``f : (batch, n_points, in_channels)`` -> latent FNO output
        ``(batch, n_latent, hidden_channels)`` (nodes in C order of ``latent_shape``)."""
        nb, feats, scaled, inside = self._encoder_graph(geometry, f.device, f.dtype)
        v = self.gno_in(self.lifting(f), feats, nb, scaled)
        v = torch.cat([v, inside.expand(v.shape[0], -1).unsqueeze(-1)], dim=-1)
        grid = v.reshape(v.shape[0], *self.latent_shape, v.shape[-1]).movedim(-1, 1)
        z = self.fno(grid)
        return z.movedim(1, -1).reshape(z.shape[0], -1, z.shape[1])

    def decode(self, latent: torch.Tensor, query: MeshGeometry) -> torch.Tensor:
        """Latent ``(batch, n_latent, hidden_channels)`` -> ``(batch, n_query, out_channels)``."""
        nb, feats, scaled = self._decoder_graph(query, latent.device, latent.dtype)
        return self.projection(self.gno_out(latent, feats, nb, scaled))


def bind_geometry(model: torch.nn.Module, points, weights=None) -> torch.nn.Module:
    """Bind every :class:`GINO` inside ``model`` (e.g. a NormalizedOperator) to a mesh; return ``model``.

    Raises
    ------
    ValueError
        ``model`` holds no GINO.
    """
    found = [m for m in model.modules() if isinstance(m, GINO)]
    if not found:
        raise ValueError(f"{type(model).__name__} holds no GINO: only mesh operators are bound to a mesh")
    geometry = None if points is None else found[0]._geometry(points, weights)
    for gino in found:
        gino.bind(geometry)
    return model


def uses_mesh(model: torch.nn.Module) -> bool:
    """Whether ``model`` holds a :class:`GINO` (and so needs the mesh of its data)."""
    return any(isinstance(m, GINO) for m in model.modules())

