"""Per-channel statistics and the normalized operator that carries them through save/load."""

from __future__ import annotations

import pytest
import torch

from pdekit.operators import FNO
from pdekit.training.normalization import NormalizedOperator, channel_statistics, load_model


class _Data(torch.utils.data.Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(6, 2, 5, 5, generator=g) * torch.tensor([2.0, 0.5])[:, None, None] + \
            torch.tensor([3.0, -1.0])[:, None, None]

    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.x[i, :1] * 0 + 4.0}


def test_channel_statistics_match_torch():
    data = _Data()
    mean, std = channel_statistics(data, "x")
    ref = data.x.double().transpose(0, 1).reshape(2, -1)
    assert mean == pytest.approx(ref.mean(1).tolist(), rel=1e-12)
    assert std == pytest.approx(ref.std(1, unbiased=False).tolist(), rel=1e-10)
    assert channel_statistics(data, "y") == ([4.0], [1.0])  # constant channel -> std 1
    with pytest.raises(KeyError, match="no field 'u'"):
        channel_statistics(data, "u")


def test_normalized_operator_round_trip_and_other_resolution(tmp_path):
    torch.manual_seed(0)
    net = FNO((3, 3), in_channels=2, out_channels=1, hidden_channels=4, n_layers=1)
    model = NormalizedOperator(net, [3.0, -1.0], [2.0, 0.5], [4.0], [0.1])
    x = torch.randn(2, 2, 9, 9)
    expected = net((x - torch.tensor([3.0, -1.0])[:, None, None]) / torch.tensor([2.0, 0.5])[:, None, None])
    torch.testing.assert_close(model(x), expected * 0.1 + 4.0)
    model.save(tmp_path / "m.pt")
    with pytest.raises(FileNotFoundError, match="folder without model.pt"):
        load_model(tmp_path)
    back = load_model(tmp_path / "m.pt")
    assert torch.equal(back(x), model(x))
    assert back(torch.randn(1, 2, 17, 17)).shape == (1, 1, 17, 17)
    assert back.n_parameters() == net.n_parameters()
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 2, \*spatial\)"):
        model(torch.randn(1, 3, 9, 9))
    with pytest.raises(ValueError, match="in_std must be positive"):
        NormalizedOperator(net, [0.0, 0.0], [1.0, 0.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="out_mean has 2 entries; expected one per channel"):
        NormalizedOperator(net, [0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0])
