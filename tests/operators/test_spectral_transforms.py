"""Truncated Fourier transforms: FFT and DFT-matrix paths agree with torch.fft, in 1D/2D/3D."""

import itertools
import math

import pytest
import torch

from pdekit.operators.spectral_transforms import (check_modes, forward_modes, forward_modes_cl, inverse_modes,
                                                  inverse_modes_cl, resample, retained_modes)

pytestmark = pytest.mark.usefixtures("one_thread")

CASES = [((3, 2, 20), (8,)), ((2, 2, 16, 12), (6, 5)), ((2, 2, 10, 12, 9), (4, 6, 7)), ((2, 1, 16, 15), (16, 15))]


def _reference(x, n_modes, norm):
    """Retained coefficients picked out of the full torch.fft.rfftn spectrum."""
    full = torch.fft.rfftn(x, dim=tuple(range(2, x.ndim)), norm=norm)
    full = full[..., : n_modes[-1] // 2 + 1]
    for j, m in enumerate(n_modes[:-1]):
        dim = 2 + j
        idx = torch.cat([torch.arange((m + 1) // 2), torch.arange(x.shape[dim] - m // 2, x.shape[dim])])
        full = full.index_select(dim, idx)
    return torch.view_as_real(full)


@pytest.mark.parametrize("shape,n_modes", CASES)
@pytest.mark.parametrize("norm", ["forward", "backward", "ortho"])
def test_fft_and_dft_match_torch_fft(shape, n_modes, norm):
    torch.manual_seed(0)
    x = torch.randn(*shape, dtype=torch.float64)
    ref = _reference(x, n_modes, norm)
    for transform in ("fft", "dft"):
        coeffs = forward_modes(x, n_modes, norm=norm, transform=transform)
        assert coeffs.shape == (*shape[:2], *retained_modes(n_modes), 2)
        assert torch.allclose(coeffs, ref, atol=1e-12, rtol=0)
        back = inverse_modes(ref, n_modes, shape[2:], norm=norm, transform=transform)
        # the inverse of the retained modes is the low-pass filtered field
        full = torch.zeros_like(torch.fft.rfftn(x, dim=tuple(range(2, x.ndim)), norm=norm))
        full = _scatter(full, torch.view_as_complex(ref.contiguous()), n_modes)
        expected = torch.fft.irfftn(full, s=shape[2:], dim=tuple(range(2, x.ndim)), norm=norm)
        assert torch.allclose(back, expected, atol=1e-12, rtol=0), transform


def _scatter(full, cplx, n_modes):
    """Put retained coefficients back at their places in a full rfftn spectrum."""
    index = [slice(None), slice(None)]
    parts = []
    for j, m in enumerate(n_modes[:-1]):
        n = full.shape[2 + j]
        pos, neg = (m + 1) // 2, m // 2
        parts.append([(slice(0, pos), slice(0, pos)), (slice(n - neg, n), slice(pos, m))])
    parts.append([(slice(0, n_modes[-1] // 2 + 1), slice(0, n_modes[-1] // 2 + 1))])
    for combo in itertools.product(*parts):
        full[tuple(index + [c[0] for c in combo])] = cplx[tuple(index + [c[1] for c in combo])]
    return full


def test_band_limited_field_is_recovered_exactly_and_at_another_resolution():
    n = 32
    grid = torch.arange(n, dtype=torch.float64) / n
    x = (torch.sin(2 * torch.pi * 3 * grid)[:, None] * torch.cos(2 * torch.pi * 2 * grid)[None, :])[None, None]
    coeffs = forward_modes(x, (8, 8))
    assert torch.allclose(inverse_modes(coeffs, (8, 8), (n, n)), x, atol=1e-12)
    fine = torch.arange(48, dtype=torch.float64) / 48
    x_fine = (torch.sin(2 * torch.pi * 3 * fine)[:, None] * torch.cos(2 * torch.pi * 2 * fine)[None, :])[None, None]
    assert torch.allclose(inverse_modes(coeffs, (8, 8), (48, 48)), x_fine, atol=1e-12)
    assert torch.allclose(forward_modes(x_fine, (8, 8)), coeffs, atol=1e-12)  # resolution-independent


@pytest.mark.parametrize("transform", ["fft", "dft"])
def test_channel_last_residual_is_added(transform):
    x = torch.randn(2, 12, 10, 3, dtype=torch.float64)
    coeffs = forward_modes_cl(x, (6, 6), transform=transform)
    r = torch.randn(2, 12, 10, 3, dtype=torch.float64)
    plain = inverse_modes_cl(coeffs, (6, 6), (12, 10), transform=transform)
    assert torch.allclose(inverse_modes_cl(coeffs, (6, 6), (12, 10), transform=transform, residual=r), plain + r)


def test_too_many_modes_for_the_grid():
    check_modes((8, 8), (8, 14))
    with pytest.raises(ValueError, match=r"n_modes\[0\] = 10 needs at least 10 grid points.*got 8"):
        check_modes((10, 8), (8, 16))
    with pytest.raises(ValueError, match=r"n_modes\[1\] = 20 needs at least 20 grid points"):
        check_modes((8, 20), (16, 16))
    with pytest.raises(ValueError, match="acts on 2-D data"):
        check_modes((8, 8), (16,))


def test_resample_interpolates_band_limited_fields_exactly():
    def field(n, m):
        x, y = torch.arange(n, dtype=torch.float64) / n, torch.arange(m, dtype=torch.float64) / m
        return (torch.sin(2 * math.pi * 3 * x)[:, None] * torch.cos(2 * math.pi * 5 * y)[None, :]
                + torch.cos(2 * math.pi * 7 * x)[:, None]).reshape(1, 1, n, m)

    assert torch.allclose(resample(field(15, 17), (30, 40)), field(30, 40), atol=1e-12)
    assert torch.allclose(resample(field(30, 40), (15, 17)), field(15, 17), atol=1e-12)
    cl = resample(field(15, 17).movedim(1, -1), (30, 40), channels_last=True)
    assert torch.allclose(cl.movedim(-1, 1), field(30, 40), atol=1e-12)
    same = field(8, 8)
    assert resample(same, (8, 8)) is same


def test_complex_transforms_match_torch_fftn():
    from pdekit.operators.spectral_transforms import forward_modes_complex_cl, inverse_modes_complex_cl

    torch.manual_seed(0)
    x = torch.randn(2, 10, 9, 7, 3, dtype=torch.complex128)  # channel-last, 3-D
    n_modes = (5, 4, 7)
    full = torch.fft.fftn(x, dim=(1, 2, 3), norm="forward")
    ranges = [torch.cat([torch.arange((m + 1) // 2), torch.arange(n - m // 2, n)]) for n, m in zip((10, 9, 7), n_modes)]
    grid = torch.meshgrid(*ranges, indexing="ij")
    ref = full[(slice(None), *grid)]
    got = forward_modes_complex_cl(x, n_modes)
    assert got.shape == (2, 5, 4, 7, 3) and torch.allclose(got, ref, atol=1e-13)
    back = inverse_modes_complex_cl(got, n_modes, (12, 9, 8))  # onto another grid
    spec = torch.zeros(2, 12, 9, 8, 3, dtype=torch.complex128)
    ranges = [torch.cat([torch.arange((m + 1) // 2), torch.arange(n - m // 2, n)]) for n, m in zip((12, 9, 8), n_modes)]
    spec[(slice(None), *torch.meshgrid(*ranges, indexing="ij"))] = ref
    assert torch.allclose(back, torch.fft.ifftn(spec, dim=(1, 2, 3), norm="forward"), atol=1e-13)


def test_mode_index_and_fitting_modes():
    from pdekit.operators.spectral_transforms import fitting_modes, mode_index

    assert mode_index(8, 5, half=False) == [0, 1, 2, 6, 7]  # frequencies 0, 1, 2, -2, -1 of 0..3, -4..-1
    assert mode_index(6, 4, half=True) == [0, 1, 2, 3]
    assert fitting_modes((10, 10), (8, 8)) == (8, 8)
    assert fitting_modes((10, 9), (16, 6)) == (10, 6)
    assert fitting_modes((10, 9), (16, 6), complex_data=True) == (10, 6)
    assert retained_modes(fitting_modes((12, 12), (7, 7))) == (7, 4)
    with pytest.raises(ValueError, match="cannot keep 9 of 8"):
        mode_index(8, 9, half=False)


def test_complex_resample_is_spectral_interpolation():
    n = 9
    t = torch.arange(n, dtype=torch.float64) / n
    f = torch.exp(2j * torch.pi * 2 * t) + 0.5 * torch.exp(-2j * torch.pi * 3 * t)
    fine = resample(f.reshape(1, 1, n), (27,))
    t27 = torch.arange(27, dtype=torch.float64) / 27
    exact = torch.exp(2j * torch.pi * 2 * t27) + 0.5 * torch.exp(-2j * torch.pi * 3 * t27)
    assert torch.allclose(fine.reshape(-1), exact, atol=1e-13)
