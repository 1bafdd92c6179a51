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
from pdekit.operators.normalizers import UnitGaussianNormalizer

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


class NormalizedOperator(OperatorModel):
    """``model`` between a standardization of its inputs and a de-standardization of its outputs.

    ``forward(x) = out_normalizer.decode(model(in_normalizer.encode(x)))``.

    Parameters
    ----------
    model : OperatorModel
        Maps ``(B, C_in, *spatial)`` to ``(B, C_out, *spatial)``.
    in_normalizer, out_normalizer : UnitGaussianNormalizer
        With ``C_in`` and ``C_out`` channels (fitted, e.g. by :func:`fit_normalizers`).

    Examples
    --------
    >>> from pdekit.operators import FNO, UnitGaussianNormalizer
    >>> net = FNO((4, 4), in_channels=1, out_channels=1, hidden_channels=4, n_layers=1)
    >>> a, u = torch.rand(8, 1, 9, 9) * 9 + 3, torch.rand(8, 1, 9, 9) * 0.01
    >>> m = NormalizedOperator(net, UnitGaussianNormalizer(1).fit(a), UnitGaussianNormalizer(1).fit(u))
    >>> m(a).shape
    torch.Size([8, 1, 9, 9])
    """

    def __init__(self, model: OperatorModel, in_normalizer: UnitGaussianNormalizer,
                 out_normalizer: UnitGaussianNormalizer) -> None:
        super().__init__()
        if not isinstance(model, OperatorModel):
            raise TypeError(f"model must be a pdekit OperatorModel (so it can be saved); "
                            f"got {type(model).__name__}")
        self.model = model
        self.in_normalizer, self.out_normalizer = in_normalizer, out_normalizer
        self.in_channels = int(getattr(model, "in_channels", in_normalizer.n_channels))
        self.out_channels = int(getattr(model, "out_channels", out_normalizer.n_channels))
        for name, norm, c in (("in_normalizer", in_normalizer, self.in_channels),
                              ("out_normalizer", out_normalizer, self.out_channels)):
            if norm.n_channels != c:
                raise ValueError(f"{name} has {norm.n_channels} channels; the model has {c}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x : (B, C_in, *spatial)`` in physical units to ``(B, C_out, *spatial)``."""
        if x.ndim < 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape (batch, {self.in_channels}, *spatial); "
                             f"got {tuple(x.shape)}")
        return self.out_normalizer.decode(self.model(self.in_normalizer.encode(x)))

    def n_parameters(self) -> int:
        """Trainable scalars of the wrapped network (the statistics are not trained)."""
        return self.model.n_parameters()


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
