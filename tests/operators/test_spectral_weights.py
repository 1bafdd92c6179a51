"""Spectral weights: rank resolution, factorized vs reconstructed contractions, exact dense assignment."""

import pytest
import torch

from pdekit.operators.spectral_weights import SpectralWeights, resolve_rank

pytestmark = pytest.mark.usefixtures("one_thread")


def _double(module):
    """Complex128 parameters (Module.double() leaves complex ones alone)."""
    for p in module.parameters():
        p.data = p.data.to(torch.complex128)
    return module


def test_tucker_rank_fraction_matches_neuraloperator_counts():
    # TFNO(n_modes=(16, 16), hidden 32), rank 0.1: neuraloperator's Tucker ranks give 15,921 parameters
    ranks = resolve_rank("tucker", (32, 32, 16, 9), 0.1)
    assert ranks == [18, 18, 9, 5]
    w = SpectralWeights(32, 32, (16, 9), factorization="tucker", rank=0.1)
    assert sum(p.numel() for p in w.parameters()) == 15921


def test_explicit_and_fractional_ranks():
    assert resolve_rank("cp", (4, 4, 6, 4), 0.5) == round(0.5 * 384 / 18)
    assert resolve_rank("tt", (4, 4, 6, 4), 3) == [1, 3, 3, 3, 1]
    assert resolve_rank("tucker", (4, 4, 6, 4), 5) == [5, 5, 5, 5]  # over-parametrized, as in tensorly
    assert resolve_rank("tt", (15, 15, 5, 3), 0.2) == [1, 7, 5, 2, 1]  # tensorly's validate_tt_rank
    assert resolve_rank("tucker", (16, 16, 12, 7), 0.1, fixed_rank_modes=True)[0] == 16
    tt = resolve_rank("tt", (8, 8, 6, 4), 0.2)
    assert tt[0] == tt[-1] == 1 and len(tt) == 5
    with pytest.raises(ValueError, match="must be > 0"):
        resolve_rank("tucker", (4, 4), -0.1)
    with pytest.raises(ValueError, match="must be 4 positive ints"):
        resolve_rank("tucker", (4, 4, 3, 3), (2, 2))
    with pytest.raises(ValueError, match="start and end with 1"):
        resolve_rank("tt", (4, 4, 3), (2, 2, 2, 2))
    with pytest.raises(ValueError, match="unknown factorization"):
        SpectralWeights(2, 2, (3,), factorization="svd")
    with pytest.raises(ValueError, match="joint factorization needs"):
        SpectralWeights(2, 2, (3,), joint=True)


@pytest.mark.parametrize("factorization,joint", [("dense", False), ("tucker", False), ("cp", False), ("tt", False),
                                               ("tucker", True), ("cp", True), ("tt", True)])
@pytest.mark.parametrize("modes", [(5,), (4, 3), (4, 3, 2)])
def test_factorized_and_reconstructed_contractions_agree(factorization, joint, modes):
    torch.manual_seed(1)
    w = SpectralWeights(3, 5, modes, n_layers=3, factorization=factorization, rank=0.6, joint=joint)
    _double(w)
    x = torch.randn(4, 3, *modes, dtype=torch.complex128)
    for layer in range(3):
        fact = w.contract(x, layer)
        dense = w.reconstruct(layer)
        ref = torch.einsum("bi...,io...->bo...", x, dense)
        assert torch.allclose(fact, ref, atol=1e-12, rtol=0)
        assert torch.allclose(w.contract(x, layer, implementation="reconstructed"), ref, atol=1e-12, rtol=0)
        # the real-arithmetic GEMM path agrees too
        xs = torch.view_as_real(x).movedim(-1, 1).reshape(4, 6, -1).permute(2, 0, 1)  # (modes, batch, 2*in)
        ys = w.contract_real(xs, layer)
        y = torch.view_as_complex(ys.permute(1, 2, 0).reshape(4, 2, 5, *modes).movedim(1, -1).contiguous())
        assert torch.allclose(y, ref, atol=1e-12, rtol=0)
    assert not torch.allclose(w.reconstruct(0), w.reconstruct(1))  # layers differ


