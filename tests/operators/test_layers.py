"""Pointwise layers (channel-last): MLP with fused residual, skips, norms, grid embedding, padding."""

import pytest
import torch

from pdekit.operators.layers import ChannelMLP, DomainPadding, GridEmbedding, SoftGating, make_norm, make_skip

pytestmark = pytest.mark.usefixtures("one_thread")


def test_channel_mlp_fused_residual_equals_plain_sum():
    torch.manual_seed(0)
    mlp = ChannelMLP(4, 3, 8, n_layers=3)
    x, r = torch.randn(2, 5, 6, 4), torch.randn(2, 5, 6, 3)
    assert torch.allclose(mlp(x, residual=r), mlp(x) + r, atol=1e-6)
    assert torch.allclose(mlp(x, residual=torch.ones(3)), mlp(x) + 1, atol=1e-6)
    with pytest.raises(ValueError, match="n_layers >= 1"):
        ChannelMLP(2, 2, 2, n_layers=0)


def test_skips_and_norms():
    x = torch.randn(2, 4, 4, 3)
    assert make_skip("identity", 3, 3)(x) is x
    gate = make_skip("soft-gating", 3, 3)
    assert isinstance(gate, SoftGating) and torch.equal(gate(x), x)
    assert make_skip("linear", 3, 5)(x).shape == (2, 4, 4, 5)
    with pytest.raises(ValueError, match="needs in_channels == out_channels"):
        make_skip("identity", 3, 4)
    inst = make_norm("instance_norm", 3)(x)
    assert torch.allclose(inst.mean(dim=(1, 2)), torch.zeros(2, 3), atol=1e-6)
    group = make_norm("group_norm", 3)(x)
    assert torch.allclose(group.mean(dim=(1, 2, 3)), torch.zeros(2), atol=1e-6)
    ref = torch.nn.functional.group_norm(x.movedim(-1, 1), 1).movedim(1, -1)
    assert torch.allclose(group, ref, atol=1e-5)


def test_grid_embedding_appends_periodic_coordinates():
    out = GridEmbedding(2)(torch.zeros(3, 4, 8, 1))
    assert out.shape == (3, 4, 8, 3)
    assert torch.equal(out[0, :, 0, 1], torch.arange(4) / 4)
    assert torch.equal(out[2, 1, :, 2], torch.arange(8) / 8)


@pytest.mark.parametrize("mode", ["one-sided", "symmetric"])
def test_domain_padding_is_a_fraction_of_the_domain_and_undone(mode):
    pad = DomainPadding((0.25, 0.1), mode=mode)
    for n in (16, 40):
        x = torch.randn(2, n, n, 3)
        padded, amounts = pad.pad(x)
        assert amounts == [round(0.25 * n), round(0.1 * n)]
        extra = 2 if mode == "symmetric" else 1
        assert padded.shape == (2, n + extra * amounts[0], n + extra * amounts[1], 3)
        assert torch.equal(pad.unpad(padded, amounts), x)
    with pytest.raises(ValueError, match="2 entries for 3 spatial dimensions"):
        pad.pad(torch.randn(1, 4, 4, 4, 1))


def test_channel_mlp_residual_that_already_holds_the_bias():
    torch.manual_seed(1)
    mlp = ChannelMLP(4, 3, 8)
    x, r = torch.randn(2, 5, 4), torch.randn(2, 5, 3)
    with_bias = r + mlp.layers[-1].bias
    assert torch.allclose(mlp(x, with_bias, residual_includes_bias=True), mlp(x) + r, atol=1e-6)
    mlp.dropout = torch.nn.Dropout(0.0)  # the unfused path handles it too
    assert torch.allclose(mlp(x, with_bias, residual_includes_bias=True), mlp.eval()(x) + r, atol=1e-6)


def test_complex_valued_linear_layer_is_the_complex_linear_map():
    from pdekit.operators.layers import ComplexValued, join_complex, split_complex

    torch.manual_seed(0)
    layer = ComplexValued(torch.nn.Linear(3, 2, bias=False))
    x = torch.randn(4, 5, 3, dtype=torch.complex64)
    w = torch.complex(layer.fr.weight, layer.fi.weight)
    assert torch.allclose(join_complex(layer(split_complex(x))), x @ w.T, atol=1e-6)
    norm = ComplexValued(make_norm("group_norm", 3))  # real and imaginary parts normalized on their own
    out = join_complex(norm(split_complex(x)))
    assert torch.allclose(norm.fr(x.real).mean(dim=(1, 2)), torch.zeros(4), atol=1e-5)
    assert torch.allclose(norm.fr(x.real) - norm.fi(x.imag), out.real, atol=1e-5)


def test_instance_norm_has_no_parameters_unless_affine():
    assert sum(p.numel() for p in make_norm("instance_norm", 5).parameters()) == 0
    assert sum(p.numel() for p in make_norm("instance_norm_affine", 5).parameters()) == 10
    assert make_skip(None, 3, 3) is None
    with pytest.raises(ValueError, match="fraction of the domain in"):
        DomainPadding(1000)
