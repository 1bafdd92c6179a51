"""The mesh-free Chebyshev–Tucker format (Benner, Khoromskij, Khoromskaia, Sun).

Level one: product Chebyshev interpolation of ``f`` on a box gives a coefficient tensor
``C`` of modest size (degrees chosen per mode by the decay of the coefficient tail).
Level two: a Tucker decomposition of ``C`` with ranks chosen by tolerance,
``C ~ G ×_0 A_0 ... ×_{d-1} A_{d-1}``, orthonormal ``A_m`` of shape ``(n_m + 1, r_m)``.
Column ``j`` of ``A_m`` holds the Chebyshev coefficients of a univariate function
``u_{m,j}``, so ``f(x) ~ sum_j G[j] u_{0,j_0}(x_0) ... u_{d-1,j_{d-1}}(x_{d-1})`` can be
evaluated anywhere and sampled on any tensor grid as a Tucker tensor without forming the grid.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from ._checks import check_tol, per_mode_ranks
from ._ct_from_cp import cp_reduced_hosvd
from ._io import read_arrays, write_arrays
from ._sampling import TAIL_SAFETY, adaptive_coefficients, values_to_coefficients_nd, warn_if_unconverged
from ._validation_ct import check_cp_inputs
from .chebyshev import (check_box, chop_degree, clenshaw, coefficients_to_values,
                        derivative_coefficients, integral_weights, to_unit, values_to_coefficients,
                        vandermonde)
from .chebyshev_interpolant import check_points, max_degrees
from .tucker_decomposition import tucker
from .tucker_tensor import TuckerTensor

__all__ = ["ChebyshevTucker"]


class ChebyshevTucker:
    """A function on a box in Chebyshev–Tucker form.

    Parameters
    ----------
    core : (r_0, ..., r_{d-1}) array
    factors : sequence of d arrays, factor ``m`` of shape (n_m + 1, r_m)
        Chebyshev coefficients of the univariate factor functions (orthonormal columns
        when built by the constructors below).
    box : sequence of d (low, high) pairs

    Attributes
    ----------
    core, factors, box
    converged : list of bool
        Per mode, whether the Chebyshev coefficient tail fell below the tolerance (False
        flags a function the format does not resolve, such as a cusp, at ``max_degree``).
    tails : list of float
        Per mode, the relative size of the largest discarded Chebyshev coefficient.
    tucker_error : float
        Relative Frobenius error of the Tucker step on the coefficient tensor.
    """

    def __init__(self, core: np.ndarray, factors: Sequence[np.ndarray], box: Any) -> None:
        self.box = check_box(box)
        self.core = np.asarray(core, dtype=np.float64)
        self.factors = [np.asarray(a, dtype=np.float64) for a in factors]
        d = self.box.shape[0]
        if self.core.ndim != d or len(self.factors) != d:
            raise ValueError(f"a {d}-dimensional box needs a core with {d} modes and {d} factors; "
                             f"got core shape {self.core.shape} and {len(self.factors)} factors")
        for m, a in enumerate(self.factors):
            if a.ndim != 2 or a.shape[1] != self.core.shape[m]:
                raise ValueError(f"factor {m} must have shape (degree + 1, {self.core.shape[m]}); "
                                 f"got {a.shape}")
        self.converged = [True] * d
        self.tails = [0.0] * d
        self.tucker_error = 0.0

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_function(cls, f: Callable[[np.ndarray], Any], box: Any, *, tol: float,
                      max_degree: Any = 256, degrees: Sequence[int] | None = None,
                      method: str = "hooi") -> "ChebyshevTucker":
        """Interpolate ``f`` at Chebyshev points (second kind), DCT-I, then Tucker of the coefficients.

        Parameters
        ----------
        f : callable
            ``f(points)``, points of shape ``(n, d)``, returns ``n`` finite values.
        box : sequence of d (low, high) pairs, each of non-zero width
        tol : float in (0, 1)
            Relative accuracy: the Chebyshev tail of every mode falls below ``tol / 20`` times
            the largest coefficient (the discarded terms add up), and the Tucker ranks are the
            smallest whose relative error on the coefficient tensor is within ``tol``. The
            result then has a relative L2 error within ``tol`` over the box (its max error is
            typically below ``tol`` times ``max |f|`` too, within a factor 2).
        max_degree : int or sequence of d ints
            Largest degree tried per mode (a mode that does not converge is flagged in
            ``converged`` and keeps this degree).
        degrees : sequence of d ints, optional
            Fixed degrees (e.g. 128 for the paper's 129 points), no adaptivity.
        method : {"hooi", "sthosvd", "hosvd"}
            Tucker algorithm for the coefficient tensor (HOSVD then ALS by default).
        """
        box = check_box(box)
        tol = check_tol(tol)
        coeffs, conv, tails = adaptive_coefficients(f, box, tol=tol, degrees=degrees,
                                                    max_degree=max_degrees(max_degree, box.shape[0]))
        out = cls._from_coefficients(coeffs, box, tol=tol, method=method)
        out.converged, out.tails = conv, tails
        warn_if_unconverged("Chebyshev–Tucker", conv, tails, tol, max_degrees(max_degree, box.shape[0]))
        return out

    @classmethod
    def from_grid(cls, values: Any, box: Any, *, tol: float, method: str = "hooi") -> "ChebyshevTucker":
        """From values at the tensor Chebyshev points of ``box`` (degrees = sizes - 1).

        ``values`` is a full array or a :class:`TuckerTensor` of such values; a Tucker tensor
        is converted factor by factor (DCT-I of each factor), never formed in full.
        """
        box = check_box(box)
        tol = check_tol(tol)
        if isinstance(values, TuckerTensor):
            factors = [values_to_coefficients(np.asarray(u, dtype=np.float64), axis=0)
                       for u in values.factors]
            t = TuckerTensor(np.asarray(values.core, dtype=np.float64), factors).truncate(tol=tol,
                                                                                      method=method)
            out = cls(t.core, t.factors, box)
            out.tucker_error = t.info.get("rel_error", 0.0)
            return out
        if np.iscomplexobj(values):
            raise TypeError("values are complex; Chebyshev–Tucker approximates real functions: "
                            "approximate the real and imaginary parts separately")
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != box.shape[0] or min(v.shape) < 2:
            raise ValueError(f"values must be a {box.shape[0]}-dimensional grid with >= 2 points per "
                             f"mode; got shape {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("values must be finite everywhere; found NaN or inf")
        return cls._from_coefficients(values_to_coefficients_nd(v), box, tol=tol, method=method)

    @classmethod
    def from_cp(cls, weights: Any, factor_functions: Sequence[Callable[[np.ndarray, slice], np.ndarray]],
                box: Any, *, tol: float, max_degree: Any = 256, chunk: int = 512) -> "ChebyshevTucker":
        """From a CP sum ``f(x) = sum_r w_r g_{0,r}(x_0) ... g_{d-1,r}(x_{d-1})`` by reduced HOSVD.

        Each mode's R univariate functions are interpolated (degree chosen by the tail of
        all of them), the per-mode coefficient matrices ``(n_m + 1, R)`` are compressed by a
        chunked SVD (RHOSVD), the small core is projected from the CP sum, and the result is
        recompressed to ``tol``. Neither the full coefficient tensor nor a whole coefficient
        matrix is ever formed (see :mod:`pdekit.tensor_formats._ct_from_cp`).

        Parameters
        ----------
        weights : (R,) array
        factor_functions : d callables
            ``factor_functions[m](x, columns)`` with ``x`` of shape ``(n,)`` and ``columns`` a
            slice of ``range(R)`` returns the ``(n, len(columns))`` values of those terms
            (:func:`~pdekit.tensor_formats.potentials.long_range_cp` builds such functions).
        box, tol, max_degree : as in :meth:`from_function`
        chunk : int
            Terms handled at once (memory ~ ``(degree + 1) * chunk`` numbers).
        """
        box = check_box(box)
        tol = check_tol(tol)
        d = box.shape[0]
        w = check_cp_inputs(weights, factor_functions, d)
        core, bases, conv, tails = cp_reduced_hosvd(w, factor_functions, box, tol=tol,
                                                    level=tol / TAIL_SAFETY,
                                                    max_degrees=max_degrees(max_degree, d),
                                                    chunk=int(chunk))
        small = tucker(core, None, max_rel_error=tol)
        out = cls(small.core, [b @ v for b, v in zip(bases, small.factors)], box)
        out.tucker_error = small.info["rel_error"]
        out = out.chop(tol / TAIL_SAFETY)
        out.converged, out.tails = conv, tails
        warn_if_unconverged("Chebyshev–Tucker", conv, tails, tol, max_degrees(max_degree, d))
        return out

    @classmethod
    def _from_coefficients(cls, coeffs: np.ndarray, box: np.ndarray, *, tol: float,
                           method: str) -> "ChebyshevTucker":
        t = tucker(coeffs, None, max_rel_error=tol, method=method)
        out = cls(t.core, t.factors, box)
        out.tucker_error = t.info["rel_error"]
        return out

    # ------------------------------------------------------------------ properties
    @property
    def ndim(self) -> int:
        return self.core.ndim

    @property
    def ranks(self) -> tuple[int, ...]:
        """Tucker ranks ``(r_0, ..., r_{d-1})``."""
        return tuple(int(r) for r in self.core.shape)

    @property
    def degrees(self) -> tuple[int, ...]:
        """Chebyshev degree per mode (``n_m``; ``n_m + 1`` points)."""
        return tuple(int(a.shape[0]) - 1 for a in self.factors)

    @property
    def n_params(self) -> int:
        """Numbers stored (core plus coefficient factors)."""
        return int(self.core.size + sum(a.size for a in self.factors))

    def __repr__(self) -> str:
        return (f"ChebyshevTucker(box={self.box.tolist()}, ranks={self.ranks}, degrees={self.degrees}, "
                f"converged={all(self.converged)})")

    # ------------------------------------------------------------------ evaluation
    def factor_values(self, m: int, x: np.ndarray) -> np.ndarray:
        """Values of the univariate factor functions of mode ``m`` at ``x`` (box coordinates), (n, r_m)."""
        t = to_unit(np.asarray(x, dtype=np.float64).ravel(), *self.box[m])
        return clenshaw(self.factors[m], t[:, None], axis=0)

    def evaluate(self, points: Any) -> np.ndarray:
        """Values at arbitrary points: (n, d) -> (n,), by Clenshaw on each factor."""
        p = check_points(points, self.box)
        out = np.empty(len(p))
        for s in range(0, len(p), 65536):
            sl = slice(s, s + 65536)
            v = self.factor_values(0, p[sl, 0])
            acc = v @ self.core.reshape(self.ranks[0], -1)  # (b, r_1 ... r_{d-1})
            for m in range(1, self.ndim):
                acc = acc.reshape(acc.shape[0], self.ranks[m], -1)
                acc = np.einsum("bij,bi->bj", acc, self.factor_values(m, p[sl, m]))
            out[sl] = acc.reshape(-1)
        return out

    def __call__(self, points: Any) -> np.ndarray:
        return self.evaluate(points)

    def on_grid(self, grids: Sequence[np.ndarray]) -> TuckerTensor:
        """The function on the tensor grid ``grids[0] x ... x grids[d-1]`` as an orthogonal Tucker tensor.

        Each factor is sampled on its grid (``len(grid) x r_m``) and orthonormalized by QR,
        the triangular factors absorbed in the core; the full grid is never formed.
        """
        if len(grids) != self.ndim:
            raise ValueError(f"give one grid per mode ({self.ndim}); got {len(grids)}")
        core, qs = self.core, []
        for m, g in enumerate(grids):
            g = check_points(np.asarray(g, dtype=np.float64).ravel()[:, None], self.box[m:m + 1])[:, 0]
            q, r = np.linalg.qr(vandermonde(to_unit(g, *self.box[m]), self.degrees[m]) @ self.factors[m])
            qs.append(q)
            core = np.moveaxis(np.tensordot(r, core, axes=(1, m)), 0, m)
        return TuckerTensor(core, qs, orthogonal=True)

    def to_tucker(self, grids: Sequence[np.ndarray]) -> TuckerTensor:
        """Alias of :meth:`on_grid`."""
        return self.on_grid(grids)

    # ------------------------------------------------------------------ calculus
    def integrate(self) -> float:
        """Integral over the box."""
        out = self.core
        for m in range(self.ndim - 1, -1, -1):
            w = integral_weights(self.degrees[m]) @ self.factors[m]
            out = np.tensordot(out, w * 0.5 * (self.box[m, 1] - self.box[m, 0]), axes=(m, 0))
        return float(out)

    def derivative(self, axis: int, order: int = 1) -> "ChebyshevTucker":
        """Partial derivative of order ``order`` along ``axis``, in the format (same ranks)."""
        if not 0 <= int(axis) < self.ndim:
            raise ValueError(f"axis must be in [0, {self.ndim}); got {axis}")
        a = self.factors[axis]
        for _ in range(int(order)):
            a = derivative_coefficients(a, axis=0) * (2.0 / (self.box[axis, 1] - self.box[axis, 0]))
        q, r = np.linalg.qr(a)
        factors = list(self.factors)
        factors[axis] = q
        core = np.moveaxis(np.tensordot(r, self.core, axes=(1, axis)), 0, axis)
        return ChebyshevTucker(core, factors, self.box)

    # ------------------------------------------------------------------ algebra
    def _check_same_box(self, other: "ChebyshevTucker") -> None:
        if not isinstance(other, ChebyshevTucker):
            raise TypeError(f"expected a ChebyshevTucker; got {type(other).__name__}")
        if other.box.shape != self.box.shape or not np.allclose(other.box, self.box):
            raise ValueError(f"boxes differ: {self.box.tolist()} and {other.box.tolist()}")

    def add(self, other: "ChebyshevTucker", *, tol: float) -> "ChebyshevTucker":
        """``self + other`` recompressed to relative accuracy ``tol``."""
        self._check_same_box(other)
        factors = []
        for a, b in zip(self.factors, other.factors):
            n = max(a.shape[0], b.shape[0])
            factors.append(np.hstack([_pad_rows(a, n), _pad_rows(b, n)]))
        core = np.zeros([p + q for p, q in zip(self.ranks, other.ranks)])
        core[tuple(slice(0, r) for r in self.ranks)] = self.core
        core[tuple(slice(r, None) for r in self.ranks)] = other.core
        return self._recompressed(core, factors, tol)

    def __add__(self, other: "ChebyshevTucker") -> "ChebyshevTucker":
        """Sum, recompressed to near round-off (use :meth:`add` to choose the tolerance)."""
        return self.add(other, tol=1e-14)

    def __mul__(self, other: Any) -> "ChebyshevTucker":
        if isinstance(other, ChebyshevTucker):
            return self.multiply(other, tol=1e-14)
        return ChebyshevTucker(self.core * float(other), self.factors, self.box)

    __rmul__ = __mul__

    def __neg__(self) -> "ChebyshevTucker":
        return self * -1.0

    def __sub__(self, other: "ChebyshevTucker") -> "ChebyshevTucker":
        """Difference, recompressed to near round-off."""
        return self.add(-other, tol=1e-14)

    def multiply(self, other: "ChebyshevTucker", *, tol: float) -> "ChebyshevTucker":
        """Point-wise product, recompressed to relative accuracy ``tol``.

        Per mode, the products of factor functions are exact Chebyshev series of degree
        ``n_a + n_b`` (values at the finer points, then DCT-I); the core is the Kronecker
        product of the cores.
        """
        self._check_same_box(other)
        factors = []
        for a, b in zip(self.factors, other.factors):
            n = a.shape[0] + b.shape[0] - 1
            va = coefficients_to_values(_pad_rows(a, n), axis=0)
            vb = coefficients_to_values(_pad_rows(b, n), axis=0)
            prod = (va[:, :, None] * vb[:, None, :]).reshape(n, -1)
            factors.append(values_to_coefficients(prod, axis=0))
        return self._recompressed(np.kron(self.core, other.core), factors, tol)

    def _recompressed(self, core: np.ndarray, factors: list[np.ndarray], tol: float) -> "ChebyshevTucker":
        tol = check_tol(tol)
        t = TuckerTensor(core, factors, orthogonal=False).truncate(tol=tol)
        out = ChebyshevTucker(t.core, t.factors, self.box)
        out.tucker_error = t.info.get("rel_error", 0.0)
        return out.chop(tol / TAIL_SAFETY)

    def truncate(self, *, tol: float | None = None, rank: Any = None) -> "ChebyshevTucker":
        """Lower ranks: to relative accuracy ``tol`` or to given ranks."""
        if rank is not None:
            rank = per_mode_ranks(rank, self.ranks, bounded=False)
        t = TuckerTensor(self.core, self.factors, orthogonal=False).truncate(rank=rank, tol=tol)
        out = ChebyshevTucker(t.core, t.factors, self.box)
        out.tucker_error = t.info.get("rel_error", 0.0)
        return out

    def chop(self, tol: float) -> "ChebyshevTucker":
        """Drop trailing Chebyshev coefficients of each mode below ``tol`` (relative, weighted by the core)."""
        factors = []
        for m, a in enumerate(self.factors):
            axes = tuple(k for k in range(self.ndim) if k != m)
            weight = np.sqrt((self.core ** 2).sum(axis=axes)) if axes else np.abs(self.core)
            degree, _, _ = chop_degree(np.abs(a * weight).max(axis=1), tol)
            factors.append(a[:degree + 1])
        out = ChebyshevTucker(self.core, factors, self.box)
        out.converged, out.tails, out.tucker_error = self.converged, self.tails, self.tucker_error
        return out

    # ------------------------------------------------------------------ storage
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write to an HDF5 file (atomically; an existing file only with ``overwrite=True``)."""
        arrays = {"core": self.core, "box": self.box}
        arrays.update({f"factor_{m}": a for m, a in enumerate(self.factors)})
        write_arrays(path, "chebyshev_tucker", arrays, {"ndim": self.ndim}, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ChebyshevTucker":
        """Read a file written by :meth:`save`."""
        arrays, attrs = read_arrays(path, "chebyshev_tucker")
        return cls(arrays["core"], [arrays[f"factor_{m}"] for m in range(int(attrs["ndim"]))],
                   arrays["box"])


def _pad_rows(a: np.ndarray, n: int) -> np.ndarray:
    return a if a.shape[0] == n else np.vstack([a, np.zeros((n - a.shape[0], a.shape[1]))])