def test_initial_weights_have_the_requested_scale():
    torch.manual_seed(0)
    for f in ("dense", "tucker", "cp", "tt"):
        w = SpectralWeights(32, 32, (8, 5), factorization=f, rank=0.5, init_std=0.1)
        std = w.reconstruct(0).abs().pow(2).mean().sqrt().item()
        assert 0.05 < std < 0.2, (f, std)


@pytest.mark.parametrize("factorization", ["tucker", "tt"])
def test_full_rank_assignment_is_exact(factorization):
    torch.manual_seed(2)
    shape = (3, 4, 5, 3)
    full = list(shape) if factorization == "tucker" else [1, 3, 12, 3, 1]
    w = SpectralWeights(3, 4, (5, 3), factorization=factorization, rank=full)
    _double(w)
    dense = torch.randn(*shape, dtype=torch.complex128)
    w.assign_dense(dense)
    assert torch.allclose(w.reconstruct(0), dense, atol=1e-12, rtol=0)


def test_truncated_tucker_assignment_is_the_hosvd_projection():
    torch.manual_seed(3)
    u = torch.linalg.qr(torch.randn(6, 2, dtype=torch.complex64))[0]
    core = torch.randn(2, 6, 4, 3, dtype=torch.complex64)
    dense = torch.einsum("ia,aokl->iokl", u, core)  # rank 2 along the input mode
    w = SpectralWeights(6, 6, (4, 3), factorization="tucker", rank=[2, 6, 4, 3])
    w.assign_dense(dense)
    assert torch.allclose(w.reconstruct(0), dense, atol=1e-5)
    with pytest.raises(ValueError, match="dense weight must have shape"):
        w.assign_dense(torch.zeros(6, 6, 4, 4, dtype=torch.complex64))
    with pytest.raises(ValueError, match="joint tucker factorization of all 2 layers"):
        SpectralWeights(2, 2, (3,), n_layers=2, factorization="tucker", joint=True).assign_dense(
            torch.zeros(2, 2, 3, dtype=torch.complex64))


def test_cp_assignment_recovers_a_low_rank_weight():
    torch.manual_seed(4)
    factors = [torch.randn(s, 3, dtype=torch.complex128) for s in (4, 5, 3, 2)]
    dense = torch.einsum("ir,or,kr,lr->iokl", *factors)
    w = SpectralWeights(4, 5, (3, 2), factorization="cp", rank=3)
    _double(w)
    w.assign_dense(dense)
    assert torch.allclose(w.reconstruct(0), dense, atol=1e-8 * dense.abs().max().item())


@pytest.mark.parametrize("factorization,rank", [("tucker", 6), ("tt", 20), ("tt", 0.9)])
def test_assignment_through_tensor_formats_is_exact_even_when_over_parametrized(factorization, rank):
    # ranks beyond what the weight can use (tensorly allows them) are filled with zeros
    torch.manual_seed(5)
    w = SpectralWeights(3, 4, (5, 3), factorization=factorization, rank=rank)
    _double(w)
    dense = torch.randn(3, 4, 5, 3, dtype=torch.complex128)
    if factorization == "tucker" or rank == 20:
        w.assign_dense(dense)
        assert torch.allclose(w.reconstruct(0), dense, atol=1e-10, rtol=0)
    else:  # a truncated TT-SVD: the best error of its ranks, not zero
        w.assign_dense(dense)
        err = (w.reconstruct(0) - dense).norm() / dense.norm()
        assert 0 < err < 1


def test_separable_weights_scale_each_channel():
    torch.manual_seed(6)
    w = SpectralWeights(3, 3, (4, 3), factorization="tt", rank=0.7, separable=True)
    _double(w)
    x = torch.randn(2, 3, 4, 3, dtype=torch.complex128)
    dense = w.reconstruct(0)
    assert dense.shape == (3, 4, 3)
    assert torch.allclose(w.contract(x, 0), x * dense, atol=1e-12)
    with pytest.raises(ValueError, match="separable spectral weight needs in_channels == out_channels"):
        SpectralWeights(3, 4, (4,), separable=True)
