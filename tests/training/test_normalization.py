"""Normalizers fitted on a dataset, and the normalized operator that carries them through save/load."""

from __future__ import annotations

import pytest
import torch

from pdekit.operators import FNO, UnitGaussianNormalizer
from pdekit.training.normalization import NormalizedOperator, fit_normalizers, load_model


class _Data(torch.utils.data.Dataset):
    def __init__(self, n=6):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 2, 5, 5, generator=g) * torch.tensor([2.0, 0.5])[:, None, None] + \
            torch.tensor([3.0, -1.0])[:, None, None]

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.x[i, :1] * 3 + 4.0}


def test_fit_normalizers_match_whole_data_statistics():
    data = _Data()
    nx, ny = fit_normalizers(data)
    ref = data.x.double().transpose(0, 1).reshape(2, -1)
    torch.testing.assert_close(nx.mean, ref.mean(1))
    torch.testing.assert_close(nx.std, ref.std(1, unbiased=False))
    torch.testing.assert_close(ny.mean, ref[:1].mean(1) * 3 + 4)
    first3, _ = fit_normalizers(data, max_samples=3)
    torch.testing.assert_close(first3.mean, data.x[:3].double().transpose(0, 1).reshape(2, -1).mean(1))

    class NoY(_Data):
        def __getitem__(self, i):
            return {"x": self.x[i], "u": self.x[i]}

    with pytest.raises(KeyError, match=r"fields 'x' and 'y'; sample 0 has \['u', 'x'\]"):
        fit_normalizers(NoY())


def test_normalized_operator_round_trip_and_other_resolution(tmp_path):
    torch.manual_seed(0)
    data = _Data()
    net = FNO((3, 3), in_channels=2, out_channels=1, hidden_channels=4, n_layers=1)
    nx, ny = fit_normalizers(data)
    model = NormalizedOperator(net, nx, ny)
    x = torch.randn(2, 2, 9, 9)
    mean_x, std_x = nx.mean.float()[:, None, None], nx.std.float()[:, None, None]
    expected = net((x - mean_x) / (std_x + 1e-7)) * (ny.std.float() + 1e-7) + ny.mean.float()
    torch.testing.assert_close(model(x), expected)
    model.save(tmp_path / "m.pt")
    with pytest.raises(FileNotFoundError, match="folder without model.pt"):
        load_model(tmp_path)
    back = load_model(tmp_path / "m.pt")
    assert torch.equal(back(x), model(x))  # statistics and weights restored
    assert back(torch.randn(1, 2, 17, 17)).shape == (1, 1, 17, 17)
    assert back.n_parameters() == net.n_parameters()
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 2, \*spatial\)"):
        model(torch.randn(1, 3, 9, 9))
    with pytest.raises(ValueError, match="out_normalizer has 2 channels; the model has 1"):
        NormalizedOperator(net, nx, UnitGaussianNormalizer(2))
