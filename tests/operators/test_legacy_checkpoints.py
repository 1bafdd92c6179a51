"""Checkpoints written before configuration version 2 rebuild the very same networks.

``data/legacy_v1/`` holds models saved by pdekit before FNO, TFNO, MG-TFNO and SpectralConv took
neuraloperator 2.0's arguments (tensorly's TT ranks, symmetric padding by default, parameter-free
instance norm, neuraloperator's block without channel MLP), with an input and the output they gave.
"""

import pathlib

import pytest
import torch

import pdekit.operators as op

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = pathlib.Path(__file__).parent / "data" / "legacy_v1"
NAMES = ["fno_default", "tfno_tucker", "tfno_tt", "tfno_tucker_int_rank", "fno_norm_no_mlp", "fno_instance_norm",
         "mgtfno", "spectral_conv_tt"]


@pytest.mark.parametrize("name", NAMES)
def test_old_checkpoint_loads_and_gives_its_outputs(name, tmp_path):
    io = torch.load(DATA / "io.pt", weights_only=True)[name]
    model = op.load(DATA / f"{name}.pt").eval()
    with torch.no_grad():
        y = model(io["x"])
    assert torch.allclose(y, io["y"], atol=1e-6, rtol=1e-5), (y - io["y"]).abs().max()
    model.save(tmp_path / "again.pt")  # saved again at the current version: still the same network
    again = op.load(tmp_path / "again.pt").eval()
    assert torch.load(tmp_path / "again.pt", weights_only=True)["config_version"] == type(model).config_version
    with torch.no_grad():
        assert torch.equal(again(io["x"]), y)
