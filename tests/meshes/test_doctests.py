"""Run the examples in the docstrings of pdekit.meshes, so they stay true."""

import doctest
import importlib

import pytest

MODULES = ["mesh", "structured", "shapes", "refine", "topology", "geometry", "quality", "io", "unstructured"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"pdekit.meshes.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
