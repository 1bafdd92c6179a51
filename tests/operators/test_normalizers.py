"""UnitGaussianNormalizer: streaming statistics equal batch ones, encode / decode, state, errors."""

import pytest
import torch

from pdekit.operators import UnitGaussianNormalizer, load

pytestmark = pytest.mark.usefixtures("one_thread")


def _data():
    torch.manual_seed(0)
    scale = torch.tensor([1.0, 5.0, 0.01]).reshape(1, 3, 1, 1)
    return torch.randn(20, 3, 8, 6, dtype=torch.float64) * scale + torch.tensor([0.0, -2.0, 7.0]).reshape(1, 3, 1, 1)


def test_partial_fit_matches_fit_and_numpy_statistics():
    x = _data()
    whole = UnitGaussianNormalizer(3).fit(x)
    parts = UnitGaussianNormalizer(3)
    for chunk in torch.split(x, [1, 7, 12]):
        parts.partial_fit(chunk)
    flat = x.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(whole.mean, flat.mean(1), atol=1e-12)
    assert torch.allclose(whole.std, flat.std(1, unbiased=False), atol=1e-12)
    assert torch.allclose(parts.mean, whole.mean, atol=1e-12)
    assert torch.allclose(parts.std, whole.std, atol=1e-12)
    assert int(parts.count) == x.numel() // 3
    assert torch.allclose(UnitGaussianNormalizer(3).fit(iter(torch.split(x, 5))).std, whole.std, atol=1e-12)


def test_encode_standardises_and_decode_inverts():
    x = _data().float()
    norm = UnitGaussianNormalizer(3).fit(x)
    z = norm.encode(x)
    flat = z.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(flat.mean(1), torch.zeros(3), atol=1e-4)
    assert torch.allclose(flat.std(1, unbiased=False), torch.ones(3), atol=1e-4)
    assert torch.allclose(norm.decode(z), x, atol=1e-5)
    assert torch.equal(norm(x), z)


def test_statistics_travel_in_the_state_dict_and_checkpoints(tmp_path):
    x = _data()
    norm = UnitGaussianNormalizer(3).fit(x)
    other = UnitGaussianNormalizer(3)
    other.load_state_dict(norm.state_dict())
    assert torch.equal(other.encode(x), norm.encode(x))
    norm.save(tmp_path / "norm.pt")
    assert torch.equal(load(tmp_path / "norm.pt").encode(x), norm.encode(x))
    holder = torch.nn.Module()
    holder.normalizer = norm
    assert {"normalizer.mean", "normalizer.m2", "normalizer.count"} <= set(holder.state_dict())


def test_errors():
    norm = UnitGaussianNormalizer(2)
    with pytest.raises(RuntimeError, match="has not been fitted"):
        norm.encode(torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"expected data of shape \(batch, 2, \*spatial\); got \(1, 3, 4\)"):
        norm.partial_fit(torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="NaN or inf"):
        norm.partial_fit(torch.tensor([[[float("nan")], [1.0]]]))
    with pytest.raises(ValueError, match="positive int"):
        UnitGaussianNormalizer(0)
