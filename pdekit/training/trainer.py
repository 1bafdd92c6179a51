"""The offline :class:`Trainer`: any iterable of batches in, a trained model and a metrics log out.

One loop serves every source of batches: a pdekit HDF5 dataset (wrapped in a
:class:`~pdekit.training.batches.ShuffledBatches` whose order is fixed by ``(seed, epoch)``),
any other iterable (a DataLoader, a list, a live stream of simulation output with
``steps_per_epoch``), one process or many under ``torchrun``.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import torch
from torch.nn.parallel import DistributedDataParallel

from pdekit._atomic import refuse_existing
from pdekit._progress import as_progress
from pdekit.training.batches import ShuffledBatches, split_batch
from pdekit.training.checkpoint import (capture_rng_state, check_state_dict_compatible, data_fingerprint,
                                        load_checkpoint, restore_rng_state, save_checkpoint)
from pdekit.training.distributed import (DistributedContext, all_reduce_sum, barrier, gather_objects,
                                         init_distributed, pick_device)
from pdekit.training.metrics import MetricsLog, evaluate_model, relative_l2_per_sample
from pdekit.training.optim import build_optimizer, build_scheduler
from pdekit.training.run_folder import claim_run_folder

__all__ = ["Trainer", "relative_l2_loss"]


def relative_l2_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the per-sample relative L2 error (the default training loss)."""
    return relative_l2_per_sample(pred, target).mean()


def _is_map_dataset(data: Any) -> bool:
    return (isinstance(data, torch.utils.data.Dataset)
            and not isinstance(data, torch.utils.data.IterableDataset))


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


