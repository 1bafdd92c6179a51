"""FNO / TFNO: neuraloperator-compatible sizes, factorized = dense at full rank, save/load, resolutions, errors."""

import math

import pytest
import torch

import pdekit.operators as op
from pdekit.operators import FNO, TFNO
from pdekit.operators.spectral_transforms import resample

pytestmark = pytest.mark.usefixtures("one_thread")


def test_parameter_counts_match_neuraloperator():
    # neuraloperator 2.0: FNO 602,977 and TFNO (Tucker, rank 0.1) 76,837 parameters
    assert FNO((16, 16), 1, 1, 32).n_parameters() == 602_977
    assert TFNO((16, 16), 1, 1, 32).n_parameters() == 76_837


@pytest.mark.parametrize("factorization", ["tucker", "tt"])
def test_full_rank_tfno_reproduces_the_dense_fno(factorization):
    torch.manual_seed(0)
    dense = FNO((6, 6), 2, 1, 8, n_layers=3).eval()
    ranks = [8, 8, 6, 4] if factorization == "tucker" else [1, 8, 24, 4, 1]
    tfno = TFNO((6, 6), 2, 1, 8, n_layers=3, factorization=factorization, rank=ranks).eval()
    state = {k: v for k, v in dense.state_dict().items() if not k.startswith("conv.weights")}
    missing = tfno.load_state_dict(state, strict=False).missing_keys
    assert missing and all(k.startswith("conv.weights") for k in missing)
    for layer in range(3):
        tfno.conv.weights.assign_dense(dense.conv.weights.reconstruct(layer).detach(), layer)
    x = torch.randn(3, 2, 20, 16)
    with torch.no_grad():
        y, y_t = dense(x), tfno(x)
    assert torch.allclose(y, y_t, atol=1e-5, rtol=0)
    assert (y - y_t).abs().max() < 1e-4 * y.abs().max()


@pytest.mark.parametrize("build", [
    lambda: FNO((6, 6), 2, 3, 8, n_layers=2, norm="group_norm", domain_padding=0.25),
    lambda: TFNO((6,), 1, 1, 8, n_layers=2, factorization="cp", joint_factorization=True,
                 domain_padding_mode="symmetric", domain_padding=0.1),
    lambda: TFNO((4, 4, 4), 1, 2, 6, n_layers=2, factorization="tt", norm="instance_norm", fno_skip="soft-gating"),
    lambda: op.MGTFNO((6, 6), 1, 1, 8, n_layers=2, levels=1, padding_fraction=0.125),
])
def test_save_load_gives_bit_identical_outputs(tmp_path, build):
    torch.manual_seed(0)
    model = build().eval()
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = op.load(path).eval()
    assert type(loaded) is type(model) and loaded.config == model.config
    x = torch.randn(2, model.in_channels, *([16] * model.n_dim))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_loading_another_model_class_is_refused(tmp_path):
    FNO((4,), 1, 1, 4, n_layers=1).save(tmp_path / "fno.pt")
    with pytest.raises(op.CheckpointError, match="holds a 'FNO' model, not the 'MGTFNO'"):
        op.MGTFNO.load(tmp_path / "fno.pt")
    assert isinstance(FNO.load(tmp_path / "fno.pt"), FNO)


def _smoothing_pair(n, coeffs):
    """u with the given Fourier coefficients, and v = (1 - d^2/dx^2 / 40)^{-1} u, sampled on n points."""
    x = torch.arange(n, dtype=torch.float64) / n
    u = torch.zeros(coeffs.shape[0], 1, n, dtype=torch.float64)
    v = torch.zeros_like(u)
    for k in range(1, coeffs.shape[1] + 1):
        mode = coeffs[:, k - 1, 0, None] * torch.cos(2 * math.pi * k * x) + coeffs[:, k - 1, 1, None] * torch.sin(
            2 * math.pi * k * x)
        u[:, 0] += mode
        v[:, 0] += mode / (1 + (2 * math.pi * k) ** 2 / 40)
    return u.float(), v.float()


def test_learns_an_operator_and_runs_at_another_resolution():
    torch.manual_seed(0)
    coeffs = torch.randn(32, 6, 2) / torch.arange(1, 7).reshape(1, 6, 1)
    u, v = _smoothing_pair(32, coeffs)
    model = FNO((12,), 1, 1, 16, n_layers=2)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = op.LpLoss(1)
    first = None
    for _ in range(120):
        opt.zero_grad()
        loss = loss_fn(model(u), v)
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
    assert loss.item() < first / 8, (first, loss.item())
    test = torch.randn(16, 6, 2) / torch.arange(1, 7).reshape(1, 6, 1)
    with torch.no_grad():
        err32 = loss_fn(model(_smoothing_pair(32, test)[0]), _smoothing_pair(32, test)[1]).item()
        err64 = loss_fn(model(_smoothing_pair(64, test)[0]), _smoothing_pair(64, test)[1]).item()
    assert err32 < 0.1 and err64 < 1.2 * err32 + 0.005, (err32, err64)


