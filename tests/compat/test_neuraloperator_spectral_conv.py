"""neuraloperator 2.0's own spectral-convolution tests (``neuralop/layers/tests/test_spectral_convolution.py``,
all 129 cases) on pdekit's SpectralConv.

The shipped file runs unchanged except for its import line (``from ..spectral_convolution import
SpectralConv`` becomes ``from pdekit.operators import SpectralConv``). It compares a factorized
convolution with a dense one given the same weight: it reads ``conv.weight`` as a tensor
(``torch.is_complex``, ``to_tensor()``) and assigns a tensorly-torch ``FactorizedTensor`` to the
dense layer's ``weight``, which pdekit's SpectralConv accepts (any object with ``to_tensor()``). It
also lowers ``n_modes`` after construction and scales the output resolution. Nothing is excluded.
"""

import pytest

from tests.compat._shipped import require, shipped_test_source

require("neuralop")
require("tltorch")

import tensorly as _tl  # noqa: E402

_backend = _tl.get_backend()
_source, _path = shipped_test_source("neuralop", "layers/tests/test_spectral_convolution.py",
                                     "from ..spectral_convolution import SpectralConv",
                                     "from pdekit.operators import SpectralConv")
exec(compile(_source, _path, "exec"))  # defines test_SpectralConv, test_SpectralConv_resolution_scaling_factor
_tl.set_backend(_backend)  # importing tensorly-torch switched tensorly to its torch backend, globally
assert SpectralConv.__module__ == "pdekit.operators.spectral_conv"  # noqa: F821 - defined by the shipped file


@pytest.fixture(autouse=True)
def _tensorly_torch_backend():
    """tensorly-torch's FactorizedTensor needs tensorly's torch backend while these tests run (only)."""
    with _tl.backend_context("pytorch"):
        yield