class Trainer:
    """Train a torch model by gradient descent, with checkpoints, resume, DDP and metrics.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``x : (B, C_in, *spatial)`` to ``(B, C_out, *spatial)`` (unless ``loss_fn``
        defines the step).
    loss : callable, optional
        ``loss(pred, target) -> scalar tensor``; default :func:`relative_l2_loss`.
    loss_fn : callable, optional
        A custom step ``loss_fn(model, batch) -> scalar tensor`` (label-free losses such as
        the DCDM loss); replaces ``model(x)`` + ``loss``. Under DDP ``model`` is the
        DistributedDataParallel wrapper, so call it (not its ``.module``).
    optimizer : {"adam", "adamw"}
    lr, weight_decay : float
    scheduler : {None, "none", "step", "cosine", "plateau"}
        Per-epoch schedule; ``step_size``, ``gamma``, ``patience``, ``min_lr`` configure it
        (see :func:`pdekit.training.optim.build_scheduler`).
    epochs : int
        Total epochs of the run (a resumed run continues up to this number).
    batch_size : int
        Samples per batch per rank, used when a map-style dataset is given.
    seed : int
        Seed of the data order and of the global RNGs at the start of a fresh run.
    device : str or torch.device, optional
        Default: this rank's GPU if there is one, else the CPU.
    mixed_precision : bool
        Autocast to float16 with a gradient scaler (CUDA only). Off by default: cuFFT runs
        half-precision FFTs on power-of-two grids only, so enable it for such grids (64, 128,
        256) or for models whose spectral layers compute in full precision.
    grad_clip : float, optional
        Clip the global gradient norm.
    out_dir : path-like, optional
        Where ``checkpoint.pt`` and ``metrics.jsonl`` go (nothing is written without it). A
        fresh run refuses a folder that holds another run's checkpoint or metrics (resume
        it, or pass ``overwrite=True``).
    overwrite : bool
        Start a fresh run in ``out_dir`` even if it holds another run's files (they are
        deleted first).
    checkpoint_every : int
        Write the checkpoint every this many epochs (and at the end).
    checkpoint_steps : int, optional
        Also write it every this many optimizer steps (mid-epoch resume is exact too).
    eval_strides : sequence of int
        Strides at which evaluation data are scored each epoch (1 = the data's resolution).
    progress : bool, tqdm bar or class, or progress object, optional
        ``True`` draws a bar; see :mod:`pdekit._progress`. One update per step (main rank
        only).
    distributed : bool
        Join the process group described by ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` when
        present (gloo on CPU, NCCL on GPU) and wrap the model in DistributedDataParallel.

    Examples
    --------
    >>> model = torch.nn.Conv1d(1, 1, 3, padding=1)
    >>> data = [(torch.randn(4, 1, 16), torch.randn(4, 1, 16)) for _ in range(3)]
    >>> history = Trainer(model, epochs=2, lr=1e-2).fit(data)
    >>> [r["epoch"] for r in history]
    [1, 2]
    """

    def __init__(self, model: torch.nn.Module, *, loss: Callable | None = None,
                 loss_fn: Callable | None = None, optimizer: str = "adam", lr: float = 1e-3,
                 weight_decay: float = 0.0, scheduler: str | None = None, epochs: int = 1,
                 step_size: int | None = None, gamma: float = 0.5, patience: int = 10,
                 min_lr: float = 0.0, batch_size: int = 16, seed: int = 0,
                 device: str | torch.device | None = None, mixed_precision: bool = False,
                 grad_clip: float | None = None, out_dir: str | os.PathLike | None = None,
                 checkpoint_every: int = 1, checkpoint_steps: int | None = None,
                 eval_strides: Sequence[int] = (1,), progress=None, distributed: bool = True,
                 overwrite: bool = False) -> None:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if loss is not None and loss_fn is not None:
            raise ValueError("give either loss(pred, target) or loss_fn(model, batch), not both")
        if int(epochs) < 1:
            raise ValueError(f"epochs must be a positive integer; got {epochs}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size}")
        self.ctx: DistributedContext = (init_distributed(device=device) if distributed
                                        else DistributedContext(device=pick_device(device, 0)))
        dev = self.ctx.device
        if mixed_precision and dev.type != "cuda":
            raise ValueError(f"mixed precision needs a CUDA device; this run uses {dev}")
        self.model = model.to(dev)
        self.net = (DistributedDataParallel(self.model, device_ids=[dev.index] if dev.type == "cuda" else None)
                    if self.ctx.is_distributed else self.model)
        self.loss = loss if loss is not None else relative_l2_loss
        self.loss_fn = loss_fn
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.grad_clip = grad_clip
        self.mixed_precision = bool(mixed_precision)
        self.optimizer = build_optimizer(optimizer, self.model.parameters(), lr=lr,
                                         weight_decay=weight_decay)
        self.scheduler = build_scheduler(scheduler, self.optimizer, epochs=self.epochs,
                                         step_size=step_size, gamma=gamma, patience=patience,
                                         min_lr=min_lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.mixed_precision)
        self.eval_strides = tuple(int(s) for s in eval_strides)
        self.checkpoint_every = int(checkpoint_every)
        self.checkpoint_steps = checkpoint_steps
        self.progress = as_progress(progress if self.ctx.is_main else None)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.overwrite = bool(overwrite)
        if self.out_dir is not None and self.ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.metrics = (MetricsLog(self.out_dir / "metrics.jsonl", enabled=self.ctx.is_main)
                        if self.out_dir is not None else None)
        self.epoch = 0          # completed epochs
        self.step = 0           # optimizer steps taken
        self.step_in_epoch = 0  # steps taken in the current (unfinished) epoch
        self.history: list[dict[str, Any]] = []
        self._resumed = False
        self._epoch_sums = torch.zeros(2, dtype=torch.float64)  # (loss sum, steps) of this epoch
        self._stream: Iterator | None = None
        self._train: Any = None
        self._pending_source_state: Any = None
        self._data_identity: str | None = None
        self._saved_identity: str | None = None

    # ------------------------------------------------------------------ data
    def batches_for(self, data: Any, *, shuffle: bool = True) -> Any:
        """Wrap a map-style dataset in :class:`ShuffledBatches` (this rank's share; without
        ``shuffle``, as for evaluation, each sample exactly once over all ranks); pass any
        other iterable of batches through unchanged."""
        if _is_map_dataset(data):
            return ShuffledBatches(data, batch_size=self.batch_size, shuffle=shuffle, seed=self.seed,
                                   rank=self.ctx.rank, world_size=self.ctx.world_size, pad=shuffle)
        if not isinstance(data, Iterable):
            raise TypeError(f"training data must be a dataset or an iterable of batches; "
                            f"got {type(data).__name__}")
        return data

    def _epoch_iter(self, train: Any, epoch: int, start: int, steps_per_epoch: int | None) -> Iterator:
        if isinstance(train, ShuffledBatches):
            train.set_epoch(epoch)
            return train.batches(epoch, start=start)
        if steps_per_epoch is not None:  # a stream: keep one iterator across epochs
            if self._stream is None:
                self._stream = iter(train)
            return (next(self._stream) for _ in range(steps_per_epoch - start))
        if hasattr(train, "set_epoch"):
            train.set_epoch(epoch)
        it = iter(train)
        for _ in range(start):
            next(it)
        return it

    # ------------------------------------------------------------------ steps
    def _autocast(self):
        if not self.mixed_precision:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=torch.float16)

    def _check_channels(self, batch: Any) -> None:
        if self.loss_fn is not None:
            return
        x, y = split_batch(batch)
        for name, t, attr in (("inputs x", x, "in_channels"), ("targets y", y, "out_channels")):
            expected = getattr(self.model, attr, None)
            if isinstance(expected, int) and (t.ndim < 2 or t.shape[1] != expected):
                raise ValueError(
                    f"{name} have shape {tuple(t.shape)}, i.e. {t.shape[1] if t.ndim > 1 else '?'} "
                    f"channels, but the model expects {attr}={expected} "
                    f"(layout (batch, channels, *spatial))"
                )

    def train_step(self, batch: Any) -> float:
        """One optimizer step on ``batch``; returns the loss (averaged over ranks' batches)."""
        self.net.train()
        batch = _to_device(batch, self.ctx.device)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            if self.loss_fn is not None:
                loss = self.loss_fn(self.net, batch)
            else:
                x, y = split_batch(batch)
                loss = self.loss(self.net(x), y)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise TypeError(f"the loss must be a scalar tensor; got {type(loss).__name__}"
                            f"{' of shape ' + str(tuple(loss.shape)) if isinstance(loss, torch.Tensor) else ''}")
        value = float(loss.detach())
        if not self.mixed_precision and not math.isfinite(value):
            raise FloatingPointError(
                f"the training loss is {value} at epoch {self.epoch + 1}, step {self.step + 1}; "
                f"lower the learning rate or check the data for NaN/inf"
            )
        self.scaler.scale(loss).backward()
        if self.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        return value

    def evaluate(self, data: Any, *, strides: Sequence[int] | None = None) -> dict[int, dict[str, float]]:
        """Mean relative L2 error on ``data`` at each stride (see
        :func:`pdekit.training.metrics.evaluate_model`)."""
        batches = self.batches_for(data, shuffle=False)
        if isinstance(batches, ShuffledBatches):
            batches = batches.batches(0)
        return evaluate_model(self.model, batches, strides=strides or self.eval_strides,
                              device=self.ctx.device,
                              autocast_dtype=torch.float16 if self.mixed_precision else None)

    # ------------------------------------------------------------------ loop
    def fit(self, train_data: Any, *, eval_data: Any = None, resume: str | os.PathLike | bool | None = None,
            steps_per_epoch: int | None = None) -> list[dict[str, Any]]:
        """Train up to ``epochs`` epochs; return the per-epoch records (also in metrics.jsonl).

        Parameters
        ----------
        train_data : dataset or iterable of batches
            A map-style torch Dataset of sample dicts (shuffled reproducibly, sharded over
            ranks), or any iterable of batches, re-iterated each epoch.
        eval_data : dataset, iterable, or dict of name -> either, optional
            Scored after every epoch at ``eval_strides``; record keys ``"{name}/l2@{res}"``
            (name ``"eval"`` when a single source is given).
        resume : path-like or bool, optional
            A checkpoint to continue from; True means ``out_dir/checkpoint.pt``.
        steps_per_epoch : int, optional
            Batches per epoch drawn from one long-lived iterator (for endless streams).
        """
        if resume:
            path = self.out_dir / "checkpoint.pt" if resume is True and self.out_dir else resume
            if resume is True and self.out_dir is None:
                raise ValueError("resume=True needs out_dir (where checkpoint.pt lives)")
            self.load_checkpoint(path)
        elif not self._resumed and self.step == 0:
            if self.out_dir is not None:  # a new run never mixes into another run's files
                claim_run_folder(self.out_dir, overwrite=self.overwrite, remove=self.ctx.is_main,
                                 files=("checkpoint.pt", "metrics.jsonl"))
                barrier()
            torch.manual_seed(self.seed + self.ctx.rank)  # ranks draw different dropout masks
        self.check_training_data(train_data)
        train = self.batches_for(train_data)
        self._train = train
        if self._pending_source_state is not None:
            if not hasattr(train, "load_state_dict"):
                raise ValueError("the checkpoint holds the state of a batch source with load_state_dict(); "
                                 f"this run's training data ({type(train).__name__}) has none")
            train.load_state_dict(self._pending_source_state)
            self._pending_source_state = None
        evals = eval_data if isinstance(eval_data, Mapping) else ({} if eval_data is None else {"eval": eval_data})
        n_steps = len(train) if steps_per_epoch is None and hasattr(train, "__len__") else steps_per_epoch
        self.progress.start((self.epochs - self.epoch) * n_steps - self.step_in_epoch if n_steps else None,
                            desc="train")
        checked = False
        try:
            while self.epoch < self.epochs:
                t0 = time.perf_counter()
                sums = self._epoch_sums
                for batch in self._epoch_iter(train, self.epoch, self.step_in_epoch, steps_per_epoch):
                    if not checked:
                        self._check_channels(batch)
                        checked = True
                    value = self.train_step(batch)
                    sums += torch.tensor([value, 1.0], dtype=torch.float64)  # in place
                    self.step_in_epoch += 1
                    if self.checkpoint_steps and self.step % self.checkpoint_steps == 0:
                        self._save_default()
                    self.progress.update(1, epoch=self.epoch + 1, loss=f"{value:.4g}")
                if sums[1] == 0:
                    raise ValueError(f"epoch {self.epoch + 1} received no batches; the training data is empty")
                self._end_epoch(sums, time.perf_counter() - t0, evals)
        finally:
            self.progress.close()
        return self.history

    def _end_epoch(self, sums: torch.Tensor, seconds: float, evals: Mapping[str, Any]) -> None:
        sums = all_reduce_sum(sums.to(self.ctx.device)).cpu() if self.ctx.is_distributed else sums
        record: dict[str, Any] = {"epoch": self.epoch + 1, "step": self.step,
                                  "train_loss": float(sums[0] / sums[1]) if sums[1] else math.nan,
                                  "lr": self.optimizer.param_groups[0]["lr"], "epoch_time_s": seconds}
        monitor = None
        for name, data in evals.items():
            for result in self.evaluate(data).values():
                key = f"{name}/l2@{result['resolution']}"
                record[key] = result["l2"]
                monitor = result["l2"] if monitor is None else monitor
        monitor = record["train_loss"] if monitor is None else monitor
        self.epoch += 1
        self.step_in_epoch = 0
        self._epoch_sums = torch.zeros(2, dtype=torch.float64)
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(monitor)
        elif self.scheduler is not None:
            self.scheduler.step()
        self.history.append(record)
        if self.metrics is not None:
            self.metrics.write(record)
        if self.epoch % self.checkpoint_every == 0 or self.epoch == self.epochs:
            self._save_default()

    def check_training_data(self, train_data: Any) -> None:
        """Take the fingerprint of ``train_data`` (see
        :func:`~pdekit.training.checkpoint.data_fingerprint`); after a checkpoint was loaded,
        raise ValueError if it differs from the one of the data the checkpoint was trained on.
        :meth:`fit` calls this; call it yourself to check before writing anything."""
        self._data_identity = data_fingerprint(train_data)
        if self._resumed and None not in (self._saved_identity, self._data_identity) \
                and self._saved_identity != self._data_identity:
            raise ValueError(
                f"cannot resume: the checkpoint was trained on other data ({self._saved_identity}) "
                f"than this run's training data ({self._data_identity}); resume with the same "
                f"dataset, subset and resolution, or start a new run"
            )

    # ------------------------------------------------------------------ checkpoints
    def _save_default(self) -> None:
        if self.out_dir is not None:
            self.save_checkpoint(self.out_dir / "checkpoint.pt", overwrite=True)  # this run's own file

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (this rank's RNG state under ``"rng"``; the state of
        a training-data object with ``state_dict()`` other than :class:`ShuffledBatches`
        under ``"source"``, handed back to its ``load_state_dict`` when a resumed fit starts)."""
        return {
            "model": self.model.state_dict(),
            "model_class": type(self.model).__name__,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "step": self.step, "step_in_epoch": self.step_in_epoch,
            "data": {"seed": self.seed, "batch_size": self.batch_size,
                     "world_size": self.ctx.world_size, "identity": self._data_identity},
            "epoch_loss_sums": self._epoch_sums.clone(),
            "epochs": self.epochs, "history": list(self.history),
            "rng": capture_rng_state(),
            # a custom batch source (e.g. a streaming reservoir) may carry its own position
            "source": (self._train.state_dict() if hasattr(self._train, "state_dict")
                       and not isinstance(self._train, ShuffledBatches) else None),
        }

    def save_checkpoint(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write the training state to ``path`` atomically (main rank; RNGs of all ranks).

        An existing ``path`` is refused (FileExistsError) unless ``overwrite=True`` (the run's
        own ``checkpoint.pt`` is rewritten at every checkpoint).
        """
        # the main rank decides (it writes the file); every rank learns it, so none waits alone
        exists = gather_objects(bool(self.ctx.is_main and not overwrite and os.path.lexists(path)))
        if any(exists):
            refuse_existing(path, False)
            raise FileExistsError(f"{str(path)!r} exists (seen by the main rank); pass overwrite=True to replace it")
        state = self.state_dict()
        rngs = gather_objects(state.pop("rng"))
        state["rng_per_rank"] = rngs
        if self.ctx.is_main:
            save_checkpoint(path, state, overwrite=overwrite)
        barrier()

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore the state written by :meth:`save_checkpoint` so training continues exactly."""
        state = load_checkpoint(path, map_location=self.ctx.device)
        check_state_dict_compatible(state["model"], self.model, saved_name=state.get("model_class", ""),
                                    source=f"checkpoint {str(path)!r}")
        data = state["data"]
        mine = {"seed": self.seed, "batch_size": self.batch_size, "world_size": self.ctx.world_size}
        diff = {k: (data[k], mine[k]) for k in mine if data.get(k) != mine[k]}
        if diff:
            raise ValueError(
                "cannot resume exactly: the checkpoint's data order differs from this run's "
                + ", ".join(f"{k} (checkpoint {a}, now {b})" for k, (a, b) in diff.items())
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError("the checkpoint's learning-rate schedule differs from this run's "
                             "(one has a scheduler, the other has none)")
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.step_in_epoch = int(state["step_in_epoch"])
        self.history = list(state.get("history", []))
        self._epoch_sums = state["epoch_loss_sums"].cpu().to(torch.float64).clone()
        self._pending_source_state = state.get("source")
        self._saved_identity = data.get("identity")
        rngs = state["rng_per_rank"]
        restore_rng_state(rngs[self.ctx.rank] if self.ctx.rank < len(rngs) else rngs[0])
        self._resumed = True
