"""Warnings shared across pdekit (a root helper: every package may import it).

:class:`ConvergenceWarning` is the one warning for an iterative or adaptive method that stopped
before reaching the accuracy it was asked for (a Krylov solve short of ``rtol``, a
Chebyshev–Tucker approximation whose degrees hit ``max_degree``). It is a RuntimeWarning, so
``warnings.simplefilter("error", ConvergenceWarning)`` turns it into an exception.
"""

from __future__ import annotations

__all__ = ["ConvergenceWarning"]


class ConvergenceWarning(RuntimeWarning):
    """An iterative or adaptive method stopped before reaching the requested accuracy."""
