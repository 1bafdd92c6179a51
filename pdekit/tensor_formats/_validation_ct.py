"""Checks of the inputs of the CP route into the Chebyshev–Tucker format."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["check_cp_inputs"]


def check_cp_inputs(weights: Any, factor_functions: Sequence[Any], d: int) -> np.ndarray:
    """Weights as a finite (R,) array; one callable per mode."""
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size == 0 or not np.isfinite(w).all():
        raise ValueError(f"weights must be a non-empty finite (R,) array; got {w.size} entries")
    if len(factor_functions) != d or not all(callable(g) for g in factor_functions):
        raise ValueError(f"give one callable per mode ({d}) in factor_functions; got "
                         f"{[type(g).__name__ for g in factor_functions]}")
    return w