@pytest.mark.parametrize("kwargs", [
    dict(fno_skip="identity", channel_mlp_skip="linear"),
    dict(use_channel_mlp=False, lifting_channel_ratio=0, projection_channel_ratio=0, positional_embedding=None),
    dict(non_linearity="silu", channel_mlp_dropout=0.1, implementation="reconstructed", factorization="tucker"),
    dict(fno_block_precision="mixed", transform="fft"),
])
def test_architecture_options(kwargs):
    model = FNO((4, 4), 2, 3, 8, n_layers=2, **kwargs)
    x = torch.randn(2, 2, 12, 10, requires_grad=True)
    y = model(x)
    assert y.shape == (2, 3, 12, 10) and torch.isfinite(y).all()
    y.sum().backward()
    assert x.grad is not None


def test_any_dimension_from_n_modes():
    assert FNO((5,), 1, 2, 4, n_layers=1)(torch.randn(2, 1, 16)).shape == (2, 2, 16)
    assert TFNO((4, 4, 4), 1, 1, 4, n_layers=1)(torch.randn(1, 1, 8, 10, 9)).shape == (1, 1, 8, 10, 9)


def test_bad_inputs_give_clear_errors():
    model = FNO((8, 8), 2, 1, 8, n_layers=1)
    with pytest.raises(ValueError, match=r"expects 2 input channels \(dimension 1\); got shape \(4, 3, 16, 16\)"):
        model(torch.randn(4, 3, 16, 16))
    with pytest.raises(ValueError, match="expects a 4-D tensor"):
        model(torch.randn(4, 2, 16))
    with pytest.raises(ValueError, match=r"n_modes\[1\] = 8 needs at least 8 grid points"):
        model(torch.randn(1, 2, 16, 6))
    with pytest.raises(TypeError, match="expects a torch.Tensor"):
        model([[1.0]])
    with pytest.raises(ValueError, match="TFNO needs a factorization"):
        TFNO((4,), 1, 1, 4, factorization=None)
    with pytest.raises(ValueError, match="hidden_channels must be a positive int"):
        FNO((4,), 1, 1, 0)
    with pytest.raises(ValueError, match="unknown norm"):
        FNO((4,), 1, 1, 4, norm="batch_norm")
    with pytest.raises(ValueError, match="unknown fno_skip .dense."):
        FNO((4,), 1, 1, 4, fno_skip="dense")


def _reference_forward(model, x):
    """The FNO written out with plain operations (no fused GEMMs), channel-first spectral convs."""
    act = torch.nn.functional.gelu
    h = model.lifting(model.embedding(x.movedim(1, -1)))
    for layer in range(model.n_layers):
        last = layer == model.n_layers - 1
        conv = model.conv(h.movedim(-1, 1), layer).movedim(1, -1)
        y = conv + model.fno_skips[layer](h)
        y = y if last else act(y)
        mlp = model.channel_mlps[layer]
        z = mlp.layers[1](act(mlp.layers[0](y))) + model.channel_mlp_skips[layer](h)
        h = z if last else act(z)
    return model.projection(h).movedim(-1, 1)


@pytest.mark.parametrize("kwargs", [{}, dict(channel_mlp_skip="linear", fno_skip="identity")])
def test_fused_forward_equals_the_plain_architecture(kwargs):
    torch.manual_seed(0)
    model = FNO((6, 6), 2, 1, 8, n_layers=3, **kwargs)
    with torch.no_grad():
        model.conv.bias.normal_()
        for gate in model.channel_mlp_skips:
            if hasattr(gate, "weight"):
                gate.weight.normal_()
    x = torch.randn(2, 2, 16, 12)
    assert torch.allclose(model(x), _reference_forward(model, x), atol=1e-5)


