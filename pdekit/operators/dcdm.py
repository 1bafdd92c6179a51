"""A cheap learned inverse for deep conjugate directions: a V-cycle network with shared weights.

The published DCDM network is a deep CNN whose one application costs 350-700 sparse
matrix-vector products (SpMVs) on a CPU. :class:`VCycleNet` is built to cost about ten. It
is a linear multilevel network (a U-Net with one channel) whose every layer is a stencil
convolution on the grid of a level:

- each level smooths with learned stencils (``box``: 3^d weights, ``star``: 2d + 1) applied
  as ``D^-1/2 (sum_o w_o shift_o) D^-1/2``, ``D`` the level's diagonal, so the smoother is
  coefficient-aware and mask-aware (neighbours that are obstacles or Dirichlet nodes are not
  in the stencil);
- the residual passes to the next level by the transpose of an operator-dependent
  interpolation (collapsed matrix stencil: it follows coefficient jumps and vanishes towards
  obstacles) and the correction comes back by interpolation, scaled by a learned weight;
- at binding, each level's smoother is damped where it would diverge on that level's
  operator (a power-iteration estimate of ``lambda_max(S A)`` above ``stability_cap``);
- the coarse operators are Galerkin products of the system matrix (see
  :mod:`pdekit.operators.dcdm_levels`), the coarsest level is solved exactly.

The same few weights serve every level, so the network applies to any grid size, any
obstacle layout, mixed boundaries and variable coefficients. They are trained without labels
with the DCDM loss (:mod:`pdekit.training.dcdm`). The default weights (before training) are
those of a damped-Jacobi V-cycle.

Usage: ``net.bind(A, unknowns=mask)`` (or ``shape=grid_shape`` when every grid node is an
unknown) does the setup for one matrix and returns a plain callable ``r -> d`` for
:func:`pdekit.solvers.linear.dcdm`; on scipy matrices it runs as scipy sparse products (fast
on a CPU), on a torch sparse matrix it runs in torch on the matrix's device.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from pdekit.operators.base import OperatorModel
from pdekit.operators.dcdm_levels import GridHierarchy, build_hierarchy, stencil_offsets
from pdekit.solvers.linear import vector_norm

__all__ = ["VCycleNet", "BoundVCycle", "BoundNetwork", "TorchHierarchy"]


def _torch_csr(M: sp.spmatrix, device, dtype) -> torch.Tensor:
    M = sp.csr_matrix(M)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.from_numpy(M.indptr.astype(np.int64)),
                                       torch.from_numpy(M.indices.astype(np.int64)),
                                       torch.from_numpy(M.data), size=M.shape,
                                       check_invariants=False).to(device=device, dtype=dtype)


@dataclasses.dataclass
class _TorchLevel:
    A: torch.Tensor
    neighbours: torch.Tensor
    dis: torch.Tensor
    P: torch.Tensor | None
    PT: torch.Tensor | None
    scale: float = 1.0  # smoother damping set by BoundVCycle's stability safeguard


class TorchHierarchy:
    """A :class:`~pdekit.operators.dcdm_levels.GridHierarchy` as torch tensors (for training
    and for GPU inference).

    Attributes
    ----------
    levels : list
        Per level: ``A`` (sparse CSR), ``neighbours`` (n, K), ``dis`` (n,) inverse square
        root of the diagonal, ``P`` / ``PT`` (sparse CSR, None on the coarsest).
    coarse_inverse : (n_c, n_c) tensor
    matrix : (n, n) sparse CSR tensor
        The level-0 matrix.
    """

    def __init__(self, hierarchy: GridHierarchy, *, device="cpu", dtype=torch.float64) -> None:
        self.source = hierarchy
        self.levels = []
        for lev in hierarchy.levels:
            P = lev.prolongation
            self.levels.append(_TorchLevel(
                _torch_csr(lev.matrix, device, dtype),
                torch.from_numpy(lev.neighbours).to(device=device, dtype=torch.long),
                torch.from_numpy(lev.inv_sqrt_diagonal).to(device=device, dtype=dtype),
                None if P is None else _torch_csr(P, device, dtype),
                None if P is None else _torch_csr(P.T, device, dtype)))
        self.coarse_inverse = torch.from_numpy(hierarchy.coarse_inverse()).to(device=device, dtype=dtype)
        self.matrix = self.levels[0].A
        self.n = hierarchy.levels[0].n
        self.device, self.dtype = device, dtype


def _grid_mask(n: int, shape: Sequence[int] | None, unknowns: np.ndarray | None) -> np.ndarray:
    if unknowns is not None:
        mask = np.asarray(unknowns, dtype=bool)
        if shape is not None and tuple(shape) != mask.shape:
            raise ValueError(f"shape {tuple(shape)} differs from the unknowns mask shape {mask.shape}")
    elif shape is not None:
        mask = np.ones(tuple(int(s) for s in shape), dtype=bool)
    else:
        raise ValueError("a grid network needs the grid: give shape= (every node an unknown) or "
                         "unknowns= (a bool mask of the grid, e.g. GridSystem.unknowns)")
    if int(mask.sum()) != n:
        raise ValueError(f"the grid {mask.shape} has {int(mask.sum())} unknowns but A has {n} rows")
    return mask


class CycleForward:
    """The forward pass every learned cycle shares: ``model(hierarchy, r)`` runs ``_cycle`` from
    level 0 on residuals of shape (n,) or (n, B)."""

    def forward(self, hierarchy, r: torch.Tensor) -> torch.Tensor:
        """Apply the network to residuals ``r`` of shape (n,) or (n, B); returns the same shape."""
        if r.shape[0] != hierarchy.n:
            raise ValueError(f"r has {r.shape[0]} rows; the hierarchy has n = {hierarchy.n}")
        if r.ndim == 1:
            return self._cycle(hierarchy, 0, r[:, None])[:, 0]
        return self._cycle(hierarchy, 0, r)


class VCycleNet(CycleForward, OperatorModel):
    """Learned V-cycle approximating ``A^-1`` (up to a constant) on 2D or 3D grids.

    Parameters
    ----------
    ndim : {2, 3}
        Grid dimension.
    stencil : {"box", "star"}
        Smoother stencil: 3^d points, or the 2d + 1 point star (cheaper in 3D).
    smoothing_steps : int
        Pre- and post-smoothing steps per level (each with its own stencil, shared by levels).
    coarse_size : int
        Levels are added until one has at most this many unknowns; it is solved exactly.
    symmetric : bool
        Tie the post-smoothing stencils to the adjoints of the pre-smoothing ones, so the
        network is a symmetric operator (positive definite while its smoother converges). An
        untied network has more freedom but can be blind to some residuals (its symmetric part
        can vanish on them), which stalls DCDM; the shipped networks are symmetric.
    interpolation : {"operator", "linear"}
        Grid transfers: operator-dependent (collapsed-stencil; robust to coefficient jumps,
        obstacles, Dirichlet sides) or plain bilinear/trilinear (see
        :func:`~pdekit.operators.dcdm_levels.build_hierarchy`).
    stability_cap : float
        Safeguard of :meth:`bind`: on every level where the power-iteration estimate of
        ``lambda_max(S A)`` of the learned smoother ``S`` exceeds this, the smoothers are damped
        to it, so the V-cycle stays positive definite on grids and levels unlike those of
        training (0 disables it). Without it a 3D network trained on 33^3 grids made the
        V-cycle indefinite on the coarse levels of a 129^3 grid and DCDM plateaued near 1e-3.

    Attributes
    ----------
    pre : (smoothing_steps, K) parameter
        Pre-smoothing stencils (K = 3^d or 2d + 1), initialised to damped Jacobi (2/3 at the centre).
    post : (smoothing_steps, K) tensor
        Post-smoothing stencils (a parameter of their own when ``symmetric=False``).
    coarse_weight : () parameter
        Scale of the coarse-grid correction.
    """

    def __init__(self, ndim: int = 2, *, stencil: str = "box", smoothing_steps: int = 1,
                 coarse_size: int = 256, symmetric: bool = True, interpolation: str = "operator",
                 stability_cap: float = 1.8) -> None:
        super().__init__()
        if ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 or 3; got {ndim}")
        if int(smoothing_steps) != smoothing_steps or smoothing_steps < 1:
            raise ValueError(f"smoothing_steps must be an integer >= 1; got {smoothing_steps}")
        if int(coarse_size) != coarse_size or coarse_size < 1:
            raise ValueError(f"coarse_size must be an integer >= 1; got {coarse_size}")
        self.ndim, self.stencil, self.coarse_size = ndim, stencil, int(coarse_size)
        self.offsets = stencil_offsets(ndim, stencil)
        init = torch.zeros(int(smoothing_steps), len(self.offsets), dtype=torch.float64)
        init[:, self.offsets.index((0,) * ndim)] = 2.0 / 3.0
        self.symmetric = bool(symmetric)
        self.pre = torch.nn.Parameter(init.clone())
        if not self.symmetric:
            self.post_weights = torch.nn.Parameter(init.clone())
        self.coarse_weight = torch.nn.Parameter(torch.ones((), dtype=torch.float64))
        #: stability safeguard of :meth:`bind` (see ``BoundVCycle._stability_scales``)
        if not (np.isfinite(stability_cap) and stability_cap >= 0):
            raise ValueError(f"stability_cap must be a finite number >= 0; got {stability_cap}")
        if interpolation not in ("operator", "linear"):
            raise ValueError(f"unknown interpolation {interpolation!r}; expected 'operator' or 'linear'")
        self.interpolation = interpolation
        self.stability_cap = float(stability_cap)
        self.stability_iterations = 12

    @property
    def post(self) -> torch.Tensor:
        """Post-smoothing stencils; for a symmetric network the adjoints of the pre-smoothing
        ones in reverse order (offset ``o`` takes the weight of ``-o``: the C-order offset list
        reversed), which makes the V-cycle a symmetric operator."""
        if self.symmetric:
            return self.pre.flip(0).flip(1)
        return self.post_weights

    # ------------------------------------------------------------------ setup
    def hierarchy(self, A: Any, *, shape: Sequence[int] | None = None, unknowns: np.ndarray | None = None,
                  device="cpu", dtype=torch.float64) -> TorchHierarchy:
        """Setup for training: the torch hierarchy of ``A`` on its grid (see :meth:`bind`)."""
        A = _as_scipy(A)
        mask = _grid_mask(A.shape[0], shape, unknowns)
        self._check_grid(mask)
        return TorchHierarchy(build_hierarchy(A, mask, stencil=self.stencil, coarse_size=self.coarse_size,
                                              interpolation=self.interpolation),
                              device=device, dtype=dtype)

    def bind(self, A: Any, *, shape: Sequence[int] | None = None, unknowns: np.ndarray | None = None):
        """Setup for one matrix: return the callable ``r -> d`` that :func:`dcdm` iterates with.

        Parameters
        ----------
        A : (n, n) SPD matrix
            scipy sparse (the callable works on numpy vectors with scipy products) or torch
            sparse (torch vectors, computed on the matrix's device).
        shape : sequence of int, optional
            Grid shape when every node is an unknown (``prod(shape) == n``).
        unknowns : bool array of grid shape, optional
            Mask of the unknown nodes (C order numbering), e.g. ``GridSystem.unknowns``.

        Returns
        -------
        BoundVCycle
            Callable on (n,) vectors; ``.flops`` and ``.spmv_equivalents`` give its cost.
        """
        device = A.device if isinstance(A, torch.Tensor) else None
        scipy_A = _as_scipy(A)
        mask = _grid_mask(scipy_A.shape[0], shape, unknowns)
        self._check_grid(mask)
        h = build_hierarchy(scipy_A, mask, stencil=self.stencil, coarse_size=self.coarse_size,
                            interpolation=self.interpolation)
        return BoundVCycle(self, h, device=device)

    def _check_grid(self, mask: np.ndarray) -> None:
        if mask.ndim != self.ndim:
            raise ValueError(f"this network works on {self.ndim}D grids; the grid has shape {mask.shape}")

    # ------------------------------------------------------------------ forward
    def _smooth(self, w: torch.Tensor, lev: _TorchLevel, r: torch.Tensor) -> torch.Tensor:
        u = lev.dis[:, None] * r
        u = torch.cat([u, u.new_zeros(1, u.shape[1])])
        out = lev.dis[:, None] * torch.einsum("k,nkb->nb", w.to(r.dtype), u[lev.neighbours])
        return out if lev.scale == 1.0 else lev.scale * out

    def _cycle(self, h: TorchHierarchy, level: int, r: torch.Tensor) -> torch.Tensor:
        if level == len(h.levels) - 1:
            return h.coarse_inverse @ r
        lev = h.levels[level]
        z = self._smooth(self.pre[0], lev, r)
        for w in self.pre[1:]:
            z = z + self._smooth(w, lev, r - lev.A @ z)
        coarse = self._cycle(h, level + 1, lev.PT @ (r - lev.A @ z))
        z = z + self.coarse_weight.to(r.dtype) * (lev.P @ coarse)
        for w in self.post:
            z = z + self._smooth(w, lev, r - lev.A @ z)
        return z



def _as_scipy(A: Any) -> sp.csr_matrix:
    if isinstance(A, torch.Tensor):
        coo = A.detach().to_sparse_coo().coalesce().cpu() if A.layout != torch.strided else A.detach().cpu().to_sparse_coo()
        idx = coo.indices().numpy()
        return sp.csr_matrix((coo.values().numpy().astype(np.float64), (idx[0], idx[1])), shape=tuple(coo.shape))
    if not sp.issparse(A) and not isinstance(A, np.ndarray):
        raise TypeError(f"A must be a scipy sparse matrix or a torch sparse tensor; got {type(A).__name__}")
    return sp.csr_matrix(A, dtype=np.float64)


class _SmootherPattern:
    """The CSR pattern of a level's smoothers and the scaling ``d_i^-1/2 d_j^-1/2`` of each entry."""

    def __init__(self, level) -> None:
        nb, n = level.neighbours, level.n
        valid = nb < n
        index_type = np.int32 if n < 2**31 - 1 else np.int64
        self.indptr = np.zeros(n + 1, dtype=index_type)
        np.cumsum(valid.sum(axis=1), out=self.indptr[1:])
        self.indices = nb[valid].astype(index_type)  # offsets in C order keep each row sorted
        self.offset = np.broadcast_to(np.arange(nb.shape[1], dtype=np.int16), nb.shape)[valid]
        dis = level.inv_sqrt_diagonal
        self.scale = (dis[:, None] * np.append(dis, 0.0)[nb])[valid]
        self.n = n

    def matrix(self, w: np.ndarray) -> sp.csr_matrix:
        """``D^-1/2 (sum_o w_o shift_o) D^-1/2`` as one CSR matrix."""
        return sp.csr_matrix((w[self.offset] * self.scale, self.indices, self.indptr), shape=(self.n, self.n))


def stability_scale(S, A, *, cap: float, iterations: int, rng: np.random.Generator) -> float:
    """The damping ``omega = min(1, cap / lambda_max(S A))`` of a smoother ``S`` for ``A``.

    ``lambda_max`` is estimated by ``iterations`` steps of power iteration from a random start
    drawn from ``rng``; norms are summed by numpy (the same bits at any BLAS thread count).
    ``cap <= 0`` or ``iterations <= 0``: no damping (1.0).

    Parameters
    ----------
    S, A : (n, n) sparse matrices
    """
    if cap <= 0 or iterations <= 0:
        return 1.0
    v, lam = rng.standard_normal(A.shape[0]), 0.0
    for _ in range(int(iterations)):
        v = S @ (A @ v)
        lam = vector_norm(v)
        if not lam > 0:
            break
        v /= lam
    return 1.0 if lam <= cap else cap / lam


class BoundNetwork:
    """What a learned cycle bound to one matrix shares: the size check and the backend dispatch.

    Subclasses set ``hierarchy`` (levels with ``n``), ``device`` (None: scipy on the CPU),
    ``_cycle(0, r)`` (the numpy cycle), and for a torch device ``_model`` and ``_torch``.
    """

    def __call__(self, r):
        """Direction for the residual ``r`` ((n,) numpy array, or torch tensor)."""
        n = self.hierarchy.levels[0].n
        size = int(r.numel()) if isinstance(r, torch.Tensor) else int(np.size(r))
        if size != n:
            raise ValueError(f"this network is bound to a matrix with {n} unknowns; got a residual of "
                             f"{size} entries (bind the network to the matrix being solved)")
        if self.device is not None:
            with torch.no_grad():
                t = torch.as_tensor(r, device=self.device).reshape(-1)
                return self._model(self._torch, t.to(torch.float64)).to(t.dtype)
        if isinstance(r, torch.Tensor):
            out = self._cycle(0, r.detach().cpu().numpy().astype(np.float64).reshape(-1))
            return torch.as_tensor(out, dtype=r.dtype, device=r.device)
        return self._cycle(0, np.asarray(r, dtype=np.float64).reshape(-1))



class BoundVCycle(BoundNetwork):
    """A :class:`VCycleNet` set up for one matrix: a callable ``r -> d`` on (n,) vectors.

    Attributes
    ----------
    hierarchy : GridHierarchy
    n_levels : int
    flops : int
        Floating-point operations of one application.
    spmv_equivalents : float
        ``flops / (2 nnz(A))``: the cost in sparse matrix-vector products with ``A``.
    """

    def __init__(self, model: VCycleNet, hierarchy: GridHierarchy, *, device=None) -> None:
        self.hierarchy = hierarchy
        self.n_levels = len(hierarchy.levels)
        self.device = device
        pre = model.pre.detach().cpu().double().numpy()
        post = model.post.detach().cpu().double().numpy()
        self.coarse_weight = float(model.coarse_weight.detach())
        if device is not None:  # torch path on the matrix's device
            self._model = model
            self._torch = TorchHierarchy(hierarchy, device=device, dtype=torch.float64)
        else:
            patterns = [_SmootherPattern(lev) for lev in hierarchy.levels[:-1]]
            self._pre = [[pat.matrix(w) for w in pre] for pat in patterns]
            self._post = [[pat.matrix(w) for w in post] for pat in patterns]
            self._restrict = [lev.prolongation.T.tocsr() for lev in hierarchy.levels[:-1]]
        self.smoother_scales = self._stability_scales(model, pre)
        for level, omega in enumerate(self.smoother_scales):
            if omega == 1.0:
                continue
            if device is not None:
                self._torch.levels[level].scale = omega
            else:
                for S in self._pre[level] + self._post[level]:
                    S.data *= omega  # each level's smoother matrices are its own
        self.flops = self._count_flops(pre.shape[0], pre.shape[1])
        self.spmv_equivalents = self.flops / (2.0 * hierarchy.levels[0].matrix.nnz)

    def _stability_scales(self, model: VCycleNet, pre: np.ndarray) -> list[float]:
        """Per level, the damping ``omega = min(1, cap / lambda_max(S A))`` of the smoothers.

        The same learned stencils serve every level, but a Galerkin coarse operator (27 points
        in 3D, stiffer near obstacles and coefficient jumps) is not the fine 7-point one, and a
        stencil trained on small grids can make ``I - S A`` diverge on the coarse levels of a
        larger grid (``lambda_max(S A) > 2``): the V-cycle is then indefinite and DCDM
        plateaus. ``lambda_max`` is estimated by power iteration on the first pre-smoother
        (``stability_iterations`` steps, the setup cost of a few V-cycles); ``cap`` is
        :attr:`VCycleNet.stability_cap`.
        """
        cap, iters = float(model.stability_cap), int(model.stability_iterations)
        scales = []
        rng = np.random.default_rng(0)
        for level, lev in enumerate(self.hierarchy.levels[:-1]):
            if cap <= 0 or iters <= 0:
                scales.append(1.0)
                continue
            S = _SmootherPattern(lev).matrix(pre[0]) if self.device is not None else self._pre[level][0]
            scales.append(stability_scale(S, lev.matrix, cap=cap, iterations=iters, rng=rng))
        return scales

    def _count_flops(self, steps: int, K: int) -> int:
        total = 0
        for lev in self.hierarchy.levels[:-1]:
            n, nnz_a = lev.n, lev.matrix.nnz
            nnz_s = int((lev.neighbours < n).sum())
            residual = 2 * nnz_a + n
            smooth = 2 * nnz_s + n  # product plus the update
            total += smooth + (steps - 1) * (residual + smooth)  # pre-smoothing
            total += residual + 4 * lev.prolongation.nnz + 2 * n  # restrict, prolong, scaled add
            total += steps * (residual + smooth)  # post-smoothing
        nc = self.hierarchy.levels[-1].n
        return int(total + 2 * nc * nc)

    def _cycle(self, level: int, r: np.ndarray) -> np.ndarray:
        if level == self.n_levels - 1:
            return self.hierarchy.coarse_solve(r)
        A = self.hierarchy.levels[level].matrix
        z = self._pre[level][0] @ r
        for S in self._pre[level][1:]:
            z += S @ (r - A @ z)
        coarse = self._cycle(level + 1, self._restrict[level] @ (r - A @ z))
        z += self.coarse_weight * (self.hierarchy.levels[level].prolongation @ coarse)
        for S in self._post[level]:
            z += S @ (r - A @ z)
        return z

    def __repr__(self) -> str:
        return (f"BoundVCycle(n={self.hierarchy.levels[0].n}, levels={self.n_levels}, "
                f"cost={self.spmv_equivalents:.1f} SpMV)")
