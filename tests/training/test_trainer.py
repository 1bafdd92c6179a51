"""Trainer: loss goes down, exact resume, custom loss steps, schedules, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from pdekit.training import Trainer, read_metrics
from tests.training._toy import PairDataset, TinyNet, one_thread, params_of  # noqa: F401


class StopAfter:
    """A progress object that interrupts training after ``n`` steps (like Ctrl-C)."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def start(self, total, desc=""):
        self.total = total

    def update(self, n=1, **postfix):
        self.seen += n
        if self.seen >= self.n:
            raise KeyboardInterrupt

    def close(self):
        pass


def _trainer(tmp, **kw):
    torch.manual_seed(kw.pop("init_seed", 0))
    opts = dict(epochs=3, batch_size=4, lr=5e-3, seed=1, scheduler="step", step_size=1, gamma=0.7,
                out_dir=tmp, distributed=False)
    opts.update(kw)
    return Trainer(TinyNet(), **opts)


def test_training_reduces_loss_and_writes_jsonl(tmp_path, one_thread):
    data = PairDataset(16)
    t = _trainer(tmp_path, epochs=8, lr=2e-2, scheduler="cosine", optimizer="adamw", weight_decay=1e-4)
    history = t.fit(data, eval_data={"test": PairDataset(8, seed=3)})
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in records] == list(range(1, 9))
    assert records[-1]["step"] == 8 * 4
    assert records[-1]["test/l2@8"] < records[0]["test/l2@8"]
    # cosine schedule decays the learning rate
    assert records[-1]["lr"] < records[0]["lr"]


def test_resume_mid_epoch_is_exact(tmp_path, one_thread):
    data = PairDataset(12)  # 3 batches per epoch
    full = _trainer(tmp_path / "full")
    full.fit(data, eval_data=PairDataset(4, seed=5))
    # interrupted at step 5 (in the middle of epoch 2), checkpointed every step
    part = _trainer(tmp_path / "part", checkpoint_steps=1, progress=StopAfter(5))
    with pytest.raises(KeyboardInterrupt):
        part.fit(data, eval_data=PairDataset(4, seed=5))
    torch.manual_seed(123)  # scramble global RNGs: resume must restore them
    resumed = _trainer(tmp_path / "part", init_seed=99)
    resumed.fit(data, eval_data=PairDataset(4, seed=5), resume=True)
    assert resumed.step == full.step == 9
    for k, v in params_of(full.model).items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    strip = lambda h: [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in h]  # noqa: E731
    assert strip(resumed.history) == strip(full.history)
    lines = (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]


def test_checkpoint_round_trip_bit_identical_outputs_and_next_step(tmp_path):
    data = PairDataset(8)
    a = _trainer(tmp_path, epochs=1)
    a.fit(data)
    b = _trainer(tmp_path / "other", epochs=1, init_seed=7)
    b.load_checkpoint(tmp_path / "checkpoint.pt")
    x = data.x[:4]
    a.model.eval(), b.model.eval()
    assert torch.equal(a.model(x), b.model(x))
    # loading restored the global RNGs to their state when a saved; both steps start there
    rng = torch.get_rng_state()
    batch = {"x": data.x[4:], "y": data.y[4:]}
    loss_a = a.train_step(batch)
    torch.set_rng_state(rng)
    assert b.train_step(batch) == loss_a
    for k, v in params_of(a.model).items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    for sa, sb in zip(a.optimizer.state.values(), b.optimizer.state.values()):
        assert torch.equal(sa["exp_avg_sq"], sb["exp_avg_sq"])
    # the run's own checkpoint.pt is rewritten; any other existing file only with overwrite=True
    (tmp_path / "mine.pt").write_bytes(b"a user's file")
    with pytest.raises(FileExistsError, match=r"mine\.pt' exists; pass overwrite=True"):
        a.save_checkpoint(tmp_path / "mine.pt")
    assert (tmp_path / "mine.pt").read_bytes() == b"a user's file"
    a.save_checkpoint(tmp_path / "mine.pt", overwrite=True)
    b.load_checkpoint(tmp_path / "mine.pt")


