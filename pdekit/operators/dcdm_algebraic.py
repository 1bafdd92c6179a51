"""A learned V-cycle for deep conjugate directions on matrices without a grid (unstructured FEM).

:class:`~pdekit.operators.VCycleNet` learns stencil weights, one per grid offset; a matrix
from an unstructured mesh has no offsets. :class:`AlgebraicVCycleNet` learns instead a function
of the *normalised coupling* ``c_ij = a_ij / sqrt(a_ii a_jj)``: on every level of a
smoothed-aggregation hierarchy (:mod:`pdekit.operators.algebraic_levels`) a smoothing step is

    S = D^-1/2 (w_0 I + G) D^-1/2,    G_ij = w_1 c_ij + w_2 c_ij^2 + ... (i != j),

a sparse approximate inverse with the pattern of the level's matrix whose entries are a learned
polynomial of the couplings (``w_0 = 2/3`` and the rest zero is damped Jacobi, the untrained
default; ``w_0 = 1, w_1 = -1`` is the first Neumann term of ``(I + C)^-1``). ``S`` is
symmetric, and the V-cycle applies the steps in one order before the coarse correction and in
reverse after it, so the network is a symmetric operator. The weights come in ``level_groups``
sets (level 0, level 1, ..., the last set for all coarser levels, whose Galerkin operators look
alike) with a learned coarse-correction weight each.

``cycle="K"`` makes the coarse correction of every level but the two coarsest a Krylov cycle
(Notay and Vassilevski's K-cycle): two flexible-CG steps on the coarse system, each
preconditioned by the coarser cycle, instead of one cycle. The map is then nonlinear in the
residual (scale-invariant, so the line search still absorbs the constant), which deep conjugate
directions allows and PCG would not; measured on aggregation hierarchies it keeps the iteration
count nearly flat as meshes are refined, where a V-cycle's grows with the number of levels. The same few numbers serve every matrix:
P1 and P2, 2D and 3D, any coefficient, any mesh. They are trained without labels with the DCDM
loss (:func:`pdekit.training.train_dcdm`), the shipped ones on pdekit's own FEM matrices
(``pretrained("dcdm-algebraic")``).

At binding the smoothers are damped on every level where the power-iteration estimate of
``lambda_max(S A)`` for the first smoothing step exceeds ``stability_cap`` (as
:class:`VCycleNet` does), so the cycle stays positive definite on matrices unlike those of
training.

Examples
--------
>>> import numpy as np
>>> from pdekit.meshes import disk
>>> from pdekit.solvers import fem
>>> from pdekit.solvers.linear import dcdm
>>> V = fem.function_space(disk(12), 1)
>>> s = fem.condense(fem.stiffness_matrix(V, 1.0), fem.load_vector(V, 1.0), fem.dirichlet_dofs(V), 0.0)
>>> x, info = dcdm(s.matrix, s.rhs, network=AlgebraicVCycleNet(), rtol=1e-8)
>>> info.converged
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from pdekit.operators.algebraic_levels import AlgebraicHierarchy, build_algebraic_hierarchy
from pdekit.operators.base import OperatorModel
from pdekit.operators.dcdm import BoundNetwork, CycleForward, _as_scipy, _torch_csr, stability_scale
from pdekit.solvers.linear import inner_product

#: a level takes a Krylov coarse correction when at least this many levels lie below it
_K_DEPTH = 3

__all__ = ["AlgebraicVCycleNet", "BoundAlgebraicVCycle", "TorchAlgebraicHierarchy", "krylov_step"]


@dataclasses.dataclass
class _TorchLevel:
    A: torch.Tensor
    dis: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor
    couplings: torch.Tensor
    P: torch.Tensor | None
    PT: torch.Tensor | None
    scale: float = 1.0


class TorchAlgebraicHierarchy:
    """An :class:`~pdekit.operators.algebraic_levels.AlgebraicHierarchy` as torch tensors
    (training, GPU inference); ``matrix`` is the level-0 sparse matrix, ``n`` its size."""

    def __init__(self, hierarchy: AlgebraicHierarchy, *, device="cpu", dtype=torch.float64) -> None:
        self.source = hierarchy
        self.levels = []
        for lev in hierarchy.levels:
            P = lev.prolongation
            self.levels.append(_TorchLevel(
                _torch_csr(lev.matrix, device, dtype),
                torch.from_numpy(lev.inv_sqrt_diagonal).to(device=device, dtype=dtype),
                torch.from_numpy(lev.rows).to(device=device, dtype=torch.long),
                torch.from_numpy(lev.cols).to(device=device, dtype=torch.long),
                torch.from_numpy(lev.couplings).to(device=device, dtype=dtype),
                None if P is None else _torch_csr(P, device, dtype),
                None if P is None else _torch_csr(P.T, device, dtype)))
        self.coarse_inverse = torch.from_numpy(hierarchy.coarse_inverse()).to(device=device, dtype=dtype)
        self.matrix = self.levels[0].A
        self.n = hierarchy.levels[0].n


class AlgebraicVCycleNet(CycleForward, OperatorModel):
    """Learned symmetric V-cycle on a smoothed-aggregation hierarchy (see the module doc).

    Parameters
    ----------
    degree : int
        Degree of the coupling polynomial of each smoothing step (>= 0).
    smoothing_steps : int
        Smoothing steps before (and, in reverse, after) each coarse correction.
    level_groups : int
        Weight sets: level 0, 1, ..., the last set for every coarser level.
    coarse_size : int
        Levels are added until one has at most this many unknowns; it is solved exactly.
    stability_cap : float
        Safeguard of :meth:`bind` (0 disables it), as in :class:`VCycleNet`.
    cycle : {"V", "K"}
        V-cycle (a symmetric linear operator) or K-cycle (see the module doc).

    Attributes
    ----------
    smoothers : (level_groups, smoothing_steps, degree + 1) parameter
        ``[..., 0]`` the diagonal weight ``w_0`` (2/3 at initialisation), ``[..., k]`` the
        weight of ``c_ij^k``.
    coarse_weights : (level_groups,) parameter
        Scale of each group's coarse-grid correction (1 at initialisation).
    """

    def __init__(self, *, degree: int = 2, smoothing_steps: int = 2, level_groups: int = 2,
                 coarse_size: int = 256, stability_cap: float = 1.8, cycle: str = "V") -> None:
        super().__init__()
        for name, value, low in (("degree", degree, 0), ("smoothing_steps", smoothing_steps, 1),
                                 ("level_groups", level_groups, 1), ("coarse_size", coarse_size, 1)):
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
        if not (np.isfinite(stability_cap) and stability_cap >= 0):
            raise ValueError(f"stability_cap must be a finite number >= 0; got {stability_cap}")
        if cycle not in ("V", "K"):
            raise ValueError(f"unknown cycle {cycle!r}; expected 'V' or 'K'")
        self.cycle = cycle
        init = torch.zeros(int(level_groups), int(smoothing_steps), int(degree) + 1, dtype=torch.float64)
        init[..., 0] = 2.0 / 3.0
        self.smoothers = torch.nn.Parameter(init)
        self.coarse_weights = torch.nn.Parameter(torch.ones(int(level_groups), dtype=torch.float64))
        self.coarse_size = int(coarse_size)
        self.stability_cap = float(stability_cap)
        self.stability_iterations = 8

    def _group(self, level: int) -> int:
        return min(level, self.smoothers.shape[0] - 1)

    # ------------------------------------------------------------------ setup
    def hierarchy(self, A: Any, *, device="cpu", dtype=torch.float64, **_grid: Any) -> TorchAlgebraicHierarchy:
        """Setup for training: the torch hierarchy of ``A`` (no grid is needed; ``shape`` and
        ``unknowns`` are accepted and ignored, so grid and algebraic networks are interchangeable)."""
        return TorchAlgebraicHierarchy(build_algebraic_hierarchy(_as_scipy(A), coarse_size=self.coarse_size),
                                       device=device, dtype=dtype)

    def bind(self, A: Any, **_grid: Any) -> "BoundAlgebraicVCycle":
        """Setup for one matrix: the callable ``r -> d`` that :func:`~pdekit.solvers.linear.dcdm`
        iterates with (scipy products for a scipy ``A``; torch on the device of a torch ``A``).
        ``shape`` and ``unknowns`` are accepted and ignored: this network needs no grid."""
        device = A.device if isinstance(A, torch.Tensor) else None
        return BoundAlgebraicVCycle(self, build_algebraic_hierarchy(_as_scipy(A), coarse_size=self.coarse_size),
                                    device=device)

    # ------------------------------------------------------------------ forward
    def _smooth(self, w: torch.Tensor, lev: _TorchLevel, r: torch.Tensor) -> torch.Tensor:
        u = lev.dis[:, None] * r
        g = torch.zeros_like(lev.couplings)
        power = torch.ones_like(lev.couplings)
        for k in range(1, w.shape[0]):
            power = power * lev.couplings
            g = g + w[k] * power
        out = (w[0] * u).index_add(0, lev.rows, g[:, None] * u[lev.cols])
        out = lev.dis[:, None] * out
        return out if lev.scale == 1.0 else lev.scale * out

    def _cycle(self, h: TorchAlgebraicHierarchy, level: int, r: torch.Tensor) -> torch.Tensor:
        if level == len(h.levels) - 1:
            return h.coarse_inverse @ r
        lev, g = h.levels[level], self._group(level)
        steps = self.smoothers[g].to(r.dtype)
        z = self._smooth(steps[0], lev, r)
        for w in steps[1:]:
            z = z + self._smooth(w, lev, r - lev.A @ z)
        rc = lev.PT @ (r - lev.A @ z)
        if self.cycle == "K" and level + _K_DEPTH < len(h.levels):
            coarse = krylov_step(lambda v: self._cycle(h, level + 1, v), h.levels[level + 1].A, rc,
                                 lambda a, b: (a * b).sum(0))
        else:
            coarse = self._cycle(h, level + 1, rc)
        z = z + self.coarse_weights[g].to(r.dtype) * (lev.P @ coarse)
        for w in steps.flip(0):
            z = z + self._smooth(w, lev, r - lev.A @ z)
        return z


def krylov_step(cycle, A, r, dot):
    """Two flexible-CG steps on ``A e = r`` from ``e = 0``, preconditioned by ``cycle`` (the
    coarse correction of a K-cycle). ``r`` is (n,) or (n, B) (columns solved independently);
    ``dot(a, b)`` sums over the first axis. Works on numpy arrays and torch tensors alike."""
    c1 = cycle(r)
    v1 = A @ c1
    c1v1 = dot(c1, v1)
    e = (dot(c1, r) / c1v1) * c1
    rest = r - (dot(c1, r) / c1v1) * v1
    c2 = cycle(rest)
    c2 = c2 - (dot(c2, v1) / c1v1) * c1
    v2 = A @ c2
    return e + (dot(c2, rest) / dot(c2, v2)) * c2


def _smoother_matrix(level, w: np.ndarray) -> sp.csr_matrix:
    """``D^-1/2 (w_0 I + G) D^-1/2`` of one level as a CSR matrix with the level's pattern."""
    c = level.couplings
    g = w[-1] * c if w.shape[0] > 1 else np.zeros_like(c)
    for k in range(w.shape[0] - 2, 0, -1):  # Horner: c (w_1 + c (w_2 + ...))
        g = (g + w[k]) * c
    A = level.matrix
    data = np.empty_like(A.data)
    data[level.off_diagonal] = g * level.coupling_scale
    data[level.diagonal] = w[0] * level.inv_sqrt_diagonal ** 2
    return sp.csr_matrix((data, A.indices, A.indptr), shape=A.shape, copy=False)


