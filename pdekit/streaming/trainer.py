"""The training rank: a :class:`Receiver` thread feeding DDP training steps in lockstep.

One process per rank under ``torchrun`` (gloo on CPU, NCCL on GPU; one rank without a
process group in laptop mode: the same code). The rank reuses :mod:`pdekit.training`: the
model comes from :func:`~pdekit.training.models.build_model` wrapped in a
:class:`~pdekit.training.normalization.NormalizedOperator`, the optimizer steps, checkpoints
of model/optimizer/RNGs and the DDP wrapper from :class:`~pdekit.training.trainer.Trainer`.

**Lockstep.** Every iteration all ranks all-reduce one small vector: how many ranks hold a
batch, how many are done (stream ended, buffer drained), whether the validation ensemble is
complete, whether a rank hit a fatal error, and the samples in this step. Nobody holds a batch:
all wait a moment. Somebody does: all take a DDP step together; a rank without a batch takes
part with a zero-weighted placeholder (its gradient is zero, and the others' losses are
scaled by ``world / ranks_with_data`` so the average gradient is theirs). Every rank done:
all stop. Uneven numbers of simulations per rank therefore never hang, and no ``Join`` is
needed.

**Statistics.** ``blocked_seconds`` is the time after training started (the watermark) that
this rank spent without a batch; ``samples_per_second`` counts real samples only;
``disk_bytes_written`` counts what the rank wrote to storage from the moment it listened for
time steps (torch's optimizer imports ``torch._dynamo``, seconds of CPU and a few scratch files
in the temporary folder: the rank does that before it listens, so neither delays the first
training step nor counts as written during the stream).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from pdekit.streaming.batching import FieldLayout, fit_normalizers_distributed
from pdekit.streaming.buffers import make_buffer
from pdekit.streaming.checkpoints import load_rank_state, prune_rank_files, save_rank_state
from pdekit.streaming.config import StreamConfig
from pdekit.streaming.receiver import Receiver
from pdekit.streaming.targets import make_target
from pdekit.training.checkpoint import load_checkpoint, save_checkpoint
from pdekit.training.distributed import all_reduce_sum, barrier, env_world, gather_objects
from pdekit.training.metrics import MetricsLog, relative_l2_per_sample
from pdekit.training.models import build_model
from pdekit.training.normalization import NormalizedOperator
from pdekit.operators.normalizers import UnitGaussianNormalizer
from pdekit.training.trainer import Trainer

__all__ = ["StreamingTrainer", "disk_bytes_written"]

_WAIT = 0.002  # seconds between polls when no rank has a batch


def disk_bytes_written() -> int | None:
    """Bytes this process caused to be written to storage (``/proc/self/io``), None elsewhere."""
    try:
        with open("/proc/self/io", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _since(before: int | None, now: int | None) -> int | None:
    return None if before is None or now is None else now - before


def _warm_up() -> None:
    """Pay torch's lazy imports of the optimizer (and of DistributedDataParallel) now."""
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def _weighted_loss(net, batch):
    pred = net(batch["x"])
    return batch["weight"] * relative_l2_per_sample(pred, batch["y"]).mean()