def test_custom_loss_step_and_plain_iterables(tmp_path):
    calls = []

    def loss_fn(model, batch):
        calls.append(batch["x"].shape[0])
        pred = model(batch["x"])
        return ((pred - batch["y"]) ** 2).mean()

    torch.manual_seed(0)
    t = Trainer(TinyNet(dropout=0.0), loss_fn=loss_fn, epochs=5, lr=1e-2, distributed=False)
    data = PairDataset(8)
    batches = [{"x": data.x[i:i + 4], "y": data.y[i:i + 4]} for i in (0, 4)]
    history = t.fit(batches)
    assert calls == [4] * 10
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_stream_with_steps_per_epoch():
    data = PairDataset(4)

    def stream():
        while True:
            yield data.x, data.y

    t = Trainer(TinyNet(), epochs=3, distributed=False)
    history = t.fit(stream(), steps_per_epoch=2)
    assert t.step == 6 and len(history) == 3


def test_plateau_schedule_lowers_lr_when_stuck():
    # a learning rate too small to improve the loss by the plateau threshold (1e-4 relative):
    # epoch 1 sets the best value, epochs 2, 3, 4 each halve the rate (patience 0); a record
    # holds the rate its epoch ran with
    t = Trainer(TinyNet(dropout=0.0), epochs=4, lr=1e-6, scheduler="plateau", patience=0,
                gamma=0.5, distributed=False)
    history = t.fit(PairDataset(4))
    assert [r["lr"] for r in history] == pytest.approx([1e-6, 1e-6, 5e-7, 2.5e-7])
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(1.25e-7)


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        Trainer(TinyNet(), optimizer="sgd", distributed=False)
    with pytest.raises(ValueError, match="unknown scheduler 'linear'"):
        Trainer(TinyNet(), scheduler="linear", distributed=False)
    with pytest.raises(ValueError, match="mixed precision needs a CUDA device"):
        Trainer(TinyNet(), mixed_precision=True, device="cpu", distributed=False)
    # wrong channel count
    t = Trainer(TinyNet(in_channels=2), distributed=False)
    with pytest.raises(ValueError, match="1 channels, but the model expects in_channels=2"):
        t.fit(PairDataset(4))
    # batches without the expected fields
    t = Trainer(TinyNet(), distributed=False)
    with pytest.raises(KeyError, match=r"keys 'x' \(inputs\) and 'y' \(targets\); missing \['y'\]"):
        t.fit([{"x": torch.zeros(2, 1, 8, 8), "u": torch.zeros(2, 1, 8, 8)}])
    # checkpoint of another model
    a = _trainer(tmp_path, epochs=1)
    a.fit(PairDataset(4))
    other = Trainer(TinyNet(width=3), distributed=False)
    with pytest.raises(ValueError, match=r"written for TinyNet\) does not fit .*shape mismatches"):
        other.load_checkpoint(tmp_path / "checkpoint.pt")
    # not a checkpoint at all
    torch.save({"weights": torch.zeros(2)}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="is not a pdekit training checkpoint"):
        other.load_checkpoint(tmp_path / "model.pt")
    # resume with another batch size cannot be exact
    c = _trainer(tmp_path, epochs=2, batch_size=2)
    with pytest.raises(ValueError, match=r"batch_size \(checkpoint 4, now 2\)"):
        c.fit(PairDataset(4), resume=True)
    # NaN loss
    bad = PairDataset(4)
    bad.x[0, 0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="training loss is nan"):
        Trainer(TinyNet(), distributed=False, batch_size=4).fit(bad)


class CountingSource:
    """A batch source with a position of its own (like a streaming reservoir)."""

    def __init__(self, data):
        self.data, self.drawn = data, 0

    def __iter__(self):
        for _ in range(2):
            i = self.drawn % len(self.data)
            self.drawn += 1
            yield {"x": self.data.x[i:i + 1], "y": self.data.y[i:i + 1]}

    def state_dict(self):
        return {"drawn": self.drawn}

    def load_state_dict(self, state):
        self.drawn = int(state["drawn"])


def test_batch_source_state_is_checkpointed(tmp_path):
    data = PairDataset(5)
    a = Trainer(TinyNet(), epochs=2, out_dir=tmp_path, distributed=False)
    a.fit(CountingSource(data))
    b = Trainer(TinyNet(), epochs=3, out_dir=tmp_path, distributed=False)
    source = CountingSource(data)
    b.fit(source, resume=True)
    assert source.drawn == 6  # 4 drawn before the checkpoint, 2 after resuming
    with pytest.raises(ValueError, match="has none"):
        Trainer(TinyNet(), epochs=3, out_dir=tmp_path, distributed=False).fit(
            [{"x": data.x, "y": data.y}], resume=True)
