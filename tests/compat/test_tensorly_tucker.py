"""tensorly 0.10's own Tucker tests (``tensorly/decomposition/tests/test_tucker.py``) on pdekit's ``tucker``.

Run: ``test_tucker``, ``test_tucker_runs_with_factors_only_init`` and ``test_masked_tucker``, the
cases that call ``tucker``, with the module's ``tucker`` swapped for
:func:`pdekit.tensor_formats.tucker`. The last check of ``test_tucker`` verifies that the class face
``Tucker`` passes every keyword argument of the function through to it; with pdekit's function it
checks pdekit's class face (:class:`pdekit.tensor_formats.Tucker`), so ``Tucker`` is swapped too
(checking tensorly's own class against pdekit's function would test neither). The other cases of
the file test tensorly's partial and non-negative Tucker, which pdekit does not offer.
"""

import importlib.util
import pathlib

import pytest
import tensorly as tl

import pdekit.tensor_formats as tf

_path = pathlib.Path(list(importlib.util.find_spec("tensorly").submodule_search_locations)[0])
_spec = importlib.util.spec_from_file_location("tensorly.decomposition.tests._test_tucker_on_pdekit",
                                               _path / "decomposition" / "tests" / "test_tucker.py")
shipped = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shipped)  # relative imports resolve inside tensorly.decomposition.tests
shipped.tucker, shipped.Tucker = tf.tucker, tf.Tucker


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tl.backend_context("numpy"):
        yield


def test_tucker(monkeypatch, capsys):
    shipped.test_tucker(monkeypatch)
    assert "relative error" in capsys.readouterr().out  # verbose=True printed pdekit's sweeps


def test_tucker_runs_with_factors_only_init():
    shipped.test_tucker_runs_with_factors_only_init()


def test_masked_tucker():
    shipped.test_masked_tucker()


def test_the_swapped_functions_are_pdekits():
    assert shipped.tucker.__module__ == "pdekit.tensor_formats.tucker_decomposition"