class StreamingTrainer:
    """One training rank of a streaming run.

    Parameters
    ----------
    config : StreamConfig
    run_id : str
    control_address : str
        The coordinator's control socket.
    restart : int, optional
        Trainer restart count (default: ``TORCHELASTIC_RESTART_COUNT``, set by torchrun).
    """

    def __init__(self, config: StreamConfig, *, run_id: str, control_address: str,
                 restart: int | None = None) -> None:
        self.cfg = config
        self.run_dir = Path(config.out)
        self.rank, self.world, _ = env_world()
        if self.world != config.ranks:
            raise ValueError(f"the run is configured for {config.ranks} ranks but WORLD_SIZE={self.world}")
        if restart is None:
            restart = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
        space = config.parameter_space()
        self.parameter_names = space.names
        budget = config.budget_per_rank
        buffer = make_buffer(config.buffer, budget, watermark=config.watermark,
                             seed=config.seed * 1009 + self.rank)
        self.receiver = Receiver(
            run=run_id, steps=config.steps, budget=budget, buffer=buffer,
            target=make_target(config.target, steps=config.steps, parameter_names=space.names),
            control_address=control_address, rank=self.rank, world=self.world, restart=restart,
            host=config.host, heartbeat=config.heartbeat, liveness=config.liveness,
            min_samples=1 if config.buffer == "reservoir" else config.batch_size,
            bounds=[tuple(v) for v in config.parameters.values()] or None)
        self.checkpoint_path = self.run_dir / "checkpoint.pt"
        self.resume_state: dict[str, Any] | None = None
        if self.checkpoint_path.is_file():
            self.resume_state = load_checkpoint(self.checkpoint_path)
            self.receiver.load_state_dict(load_rank_state(self.run_dir, self.rank,
                                                          self.resume_state["stream"]["step"]))
        self.trainer: Trainer | None = None
        self.layout: FieldLayout | None = None
        self.step = 0
        self.samples_trained = 0          # this rank's real samples
        self.global_samples = 0
        self.train_seconds = 0.0          # since the watermark (summed over this rank's generations)
        self.train_cpu_seconds = 0.0      # CPU time of the rank process over the same time
        self.blocked_seconds = 0.0
        self.validation_l2: float | None = None
        self._loss_sum = 0.0
        self._loss_n = 0
        self._started = False
        self._written0: int | None = None

    # ------------------------------------------------------------------ set-up
    def _wait(self, condition, what: str, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.receiver.fatal:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"rank {self.rank} waited {timeout:.0f} s for {what}")
            time.sleep(0.01)

    def _build(self) -> None:
        cfg = self.cfg
        self.layout = FieldLayout(self.receiver.schema, target=cfg.target, n_parameters=len(self.parameter_names))
        lay = self.layout
        torch.manual_seed(cfg.seed)
        modes = [max(1, min(cfg.modes, s)) for s in lay.spatial]
        modes[-1] = max(1, min(modes[-1], 2 * (lay.spatial[-1] // 2)))
        net = build_model(cfg.model, in_channels=lay.in_channels, out_channels=lay.out_channels,
                          n_dim=lay.n_dim, modes=modes, width=cfg.width, layers=cfg.layers)
        model = NormalizedOperator(net, UnitGaussianNormalizer(lay.in_channels),
                                   UnitGaussianNormalizer(lay.out_channels))
        self.trainer = Trainer(model, loss_fn=_weighted_loss, lr=cfg.lr, batch_size=cfg.batch_size,
                               seed=cfg.seed, device=cfg.device, distributed=self.world > 1)
        if self.resume_state is not None:
            self.trainer.load_checkpoint(self.checkpoint_path)
            s = self.resume_state["stream"]
            self.step, self._started = int(s["step"]), bool(s["started"])
            mine = s["ranks"][self.rank]
            self.samples_trained, self.train_seconds, self.blocked_seconds = (
                int(mine["samples_trained"]), float(mine["train_seconds"]), float(mine["blocked_seconds"]))
            self.train_cpu_seconds = float(mine.get("train_cpu_seconds", 0.0))
            self.global_samples = int(s["global_samples"])
        else:
            torch.manual_seed(cfg.seed + self.rank)

    # ------------------------------------------------------------------ run
    def run(self) -> dict[str, Any]:
        """Train until the stream has ended and every rank's buffer is drained; return this
        rank's totals (also sent to the coordinator as FINAL)."""
        rec = self.receiver
        _warm_up()
        self._written0 = disk_bytes_written()
        rec.start()
        try:
            self._wait(rec.welcomed.is_set, "the coordinator's welcome")
            self._wait(lambda: rec.schema is not None or rec.ended, "the first time step of the run")
            if rec.fatal:
                return self._finish(fatal=True)
            if rec.schema is None:  # the stream ended without a single time step
                return self._finish()
            self._build()
            self._loop()
            return self._finish()
        finally:
            rec.stop()
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()

    def _loop(self) -> None:
        cfg, rec, lay = self.cfg, self.receiver, self.layout
        device = self.trainer.ctx.device
        metrics = MetricsLog(self.run_dir / "metrics.jsonl", enabled=self.rank == 0)
        last_batch = None
        t_prev, cpu_prev = time.perf_counter(), time.process_time()
        t_publish = 0.0
        while True:
            items = rec.take(cfg.batch_size)
            done = not items and rec.done
            flags = torch.tensor([bool(items), done, rec.validation_ready, bool(rec.fatal), len(items)],
                                 dtype=torch.float64)
            n_with, n_done, n_val, n_fatal, n_samples = all_reduce_sum(flags.to(device)).cpu().tolist()
            now, cpu_now = time.perf_counter(), time.process_time()
            if self._started:
                self.train_seconds += now - t_prev
                self.train_cpu_seconds += cpu_now - cpu_prev  # the whole process: receiver included
                if not items:
                    self.blocked_seconds += now - t_prev
            t_prev, cpu_prev = now, cpu_now
            if n_fatal:
                return
            if n_done == self.world:
                break
            if n_with == 0:
                time.sleep(_WAIT)
                continue
            if not self._started:
                with rec.lock:
                    pool = rec.buffer.items()
                fit_normalizers_distributed(pool, lay, (self.trainer.model.in_normalizer,
                                                        self.trainer.model.out_normalizer))
                self._started, t_prev, cpu_prev = True, time.perf_counter(), time.process_time()
            if items:
                x, y = lay.tensors(items)
                last_batch = (x, y)
                weight = self.world / n_with
            else:
                x, y = last_batch if last_batch is not None else lay.placeholder()
                weight = 0.0
            loss = self.trainer.train_step({"x": x, "y": y, "weight": torch.tensor(weight)})
            self.step += 1
            self.samples_trained += len(items)
            self.global_samples += int(n_samples)
            if items:
                self._loss_sum += loss / weight
                self._loss_n += 1
            evaluate = cfg.eval_every and self.step % cfg.eval_every == 0
            if evaluate and n_val == self.world:
                self._evaluate()
            if evaluate:
                metrics.write(self._record())
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self._checkpoint()
            if now - t_publish > cfg.progress_every:
                rec.publish(self._live_stats())
                t_publish = now
        self._evaluate()
        metrics.write(self._record())

    # ------------------------------------------------------------------ evaluation and records
    def _evaluate(self) -> None:
        with self.receiver.lock:
            items = list(self.receiver.validation)
        b = self.cfg.batch_size
        batches = [self.layout.tensors(items[i:i + b]) for i in range(0, len(items), b)]
        result = self.trainer.evaluate(batches, strides=[1])[1]
        self.validation_l2 = result["l2"] if result["n"] else None

    def _live_stats(self) -> dict[str, Any]:
        buf = self.receiver.buffer  # cheap numbers only: this runs every progress_every seconds
        rate = self.samples_trained / self.train_seconds if self.train_seconds else 0.0
        return {"samples_per_second": rate * self.world, "fill": buf.bytes / buf.capacity,
                "blocked_fraction": self.blocked_seconds / self.train_seconds if self.train_seconds else 0.0}

    def _record(self) -> dict[str, Any]:
        st = self.receiver.statistics()
        rec = {"step": self.step, "samples": self.global_samples, "train_seconds": round(self.train_seconds, 4),
               "samples_per_second": (self.global_samples / self.train_seconds) if self.train_seconds else 0.0,
               "blocked_fraction": self.blocked_seconds / self.train_seconds if self.train_seconds else 0.0,
               "train_loss": self._loss_sum / self._loss_n if self._loss_n else math.nan,
               "validation_l2": self.validation_l2, "buffer_fill": st["fill"], "buffer_samples": st["samples"],
               "buffer_simulations": st["simulations"], "seen_histogram": st["seen_histogram"], "ks": st["ks"],
               "wall_time": time.time()}
        self._loss_sum, self._loss_n = 0.0, 0
        return rec

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint(self) -> None:
        """Every rank's stream state, then (the commit) rank 0's checkpoint.pt."""
        save_rank_state(self.run_dir, self.rank, self.step, self.receiver.state_dict())
        state = self.trainer.state_dict()
        state["rng_per_rank"] = gather_objects(state.pop("rng"))
        mine = {"samples_trained": self.samples_trained, "train_seconds": self.train_seconds,
                "blocked_seconds": self.blocked_seconds, "train_cpu_seconds": self.train_cpu_seconds}
        state["stream"] = {"step": self.step, "started": self._started, "global_samples": self.global_samples,
                           "ranks": gather_objects(mine)}
        barrier()
        if self.rank == 0:
            save_checkpoint(self.checkpoint_path, state, overwrite=True)  # this run's own file
        barrier()
        prune_rank_files(self.run_dir, self.rank, self.step)

    # ------------------------------------------------------------------ the end
    def _finish(self, *, fatal: bool = False) -> dict[str, Any]:
        rec = self.receiver
        if self.rank == 0 and self.trainer is not None and not fatal:
            self.trainer.model.to("cpu").save(self.run_dir / "model.pt", overwrite=True)  # this run's own file
        led = rec.ledger
        stats = {"rank": self.rank, "samples_trained": self.samples_trained, "training_steps": self.step,
                 "train_seconds": self.train_seconds, "blocked_seconds": self.blocked_seconds,
                 "train_cpu_seconds": self.train_cpu_seconds,
                 "samples_per_second": self.samples_trained / self.train_seconds if self.train_seconds else 0.0,
                 "duplicates_dropped": led.duplicates_dropped, "rejected_messages": led.rejected_messages,
                 "abandoned_samples": led.abandoned_samples,
                 "bytes_received": int(rec.counters["bytes_received"]),
                 "accept_events": int(rec.counters["steps_accepted"]),
                 "validation_l2": self.validation_l2, "buffer": rec.statistics(),
                 "disk_bytes_written": _since(self._written0, disk_bytes_written())}
        coverage = {str(s): dict(c, digest=led.digest(s)) for s, c in led.coverage().items()}
        rec.send_control(b"FINAL", {"stats": stats, "coverage": coverage})
        return stats
