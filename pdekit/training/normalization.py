"""Input/output normalization fitted on the training set and saved inside the model.

:func:`fit_normalizers` fits two :class:`~pdekit.operators.UnitGaussianNormalizer` (per-channel
mean and standard deviation over all samples and grid points, float64) on a dataset in one
streaming pass, and :class:`NormalizedOperator` wraps a network between them: it sees
standardized inputs and its outputs are mapped back to physical units. The normalizers are
sub-models, so ``save`` / :func:`load_model` restore their statistics with the weights, and
``pdekit evaluate`` or a user's ``predict`` apply the same normalization as training did.
Per-channel statistics do not depend on the grid, so a model trained at one resolution still
normalizes correctly at another.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from pdekit.operators.base import OperatorModel
from pdekit.operators.normalizers import NormalizedOperator, UnitGaussianNormalizer

__all__ = ["fit_normalizers", "NormalizedOperator", "load_model"]


def fit_normalizers(dataset: Any, *, max_samples: int | None = None
                    ) -> tuple[UnitGaussianNormalizer, UnitGaussianNormalizer]:
    """Normalizers of ``x`` and ``y`` fitted on the samples of ``dataset``.

    Parameters
    ----------
    dataset : map-style dataset of dicts
        ``dataset[i]["x"] : (C_in, *spatial)``, ``dataset[i]["y"] : (C_out, *spatial)``.
    max_samples : int, optional
        Use the first ``max_samples`` samples only.

    Returns
    -------
    in_normalizer, out_normalizer : UnitGaussianNormalizer
    """
    n = len(dataset) if max_samples is None else min(len(dataset), int(max_samples))
    if n == 0:
        raise ValueError("cannot fit a normalizer on an empty dataset")
    norms: dict[str, UnitGaussianNormalizer] = {}
    for i in range(n):
        item = dataset[i]
        for key in ("x", "y"):
            if key not in item:
                raise KeyError(f"dataset samples must have fields 'x' and 'y'; sample {i} has {sorted(item)}")
            t = torch.as_tensor(item[key])[None]
            if key not in norms:
                norms[key] = UnitGaussianNormalizer(t.shape[1])
            elif t.shape[1] != norms[key].n_channels:
                raise ValueError(f"sample {i} has {t.shape[1]} channels in {key!r}; "
                                 f"sample 0 has {norms[key].n_channels}")
            norms[key].partial_fit(t)
    return norms["x"], norms["y"]


def load_model(path: str | os.PathLike, *, map_location: Any = "cpu") -> OperatorModel:
    """Load a model saved by ``OperatorModel.save`` (normalized or not), e.g. ``run/model.pt``.

    A folder is read as a training run: its ``model.pt`` is loaded.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "model.pt")
        if not os.path.isfile(candidate):
            raise FileNotFoundError(f"{path!r} is a folder without model.pt; pass the model file "
                                    f"written by `pdekit train` (RUN/model.pt)")
        path = candidate
    from pdekit.operators.base import load

    return load(path, map_location=map_location)
