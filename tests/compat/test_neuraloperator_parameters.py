"""Equal arguments give equal parameter counts in pdekit and neuraloperator 2.0 (FNO, TFNO, SpectralConv).

Both models are built side by side from the same keyword arguments; the counts (a complex
parameter counts once in both) must be equal, for dense and factorized weights (ranks from
tensorly's rules, TT included), complex data, norms, skips, separable weights and 1-D to 4-D.
"""

import pytest
import torch.nn.functional as F

from tests.compat._shipped import require

require("neuralop")

import tensorly as tl  # noqa: E402

import pdekit.operators as pdekit_ops  # noqa: E402

_backend = tl.get_backend()
import neuralop.models as neuralop_models  # noqa: E402
from neuralop.layers.spectral_convolution import SpectralConv as NeuralopSpectralConv  # noqa: E402

tl.set_backend(_backend)  # importing neuraloperator switched tensorly to its torch backend, globally

BASE = dict(n_modes=(8, 8), in_channels=3, out_channels=2, hidden_channels=12, n_layers=2)
CONFIGS = [
    ("FNO", {}),
    ("TFNO", {}),
    ("TFNO", dict(factorization="tt", rank=0.2)),
    ("TFNO", dict(factorization="tt", rank=0.05)),
    ("TFNO", dict(factorization="cp", rank=0.3)),
    ("TFNO", dict(factorization="Tucker", rank=0.5, fixed_rank_modes=True)),
    ("TFNO", dict(rank=4)),
    ("FNO", dict(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32, n_layers=4)),
    ("TFNO", dict(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32, n_layers=4,
                  factorization="tt", rank=0.2)),
    ("FNO", dict(n_modes=(6,))),
    ("FNO", dict(n_modes=(4, 4, 4))),
    ("TFNO", dict(n_modes=(4, 4, 4, 4), factorization="cp", rank=0.2)),
    ("FNO", dict(complex_data=True)),
    ("TFNO", dict(complex_data=True, factorization="tt", rank=0.2)),
    ("FNO", dict(norm="group_norm")),
    ("FNO", dict(norm="instance_norm", use_channel_mlp=False)),
    ("FNO", dict(norm="group_norm", use_channel_mlp=False, complex_data=True)),
    ("FNO", dict(fno_skip="soft-gating", channel_mlp_skip="linear")),
    ("FNO", dict(fno_skip=None, channel_mlp_skip=None)),
    ("FNO", dict(lifting_channel_ratio=1.5, projection_channel_ratio=1, channel_mlp_expansion=0.25)),
    ("FNO", dict(lifting_channel_ratio=0)),
    ("FNO", dict(positional_embedding=None, non_linearity=F.silu)),
    ("FNO", dict(separable=True)),
    ("TFNO", dict(separable=True, factorization="tt", rank=0.3)),
    ("FNO", dict(domain_padding=0.25, resolution_scaling_factor=[1, 2])),
]


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_models_have_neuraloperators_parameter_count(name, kwargs):
    args = {**BASE, **kwargs}
    theirs = getattr(neuralop_models, name)(**args)
    ours = getattr(pdekit_ops, name)(**args)
    assert ours.n_parameters() == _count(theirs)


@pytest.mark.parametrize("kwargs", [
    {}, dict(factorization="tucker"), dict(factorization="cp", rank=0.1), dict(factorization="TT"),
    dict(separable=True, factorization="tucker"), dict(complex_data=True, factorization="cp"),
    dict(n_modes=(6, 4, 4, 3), factorization="tt", rank=0.3), dict(bias=False),
])
def test_spectral_convolutions_have_neuraloperators_parameter_count(kwargs):
    args = {"in_channels": 4, "out_channels": 4, "n_modes": (8, 6), **kwargs}
    assert pdekit_ops.SpectralConv(**args).n_parameters() == _count(NeuralopSpectralConv(**args))


def test_max_n_modes_allocates_only_coefficients_that_can_be_used():
    # neuraloperator allocates max_n_modes[-1] coefficients along the last (real FFT) dimension but can
    # use only max_n_modes[-1] // 2 + 1 of them; pdekit allocates those: 2 layers x 12 x 12 x 10 x 4 fewer
    args = {**BASE, "max_n_modes": (10, 10)}
    theirs, ours = neuralop_models.FNO(**args), pdekit_ops.FNO(**args)
    assert ours.n_parameters() == _count(theirs) - 2 * 12 * 12 * 10 * (10 - 6)
    ours.n_modes = (6, 6)  # both lower n_modes within max_n_modes after construction
    assert ours(__import__("torch").randn(1, 3, 16, 16)).shape == (1, 2, 16, 16)


def test_the_issue_figures():
    # TFNO with factorization="tt", rank=0.2 had 104,101 parameters against neuraloperator's 131,217
    args = dict(n_modes=(16, 16), in_channels=1, out_channels=1, hidden_channels=32, factorization="tt", rank=0.2)
    assert pdekit_ops.TFNO(**args).n_parameters() == 131_217
    assert pdekit_ops.FNO((16, 16), 1, 1, 32).n_parameters() == 602_977
