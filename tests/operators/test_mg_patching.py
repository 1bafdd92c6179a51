"""Multigrid patching: stitching undoes patching, context windows hold the coarse field, MG-TFNO."""

import pytest
import torch

from pdekit.operators import MGTFNO, MGPatching

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("shape,levels,fraction", [
    ((2, 3, 32), 2, 0.1), ((2, 1, 32, 16), 1, 0.125), ((1, 2, 16, 16, 8), 1, (0.125, 0.0, 0.25)), ((3, 2, 64, 64), 2, 0.0625),
])
def test_patch_then_unpatch_is_the_identity(shape, levels, fraction):
    torch.manual_seed(0)
    mg = MGPatching(levels, fraction)
    x = torch.randn(*shape)
    patches = mg.patch(x)
    d, P = len(shape) - 2, 2 ** levels
    assert patches.shape[:2] == (shape[0] * P ** d, shape[1] * (levels + 1))
    assert torch.equal(mg.unpatch(patches[:, : shape[1]]), x)
    assert torch.equal(mg.unpatch(mg.patch(x, context=False), shape[2:]), x)


def test_patches_and_context_windows_hold_the_right_values():
    mg = MGPatching(1, 2 / 16)  # 2 patches of 8 points, padded by 2 on each side
    x = torch.arange(16.0).reshape(1, 1, 16)
    p = mg.patch(x)
    assert p.shape == (2, 2, 12)
    assert p[0, 0].tolist() == [14, 15, *range(0, 10)]           # periodic padding from the neighbours
    assert p[1, 0].tolist() == [*range(6, 16), 0, 1]
    # level 1: every other point of the whole field, 12 of them centred on the patch centre (4 and 12),
    # i.e. the region [-8, 16) for patch 0 and [0, 24) for patch 1, periodically
    assert p[0, 1].tolist() == [8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14]
    assert p[1, 1].tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6]
    assert p[0, 1, 6].item() == 4 and p[1, 1, 6].item() == 12


def test_level_zero_passes_through_and_errors():
    x = torch.randn(2, 1, 10, 10)
    assert MGPatching(0).patch(x) is x
    mg = MGPatching(2, 0.1)
    with pytest.raises(ValueError, match="not divisible into 4 patches"):
        mg.patch(torch.randn(1, 1, 30, 32))
    with pytest.raises(ValueError, match="patch has not been called"):
        MGPatching(1).unpatch(torch.randn(2, 1, 8))
    with pytest.raises(ValueError, match="must have shape"):
        mg.unpatch(torch.randn(5, 1, 8, 8), (32, 32))
    with pytest.raises(ValueError, match="levels must be an int"):
        MGPatching(-1)


def test_mgtfno_maps_whole_fields_and_trains():
    torch.manual_seed(0)
    model = MGTFNO((6, 6), 1, 2, 8, n_layers=2, levels=1, padding_fraction=0.125)
    assert model.network.in_channels == 2 and model.network.conv.weights.joint
    x = torch.randn(3, 1, 32, 32)
    y = model(x)
    assert y.shape == (3, 2, 32, 32)
    y.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match=r"MGTFNO expects input of shape \(batch, 1, n0, n1\)"):
        model(torch.randn(3, 2, 32, 32))


def test_context_windows_are_centred_on_their_patch_in_2d():
    n, levels = 32, 2
    mg = MGPatching(levels, 0.0625)  # patches of 8 points padded by 2: windows of 12
    ii, jj = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    x = torch.stack([ii, jj]).unsqueeze(0).float()  # channel 0: row index, channel 1: column index
    p = mg.patch(x)
    assert p.shape == (16, 6, 12, 12)
    for k1 in range(4):
        for k2 in range(4):
            patch = p[k1 * 4 + k2]
            assert patch[0, 2, 2].item() == 8 * k1 and patch[1, 2, 2].item() == 8 * k2  # level 0, after the padding
            for level in (1, 2):
                step = 2 ** level
                rows, cols = patch[2 * level], patch[2 * level + 1]
                centre = [(8 * k + 4) // step * step for k in (k1, k2)]
                assert rows[6, 6].item() == centre[0] and cols[6, 6].item() == centre[1]
                assert (torch.diff(rows[:, 0]) % n == step).all()  # every step-th point, periodically