def test_output_shape_evaluates_the_last_block_on_a_finer_grid():
    torch.manual_seed(0)
    model = FNO((6, 6), 2, 3, 8, n_layers=2)
    x = torch.randn(2, 2, 15, 13)
    assert torch.equal(model(x, output_shape=(15, 13)), model(x))
    assert model(x, output_shape=(30, 26)).shape == (2, 3, 30, 26)
    # with pointwise maps that are linear, the finer output is the spectral interpolation of the plain one
    linear = FNO((6, 6), 2, 3, 8, n_layers=1, use_channel_mlp=False, lifting_channel_ratio=0,
                 projection_channel_ratio=0, positional_embedding=None)
    with torch.no_grad():
        fine = linear(x, output_shape=(30, 26))
        assert torch.allclose(fine, resample(linear(x), (30, 26)), atol=1e-5)
    with pytest.raises(ValueError, match="cannot be combined with domain_padding"):
        FNO((4, 4), 1, 1, 4, domain_padding=0.1)(torch.randn(1, 1, 8, 8), output_shape=(16, 16))
    with pytest.raises(ValueError, match="output_shape must hold 2 positive ints"):
        model(x, output_shape=(30,))


# ---------------------------------------------------------------- neuraloperator 2.0's arguments
@pytest.mark.parametrize("kwargs", [
    {}, dict(norm="group_norm"), dict(norm="instance_norm", fno_skip="soft-gating"),
    dict(use_channel_mlp=False, norm="group_norm"),
])
def test_general_block_equals_the_fused_block(kwargs):
    # every configuration the fused path serves gives the same numbers through the general path
    torch.manual_seed(0)
    model = FNO((6, 6), 2, 1, 8, n_layers=3, **kwargs).eval()
    with torch.no_grad():
        model.conv.bias.normal_()
    x = torch.randn(2, 2, 16, 12)
    h = model.lifting(model.embedding(x.movedim(1, -1)))
    for layer in range(3):
        if model.use_channel_mlp:
            fused = model.block(h, layer)
            general = model.general_block(h, layer)
            assert torch.allclose(fused, general, atol=1e-5)
        h = model.general_block(h, layer)


def test_preactivation_and_stabilizer_follow_neuraloperators_block():
    torch.manual_seed(0)
    model = FNO((5, 5), 1, 1, 6, n_layers=2, preactivation=True, stabilizer="tanh", norm="group_norm").eval()
    x = torch.randn(2, 1, 12, 12)
    act = torch.nn.functional.gelu
    h = model.lifting(model.embedding(x.movedim(1, -1)))
    for layer in range(2):  # x = norm0(act(x)); y = norm1(act(conv(tanh(x)) + skip(x))); y = mlp(y) + gate * x
        last = layer == 1
        h = model.norms[2 * layer](act(h))
        conv = model.conv(torch.tanh(h).movedim(-1, 1), layer).movedim(1, -1)
        y = conv + model.fno_skips[layer](h)
        y = model.norms[2 * layer + 1](y if last else act(y))
        h = model.channel_mlps[layer](y) + model.channel_mlp_skips[layer](h)
    with torch.no_grad():
        assert torch.allclose(model(x), model.projection(h).movedim(-1, 1), atol=1e-5)


def test_complex_data_is_an_exactly_complex_linear_model_when_pointwise_maps_are_linear():
    # with linear lifting/projection, no channel MLP and identity activation, the FNO is C-linear:
    # f(a x + b y) = a f(x) + b f(y) for complex a, b (a real-data model is only R-linear)
    torch.manual_seed(0)
    model = FNO((5, 4), 2, 1, 6, n_layers=2, complex_data=True, use_channel_mlp=False, positional_embedding=None,
                lifting_channel_ratio=0, projection_channel_ratio=0, non_linearity=torch.positive)
    with torch.no_grad():
        model.conv.bias.zero_()
        for part in (model.lifting.fr, model.lifting.fi, model.projection.fr, model.projection.fi):
            part.bias.zero_()  # affine -> linear
    x, y = (torch.randn(1, 2, 10, 9, dtype=torch.complex64) for _ in range(2))
    a, b = 0.3 - 1.2j, 2.0 + 0.5j
    with torch.no_grad():
        assert model(x).dtype == torch.complex64
        assert torch.allclose(model(a * x + b * y), a * model(x) + b * model(y), atol=1e-5)
    with pytest.raises(TypeError, match="complex_data=True"):
        FNO((4,), 1, 1, 4)(torch.randn(1, 1, 8, dtype=torch.complex64))


def test_resolution_scaling_factor_per_layer_and_with_padding():
    torch.manual_seed(0)
    model = FNO((5, 5), 1, 1, 6, n_layers=3, resolution_scaling_factor=[2, 1, 0.5])
    assert model.resolution_scaling_factor == [[2.0, 2.0], [1.0, 1.0], [0.5, 0.5]]
    assert model(torch.randn(2, 1, 16, 12)).shape == (2, 1, 16, 12)
    padded = FNO((5, 5), 1, 1, 6, n_layers=2, resolution_scaling_factor=2, domain_padding=0.25)
    assert padded(torch.randn(1, 1, 16, 16)).shape == (1, 1, 64, 64)
    with pytest.raises(ValueError, match="one factor per layer: 2 expected"):
        FNO((5, 5), 1, 1, 6, n_layers=2, resolution_scaling_factor=[2, 1, 1])


