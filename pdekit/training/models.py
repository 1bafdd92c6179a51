"""Build the operator a user names on the command line (``fno``, ``tfno``, ``mgtfno``, ``gino``).

The few numbers a user picks (modes, width, layers, rank) map onto the constructors of
:mod:`pdekit.operators`; everything else keeps the operators' defaults. ``fno``, ``tfno`` and
``mgtfno`` train on grids; ``gino`` on meshes (its latent grid spans the box of the training
mesh, see :func:`gino_domain`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pdekit._validation import check_choice

__all__ = ["MODEL_NAMES", "build_model", "gino_domain"]

#: names accepted by ``pdekit train --model``
MODEL_NAMES = ("fno", "tfno", "mgtfno", "gino")

#: margin of the GINO's box around the training mesh, as a fraction of the mesh's extent per side
BOX_MARGIN = 0.02


def _modes(modes: int | Sequence[int], n_dim: int, what: str = "number of modes") -> tuple[int, ...]:
    if isinstance(modes, int):
        return (modes,) * n_dim
    modes = tuple(int(m) for m in modes)
    if len(modes) == 1:
        return modes * n_dim
    if len(modes) != n_dim:
        raise ValueError(f"give one {what} or one per spatial dimension ({n_dim}); got {list(modes)}")
    return modes


def gino_domain(points, *, margin: float = BOX_MARGIN) -> list[tuple[float, float]]:
    """The box of a GINO's latent grid for a mesh: its bounding box widened by ``margin`` of the
    extent on every side (other meshes of the domain, e.g. finer ones of a curved boundary, may
    reach a little further than the training mesh).

    Parameters
    ----------
    points : (n, d) array
        The training mesh's points.

    Returns
    -------
    list of (lo, hi), one per axis
    """
    points = np.asarray(points, dtype=np.float64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = margin * (hi - lo)
    return [(float(a), float(b)) for a, b in zip(lo - pad, hi + pad)]


def build_model(name: str, *, in_channels: int, out_channels: int, n_dim: int,
                modes: int | Sequence[int] = 12, width: int = 32, layers: int = 4,
                rank: float = 0.1, domain_padding: float | None = None,
                levels: int = 2, points=None, latent_shape: int | Sequence[int] = 32,
                radius: float | None = None, **options: Any):
    """A fresh operator of kind ``name`` for data with ``n_dim`` spatial axes.

    Parameters
    ----------
    name : {"fno", "tfno", "mgtfno", "gino"}
        FNO (dense spectral weights), TFNO (Tucker-factorized weights, ``rank``),
        MG-TFNO (one Tucker tensor for all layers plus multigrid patching with ``levels``), or
        GINO (mesh data: graph layers to and from an FNO on a latent grid).
    in_channels, out_channels : int
    n_dim : int
        1, 2 or 3 (for mesh data, the dimension of the points).
    modes : int or sequence of int
        Fourier modes kept per dimension.
    width : int
        Hidden channels.
    layers : int
        Fourier blocks.
    rank : float
        Fraction of the dense parameter count kept by the factorization (tfno, mgtfno).
    domain_padding : float, optional
        Zero padding as a fraction of the domain, in [0, 1] (for non-periodic problems such
        as Darcy).
    levels : int
        Multigrid levels (mgtfno only).
    points : (n, d) array, optional
        The training mesh (gino only, and required for it): the latent grid spans its box.
    latent_shape : int or sequence of int
        Latent grid nodes per axis (gino).
    radius : float, optional
        Neighbourhood radius of the graph layers (gino); default 1.5 latent grid spacings.
    **options
        Passed on to the operator's constructor.

    Returns
    -------
    pdekit.operators.OperatorModel
    """
    check_choice("model", name, MODEL_NAMES)
    if n_dim not in (1, 2, 3):
        raise ValueError(f"data must have 1, 2 or 3 spatial dimensions; got {n_dim}")
    if (name == "gino") != (points is not None):
        raise ValueError("gino trains on mesh data and needs the mesh's points" if name == "gino" else
                         f"{name} trains on grids; mesh data (samples at mesh points) need --model gino")
    import pdekit.operators as ops

    kw = dict(in_channels=int(in_channels), out_channels=int(out_channels), hidden_channels=int(width),
              n_layers=int(layers), domain_padding=domain_padding, **options)
    n_modes = _modes(modes, n_dim)
    if name == "gino":
        return _build_gino(ops, n_modes, points=points, latent_shape=_modes(latent_shape, n_dim, "latent grid size"),
                           radius=radius, **kw)
    if name == "fno":
        return ops.FNO(n_modes, **kw)
    if name == "tfno":
        return ops.TFNO(n_modes, rank=rank, **kw)
    return _build_mgtfno(ops, n_modes, rank=rank, levels=levels, **kw)


def _build_mgtfno(ops, n_modes, *, rank, levels, **kw):
    cls = getattr(ops, "MGTFNO", None)
    if cls is None:
        raise ValueError("model 'mgtfno' needs pdekit.operators.MGTFNO, which this installation lacks")
    return cls(n_modes, rank=rank, levels=levels, **kw)


def _build_gino(ops, n_modes, *, points, latent_shape, radius, in_channels, out_channels, **kw):
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != len(latent_shape):
        raise ValueError(f"the mesh points must have shape (n, {len(latent_shape)}); got {points.shape}")
    domain = gino_domain(points)
    if radius is None:
        spacing = max((hi - lo) / (n - 1) for (lo, hi), n in zip(domain, latent_shape))
        radius = 1.5 * spacing
    return ops.GINO(in_channels, out_channels, latent_shape=latent_shape, n_modes=n_modes, radius=radius,
                    domain=domain, **kw)
