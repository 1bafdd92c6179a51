"""Spectral weights of Fourier layers: dense, or factorized in Tucker, CP or tensor-train form.

A spectral weight maps ``in_channels`` to ``out_channels`` independently at every retained
Fourier mode: ``y[b, o, k] = sum_i W[i, o, k] x[b, i, k]`` with ``W`` of shape
``(in_channels, out_channels, *modes)``; a *separable* weight ``W[c, k]`` of shape
``(channels, *modes)`` scales each channel instead, ``y[b, c, k] = W[c, k] x[b, c, k]``.
:class:`SpectralWeights` holds such a weight for each of ``n_layers`` layers, either one weight per
layer or (``joint=True``, the global factorization of MG-TFNO) one higher-order tensor of shape
``(n_layers, in, out, *modes)`` in Tucker, CP or TT form.

Ranks follow tensorly's rules (:func:`pdekit.tensor_formats.tucker_rank`, ``tt_rank``,
``cp_rank``), so a factorized layer has the parameter count of neuraloperator's for the same
arguments; :meth:`SpectralWeights.assign_dense` factorizes a dense weight with
:mod:`pdekit.tensor_formats` (HOOI, TT-SVD, CP-ALS, in complex arithmetic).

``contract(x, layer)`` applies a factorized weight to ``x`` by contracting ``x`` with the factors
one after the other: the input-channel factor (``in -> r_in``), then the per-mode part (for Tucker
the core expanded along its mode factors only, ``r_in x r_out x modes``; for CP a diagonal scaling;
for TT the output core merged with the mode cores), then the output-channel factor. The dense
``in x out x modes`` weight is never formed; ``implementation="reconstructed"`` forms it first, for
comparison. :meth:`SpectralWeights.contract_real` is the same chain in real arithmetic, as
batched GEMMs (the path the layers use). All parameters are complex (one complex number counts
as one parameter, as in neuraloperator). ``index`` arguments keep a subset of the modes (the
lowest frequencies when a layer uses fewer modes than it holds weights for).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from pdekit._validation import check_choice
from pdekit.tensor_formats import cp as cp_decomposition
from pdekit.tensor_formats import cp_rank, tt, tt_rank, tucker, tucker_rank

__all__ = ["SpectralWeights", "WeightView", "resolve_rank", "legacy_rank", "FACTORIZATIONS"]

FACTORIZATIONS = ("dense", "tucker", "cp", "tt")


def _fixed_modes(fixed_rank_modes) -> list[int] | None:
    if fixed_rank_modes is None or fixed_rank_modes is False:
        return None
    if fixed_rank_modes is True:
        return [0]
    return [int(m) for m in fixed_rank_modes]


def resolve_rank(factorization: str, shape: Sequence[int], rank, *, fixed_rank_modes=None) -> list[int] | int:
    """The ranks of a factorized weight of ``shape``, as tensorly (and so neuraloperator) chooses them.

    Parameters
    ----------
    factorization : {"tucker", "cp", "tt"}
    shape : sequence of int
        Shape of the (full) weight tensor.
    rank : float, "same", int or sequence of int
        A float is the fraction of ``prod(shape)`` parameters to keep (``1.0`` about as many as
        the dense tensor); an int or a sequence gives the ranks directly (an int beyond what a
        mode can use over-parametrizes it, as in tensorly).
    fixed_rank_modes : bool or sequence of int, optional
        Tucker only: modes kept at full size (``True``: mode 0).

    Returns
    -------
    list of int (Tucker: one per mode; TT: ``len(shape) + 1`` with ones at both ends) or int (CP).
    """
    check_choice("factorization", factorization, FACTORIZATIONS[1:])
    if factorization == "tucker":
        return tucker_rank(shape, rank, fixed_modes=_fixed_modes(fixed_rank_modes))
    if factorization == "cp":
        return cp_rank(shape, rank)
    return tt_rank(shape, rank)


def legacy_rank(factorization: str | None, shape: Sequence[int], rank):
    """The explicit ranks pdekit chose before configuration version 2, where they differ.

    TT ranks from a fraction were one constant inner rank, and int Tucker and TT ranks were
    capped by what each mode can use; everything else is unchanged (returned as is).
    """
    f = "dense" if factorization is None else str(factorization).lower()
    shape = [int(s) for s in shape]
    if f == "tt" and isinstance(rank, float):
        a, b, c = float(sum(shape[1:-1])), float(shape[0] + shape[-1]), rank * float(np.prod(shape))
        r = (-b + math.sqrt(b * b + 4 * a * c)) / (2 * a) if a > 0 else c / b
        r = max(1, int(round(r)))
        return [1] + [min(r, int(np.prod(shape[:k])), int(np.prod(shape[k:]))) for k in range(1, len(shape))] + [1]
    if f == "tt" and isinstance(rank, int) and not isinstance(rank, bool):
        return [1] + [min(rank, int(np.prod(shape[:k])), int(np.prod(shape[k:]))) for k in range(1, len(shape))] + [1]
    if f == "tucker" and isinstance(rank, int) and not isinstance(rank, bool):
        return [min(rank, s) for s in shape]
    return rank


def _complex_normal(shape, std: float) -> torch.Tensor:
    return torch.complex(torch.randn(shape), torch.randn(shape)) * (std / math.sqrt(2.0))


def _real_block(p: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Real form ``[[Re p, Im p], [-Im p, Re p]]`` of a complex matrix (or batch) ``p : (..., n, m)``.

    For a complex row vector ``x``, ``[Re x, Im x] @ block = [Re(x p), Im(x p)]``.
    """
    r, i = p.real.to(dtype), p.imag.to(dtype)
    return torch.cat([torch.cat([r, i], dim=-1), torch.cat([-i, r], dim=-1)], dim=-2)


