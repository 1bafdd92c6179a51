"""Build the operator a user names on the command line (``fno``, ``tfno``, ``mgtfno``).

The few numbers a user picks (modes, width, layers, rank) map onto the constructors of
:mod:`pdekit.operators`; everything else keeps the operators' defaults.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pdekit._validation import check_choice

__all__ = ["MODEL_NAMES", "build_model"]

#: names accepted by ``pdekit train --model``
MODEL_NAMES = ("fno", "tfno", "mgtfno")


def _modes(modes: int | Sequence[int], n_dim: int) -> tuple[int, ...]:
    if isinstance(modes, int):
        return (modes,) * n_dim
    modes = tuple(int(m) for m in modes)
    if len(modes) == 1:
        return modes * n_dim
    if len(modes) != n_dim:
        raise ValueError(f"give one number of modes or one per spatial dimension ({n_dim}); got {list(modes)}")
    return modes


def build_model(name: str, *, in_channels: int, out_channels: int, n_dim: int,
                modes: int | Sequence[int] = 12, width: int = 32, layers: int = 4,
                rank: float = 0.1, domain_padding: float | None = None,
                levels: int = 2, **options: Any):
    """A fresh operator of kind ``name`` for data with ``n_dim`` spatial axes.

    Parameters
    ----------
    name : {"fno", "tfno", "mgtfno"}
        FNO (dense spectral weights), TFNO (Tucker-factorized weights, ``rank``), or
        MG-TFNO (one Tucker tensor for all layers plus multigrid patching with ``levels``).
    in_channels, out_channels : int
    n_dim : int
        1, 2 or 3.
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
    **options
        Passed on to the operator's constructor.

    Returns
    -------
    pdekit.operators.OperatorModel
    """
    check_choice("model", name, MODEL_NAMES)
    if n_dim not in (1, 2, 3):
        raise ValueError(f"data must have 1, 2 or 3 spatial dimensions; got {n_dim}")
    if domain_padding is not None:
        fractions = np.atleast_1d(np.asarray(domain_padding, dtype=float))
        if not (np.isfinite(fractions).all() and (fractions >= 0).all() and (fractions <= 1).all()):
            raise ValueError(f"domain padding is a fraction of the domain, between 0 and 1 (0.1 to 0.25 is "
                             f"usual for non-periodic data); got {domain_padding}")
    import pdekit.operators as ops

    kw = dict(in_channels=int(in_channels), out_channels=int(out_channels), hidden_channels=int(width),
              n_layers=int(layers), domain_padding=domain_padding, **options)
    n_modes = _modes(modes, n_dim)
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
