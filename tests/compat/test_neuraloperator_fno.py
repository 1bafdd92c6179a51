"""neuraloperator 2.0's own FNO tests (``neuralop/models/tests/test_fno.py``, all 294 cases) on pdekit's FNO.

The shipped file runs unchanged except for its import line (``from neuralop.models import FNO``
becomes ``from pdekit.operators import FNO``): every constructor argument it uses has
neuraloperator's meaning in pdekit (complex data, preactivation, stabilizer, 1-D to 4-D, callable
activations, skips set to None, per-layer resolution scaling, padding lists). Nothing is excluded.
"""

from tests.compat._shipped import require, shipped_test_source

require("neuralop")

import tensorly as _tl  # noqa: E402

_tenalg_backend = _tl.tenalg.get_backend()
_source, _path = shipped_test_source("neuralop", "models/tests/test_fno.py",
                                     "from neuralop.models import FNO", "from pdekit.operators import FNO")
exec(compile(_source, _path, "exec"))  # defines test_fno, test_fno_superresolution, ... here
_tl.tenalg.set_backend(_tenalg_backend)  # the file switches tensorly's tenalg backend on import
assert FNO.__module__ == "pdekit.operators.fno"  # noqa: F821 - defined by the shipped file
