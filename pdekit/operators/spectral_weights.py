"""Spectral weights of Fourier layers: dense, or factorized in Tucker, CP or tensor-train form.

A spectral weight maps ``in_channels`` to ``out_channels`` independently at every retained
Fourier mode: ``y[b, o, k] = sum_i W[i, o, k] x[b, i, k]`` with ``W`` of shape
``(in_channels, out_channels, *modes)``. :class:`SpectralWeights` holds such a weight for each of
``n_layers`` layers, either one weight per layer or (``joint=True``, the global factorization of
MG-TFNO) one higher-order tensor of shape ``(n_layers, in, out, *modes)`` in Tucker, CP or TT form.

``contract(x, layer)`` applies a factorized weight to ``x`` by contracting ``x`` with the factors
one after the other: the input-channel factor (``in -> r_in``), then the per-mode part (for Tucker
the core expanded along its mode factors only, ``r_in x r_out x modes``; for CP a diagonal scaling;
for TT the output core merged with the mode cores), then the output-channel factor. The dense
``in x out x modes`` weight is never formed; ``implementation="reconstructed"`` forms it first, for
comparison. :meth:`SpectralWeights.contract_real` is the same chain in real arithmetic, as
batched GEMMs (the path the layers use). All parameters are complex (one complex number counts
as one parameter, as in neuraloperator).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from pdekit._validation import check_choice

__all__ = ["SpectralWeights", "resolve_rank", "FACTORIZATIONS"]

FACTORIZATIONS = ("dense", "tucker", "cp", "tt")
_LETTERS = "klmn"  # mode indices (up to 3 spatial dims, plus one spare)


def _tucker_rank(shape: Sequence[int], fraction: float) -> list[int]:
    # ranks proportional to the mode sizes, r_i = s_i * t, with the parameter count
    # prod(s) t^n + sum(s_i^2) t equal to fraction * prod(s)
    n, total = len(shape), float(np.prod(shape))
    coeffs = np.zeros(n + 1)
    coeffs[0], coeffs[n - 1], coeffs[n] = total, float(sum(s * s for s in shape)), -fraction * total
    roots = np.roots(coeffs)
    t = max(r.real for r in roots if abs(r.imag) < 1e-9 and r.real > 0)
    return [min(s, max(1, int(round(s * t)))) for s in shape]


def _tt_rank(shape: Sequence[int], fraction: float) -> list[int]:
    # constant inner rank r: s_0 r + r^2 sum(s_1..s_{n-2}) + r s_{n-1} = fraction * prod(s)
    a, b, c = float(sum(shape[1:-1])), float(shape[0] + shape[-1]), fraction * float(np.prod(shape))
    r = (-b + math.sqrt(b * b + 4 * a * c)) / (2 * a) if a > 0 else c / b
    r = max(1, int(round(r)))
    ranks = [1]
    for k in range(1, len(shape)):
        left, right = int(np.prod(shape[:k])), int(np.prod(shape[k:]))
        ranks.append(min(r, left, right))
    return ranks + [1]


def resolve_rank(factorization: str, shape: Sequence[int], rank) -> list[int] | int:
    """Turn a rank given as a fraction of the dense parameter count (or explicitly) into ranks.

    Parameters
    ----------
    factorization : {"tucker", "cp", "tt"}
    shape : sequence of int
        Shape of the (full) weight tensor.
    rank : float or int or sequence of int
        A float in (0, 1] is the fraction of ``prod(shape)`` parameters to keep (``1.0`` keeps
        about as many as the dense tensor); an int or a sequence gives the ranks directly.

    Returns
    -------
    list of int (Tucker: one per mode; TT: ``len(shape) + 1`` with ones at both ends) or int (CP).
    """
    check_choice("factorization", factorization, FACTORIZATIONS[1:])
    shape = [int(s) for s in shape]
    if isinstance(rank, float):
        if not rank > 0.0:
            raise ValueError(f"rank given as a fraction of the dense parameter count must be > 0; got {rank}")
        if factorization == "tucker":
            return _tucker_rank(shape, rank)
        if factorization == "cp":
            return max(1, int(round(rank * np.prod(shape) / sum(shape))))
        return _tt_rank(shape, rank)
    if factorization == "cp":
        if not isinstance(rank, (int, np.integer)) or rank < 1:
            raise ValueError(f"CP rank must be a positive int or a fraction; got {rank!r}")
        return int(rank)
    if isinstance(rank, (int, np.integer)):
        if rank < 1:
            raise ValueError(f"{factorization} rank must be >= 1; got {rank}")
        return [min(int(rank), s) for s in shape] if factorization == "tucker" else \
            _tt_rank_int(shape, int(rank))
    ranks = [int(r) for r in rank]
    expected = len(shape) if factorization == "tucker" else len(shape) + 1
    if len(ranks) != expected or min(ranks) < 1:
        raise ValueError(f"{factorization} ranks for a tensor of shape {tuple(shape)} must be "
                         f"{expected} positive ints; got {tuple(ranks)}")
    if factorization == "tt":
        if ranks[0] != 1 or ranks[-1] != 1:
            raise ValueError(f"TT ranks must start and end with 1; got {tuple(ranks)}")
        for k in range(1, len(shape)):
            bound = min(int(np.prod(shape[:k])), int(np.prod(shape[k:])))
            if ranks[k] > bound:
                raise ValueError(f"TT rank {k} = {ranks[k]} exceeds {bound}, the largest useful rank between "
                                 f"modes {tuple(shape[:k])} and {tuple(shape[k:])}")
    return ranks


def _tt_rank_int(shape, r):
    ranks = [1] + [min(r, int(np.prod(shape[:k])), int(np.prod(shape[k:]))) for k in range(1, len(shape))]
    return ranks + [1]


def _complex_normal(shape, std: float) -> torch.Tensor:
    return torch.complex(torch.randn(shape), torch.randn(shape)) * (std / math.sqrt(2.0))


def _real_block(p: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Real form ``[[Re p, Im p], [-Im p, Re p]]`` of a complex matrix (or batch) ``p : (..., n, m)``.

    For a complex row vector ``x``, ``[Re x, Im x] @ block = [Re(x p), Im(x p)]``.
    """
    r, i = p.real.to(dtype), p.imag.to(dtype)
    return torch.cat([torch.cat([r, i], dim=-1), torch.cat([-i, r], dim=-1)], dim=-2)


