"""The Tucker format: a small core tensor times one factor matrix per mode.

The format never imports the decomposition that produces it: recompression calls the shared
kernel :mod:`pdekit.tensor_formats._tucker_kernel` (formats below algorithms).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from . import _backend as B
from . import _tucker_kernel as K
from ._checks import check_tol, per_mode_ranks
from ._io import read_arrays, write_arrays

__all__ = ["TuckerTensor"]


class TuckerTensor:
    """A tensor ``X = core ×_0 U_0 ×_1 U_1 ... ×_{d-1} U_{d-1}``.

    Parameters
    ----------
    core : (r_0, ..., r_{d-1}) array
        numpy array or torch tensor; the factors must be of the same kind.
    factors : sequence of d arrays, factor ``m`` of shape (n_m, r_m)
    orthogonal : bool, optional
        Whether every factor has orthonormal columns (then ``norm()`` is the core's norm).
        Checked numerically when not given.

    Attributes
    ----------
    core, factors
        A TuckerTensor also unpacks as ``core, factors = t`` (as tensorly's does).
    info : dict
        What the decomposition that built it reports (method, iterations, singular values,
        error estimate); empty otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> t = TuckerTensor(np.ones((1, 1)), [np.ones((3, 1)), np.ones((2, 1))])
    >>> t.full().shape, t.compression_ratio
    ((3, 2), 1.0)
    """

    def __init__(self, core: Any, factors: Sequence[Any], *, orthogonal: bool | None = None) -> None:
        factors = list(factors)
        if core.ndim != len(factors):
            raise ValueError(f"a core with {core.ndim} modes needs {core.ndim} factors; got "
                             f"{len(factors)}")
        for m, u in enumerate(factors):
            if u.ndim != 2 or u.shape[1] != core.shape[m]:
                raise ValueError(f"factor {m} must have shape (n_{m}, {core.shape[m]}) to match the "
                                 f"core of shape {tuple(core.shape)}; got {tuple(u.shape)}")
        self.core = core
        self.factors = factors
        if orthogonal is None:
            orthogonal = all(_is_orthonormal(u) for u in factors)
        self.orthogonal = bool(orthogonal)
        self.info: dict = {}

    def __iter__(self):
        """``core, factors = t``, as for tensorly's Tucker tensors."""
        return iter((self.core, self.factors))

    def __len__(self) -> int:
        return 2

    # ------------------------------------------------------------------ shape and size
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the full tensor."""
        return tuple(int(u.shape[0]) for u in self.factors)

    @property
    def rank(self) -> tuple[int, ...]:
        """Tucker rank (the core's shape)."""
        return tuple(int(n) for n in self.core.shape)

    @property
    def ndim(self) -> int:
        return len(self.factors)

    @property
    def n_params(self) -> int:
        """Numbers stored: core plus factors."""
        return int(np.prod(self.rank)) + sum(int(u.shape[0] * u.shape[1]) for u in self.factors)

    @property
    def compression_ratio(self) -> float:
        """Entries of the full tensor per stored number."""
        return float(np.prod(self.shape, dtype=np.float64)) / self.n_params

    def __repr__(self) -> str:
        return (f"TuckerTensor(shape={self.shape}, rank={self.rank}, "
                f"compression_ratio={self.compression_ratio:.3g})")

    # ------------------------------------------------------------------ dense views
    def full(self) -> Any:
        """The full tensor, shape ``self.shape`` (same kind as the core)."""
        out = self.core
        for m, u in enumerate(self.factors):
            out = B.mode_dot(out, u, m)
        return out

    def norm(self) -> float:
        """Frobenius norm, computed without forming the full tensor."""
        if self.orthogonal:
            return B.norm(self.core)
        return float(np.sqrt(max(complex(self._gram_inner(self)).real, 0.0)))

    def _gram_inner(self, other: "TuckerTensor") -> Any:
        t = other.core
        for m, (u, v) in enumerate(zip(self.factors, other.factors)):
            t = B.mode_dot(t, B.herm(u) @ v, m)
        return _scalar((_conj(self.core) * t).sum())

    def inner(self, other: Any) -> Any:
        """Inner product ``<self, other> = sum(conj(self) * other)`` with a TuckerTensor or a dense
        array of the same shape (a float for real tensors, a complex number otherwise)."""
        if isinstance(other, TuckerTensor):
            self._check_shape(other.shape)
            return self._gram_inner(other)
        self._check_shape(tuple(other.shape))
        t = other
        for m, u in enumerate(self.factors):
            t = B.mode_dot(t, B.herm(u), m)
        return _scalar((_conj(self.core) * t).sum())

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if tuple(shape) != self.shape:
            raise ValueError(f"shapes differ: this tensor has shape {self.shape}, the other {shape}")

    # ------------------------------------------------------------------ algebra
    def __add__(self, other: "TuckerTensor") -> "TuckerTensor":
        """Exact sum; ranks add (block-diagonal core). Follow with :meth:`truncate`."""
        if not isinstance(other, TuckerTensor):
            return NotImplemented
        self._check_shape(other.shape)
        core = B.zeros_like_shape(self.core, [a + b for a, b in zip(self.rank, other.rank)])
        core[tuple(slice(0, r) for r in self.rank)] = self.core
        core[tuple(slice(r, None) for r in self.rank)] = other.core
        factors = [B.concatenate([u, v], axis=1) for u, v in zip(self.factors, other.factors)]
        return TuckerTensor(core, factors, orthogonal=False)

    def __neg__(self) -> "TuckerTensor":
        return TuckerTensor(-self.core, self.factors, orthogonal=self.orthogonal)

    def __sub__(self, other: "TuckerTensor") -> "TuckerTensor":
        return self + (-other)

    def __mul__(self, scalar: float) -> "TuckerTensor":
        if isinstance(scalar, TuckerTensor):
            raise TypeError("use a.hadamard(b) for the entry-wise product of two Tucker tensors")
        return TuckerTensor(self.core * scalar, self.factors, orthogonal=self.orthogonal)

    __rmul__ = __mul__

    def hadamard(self, other: "TuckerTensor", *, rank: Any = None, tol: float | None = None) -> "TuckerTensor":
        """Entry-wise product; ranks multiply, then recompress if ``rank`` or ``tol`` is given."""
        self._check_shape(other.shape)
        core = B.kron(self.core, other.core)
        factors = [(u[:, :, None] * v[:, None, :]).reshape(u.shape[0], -1)
                   for u, v in zip(self.factors, other.factors)]
        out = TuckerTensor(core, factors, orthogonal=False)
        if rank is None and tol is None:
            return out
        return out.truncate(rank=rank, tol=tol)

    def orthogonalize(self) -> "TuckerTensor":
        """The same tensor with orthonormal factors (QR of each factor, R absorbed in the core)."""
        if self.orthogonal:
            return self
        core, factors = self.core, []
        for m, u in enumerate(self.factors):
            q, r = B.qr(u)
            factors.append(q)
            core = B.mode_dot(core, r, m)
        return TuckerTensor(core, factors, orthogonal=True)

    def truncate(self, *, rank: Any = None, tol: float | None = None,
                 method: str = "hooi") -> "TuckerTensor":
        """Recompress to a lower rank, or to a relative error ``tol`` (with respect to this tensor).

        The factors are orthogonalized, the (small) core is decomposed (as
        :func:`~pdekit.tensor_formats.tucker` does, with ``max_rel_error=tol``), and the new factors
        are the products; the full tensor is never formed. Ranks above the current ones are
        capped to them.
        """
        if (rank is None) == (tol is None):
            raise ValueError(f"give either rank or tol (the relative error to stay within); got rank={rank!r}, "
                             f"tol={tol!r}")
        if method not in K.METHODS:
            raise ValueError(f"unknown method {method!r}; expected one of {list(K.METHODS)}")
        o = self.orthogonalize()
        ranks = budget = None
        if rank is not None:
            if isinstance(rank, (int, np.integer)):
                rank = [int(rank)] * o.ndim
            ranks = per_mode_ranks([min(int(r), n) for r, n in zip(rank, o.rank)], o.rank)
        else:
            budget = (check_tol(tol) * B.norm(o.core)) ** 2
        core, small, info = K.truncate(o.core, ranks=ranks, budget=budget, method=method)
        factors = [q @ v for q, v in zip(o.factors, small)]
        out = TuckerTensor(core, factors, orthogonal=True)
        out.info = dict(info)
        return out

    # ------------------------------------------------------------------ slicing
    def __getitem__(self, key: Any) -> Any:
        """Index like the full tensor; integers drop modes (a scalar if all modes are dropped)."""
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > self.ndim:
            raise IndexError(f"too many indices ({len(key)}) for a tensor with {self.ndim} modes")
        key = key + (slice(None),) * (self.ndim - len(key))
        core, factors, kept_all = self.core, [], True
        dropped = 0
        for m, (k, u) in enumerate(zip(key, self.factors)):
            if isinstance(k, (int, np.integer)):
                n = u.shape[0]
                if not -n <= int(k) < n:
                    raise IndexError(f"index {int(k)} out of range for mode {m} of size {n}")
                core = B.mode_dot(core, u[int(k)][None, :], m - dropped)
                core = core.reshape(core.shape[:m - dropped] + core.shape[m - dropped + 1:])
                dropped += 1
            else:
                if not (isinstance(k, slice) and k == slice(None)):
                    kept_all = False
                factors.append(u[k])
        if not factors:
            return float(core)
        return TuckerTensor(core, factors, orthogonal=self.orthogonal and kept_all)

    # ------------------------------------------------------------------ storage
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write core and factors to an HDF5 file (atomically; an existing file only with ``overwrite=True``)."""
        arrays = {"core": self.core}
        arrays.update({f"factor_{m}": u for m, u in enumerate(self.factors)})
        write_arrays(path, "tucker", arrays, {"ndim": self.ndim, "orthogonal": self.orthogonal}, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TuckerTensor":
        """Read a file written by :meth:`save` (numpy arrays)."""
        arrays, attrs = read_arrays(path, "tucker")
        d = int(attrs["ndim"])
        return cls(arrays["core"], [arrays[f"factor_{m}"] for m in range(d)],
                   orthogonal=bool(attrs["orthogonal"]))


def _conj(a: Any) -> Any:
    return a.conj() if B.is_complex(a) else a


def _scalar(value: Any) -> Any:
    """A 0-d array or tensor as a Python float (complex when it has an imaginary part)."""
    v = complex(B.to_numpy(value)) if B.is_complex(value) else float(value)
    return v


def _is_orthonormal(u: Any) -> bool:
    g = np.abs(B.to_numpy(B.herm(u) @ u)).astype(np.float64)
    return bool(np.abs(g - np.eye(g.shape[0])).max(initial=0.0) <= 1e3 * B.eps(u) * max(1, u.shape[0]) ** 0.5)
