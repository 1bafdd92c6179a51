"""On a real (small) Darcy problem: training lowers the test error, and the model trained at
one resolution runs and stays accurate at another."""

from __future__ import annotations

import pytest
import torch

from pdekit.data.generation import generate
from pdekit.data.torch_dataset import open_dataset
from pdekit.training import Trainer
from pdekit.training.models import build_model
from pdekit.training.normalization import NormalizedOperator, fit_normalizers
from tests.training._toy import one_thread  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def darcy(tmp_path_factory):
    d = tmp_path_factory.mktemp("darcy")
    generate("darcy", d / "train.h5", n=48, resolution=17, seed=0, workers=0)
    # the test set is solved on 33 nodes: scored at 33 and, strided by 2, at the training 17
    generate("darcy", d / "test.h5", n=12, resolution=33, seed=1, workers=0)
    return open_dataset(d / "train.h5"), open_dataset(d / "test.h5")


def test_training_lowers_darcy_error_and_transfers_across_resolutions(darcy, tmp_path, one_thread):
    train, test = darcy
    torch.manual_seed(0)
    net = build_model("tfno", in_channels=1, out_channels=1, n_dim=2, modes=6, width=16, layers=3, rank=0.3)
    model = NormalizedOperator(net, *fit_normalizers(train))
    trainer = Trainer(model, epochs=25, batch_size=8, lr=5e-3, scheduler="cosine", distributed=False,
                      out_dir=tmp_path, eval_strides=(2, 1))
    before = trainer.evaluate(test)
    history = trainer.fit(train, eval_data={"test": test})
    after = trainer.evaluate(test)
    assert history[-1]["train_loss"] < 0.3 * history[0]["train_loss"]
    assert after[2]["resolution"] == 17 and after[1]["resolution"] == 33
    assert after[2]["l2"] < 0.3 * before[2]["l2"]
    assert after[2]["l2"] < 0.2
    # trained at 17 only, the model is still accurate on the 33-node grid
    assert after[1]["l2"] < 0.25
    assert history[-1]["test/l2@33"] == pytest.approx(after[1]["l2"])