def test_fewer_modes_after_construction_use_the_lowest_frequencies_of_the_weights():
    torch.manual_seed(0)
    big = FNO((8, 8), 1, 1, 6, n_layers=2, max_n_modes=(8, 8), factorization="tucker", rank=0.5).eval()
    big.n_modes = (4, 6)
    small = FNO((4, 6), 1, 1, 6, n_layers=2, factorization="tucker", rank=0.5).eval()
    state = dict(big.state_dict())
    for j, keep in [(2, [0, 1, 6, 7]), (3, [0, 1, 2, 3])]:  # frequencies 0, 1, -2, -1 and 0..3 of the weights
        key = f"conv.weights.factors.{j}"
        state[key] = state[key][:, keep]
    state["conv.weights.core"] = big.state_dict()["conv.weights.core"]
    small.conv.weights.rank = big.conv.weights.rank
    small.conv.weights.core = torch.nn.Parameter(state.pop("conv.weights.core"))
    for j in range(4):
        small.conv.weights.factors[j] = torch.nn.Parameter(state.pop(f"conv.weights.factors.{j}"))
    small.load_state_dict(state, strict=False)
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(big(x), small(x), atol=1e-6)
    with pytest.raises(ValueError, match="at most max_n_modes"):
        big.n_modes = (10, 8)


def test_callable_activation_is_saved_by_name(tmp_path):
    torch.manual_seed(0)
    model = FNO((4, 4), 1, 1, 4, n_layers=1, non_linearity=torch.nn.functional.silu).eval()
    model.save(tmp_path / "m.pt")
    stored = torch.load(tmp_path / "m.pt", weights_only=True)["config"]["non_linearity"]
    assert stored == {"__torch_function__": "torch.nn.functional.silu"}
    loaded = op.load(tmp_path / "m.pt").eval()
    assert loaded.act is torch.nn.functional.silu
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    with pytest.raises(TypeError, match="cannot be stored in a checkpoint"):
        FNO((4,), 1, 1, 4, non_linearity=lambda t: t)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_modes="16"), TypeError, r"n_modes must be a sequence of positive ints.*got '16'"),
    (dict(n_modes=(4.5, 4)), TypeError, r"n_modes\[0\] must be a positive int; got 4.5"),
    (dict(n_modes=(4, -1)), ValueError, r"n_modes\[1\] must be a positive int; got -1"),
    (dict(n_modes=()), ValueError, "empty"),
    (dict(domain_padding=1000), ValueError, r"domain_padding must be < 1; got 1000"),
    (dict(domain_padding=-0.1), ValueError, "domain_padding must be >= 0"),
    (dict(domain_padding=[0.1]), ValueError, "1 entries for 2 spatial dimensions"),
    (dict(in_channels=2.5), TypeError, "in_channels must be a positive int; got 2.5"),
    (dict(n_layers=True), TypeError, "n_layers must be a positive int"),
    (dict(channel_mlp_dropout=1.0), ValueError, "channel_mlp_dropout must be < 1"),
    (dict(lifting_channel_ratio=-1), ValueError, "lifting_channel_ratio must be >= 0"),
    (dict(stabilizer="relu"), ValueError, "unknown stabilizer"),
    (dict(factorization="svd"), ValueError, "unknown factorization"),
    (dict(rank=-0.5, factorization="tucker"), ValueError, "must be > 0"),
    (dict(resolution_scaling_factor=0), ValueError, "resolution_scaling_factor must be > 0"),
    (dict(norm="ada_in"), ValueError, "unknown norm"),
    (dict(decomposition_kwargs={"a": 1}), ValueError, "decomposition_kwargs"),
    (dict(fno_block_precision="mixed", complex_data=True), ValueError, "complex_data needs 'full'"),
])
def test_constructor_arguments_are_validated_where_they_enter(kwargs, error, match):
    args = dict(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=4, n_layers=2)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        FNO(**args)


def test_four_dimensional_fno():
    model = TFNO((3, 3, 3, 4), 1, 2, 4, n_layers=1, factorization="tt", rank=0.3)
    assert model(torch.randn(1, 1, 6, 5, 6, 8)).shape == (1, 2, 6, 5, 6, 8)
