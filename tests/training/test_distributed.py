"""Two gloo ranks on loopback give the gradients and the training of one rank on the whole batch."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from pdekit.training import Trainer
from pdekit.training.distributed import env_world, init_distributed
from tests.training._toy import PairDataset, TinyNet, one_thread  # noqa: F401


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(trainer: Trainer, data, out: str) -> None:
    """One step on the first batch (gradients kept), then a full epoch with evaluation."""
    batches = trainer.batches_for(data)
    loss = trainer.train_step(next(iter(batches.batches(0))))
    grads = {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters()}
    history = trainer.fit(data, eval_data=PairDataset(5, seed=4))  # uneven shares: 3 + 2
    if trainer.ctx.is_main:
        torch.save({"loss": loss, "grads": grads, "history": history,
                    "params": trainer.model.state_dict()}, out)


def _rank(rank: int, world: int, port: int, tmp: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    trainer = Trainer(TinyNet(dropout=0.0), epochs=1, batch_size=4, lr=1e-2, seed=3,
                      out_dir=tmp, device="cpu")
    assert trainer.ctx.backend == "gloo" and trainer.ctx.world_size == world
    try:
        _run(trainer, PairDataset(16), os.path.join(tmp, "ddp.pt"))
    finally:
        torch.distributed.destroy_process_group()


def test_two_gloo_ranks_match_one_rank_on_the_whole_batch(tmp_path, one_thread):
    port = _free_port()
    mp.spawn(_rank, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    torch.manual_seed(0)
    single = Trainer(TinyNet(dropout=0.0), epochs=1, batch_size=8, lr=1e-2, seed=3,
                     device="cpu", distributed=False)
    _run(single, PairDataset(16), str(tmp_path / "single.pt"))
    ddp = torch.load(tmp_path / "ddp.pt", weights_only=True)
    one = torch.load(tmp_path / "single.pt", weights_only=True)
    # the step's gradient is the average over both ranks' halves = the full-batch gradient
    for name, g in one["grads"].items():
        torch.testing.assert_close(ddp["grads"][name], g, rtol=1e-5, atol=1e-7)
    assert ddp["loss"] != one["loss"]  # rank 0's loss is on its half only ...
    h_ddp, h_one = ddp["history"][0], one["history"][0]
    assert h_ddp["train_loss"] == pytest.approx(h_one["train_loss"], rel=1e-5)  # ... averaged here
    assert h_ddp["eval/l2@8"] == pytest.approx(h_one["eval/l2@8"], rel=1e-5)
    for name, p in one["params"].items():
        torch.testing.assert_close(ddp["params"][name], p, rtol=1e-4, atol=1e-6)
    # rank 0 wrote the checkpoint with the RNG states of both ranks
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert len(ckpt["rng_per_rank"]) == 2 and ckpt["step"] == 3


def test_env_world_reads_torchrun_variables():
    assert env_world({}) == (0, 1, 0)
    assert env_world({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == (3, 4, 1)
    with pytest.raises(ValueError, match="RANK=4, WORLD_SIZE=4"):
        env_world({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer; got 'two'"):
        env_world({"WORLD_SIZE": "two"})


def test_init_distributed_single_process_and_missing_master(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    ctx = init_distributed(device="cpu")
    assert (ctx.rank, ctx.world_size, ctx.backend, ctx.is_main) == (0, 1, None, True)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="MASTER_ADDR is not set; launch with torchrun"):
        init_distributed(device="cpu")


def test_pick_device_names_the_problem():
    from pdekit.training.distributed import pick_device

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad, message in (("foo", "unknown device 'foo'"), ("meta", "'meta' cannot run"),
                         ("cuda:x", "unknown device"), (3.5, "unknown device")):
        with pytest.raises(ValueError, match=message):
            pick_device(bad)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="GPU"):
            pick_device(f"cuda:{torch.cuda.device_count()}")
    else:
        with pytest.raises(ValueError, match="no CUDA support|no GPU is visible"):
            pick_device("cuda")
    with pytest.raises(ValueError, match="'meta' cannot run"):
        Trainer(TinyNet(), device="meta", distributed=False)
