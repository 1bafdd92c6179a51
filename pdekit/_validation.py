"""Input checks shared across pdekit, with errors that say what was wrong and what was expected."""

from __future__ import annotations

import numpy as np

__all__ = ["check_finite", "check_positive", "check_choice", "check_ndim"]


def _where(mask: np.ndarray) -> str:
    idx = np.argwhere(mask)[0]
    return "(" + ", ".join(str(int(i)) for i in idx) + ")" if idx.size > 1 else str(int(idx[0]))


def check_finite(name: str, x) -> np.ndarray:
    """Return ``x`` as an array, raising ValueError naming the first NaN/inf entry."""
    arr = np.asarray(x)
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            if arr.ndim == 0:
                raise ValueError(f"{name} must be finite; got {arr.item()}")
            raise ValueError(
                f"{name} must be finite everywhere; found {int(bad.sum())} NaN/inf entries, "
                f"the first at index {_where(bad)}"
            )
    return arr


def check_positive(name: str, x) -> np.ndarray:
    """Return ``x`` as an array after checking it is finite and > 0 everywhere."""
    arr = check_finite(name, x)
    if arr.ndim == 0:
        if not arr > 0:
            raise ValueError(f"{name} must be positive; got {arr.item()}")
        return arr
    bad = ~(arr > 0)
    if bad.any():
        i = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be positive everywhere; min({name}) = {arr.min():.6g} at index "
            f"{_where(arr == arr.min())}, first non-positive entry at {tuple(int(j) for j in i)}"
        )
    return arr


def check_choice(name: str, value, choices) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {sorted(map(str, choices))}")


def check_ndim(name: str, arr: np.ndarray, ndims, *, what: str = "") -> None:
    """Raise ValueError unless ``arr.ndim`` is in ``ndims``."""
    ndims = (ndims,) if isinstance(ndims, int) else tuple(ndims)
    if arr.ndim not in ndims:
        exp = " or ".join(str(n) for n in ndims)
        raise ValueError(
            f"{name} must have {exp} dimensions{(' ' + what) if what else ''}; got shape {arr.shape}"
        )
