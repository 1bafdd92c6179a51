"""``pdekit.solvers`` opens its subpackages on first attribute access."""

import subprocess
import sys

import pytest


def test_subpackages_are_reachable_from_import_pdekit():
    code = ("import sys, pdekit; assert 'pdekit.solvers.fd' not in sys.modules; "
            "print(pdekit.solvers.fd.darcy.__name__, pdekit.solvers.fem.poisson.__name__, "
            "pdekit.solvers.linear.cg.__name__, pdekit.solvers.random_fields.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["darcy", "poisson", "cg", "pdekit.solvers.random_fields"]


def test_unknown_attribute_is_an_attribute_error():
    import pdekit.solvers

    with pytest.raises(AttributeError, match="nope"):
        pdekit.solvers.nope
    assert {"fd", "fem", "linear", "random_fields"} <= set(dir(pdekit.solvers))
