"""Channels of the run's fields, batches as tensors, normalizers fitted over ranks."""

import numpy as np
import pytest
import torch

from pdekit.operators.normalizers import UnitGaussianNormalizer
from pdekit.streaming.batching import FieldLayout, fit_normalizers_distributed
from pdekit.streaming.buffers import Item
from pdekit.streaming.wire import FieldSpec


def test_fields_become_channels():
    schema = [FieldSpec("u", "<f8", (6, 5)), FieldSpec("v", "<i2", (2, 6, 5))]
    lay = FieldLayout(schema, target="autoregressive")
    assert (lay.spatial, lay.in_channels, lay.out_channels) == ((6, 5), 3, 3)
    fields = (np.ones((6, 5)), np.stack([np.full((6, 5), 2, np.int16), np.full((6, 5), 3, np.int16)]))
    x, y = lay.tensors([Item((0, 0, 1), fields, fields, 0)] * 4)
    assert x.shape == (4, 3, 6, 5) and x.dtype == torch.float32
    assert y[0, :, 0, 0].tolist() == [1.0, 2.0, 3.0]


def test_parameter_target_broadcasts_the_inputs():
    lay = FieldLayout([FieldSpec("u", "<f4", (4, 4))], target="parameters", n_parameters=2)
    x, y = lay.tensors([Item((0, 0, 0), np.array([0.5, 2.0, 0.25]), (np.zeros((4, 4), np.float32),), 0)])
    assert x.shape == (1, 3, 4, 4) and torch.all(x[0, 1] == 2.0) and y.shape == (1, 1, 4, 4)
    assert lay.placeholder()[0].shape == (1, 3, 4, 4)


@pytest.mark.parametrize("schema, match", [
    ([FieldSpec("u", "<f8", (4, 4)), FieldSpec("v", "<f8", (3, 5))], "every field must be shaped like the grid"),
    ([FieldSpec("u", "<c16", (4, 4))], "complex"),
    ([FieldSpec("u", "<f8", ())], "1D, 2D or 3D grid"),
])
def test_bad_layouts(schema, match):
    with pytest.raises(ValueError, match=match):
        FieldLayout(schema, target="autoregressive")


def test_normalizers_match_one_fit_on_everything():
    rng = np.random.default_rng(0)
    lay = FieldLayout([FieldSpec("u", "<f8", (4, 4))], target="autoregressive")
    items = [Item((0, 0, k), (rng.normal(3, 2, (4, 4)),), (rng.normal(-1, 5, (4, 4)),), 0) for k in range(50)]
    norms = (UnitGaussianNormalizer(1), UnitGaussianNormalizer(1))
    fit_normalizers_distributed(items, lay, norms, chunk=7)
    x, y = lay.tensors(items)
    assert torch.allclose(norms[0].mean, x.double().mean().reshape(1)) and int(norms[0].count) == 800
    assert torch.allclose(norms[1].std, y.double().std(unbiased=False).reshape(1))