def _letters(n: int, skip: str = "") -> str:
    pool = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in skip]
    return "".join(pool[:n])


class SpectralWeights(nn.Module):
    """Complex weights ``W_l`` of shape ``(in_channels, out_channels, *modes)`` for ``n_layers`` layers.

    Parameters
    ----------
    in_channels, out_channels : int
    modes : sequence of int
        Number of retained Fourier coefficients along each spatial dimension (any number of
        dimensions).
    n_layers : int
        Number of layers (weights) held.
    factorization : {"dense", "tucker", "cp", "tt"}
        Case does not matter (neuraloperator writes "Tucker"); None is "dense".
    rank : float, "same", int or sequence of int
        See :func:`resolve_rank`; ignored for ``"dense"``.
    joint : bool
        Factorize all layers as one tensor of shape ``(n_layers, in, out, *modes)`` (Tucker, CP
        or TT with the layer as leading mode); otherwise each layer has its own factors.
    separable : bool
        A weight ``(channels, *modes)`` that scales each channel (``in_channels == out_channels``).
    fixed_rank_modes : bool or sequence of int
        Tucker modes kept at full size (``True``: mode 0, as in neuraloperator).
    init_std : float, optional
        Standard deviation of the entries of ``W`` at initialisation; default
        ``sqrt(2 / (in_channels + out_channels))``.

    Notes
    -----
    :class:`WeightView` presents the weights as a tensor (``torch.is_complex(view)``,
    ``view.to_tensor()``), as tensorly-torch's factorized tensors present themselves.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: Sequence[int], *,
                 n_layers: int = 1, factorization: str | None = "dense", rank=1.0, joint: bool = False,
                 separable: bool = False, fixed_rank_modes=None, init_std: float | None = None):
        super().__init__()
        factorization = "dense" if factorization is None else str(factorization).lower()
        check_choice("factorization", factorization, FACTORIZATIONS)
        if joint and factorization == "dense":
            raise ValueError("joint factorization needs factorization 'tucker', 'cp' or 'tt'")
        if separable and in_channels != out_channels:
            raise ValueError(f"a separable spectral weight needs in_channels == out_channels; got "
                             f"{in_channels} and {out_channels}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.modes = tuple(int(m) for m in modes)
        self.n_layers, self.factorization, self.joint = int(n_layers), factorization, bool(joint)
        self.separable = bool(separable)
        std = math.sqrt(2.0 / (in_channels + out_channels)) if init_std is None else float(init_std)
        shape = self.layer_shape
        lead = () if joint else (self.n_layers,)  # per-layer factors are stacked along dim 0
        full = (self.n_layers, *shape) if joint else shape
        if factorization == "dense":
            self.weight = nn.Parameter(_complex_normal((self.n_layers, *shape), std))
            self.rank = None
            return
        self.rank = resolve_rank(factorization, full, rank, fixed_rank_modes=fixed_rank_modes)
        if factorization == "tucker":
            ranks = self.rank
            self.core = nn.Parameter(_complex_normal((*lead, *ranks), std))
            self.factors = nn.ParameterList(
                nn.Parameter(_complex_normal((*lead, s, r), 1.0 / math.sqrt(r))) for s, r in zip(full, ranks))
        elif factorization == "cp":
            r = self.rank
            self.cp_weights = nn.Parameter(_complex_normal((*lead, r), std / math.sqrt(r)))
            self.factors = nn.ParameterList(nn.Parameter(_complex_normal((*lead, s, r), 1.0)) for s in full)
        else:
            ranks = self.rank
            n = len(full)
            self.factors = nn.ParameterList(
                nn.Parameter(_complex_normal((*lead, ranks[k], full[k], ranks[k + 1]),
                                             std if k == n - 1 else 1.0 / math.sqrt(ranks[k + 1])))
                for k in range(n))

    @property
    def layer_shape(self) -> tuple[int, ...]:
        """Shape of one layer's dense weight: ``(in, out, *modes)``, or ``(channels, *modes)`` if separable."""
        channels = (self.in_channels,) if self.separable else (self.in_channels, self.out_channels)
        return (*channels, *self.modes)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of :meth:`to_tensor`: one layer's weight, with a leading layer mode when ``n_layers > 1``."""
        return self.layer_shape if self.n_layers == 1 else (self.n_layers, *self.layer_shape)

    # -- tensor-like behaviour ----------------------------------------------------------------
    def to_tensor(self) -> torch.Tensor:
        """The dense complex weight (all layers stacked along a leading mode when ``n_layers > 1``)."""
        if self.n_layers == 1:
            return self.reconstruct(0)
        return torch.stack([self.reconstruct(layer) for layer in range(self.n_layers)])

    # -- per-layer factors -------------------------------------------------------------------
    def _layer_factors(self, layer: int, index=None):
        """The factors of layer ``layer`` (the layer mode, if joint, absorbed), modes cut to ``index``."""
        if not 0 <= layer < self.n_layers:
            raise IndexError(f"layer {layer} out of range for {self.n_layers} layers")
        f = self.factorization
        if not self.joint:
            if f == "tucker":
                core, factors = self.core[layer], [u[layer] for u in self.factors]
            elif f == "cp":
                core, factors = self.cp_weights[layer], [u[layer] for u in self.factors]
            else:
                core, factors = None, [g[layer] for g in self.factors]
        elif f == "tucker":
            core, factors = torch.tensordot(self.factors[0][layer], self.core, dims=([0], [0])), list(self.factors[1:])
        elif f == "cp":
            core, factors = self.cp_weights * self.factors[0][layer], list(self.factors[1:])
        else:
            first = torch.tensordot(self.factors[0][0, layer], self.factors[1], dims=([0], [0]))
            core, factors = None, [first.unsqueeze(0), *self.factors[2:]]
        if index is not None:
            skip = len(factors) - len(self.modes)
            axis = 1 if f == "tt" else 0
            factors = factors[:skip] + [u.index_select(axis, i) for u, i in zip(factors[skip:], index)]
        return core, factors

    def reconstruct(self, layer: int = 0, *, index=None) -> torch.Tensor:
        """Return the dense complex weight of ``layer``, shape :attr:`layer_shape` (modes cut to ``index``)."""
        if self.factorization == "dense":
            w = self.weight[layer]
            if index is not None:
                skip = w.ndim - len(self.modes)
                for j, i in enumerate(index):
                    w = w.index_select(skip + j, i)
            return w
        core, factors = self._layer_factors(layer, index)
        n = len(factors)
        letters = _letters(n)
        if self.factorization == "tucker":
            ranks = _letters(n, skip=letters)
            spec = ranks + "," + ",".join(f"{a}{r}" for a, r in zip(letters, ranks)) + "->" + letters
            return torch.einsum(spec, core, *factors)
        if self.factorization == "cp":
            z = _letters(1, skip=letters)
            spec = z + "," + ",".join(f"{a}{z}" for a in letters) + "->" + letters
            return torch.einsum(spec, core, *factors)
        full = factors[0].squeeze(0)  # (s0, r1)
        for g in factors[1:]:
            full = torch.tensordot(full, g, dims=([-1], [0]))
        return full.squeeze(-1)

    def _chain(self, layer: int, implementation: str, index=None):
        """The weight of ``layer`` as ``(p_in, h, p_out, diagonal)``: ``y = (x p_in) h p_out``.

        ``p_in : (in, a)`` and ``p_out : (c, out)`` act on channels (None: identity);
        ``h : (a, c, *modes)`` acts mode by mode, or (``diagonal=True``: CP, separable weights)
        ``h : (a, *modes)`` scales each channel at each mode. ``h`` is at most ``rank x rank x
        modes``: the dense weight is formed only for ``implementation="reconstructed"``.
        """
        check_choice("implementation", implementation, ("factorized", "reconstructed"))
        if self.separable:
            return None, self.reconstruct(layer, index=index), None, True
        if self.factorization == "dense" or implementation == "reconstructed":
            return None, self.reconstruct(layer, index=index), None, False
        core, factors = self._layer_factors(layer, index)
        u_in, u_out, u_modes = factors[0], factors[1], factors[2:]
        if self.factorization == "tucker":
            h = core  # (r_in, r_out, *r_modes): expand each mode rank into its modes
            for u in u_modes:
                h = torch.tensordot(h, u, dims=([2], [1]))
            return u_in, h, u_out.transpose(0, 1), False
        if self.factorization == "cp":
            h = core
            for j, u in enumerate(u_modes):  # (rank, *modes): outer product of the mode factors
                h = h.unsqueeze(-1) * u.transpose(0, 1).reshape(u.shape[1], *([1] * j), u.shape[0])
            return u_in, h, u_out.transpose(0, 1), True
        tail = u_modes[0]  # TT: g_in (1, in, a), g_out (a, out, c), mode cores (c, m, c')
        for g in u_modes[1:]:
            tail = torch.tensordot(tail, g, dims=([-1], [0]))
        h = torch.tensordot(u_out, tail.squeeze(-1), dims=([2], [0]))  # (a, out, *modes)
        return u_in.squeeze(0), h, None, False

    def contract(self, x: torch.Tensor, layer: int = 0, *, implementation: str = "factorized",
                 index=None) -> torch.Tensor:
        """Apply the weight of ``layer`` mode by mode: ``y[b,o,k] = sum_i W[i,o,k] x[b,i,k]``.

        Parameters
        ----------
        x : (batch, in_channels, *modes) complex tensor
        layer : int
        implementation : {"factorized", "reconstructed"}
            ``"factorized"`` contracts ``x`` with the factors in turn (no dense weight formed);
            ``"reconstructed"`` forms the dense weight, then contracts.
        index : list of index tensors, optional
            Keep these positions along each mode (``x`` holds that many).

        Returns
        -------
        (batch, out_channels, *modes) complex tensor
        """
        k = _letters(x.ndim - 2, skip="abcio")
        p_in, h, p_out, diagonal = self._chain(layer, implementation, index)
        if p_in is not None:
            x = torch.einsum(f"bi{k},ia->ba{k}", x, p_in)
        x = x * h if diagonal else torch.einsum(f"ba{k},ac{k}->bc{k}", x, h)
        if p_out is not None:
            x = torch.einsum(f"bc{k},co->bo{k}", x, p_out)
        return x

    def contract_real(self, x: torch.Tensor, layer: int = 0, *, implementation: str = "factorized",
                      dtype: torch.dtype | None = None, index=None) -> torch.Tensor:
        """:meth:`contract` in real arithmetic, on coefficients laid out for batched GEMMs.

        Parameters
        ----------
        x : (n_modes_total, batch, 2 * in_channels) real tensor
            Mode ``k`` (flattened in C order), sample ``b``: real parts of the ``in_channels``
            coefficients, then imaginary parts.
        dtype : torch.dtype, optional
            Precision of the contraction (default: that of ``x``).
        index : list of index tensors, optional
            As in :meth:`contract`.

        Returns
        -------
        (n_modes_total, batch, 2 * out_channels) real tensor, same layout.
        """
        dtype = x.dtype if dtype is None else dtype
        x = x.to(dtype)
        m, b = x.shape[0], x.shape[1]
        p_in, h, p_out, diagonal = self._chain(layer, implementation, index)
        if p_in is not None:
            x = torch.matmul(x.reshape(m * b, -1), _real_block(p_in, dtype)).reshape(m, b, -1)
        if diagonal:
            hr, hi = h.real.reshape(h.shape[0], -1).T.to(dtype), h.imag.reshape(h.shape[0], -1).T.to(dtype)
            xr, xi = x.chunk(2, dim=-1)
            x = torch.cat([xr * hr[:, None] - xi * hi[:, None], xr * hi[:, None] + xi * hr[:, None]], dim=-1)
        else:
            h = h.reshape(h.shape[0], h.shape[1], -1).permute(2, 0, 1)  # (modes, a, c)
            x = torch.bmm(x, _real_block(h, dtype))
        if p_out is not None:
            x = torch.matmul(x.reshape(m * b, -1), _real_block(p_out, dtype)).reshape(m, b, -1)
        return x

    # -- setting from a dense weight -------------------------------------------------------
    @torch.no_grad()
    def assign_dense(self, weight: torch.Tensor, layer: int = 0) -> None:
        """Set layer ``layer`` from a dense complex weight of shape :attr:`layer_shape`.

        Dense: copied. Tucker: HOOI (:func:`pdekit.tensor_formats.tucker`; exact when the ranks
        are full, the best approximation otherwise). TT: TT-SVD (:func:`pdekit.tensor_formats.tt`;
        exact when the ranks are full). CP: alternating least squares
        (:func:`pdekit.tensor_formats.cp`; exact when ``weight`` has CP rank <= ``self.rank``, up
        to the tolerance). Ranks beyond what the weight can use are filled with zeros. Joint
        factorizations are not supported (ValueError).
        """
        shape = self.layer_shape
        if tuple(weight.shape) != shape:
            raise ValueError(f"dense weight must have shape {shape}; got {tuple(weight.shape)}")
        dtype = next(self.parameters()).dtype
        weight = weight.detach().to(dtype)
        if self.factorization == "dense":
            self.weight[layer].copy_(weight)
            return
        if self.joint:
            raise ValueError(f"assign_dense sets one layer of per-layer weights; this one is a joint "
                             f"{self.factorization} factorization of all {self.n_layers} layers")
        data = weight.cpu().to(torch.complex128)
        if self.factorization == "cp":
            t = cp_decomposition(data, rank=self.rank, n_iter_max=1000, iter_tol=1e-12)
            weights, factors = t.weights, t.factors
            self.cp_weights[layer].copy_(weights)
            for j, factor in enumerate(factors):
                self.factors[j][layer].copy_(factor)
            return
        if self.factorization == "tucker":
            usable = [min(r, s) for r, s in zip(self.rank, shape)]
            core, factors = tucker(data, usable, tol=1e-12, n_iter_max=200)
            self.core[layer].zero_()
            self.core[layer][tuple(slice(0, r) for r in usable)] = core.to(dtype)
            for j, u in enumerate(factors):
                self.factors[j][layer].zero_()
                self.factors[j][layer][:, :u.shape[1]] = u.to(dtype)
            return
        bounds = [min(int(np.prod(shape[:k])), int(np.prod(shape[k:]))) for k in range(1, len(shape))]
        usable = [min(r, b) for r, b in zip(self.rank[1:-1], bounds)]
        t = tt(data, rank=usable)
        for j, g in enumerate(t.cores):
            self.factors[j][layer].zero_()
            self.factors[j][layer][:g.shape[0], :, :g.shape[2]] = g.to(dtype)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, modes={self.modes}, n_layers={self.n_layers}, "
                f"factorization={self.factorization!r}, rank={self.rank}, joint={self.joint}"
                + (", separable=True" if self.separable else ""))


class WeightView:
    """:class:`SpectralWeights` seen as the dense complex tensor they stand for (not a module).

    ``to_tensor()`` forms it (with gradients); any torch function given the view gets that tensor
    (``torch.is_complex(view)``), through the ``__torch_function__`` protocol that
    tensorly-torch's factorized tensors follow too.
    """

    def __init__(self, weights: SpectralWeights):
        self.weights = weights

    def to_tensor(self) -> torch.Tensor:
        """The dense weight (all layers stacked along a leading mode when there are several)."""
        return self.weights.to_tensor()

    @property
    def shape(self) -> tuple[int, ...]:
        return self.weights.shape

    @property
    def dtype(self) -> torch.dtype:
        return next(self.weights.parameters()).dtype

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        def dense(a):
            if isinstance(a, WeightView):
                return a.to_tensor()
            if isinstance(a, (list, tuple)):
                return type(a)(dense(b) for b in a)
            return a

        return func(*dense(args), **{k: dense(v) for k, v in (kwargs or {}).items()})

    def __repr__(self) -> str:
        return f"WeightView(shape={self.shape}, factorization={self.weights.factorization!r})"
