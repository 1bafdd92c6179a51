"""SpectralConv: the Fourier layer against an explicit torch.fft computation, errors, precision."""

import pytest
import torch

from pdekit.operators import SpectralConv

pytestmark = pytest.mark.usefixtures("one_thread")


def _explicit(conv, x, layer=0):
    """conv(x) computed naively: full rfftn, multiply the retained block by the dense weight, irfftn."""
    d = x.ndim - 2
    dims = tuple(range(2, x.ndim))
    xh = torch.fft.rfftn(x, dim=dims, norm="forward")
    w = conv.weights.reconstruct(layer).to(xh.dtype)
    out = torch.zeros(x.shape[0], conv.out_channels, *xh.shape[2:], dtype=xh.dtype)
    n_modes = conv.n_modes
    ranges = []
    for j in range(d - 1):
        n, m = x.shape[2 + j], n_modes[j]
        ranges.append(torch.cat([torch.arange((m + 1) // 2), torch.arange(n - m // 2, n)]))
    ranges.append(torch.arange(n_modes[-1] // 2 + 1))
    grid = torch.meshgrid(*ranges, indexing="ij")
    block = xh[(slice(None), slice(None), *grid)]
    out[(slice(None), slice(None), *grid)] = torch.einsum("bi...,io...->bo...", block, w)
    y = torch.fft.irfftn(out, s=x.shape[2:], dim=dims, norm="forward")
    return y + conv.bias[layer].reshape(1, -1, *([1] * d))


@pytest.mark.parametrize("shape,n_modes", [((2, 3, 24), (10,)), ((2, 3, 16, 12), (8, 6)), ((1, 2, 8, 10, 6), (4, 6, 4))])
@pytest.mark.parametrize("factorization", [None, "tucker", "cp", "tt"])
def test_matches_explicit_fft_computation(shape, n_modes, factorization):
    torch.manual_seed(0)
    conv = SpectralConv(shape[1], 4, n_modes, n_layers=2, factorization=factorization, rank=0.7)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(*shape)
    for layer in (0, 1):
        ref = _explicit(conv, x, layer)
        for transform in ("fft", "dft"):
            conv.transform = transform
            assert torch.allclose(conv(x, layer), ref, atol=2e-6), (transform, layer)
    conv.implementation = "reconstructed"
    assert torch.allclose(conv(x, 1), _explicit(conv, x, 1), atol=2e-6)


def test_channels_last_and_residual():
    torch.manual_seed(0)
    conv = SpectralConv(3, 3, (6, 6))
    x = torch.randn(2, 3, 12, 12)
    r = torch.randn(2, 3, 12, 12)
    y = conv(x)
    assert torch.allclose(conv(x.movedim(1, -1), channels_last=True).movedim(-1, 1), y, atol=1e-6)
    assert torch.allclose(conv(x, residual=r), y + r, atol=1e-6)
    assert torch.allclose(conv(x, residual=r, add_bias=False), y - conv.bias[0].reshape(1, -1, 1, 1) + r, atol=1e-6)


def test_super_resolution_output_shape_and_gradients():
    conv = SpectralConv(2, 2, (4, 4))
    x = torch.randn(1, 2, 8, 8, requires_grad=True)
    y = conv(x, output_shape=(16, 12))
    assert y.shape == (1, 2, 16, 12)
    y.square().sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in conv.parameters())


@pytest.mark.parametrize("precision", ["half", "mixed"])
def test_reduced_precision_runs_on_cpu_and_stays_close(precision):
    torch.manual_seed(0)
    full = SpectralConv(4, 4, (8, 8))
    low = SpectralConv(4, 4, (8, 8), precision=precision)
    low.load_state_dict(full.state_dict())
    x = torch.randn(2, 4, 32, 32)
    y, y_low = full(x), low(x)
    assert y_low.dtype == torch.float32
    rel = ((y - y_low).norm() / y.norm()).item()
    assert 1e-6 < rel < 1e-2  # really computed in half precision, and still accurate
    x.requires_grad_(True)
    low(x).square().sum().backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in low.parameters())
    if precision == "half":
        with pytest.raises(RuntimeError, match="needs the DFT transform"):
            SpectralConv(4, 4, (8, 8), precision="half", transform="fft")(x)


def test_bad_inputs():
    conv = SpectralConv(3, 4, (8, 8))
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, 3, n0, n1\); got \(2, 5, 16, 16\)"):
        conv(torch.randn(2, 5, 16, 16))
    with pytest.raises(ValueError, match="got \\(2, 3, 16\\)"):
        conv(torch.randn(2, 3, 16))
    with pytest.raises(ValueError, match=r"n_modes\[0\] = 8 needs at least 8 grid points.*got 6"):
        conv(torch.randn(2, 3, 6, 16))
    with pytest.raises(TypeError, match=r"n_modes must be a sequence of positive ints.*got '16'"):
        SpectralConv(3, 4, "16")
    with pytest.raises(TypeError, match=r"n_modes\[0\] must be a positive int; got 4.5"):
        SpectralConv(3, 4, (4.5, 4))
    with pytest.raises(ValueError, match=r"n_modes\[1\] must be a positive int; got 0"):
        SpectralConv(3, 4, (4, 0))
    with pytest.raises(ValueError, match="unknown precision"):
        SpectralConv(3, 4, (4,), precision="double")
    with pytest.raises(ValueError, match="must have 2 entries, each at most max_n_modes"):
        conv.n_modes = (10, 8)
    with pytest.raises(TypeError, match="complex_data=True"):
        conv(torch.randn(2, 3, 16, 16, dtype=torch.complex64))
    with pytest.raises(ValueError, match="decomposition_kwargs"):
        SpectralConv(3, 4, (4,), decomposition_kwargs={"init": "random"})


def test_trains_after_a_first_call_under_inference_mode():
    conv = SpectralConv(2, 2, (6, 6))
    x = torch.randn(1, 2, 20, 20)  # a size no other test uses: its DFT matrices are made here
    with torch.inference_mode():
        conv(x)
    conv(x).sum().backward()
    assert conv.weights.weight.grad is not None


def _explicit_complex(conv, x):
    """Complex-data conv(x) computed naively: full fftn, retained block times the dense weight, ifftn."""
    d = x.ndim - 2
    dims = tuple(range(2, x.ndim))
    xh = torch.fft.fftn(x, dim=dims, norm="forward")
    w = conv.weights.reconstruct(0)
    ranges = [torch.cat([torch.arange((m + 1) // 2), torch.arange(n - m // 2, n)])
              for n, m in zip(x.shape[2:], conv.n_modes)]
    grid = torch.meshgrid(*ranges, indexing="ij")
    out = torch.zeros(x.shape[0], conv.out_channels, *x.shape[2:], dtype=xh.dtype)
    block = xh[(slice(None), slice(None), *grid)]
    if conv.weights.separable:
        out[(slice(None), slice(None), *grid)] = block * w
    else:
        out[(slice(None), slice(None), *grid)] = torch.einsum("bi...,io...->bo...", block, w)
    return torch.fft.ifftn(out, dim=dims, norm="forward") + conv.bias[0].reshape(1, -1, *([1] * d))


@pytest.mark.parametrize("factorization,separable", [(None, False), ("tucker", False), ("tt", True), ("cp", False)])
def test_complex_data_matches_explicit_fft_computation(factorization, separable):
    torch.manual_seed(0)
    conv = SpectralConv(3, 3, (5, 4), complex_data=True, factorization=factorization, separable=separable)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 3, 12, 9, dtype=torch.complex64)
    assert torch.allclose(conv(x), _explicit_complex(conv, x), atol=2e-6)
    assert conv.weights.modes == (5, 4)  # every dimension keeps n_modes frequencies (no real-FFT halving)


def test_weight_reads_as_a_tensor_and_can_be_assigned():
    torch.manual_seed(0)
    factorized = SpectralConv(3, 3, (6, 6), factorization="tucker", bias=False)
    dense = SpectralConv(3, 3, (6, 6), bias=False)
    assert torch.is_complex(factorized.weight) and factorized.weight.shape == (3, 3, 6, 4)
    dense.weight = factorized.weight.to_tensor().detach()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        assert torch.allclose(dense(x), factorized(x), atol=1e-6)
    with pytest.raises(TypeError, match="dense complex tensor or an object with to_tensor"):
        dense.weight = "nope"
    with pytest.raises(ValueError, match="holds 2 layers"):
        SpectralConv(3, 3, (6, 6), n_layers=2).weight = factorized.weight.to_tensor()


def test_coarser_output_keeps_the_lowest_frequencies():
    torch.manual_seed(0)
    conv = SpectralConv(2, 2, (10, 10), resolution_scaling_factor=0.5)
    x = torch.randn(1, 2, 16, 16)
    y = conv(x)
    assert y.shape == (1, 2, 8, 8)
    full = SpectralConv(2, 2, (10, 10))
    full.load_state_dict(conv.state_dict())
    # the coefficients of the coarse output are those of the full-resolution output that an 8 x 8 grid
    # holds (away from its Nyquist row and column, where frequencies +-4 alias)
    with torch.no_grad():
        ref = torch.fft.rfftn(full(x), dim=(2, 3), norm="forward")
        got = torch.fft.rfftn(y, dim=(2, 3), norm="forward")
    rows = torch.tensor([0, 1, 2, 3, 13, 14, 15])
    assert torch.allclose(got[:, :, [0, 1, 2, 3, 5, 6, 7], :4], ref[:, :, rows, :4], atol=1e-6)