class BoundAlgebraicVCycle(BoundNetwork):
    """An :class:`AlgebraicVCycleNet` set up for one matrix: a callable ``r -> d`` on (n,) vectors.

    Attributes
    ----------
    hierarchy : AlgebraicHierarchy
    n_levels : int
    smoother_scales : list of float
        Damping the stability safeguard applied per level (1: none).
    flops : int
        Floating-point operations of one application.
    spmv_equivalents : float
        ``flops / (2 nnz(A))``: the cost in sparse matrix-vector products with ``A``.
    """

    def __init__(self, model: AlgebraicVCycleNet, hierarchy: AlgebraicHierarchy, *, device=None) -> None:
        self.hierarchy = hierarchy
        self.n_levels = len(hierarchy.levels)
        self.device = device
        self.cycle = model.cycle
        weights = model.smoothers.detach().cpu().double().numpy()
        self._coarse_weights = model.coarse_weights.detach().cpu().double().numpy()
        self._groups = [model._group(level) for level in range(self.n_levels)]
        self._smoothers = [[_smoother_matrix(lev, w) for w in weights[self._groups[i]]]
                           for i, lev in enumerate(hierarchy.levels[:-1])]
        self.smoother_scales = []
        rng = np.random.default_rng(0)
        for level, lev in enumerate(hierarchy.levels[:-1]):
            omega = stability_scale(self._smoothers[level][0], lev.matrix, cap=float(model.stability_cap),
                                    iterations=int(model.stability_iterations), rng=rng)  # the first step's
            self.smoother_scales.append(omega)
            if omega != 1.0:
                for S in self._smoothers[level]:
                    S.data *= omega
        self._restrict = [lev.prolongation.T.tocsr() for lev in hierarchy.levels[:-1]]
        if device is not None:
            self._model = model
            self._torch = TorchAlgebraicHierarchy(hierarchy, device=device)
            for level, omega in enumerate(self.smoother_scales):
                self._torch.levels[level].scale = omega
        self.flops = self._count_flops()
        self.spmv_equivalents = self.flops / (2.0 * hierarchy.levels[0].matrix.nnz)

    def _count_flops(self) -> int:
        """Flops of one application: level by level, times the number of visits of the level
        (1 for a V-cycle; a K-cycle visits a level twice per visit of the level above it)."""
        total, visits = 0, 1
        for level, lev in enumerate(self.hierarchy.levels[:-1]):
            n, nnz = lev.n, lev.matrix.nnz
            steps = len(self._smoothers[level])
            smooth = 2 * nnz + n
            residual = 2 * nnz + n
            work = smooth + (2 * steps - 1) * (residual + smooth)  # every step but the first
            work += residual + 4 * lev.prolongation.nnz + 2 * n  # restrict, prolong, scaled add
            if self.cycle == "K" and level + _K_DEPTH < self.n_levels:
                coarse = self.hierarchy.levels[level + 1]
                work += 2 * (2 * coarse.matrix.nnz) + 12 * coarse.n  # two products, dots, updates
            total += visits * work
            visits *= 2 if self.cycle == "K" and level + _K_DEPTH < self.n_levels else 1
        nc = self.hierarchy.levels[-1].n
        return int(total + visits * 2 * nc * nc)

    def _cycle(self, level: int, r: np.ndarray) -> np.ndarray:
        if level == self.n_levels - 1:
            return self.hierarchy.coarse_solve(r)
        lev = self.hierarchy.levels[level]
        A, steps = lev.matrix, self._smoothers[level]
        z = steps[0] @ r
        for S in steps[1:]:
            z += S @ (r - A @ z)
        rc = self._restrict[level] @ (r - A @ z)
        if self.cycle == "K" and level + _K_DEPTH < self.n_levels:
            coarse = krylov_step(lambda v: self._cycle(level + 1, v), self.hierarchy.levels[level + 1].matrix, rc,
                                 lambda a, b: float(inner_product(a, b)))
        else:
            coarse = self._cycle(level + 1, rc)
        z += self._coarse_weights[self._groups[level]] * (lev.prolongation @ coarse)
        for S in steps[::-1]:
            z += S @ (r - A @ z)
        return z

    def __repr__(self) -> str:
        return (f"BoundAlgebraicVCycle(n={self.hierarchy.levels[0].n}, levels={self.n_levels}, "
                f"cycle={self.cycle!r}, cost={self.spmv_equivalents:.1f} SpMV)")
