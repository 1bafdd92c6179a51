"""Optimizers (Adam, AdamW) and learning-rate schedules (step, cosine, plateau) by name.

Schedules advance once per epoch. Every object built here has a ``state_dict`` made of
plain values, so checkpoints load with ``weights_only=True``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # torch is imported when an optimizer is built, so the CLI starts fast
    import torch

from pdekit._validation import check_choice

__all__ = ["OPTIMIZERS", "SCHEDULERS", "build_optimizer", "build_scheduler"]

OPTIMIZERS = ("adam", "adamw")
SCHEDULERS = ("none", "step", "cosine", "plateau")


def build_optimizer(name: str, params: Iterable[torch.nn.Parameter], *, lr: float,
                    weight_decay: float = 0.0,
                    betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Optimizer:
    """Adam (L2 penalty in the gradient) or AdamW (decoupled weight decay).

    Parameters
    ----------
    name : {"adam", "adamw"}
    params : iterable of parameters
    lr : float
        Learning rate, > 0.
    weight_decay : float
        >= 0.
    betas : (float, float)
    """
    check_choice("optimizer", name, OPTIMIZERS)
    if not lr > 0:
        raise ValueError(f"learning rate must be positive; got {lr}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0; got {weight_decay}")
    import torch

    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay, betas=betas)


def build_scheduler(name: str | None, optimizer: torch.optim.Optimizer, *, epochs: int,
                    step_size: int | None = None, gamma: float = 0.5, patience: int = 10,
                    min_lr: float = 0.0):
    """A per-epoch learning-rate schedule.

    Parameters
    ----------
    name : {"none", "step", "cosine", "plateau"} or None
        ``step``: multiply by ``gamma`` every ``step_size`` epochs (default ``epochs // 5``,
        at least 1); ``cosine``: cosine decay to ``min_lr`` over ``epochs``; ``plateau``:
        multiply by ``gamma`` after ``patience`` epochs without improvement of the monitored
        value (the first evaluation error, or the training loss).
    optimizer : torch.optim.Optimizer
    epochs : int
        Length of the run in epochs.

    Returns
    -------
    torch.optim.lr_scheduler.LRScheduler or ReduceLROnPlateau or None
    """
    name = "none" if name is None else name
    check_choice("scheduler", name, SCHEDULERS)
    if name == "none":
        return None
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1]; got {gamma}")
    import torch

    if name == "step":
        size = step_size if step_size is not None else max(1, epochs // 5)
        if size < 1:
            raise ValueError(f"step_size must be a positive number of epochs; got {size}")
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=size, gamma=gamma)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs),
                                                          eta_min=min_lr)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=gamma,
                                                      patience=patience, min_lr=min_lr)
