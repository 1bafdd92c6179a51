"""A GINO trained by the existing Trainer on FEM mesh data: normalization, exact resume, DDP,
and evaluation on another mesh of the domain."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from pdekit.data import open_dataset
from pdekit.training import Trainer
from pdekit.training.batches import MeshBatches
from pdekit.training.models import build_model
from pdekit.training.normalization import NormalizedOperator, fit_normalizers
from tests.training._mesh_data import darcy_fem_files
from tests.training._toy import one_thread, params_of  # noqa: F401 (fixture)
from tests.training.test_trainer import StopAfter

SMALL = dict(modes=4, width=8, layers=2, latent_shape=12)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return darcy_fem_files(tmp_path_factory.mktemp("gino"), mesh_n=4, n_coarse=40, n_fine=8)


def _model(train, seed=0):
    torch.manual_seed(seed)
    net = build_model("gino", in_channels=1, out_channels=1, n_dim=2, points=train.points, **SMALL)
    return NormalizedOperator(net, *fit_normalizers(train)), net


def test_gino_learns_darcy_on_an_l_shape_and_scores_a_refined_mesh(files, tmp_path, one_thread):
    train = open_dataset(files / "coarse.h5", split="train", test_fraction=8)
    test = open_dataset(files / "coarse.h5", split="test", test_fraction=8)
    fine = open_dataset(files / "fine.h5")
    model, net = _model(train)
    net.bind(train)
    trainer = Trainer(model, epochs=12, batch_size=8, lr=1e-2, scheduler="cosine", distributed=False)
    scores = lambda data: trainer.evaluate(MeshBatches(model, data, batch_size=8))[1]["l2"]  # noqa: E731
    before = (scores(test), scores(fine))
    history = trainer.fit(train, eval_data={"test": test, "fine": MeshBatches(model, fine, batch_size=8)})
    after = (scores(test), scores(fine))
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert after[0] < 0.5 * before[0], (before, after)
    assert after[1] < 0.5 * before[1] and after[1] < 1.3 * after[0], (before, after)  # the refined mesh
    assert history[-1][f"fine/l2@{fine.points.shape[0]}"] == pytest.approx(after[1], rel=1e-5)
    assert net.geometry.n_points == train.points.shape[0]  # bound to the training mesh again


def test_samples_on_several_meshes_are_scored_each_on_its_own_mesh(files, one_thread):
    from pdekit.training.metrics import evaluate_model

    coarse, fine = (open_dataset(files / f"{k}.h5", indices=range(6)) for k in ("coarse", "fine"))
    both = open_dataset([files / "coarse.h5", files / "fine.h5"], indices=range(6))
    model, net = _model(coarse)
    net.bind(coarse)
    score = lambda data: evaluate_model(model, MeshBatches(model, data, batch_size=4))[1]  # noqa: E731
    a, b, ab = score(coarse), score(fine), score(both)
    assert len(MeshBatches(model, both, batch_size=4)) == 4 and ab["n"] == 12
    assert a["l2"] != pytest.approx(b["l2"], rel=1e-3)
    assert ab["l2"] == pytest.approx((a["l2"] + b["l2"]) / 2, rel=1e-6)
    assert net.geometry.n_points == coarse.points.shape[0]  # bound to its own mesh again


def test_resume_mid_epoch_is_exact(files, tmp_path, one_thread):
    train = open_dataset(files / "coarse.h5")

    def trainer(out, **kw):
        model, net = _model(train)
        net.bind(train)
        return Trainer(model, epochs=2, batch_size=16, lr=3e-3, scheduler="step", step_size=1,
                       distributed=False, out_dir=out, seed=5, **kw)

    full = trainer(tmp_path / "full")
    full.fit(train)
    part = trainer(tmp_path / "part", checkpoint_steps=1, progress=StopAfter(4))
    with pytest.raises(KeyboardInterrupt):
        part.fit(train)
    torch.manual_seed(123)
    resumed = trainer(tmp_path / "part")
    resumed.fit(train, resume=True)
    assert resumed.step == full.step == 6
    for k, v in params_of(full.model).items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, folder: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    try:
        _step(folder, os.path.join(folder, f"ddp{rank}.pt"), batch_size=4)
    finally:
        torch.distributed.destroy_process_group()


def _step(folder: str, out: str, *, batch_size: int, distributed: bool = True) -> None:
    """One optimizer step of a GINO on the first 8 samples; save gradients and parameters."""
    train = open_dataset(os.path.join(folder, "coarse.h5"), indices=range(8))
    model, net = _model(train)
    net.bind(train)
    trainer = Trainer(model, epochs=1, batch_size=batch_size, lr=1e-2, seed=3, device="cpu",
                      distributed=distributed)
    batch = next(iter(trainer.batches_for(train).batches(0)))
    trainer.train_step(batch)
    torch.save({"grads": {n: p.grad.clone() for n, p in trainer.model.named_parameters()},
                "params": params_of(trainer.model), "world": trainer.ctx.world_size}, out)


def test_two_gloo_ranks_give_the_gradient_of_the_whole_batch(files, one_thread):
    mp.spawn(_rank, args=(2, _free_port(), str(files)), nprocs=2, join=True)
    _step(str(files), str(files / "single.pt"), batch_size=8, distributed=False)
    one = torch.load(files / "single.pt", weights_only=True)
    ddp = [torch.load(files / f"ddp{r}.pt", weights_only=True) for r in range(2)]
    assert ddp[0]["world"] == 2 and one["world"] == 1
    for name, g in one["grads"].items():
        torch.testing.assert_close(ddp[0]["grads"][name], g, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(ddp[1]["grads"][name], g, rtol=1e-4, atol=1e-6)
    for name, p in one["params"].items():
        torch.testing.assert_close(ddp[0]["params"][name], p, rtol=1e-4, atol=1e-6)
