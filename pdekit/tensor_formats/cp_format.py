"""The CP (canonical polyadic) format and its decomposition by alternating least squares."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .._progress import as_progress
from . import _backend as B
from ._checks import check_rank_or_tol, check_tensor, check_tol
from ._io import read_arrays, write_arrays

__all__ = ["CPTensor", "cp"]


class CPTensor:
    """``X = sum_r w_r a_{0,r} ⊗ ... ⊗ a_{d-1,r}``.

    Parameters
    ----------
    weights : (R,) array
    factors : d arrays, factor ``m`` of shape (n_m, R)  (numpy or torch, one kind)
    """

    def __init__(self, weights: Any, factors: Sequence[Any]) -> None:
        factors = list(factors)
        if not factors:
            raise ValueError("a CP tensor needs at least one factor")
        r = weights.shape[0]
        for m, a in enumerate(factors):
            if a.ndim != 2 or a.shape[1] != r:
                raise ValueError(f"factor {m} must have shape (n_{m}, {r}) for {r} weights; got "
                                 f"{tuple(a.shape)}")
        self.weights, self.factors = weights, factors
        self.info: dict = {}

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(a.shape[0]) for a in self.factors)

    @property
    def rank(self) -> int:
        """Number of rank-one terms."""
        return int(self.weights.shape[0])

    @property
    def ndim(self) -> int:
        return len(self.factors)

    @property
    def n_params(self) -> int:
        """Numbers stored: weights and factors."""
        return self.rank * (1 + sum(self.shape))

    @property
    def compression_ratio(self) -> float:
        """Entries of the full tensor per stored number."""
        return float(np.prod(self.shape, dtype=np.float64)) / self.n_params

    def __repr__(self) -> str:
        return f"CPTensor(shape={self.shape}, rank={self.rank})"

    def full(self) -> Any:
        """The full tensor."""
        kr = self.factors[-1] * self.weights
        for a in self.factors[-2::-1]:
            kr = (a[:, None, :] * kr[None, :, :]).reshape(-1, self.rank)
        return kr.sum(1).reshape(self.shape)

    def inner(self, other: Any) -> Any:
        """``<self, other> = sum(conj(self) * other)`` with a CPTensor (via factor Gram matrices) or a
        dense array (a float for real tensors, a complex number otherwise)."""
        if isinstance(other, CPTensor):
            g = _conj(self.weights)[:, None] * other.weights[None, :]
            for a, b in zip(self.factors, other.factors):
                g = g * (B.herm(a) @ b)
            return _scalar(g.sum())
        return _scalar((_conj(self.full()) * other).sum())

    def norm(self) -> float:
        """Frobenius norm, without forming the full tensor."""
        return float(np.sqrt(max(complex(self.inner(self)).real, 0.0)))

    def __add__(self, other: "CPTensor") -> "CPTensor":
        """Exact sum (ranks add)."""
        if tuple(other.shape) != self.shape:
            raise ValueError(f"shapes differ: {self.shape} and {other.shape}")
        return CPTensor(B.concatenate([self.weights, other.weights]),
                        [B.concatenate([a, b], axis=1) for a, b in zip(self.factors, other.factors)])

    def __mul__(self, scalar: float) -> "CPTensor":
        return CPTensor(self.weights * scalar, self.factors)

    __rmul__ = __mul__

    def __neg__(self) -> "CPTensor":
        return self * -1.0

    def __sub__(self, other: "CPTensor") -> "CPTensor":
        return self + (-other)

    def hadamard(self, other: "CPTensor", *, rank: int | None = None, tol: float | None = None) -> "CPTensor":
        """Entry-wise product (ranks multiply), recompressed by ALS if ``rank`` or ``tol`` is given."""
        w = (self.weights[:, None] * other.weights[None, :]).reshape(-1)
        f = [(a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1)
             for a, b in zip(self.factors, other.factors)]
        out = CPTensor(w, f)
        return out if rank is None and tol is None else out.truncate(rank=rank, tol=tol)

    def truncate(self, *, rank: int | None = None, tol: float | None = None, n_iter_max: int = 200) -> "CPTensor":
        """Recompress by ALS on the full tensor (CP has no stable rank-reduction without it)."""
        return cp(self.full(), rank=rank, tol=tol, n_iter_max=n_iter_max)

    def __getitem__(self, key: Any) -> Any:
        """Index like the full tensor; integers drop modes (absorbed into the weights)."""
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        w, factors = self.weights, []
        for k, a in zip(key, self.factors):
            if isinstance(k, (int, np.integer)):
                w = w * a[int(k)]
            else:
                factors.append(a[k])
        if not factors:
            return float(w.sum())
        return CPTensor(w, factors)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write weights and factors to an HDF5 file (atomically; an existing file only with ``overwrite=True``)."""
        arrays = {"weights": self.weights}
        arrays.update({f"factor_{m}": a for m, a in enumerate(self.factors)})
        write_arrays(path, "cp", arrays, {"ndim": self.ndim}, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CPTensor":
        """Read a file written by :meth:`save` (numpy arrays)."""
        arrays, attrs = read_arrays(path, "cp")
        return cls(arrays["weights"], [arrays[f"factor_{m}"] for m in range(int(attrs["ndim"]))])


def _conj(a: Any) -> Any:
    return a.conj() if B.is_complex(a) else a


def _scalar(value: Any) -> Any:
    return complex(B.to_numpy(value)) if B.is_complex(value) else float(value)


def _als(x: Any, rank: int, n_iter_max: int, iter_tol: float, seed: int, report) -> tuple[CPTensor, float]:
    """CP-ALS with normal equations (Hadamard products of factor Grams) and an SVD start.

    Complex tensors: ``A (KR^T conj(KR)) = X_(m) conj(KR)`` for each factor ``A`` (the model has
    no conjugates), which reduces to the usual equations for real data.
    """
    d, norm_x = x.ndim, B.norm(x)
    factors = []
    rng = np.random.default_rng(seed)
    for m in range(d):
        unf = B.unfold(x, m)
        uu, _, _ = B.svd(unf @ B.herm(unf)) if unf.shape[0] <= 2048 else B.svd(unf)
        k = min(rank, uu.shape[1])
        extra = B.like(rng.standard_normal((x.shape[m], rank - k)), x)
        factors.append(B.concatenate([uu[:, :k], extra], axis=1))
    weights = B.like(np.ones(rank), x)
    prev, err = np.inf, np.inf
    for _ in range(n_iter_max):
        for m in range(d):
            # MTTKRP: unfolding times Khatri-Rao product of the other factors
            kr = None
            gram = B.like(np.ones((rank, rank)), x)
            for k in range(d):
                if k == m:
                    continue
                gram = gram * (B.herm(factors[k]) @ factors[k])
                kr = factors[k] if kr is None else (kr[:, None, :] * factors[k][None, :, :]).reshape(-1, rank)
            mttkrp = B.unfold(x, m) @ _conj(kr)
            sol = np.linalg.lstsq(B.to_numpy(gram), B.to_numpy(mttkrp).T, rcond=None)[0].T
            a = B.like(sol, x)
            nrm = B.like(np.linalg.norm(B.to_numpy(a), axis=0), x)
            nrm[nrm == 0] = 1
            factors[m], weights = a / nrm, nrm
        t = CPTensor(weights, factors)
        err = np.sqrt(max(norm_x ** 2 - 2 * complex(t.inner(x)).real + complex(t.inner(t)).real, 0.0)) / norm_x
        report.update(1, rel_error=f"{err:.3e}")
        if abs(prev - err) < iter_tol * max(err, 1e-300):
            break
        prev = err
    return CPTensor(weights, factors), float(err)


def cp(tensor: Any, *, rank: int | None = None, tol: float | None = None, n_iter_max: int = 200,
       iter_tol: float = 1e-8, max_rank: int = 64, seed: int = 0, progress: Any = None) -> CPTensor:
    """CP decomposition by alternating least squares.

    Parameters
    ----------
    tensor : (n_0, ..., n_{d-1}) array (numpy or torch, real or complex)
    rank : int, optional
        Number of rank-one terms.
    tol : float in (0, 1), optional
        Instead of ``rank``: the smallest rank (up to ``max_rank``) whose ALS fit has relative
        error within ``tol``.
    n_iter_max, iter_tol : ALS sweeps and the relative change of the error that stops them.
    seed : random start of the columns beyond the leading singular vectors.
    progress : True or a progress object, optional
        Reports every ALS sweep (``pdekit._progress``).

    Returns
    -------
    CPTensor
        ``info`` holds ``rel_error``.
    """
    check_rank_or_tol(rank, tol)
    x = check_tensor(tensor, min_ndim=2)
    if rank is not None and int(rank) < 1:
        raise ValueError(f"CP rank must be >= 1; got {rank}")
    report = as_progress(None if progress is False else progress)
    report.start(int(n_iter_max) if rank is not None else None, "CP-ALS sweeps")
    try:
        if rank is not None:
            out, err = _als(x, int(rank), n_iter_max, iter_tol, seed, report)
        else:
            tol = check_tol(tol)
            for r in range(1, max_rank + 1):
                out, err = _als(x, r, n_iter_max, iter_tol, seed, report)
                if err <= tol:
                    break
            else:
                raise ValueError(f"no CP rank up to max_rank={max_rank} reached the tolerance {tol:g} "
                                 f"(best relative error {err:.3g}); raise max_rank or tol")
    finally:
        report.close()
    out.info = {"rel_error": err}
    return out
