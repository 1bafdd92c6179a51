"""The tensor-train (TT) format, TT-SVD and TT rounding."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .._progress import as_progress
from . import _backend as B
from ._checks import check_rank_or_tol, check_tensor, check_tol
from ._io import read_arrays, write_arrays
from ._subspace import leading_subspace

__all__ = ["TTTensor", "tt"]


class TTTensor:
    """``X[i_0, ..., i_{d-1}] = G_0[:, i_0, :] G_1[:, i_1, :] ... G_{d-1}[:, i_{d-1}, :]``.

    Parameters
    ----------
    cores : d arrays, core ``m`` of shape (r_m, n_m, r_{m+1}) with r_0 = r_d = 1
    """

    def __init__(self, cores: Sequence[Any]) -> None:
        cores = list(cores)
        if not cores:
            raise ValueError("a TT tensor needs at least one core")
        for m, g in enumerate(cores):
            if g.ndim != 3:
                raise ValueError(f"core {m} must have 3 axes (r_left, n, r_right); got {tuple(g.shape)}")
            if m and g.shape[0] != cores[m - 1].shape[2]:
                raise ValueError(f"core {m} has left rank {g.shape[0]}, core {m - 1} right rank "
                                 f"{cores[m - 1].shape[2]}; they must match")
        if cores[0].shape[0] != 1 or cores[-1].shape[2] != 1:
            raise ValueError("the first core's left rank and the last core's right rank must be 1")
        self.cores = cores
        self.info: dict = {}

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(g.shape[1]) for g in self.cores)

    @property
    def rank(self) -> tuple[int, ...]:
        """TT ranks ``(1, r_1, ..., r_{d-1}, 1)``."""
        return tuple(int(g.shape[0]) for g in self.cores) + (1,)

    @property
    def ndim(self) -> int:
        return len(self.cores)

    @property
    def n_params(self) -> int:
        """Numbers stored in the cores."""
        return int(sum(int(np.prod(g.shape)) for g in self.cores))

    @property
    def compression_ratio(self) -> float:
        """Entries of the full tensor per stored number."""
        return float(np.prod(self.shape, dtype=np.float64)) / self.n_params

    def __repr__(self) -> str:
        return f"TTTensor(shape={self.shape}, rank={self.rank})"

    def full(self) -> Any:
        """The full tensor, shape ``self.shape``."""
        out = self.cores[0].reshape(self.shape[0], -1)
        for g in self.cores[1:]:
            out = (out @ g.reshape(g.shape[0], -1)).reshape(-1, g.shape[2])
        return out.reshape(self.shape)

    def inner(self, other: Any) -> Any:
        """``<self, other> = sum(conj(self) * other)`` with a TTTensor (core by core) or a dense array
        (a float for real tensors, a complex number otherwise)."""
        if not isinstance(other, TTTensor):
            return _scalar((_conj(self.full()) * other).sum())
        if other.shape != self.shape:
            raise ValueError(f"shapes differ: {self.shape} and {other.shape}")
        v = B.like(np.ones((1, 1)), self.cores[0])
        for a, b in zip(self.cores, other.cores):
            t = (v @ b.reshape(b.shape[0], -1)).reshape(a.shape[0], -1)  # (ra, n * rb')
            t = t.reshape(a.shape[0] * a.shape[1], b.shape[2])
            v = B.herm(a.reshape(-1, a.shape[2])) @ t
        return _scalar(v.reshape(()))

    def norm(self) -> float:
        """Frobenius norm, by core-by-core contraction (the full tensor is never formed)."""
        return float(np.sqrt(max(complex(self.inner(self)).real, 0.0)))

    def __add__(self, other: "TTTensor") -> "TTTensor":
        """Exact sum (ranks add, block cores)."""
        if other.shape != self.shape:
            raise ValueError(f"shapes differ: {self.shape} and {other.shape}")
        d, cores = self.ndim, []
        for m, (a, b) in enumerate(zip(self.cores, other.cores)):
            if d == 1:
                cores.append(a + b)
                continue
            left = 1 if m == 0 else a.shape[0] + b.shape[0]
            right = 1 if m == d - 1 else a.shape[2] + b.shape[2]
            g = B.zeros_like_shape(a, (left, a.shape[1], right))
            if m == 0:
                g[:, :, :a.shape[2]], g[:, :, a.shape[2]:] = a, b
            elif m == d - 1:
                g[:a.shape[0]], g[a.shape[0]:] = a, b
            else:
                g[:a.shape[0], :, :a.shape[2]] = a
                g[a.shape[0]:, :, a.shape[2]:] = b
            cores.append(g)
        return TTTensor(cores)

    def __mul__(self, scalar: float) -> "TTTensor":
        return TTTensor([self.cores[0] * scalar] + self.cores[1:])

    __rmul__ = __mul__

    def __neg__(self) -> "TTTensor":
        return self * -1.0

    def __sub__(self, other: "TTTensor") -> "TTTensor":
        return self + (-other)

    def hadamard(self, other: "TTTensor", *, rank: Any = None, tol: float | None = None) -> "TTTensor":
        """Entry-wise product (ranks multiply: per-slice Kronecker products), then rounding."""
        cores = []
        for a, b in zip(self.cores, other.cores):
            g = a[:, None, :, :, None] * b[None, :, :, None, :]  # (ra, rb, n, ra', rb')
            cores.append(g.reshape(a.shape[0] * b.shape[0], a.shape[1], a.shape[2] * b.shape[2]))
        out = TTTensor(cores)
        return out if rank is None and tol is None else out.round(rank=rank, tol=tol)

    def round(self, *, rank: Any = None, tol: float | None = None) -> "TTTensor":
        """TT rounding: right-to-left QR, then left-to-right truncated SVDs (never forms the tensor)."""
        check_rank_or_tol(rank, tol)
        d = self.ndim
        cores = list(self.cores)
        for m in range(d - 1, 0, -1):  # right-orthogonalize
            g = cores[m]
            q, r = B.qr(g.reshape(g.shape[0], -1).T)
            cores[m] = q.T.reshape(-1, g.shape[1], g.shape[2])
            cores[m - 1] = (cores[m - 1].reshape(-1, g.shape[0]) @ r.T).reshape(
                cores[m - 1].shape[0], cores[m - 1].shape[1], -1)
        total = B.norm(cores[0])
        budget = None if tol is None else (check_tol(tol) * total) ** 2 / max(d - 1, 1)
        ranks = _tt_ranks(rank, d)
        for m in range(d - 1):
            g = cores[m]
            mat = g.reshape(-1, g.shape[2])
            u, s, vh = B.svd(mat)
            s2 = B.to_numpy(s) ** 2
            r = _cut(s2, None if ranks is None else ranks[m + 1], budget)
            cores[m] = u[:, :r].reshape(g.shape[0], g.shape[1], r)
            nxt = cores[m + 1]
            cores[m + 1] = ((s[:r, None] * vh[:r]) @ nxt.reshape(nxt.shape[0], -1)).reshape(
                r, nxt.shape[1], nxt.shape[2])
        return TTTensor(cores)

    truncate = round

    def __getitem__(self, key: Any) -> Any:
        """Index like the full tensor; an integer index fixes a mode (absorbed into a neighbour)."""
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        kept, carry = [], None
        for k, g in zip(key, self.cores):
            if isinstance(k, (int, np.integer)):
                mat = g[:, int(k), :]
                carry = mat if carry is None else carry @ mat
                continue
            g = g[:, k, :]
            if carry is not None:
                g = (carry @ g.reshape(g.shape[0], -1)).reshape(carry.shape[0], g.shape[1], g.shape[2])
                carry = None
            kept.append(g)
        if not kept:
            return float(carry.reshape(()))
        if carry is not None:
            last = kept[-1]
            kept[-1] = (last.reshape(-1, last.shape[2]) @ carry).reshape(last.shape[0], last.shape[1], -1)
        return TTTensor(kept)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write the cores to an HDF5 file (atomically; an existing file only with ``overwrite=True``)."""
        write_arrays(path, "tt", {f"core_{m}": g for m, g in enumerate(self.cores)}, {"ndim": self.ndim}, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TTTensor":
        """Read a file written by :meth:`save` (numpy arrays)."""
        arrays, attrs = read_arrays(path, "tt")
        return cls([arrays[f"core_{m}"] for m in range(int(attrs["ndim"]))])


def _tt_ranks(rank: Any, d: int) -> list[int] | None:
    if rank is None:
        return None
    if np.ndim(rank) == 0:
        r = int(rank)
        if r < 1:
            raise ValueError(f"TT rank must be >= 1; got {rank}")
        return [1] + [r] * (d - 1) + [1]
    r = [int(v) for v in rank]
    if len(r) == d - 1:
        r = [1] + r + [1]
    if len(r) != d + 1 or min(r) < 1:
        raise ValueError(f"TT ranks must be an int or d - 1 = {d - 1} positive ints; got {rank!r}")
    return r


def _cut(s2: np.ndarray, rank: int | None, budget: float | None) -> int:
    if rank is not None:
        return max(1, min(rank, s2.size))
    tails = np.concatenate([np.cumsum(s2[::-1])[::-1], [0.0]])
    return max(1, int(np.flatnonzero(tails <= budget)[0]))


def _conj(a: Any) -> Any:
    return a.conj() if B.is_complex(a) else a


def _scalar(value: Any) -> Any:
    return complex(B.to_numpy(value)) if B.is_complex(value) else float(value)


def tt(tensor: Any, *, rank: Any = None, tol: float | None = None, progress: Any = None) -> TTTensor:
    """TT-SVD: sequential truncated SVDs of the unfoldings.

    Parameters
    ----------
    tensor : (n_0, ..., n_{d-1}) array (numpy or torch, real or complex)
    rank : int or d - 1 ints, optional
        Bond ranks (at most the unfolding sizes).
    tol : float in (0, 1), optional
        Instead: relative error ``||X - T|| / ||X||`` within ``tol`` (split evenly over the
        d - 1 truncations).
    progress : True or a progress object, optional
        Reports every bond (``pdekit._progress``).
    """
    check_rank_or_tol(rank, tol)
    x = check_tensor(tensor, min_ndim=1)
    d = x.ndim
    ranks = _tt_ranks(rank, d)
    if ranks is not None:
        for m in range(1, d):
            left, right = int(np.prod(x.shape[:m])), int(np.prod(x.shape[m:]))
            if ranks[m] > min(left, right):
                raise ValueError(f"TT rank {ranks[m]} at bond {m} exceeds min({left}, {right}), the "
                                 f"size of the unfolding of a tensor of shape {tuple(x.shape)}")
    budget = None if tol is None else (check_tol(tol) * B.norm(x)) ** 2 / max(d - 1, 1)
    report = as_progress(None if progress is False else progress)
    report.start(d - 1, "TT-SVD bonds")
    try:
        cores, rest, r_prev, err2 = [], x, 1, 0.0
        for m in range(d - 1):
            mat = rest.reshape(r_prev * x.shape[m], -1)
            u, s, tail = leading_subspace(mat, rank=None if ranks is None else ranks[m + 1],
                                          budget=budget)
            r = max(1, u.shape[1])
            if u.shape[1] == 0:
                u, s, tail = leading_subspace(mat, rank=1)
            err2 += tail
            cores.append(u.reshape(r_prev, x.shape[m], r))
            rest = B.herm(u) @ mat
            r_prev = r
            report.update(1, rank=r)
        cores.append(rest.reshape(r_prev, x.shape[-1], 1))
    finally:
        report.close()
    out = TTTensor(cores)
    out.info = {"rel_error": float(np.sqrt(err2)) / max(B.norm(x), 1e-300)}
    return out