class SpectralWeights(nn.Module):
    """Complex weights ``W_l`` of shape ``(in_channels, out_channels, *modes)`` for ``n_layers`` layers.

    Parameters
    ----------
    in_channels, out_channels : int
    modes : sequence of int
        Number of retained Fourier coefficients along each spatial dimension.
    n_layers : int
        Number of layers (weights) held.
    factorization : {"dense", "tucker", "cp", "tt"}
    rank : float or int or sequence of int
        See :func:`resolve_rank`; ignored for ``"dense"``.
    joint : bool
        Factorize all layers as one tensor of shape ``(n_layers, in, out, *modes)`` (Tucker, CP
        or TT with the layer as leading mode); otherwise each layer has its own factors.
    init_std : float, optional
        Standard deviation of the entries of ``W`` at initialisation; default
        ``sqrt(2 / (in_channels + out_channels))``.
    """

    def __init__(self, in_channels: int, out_channels: int, modes: Sequence[int], *,
                 n_layers: int = 1, factorization: str = "dense", rank=1.0, joint: bool = False,
                 init_std: float | None = None):
        super().__init__()
        factorization = "dense" if factorization is None else factorization.lower()
        check_choice("factorization", factorization, FACTORIZATIONS)
        if joint and factorization == "dense":
            raise ValueError("joint factorization needs factorization 'tucker', 'cp' or 'tt'")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.modes = tuple(int(m) for m in modes)
        self.n_layers, self.factorization, self.joint = int(n_layers), factorization, bool(joint)
        std = math.sqrt(2.0 / (in_channels + out_channels)) if init_std is None else float(init_std)
        shape = (self.in_channels, self.out_channels, *self.modes)
        lead = () if joint else (self.n_layers,)  # per-layer factors are stacked along dim 0
        full = (self.n_layers, *shape) if joint else shape
        if factorization == "dense":
            self.weight = nn.Parameter(_complex_normal((self.n_layers, *shape), std))
            self.rank = None
            return
        self.rank = resolve_rank(factorization, full, rank)
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

    # -- per-layer factors -------------------------------------------------------------------
    def _layer_factors(self, layer: int):
        """Return the factors of layer ``layer``, with the layer mode (if joint) absorbed."""
        if not 0 <= layer < self.n_layers:
            raise IndexError(f"layer {layer} out of range for {self.n_layers} layers")
        f = self.factorization
        if not self.joint:
            if f == "tucker":
                return self.core[layer], [u[layer] for u in self.factors]
            if f == "cp":
                return self.cp_weights[layer], [u[layer] for u in self.factors]
            return None, [g[layer] for g in self.factors]
        if f == "tucker":
            core = torch.tensordot(self.factors[0][layer], self.core, dims=([0], [0]))
            return core, list(self.factors[1:])
        if f == "cp":
            return self.cp_weights * self.factors[0][layer], list(self.factors[1:])
        first = torch.tensordot(self.factors[0][0, layer], self.factors[1], dims=([0], [0]))
        return None, [first.unsqueeze(0), *self.factors[2:]]

    def reconstruct(self, layer: int = 0) -> torch.Tensor:
        """Return the dense complex weight of ``layer``, shape ``(in, out, *modes)``."""
        if self.factorization == "dense":
            return self.weight[layer]
        core, factors = self._layer_factors(layer)
        n = len(factors)
        letters = "abcdefgh"[:n]
        if self.factorization == "tucker":
            ranks = "pqrstuvw"[:n]
            spec = ranks + "," + ",".join(f"{a}{r}" for a, r in zip(letters, ranks)) + "->" + letters
            return torch.einsum(spec, core, *factors)
        if self.factorization == "cp":
            spec = "z," + ",".join(f"{a}z" for a in letters) + "->" + letters
            return torch.einsum(spec, core, *factors)
        full = factors[0].squeeze(0)  # (s0, r1)
        for g in factors[1:]:
            full = torch.tensordot(full, g, dims=([-1], [0]))
        return full.squeeze(-1)

    def _chain(self, layer: int, implementation: str):
        """The weight of ``layer`` as ``(p_in, h, p_out, diagonal)``: ``y = (x p_in) h p_out``.

        ``p_in : (in, a)`` and ``p_out : (c, out)`` act on channels (None: identity);
        ``h : (a, c, *modes)`` acts mode by mode, or for CP (``diagonal=True``) ``h : (a, *modes)``
        scales each channel at each mode. ``h`` is at most ``rank x rank x modes``: the dense weight
        is formed only for ``implementation="reconstructed"``.
        """
        check_choice("implementation", implementation, ("factorized", "reconstructed"))
        if self.factorization == "dense" or implementation == "reconstructed":
            return None, self.reconstruct(layer), None, False
        core, factors = self._layer_factors(layer)
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

    def contract(self, x: torch.Tensor, layer: int = 0, *, implementation: str = "factorized") -> torch.Tensor:
        """Apply the weight of ``layer`` mode by mode: ``y[b,o,k] = sum_i W[i,o,k] x[b,i,k]``.

        Parameters
        ----------
        x : (batch, in_channels, *modes) complex tensor
        layer : int
        implementation : {"factorized", "reconstructed"}
            ``"factorized"`` contracts ``x`` with the factors in turn (no dense weight formed);
            ``"reconstructed"`` forms the dense weight, then contracts.

        Returns
        -------
        (batch, out_channels, *modes) complex tensor
        """
        k = _LETTERS[: x.ndim - 2]
        p_in, h, p_out, diagonal = self._chain(layer, implementation)
        if p_in is not None:
            x = torch.einsum(f"bi{k},ia->ba{k}", x, p_in)
        x = x * h if diagonal else torch.einsum(f"ba{k},ac{k}->bc{k}", x, h)
        if p_out is not None:
            x = torch.einsum(f"bc{k},co->bo{k}", x, p_out)
        return x

    def contract_real(self, x: torch.Tensor, layer: int = 0, *, implementation: str = "factorized",
                      dtype: torch.dtype | None = None) -> torch.Tensor:
        """:meth:`contract` in real arithmetic, on coefficients laid out for batched GEMMs.

        Parameters
        ----------
        x : (n_modes_total, batch, 2 * in_channels) real tensor
            Mode ``k`` (flattened in C order), sample ``b``: real parts of the ``in_channels``
            coefficients, then imaginary parts.
        dtype : torch.dtype, optional
            Precision of the contraction (default: that of ``x``).

        Returns
        -------
        (n_modes_total, batch, 2 * out_channels) real tensor, same layout.
        """
        dtype = x.dtype if dtype is None else dtype
        x = x.to(dtype)
        m, b = x.shape[0], x.shape[1]
        p_in, h, p_out, diagonal = self._chain(layer, implementation)
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
        """Set layer ``layer`` from a dense complex weight ``(in, out, *modes)``.

        Dense: copied. Tucker: truncated HOSVD (exact when the ranks are full). TT: TT-SVD
        (exact when the ranks are full). CP: alternating least squares
        (``tensorly.decomposition.parafac``; exact when ``weight`` has CP rank <= ``self.rank``, up
        to the tolerance). Joint factorizations are not supported (ValueError).
        """
        shape = (self.in_channels, self.out_channels, *self.modes)
        if tuple(weight.shape) != shape:
            raise ValueError(f"dense weight must have shape {shape}; got {tuple(weight.shape)}")
        weight = weight.to(next(self.parameters()).dtype)
        if self.factorization == "dense":
            self.weight[layer].copy_(weight)
            return
        if self.joint:
            raise ValueError(f"assign_dense sets one layer of per-layer weights; this one is a joint "
                             f"{self.factorization} factorization of all {self.n_layers} layers")
        if self.factorization == "cp":
            import tensorly as tl
            from tensorly.decomposition import parafac

            with tl.backend_context("numpy"):
                cp = parafac(weight.detach().cpu().numpy().astype(np.complex128), self.rank, n_iter_max=1000,
                             tol=1e-12, init="random", random_state=0, normalize_factors=True)
            self.cp_weights[layer].copy_(torch.as_tensor(cp.weights))
            for j, factor in enumerate(cp.factors):
                self.factors[j][layer].copy_(torch.as_tensor(factor))
            return
        if self.factorization == "tucker":
            core = weight
            for j, r in enumerate(self.rank):
                unfold = torch.movedim(weight, j, 0).reshape(shape[j], -1)
                if r == shape[j]:
                    u = torch.eye(r, dtype=weight.dtype)
                else:
                    u = torch.linalg.svd(unfold, full_matrices=False)[0][:, :r]
                self.factors[j][layer].copy_(u)
                core = torch.movedim(torch.tensordot(core, u.conj(), dims=([j], [0])), -1, j)
            self.core[layer].copy_(core)
            return
        rest = weight.reshape(1, -1)
        for j, s in enumerate(shape):
            r0, r1 = self.rank[j], self.rank[j + 1]
            mat = rest.reshape(r0 * s, -1)
            if j == len(shape) - 1:
                self.factors[j][layer].copy_(mat.reshape(r0, s, 1))
                break
            u, sv, vh = torch.linalg.svd(mat, full_matrices=False)
            self.factors[j][layer].copy_(u[:, :r1].reshape(r0, s, r1))
            rest = sv[:r1, None] * vh[:r1]

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, modes={self.modes}, n_layers={self.n_layers}, "
                f"factorization={self.factorization!r}, rank={self.rank}, joint={self.joint}")
