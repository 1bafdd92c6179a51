"""scipy's own CG test cases, run against pdekit's ``cg`` (issue 13).

The cases and test functions come from the test file shipped in scipy's wheel
(``scipy/sparse/linalg/_isolve/tests/test_iterative.py``, found through ``scipy.__file__``):
nothing of it is copied here. pdekit's ``cg`` returns ``(x, SolveInfo)``; the adapter below maps
the record to scipy's integer (0 converged, the iteration count when ``maxiter`` ran out, -1
on a breakdown). Everything else (arguments, exceptions, dtypes, tolerances) is pdekit's own.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest
import scipy
import scipy.sparse.linalg as spla

from pdekit.solvers import linear

SCIPY_TESTS = Path(scipy.__file__).parent / "sparse" / "linalg" / "_isolve" / "tests" / "test_iterative.py"
if not SCIPY_TESTS.is_file():  # pragma: no cover - scipy wheels ship their tests
    pytest.skip(f"scipy's test file is not installed at {SCIPY_TESTS}", allow_module_level=True)
_spec = importlib.util.spec_from_file_location("scipy_isolve_test_iterative", SCIPY_TESTS)
scipy_tests = importlib.util.module_from_spec(_spec)
with warnings.catch_warnings():  # scipy's file uses its own pytest mark (fail_slow)
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    _spec.loader.exec_module(scipy_tests)


def cg(*args, **kwargs):
    """pdekit's cg with scipy's return convention."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linear.ConvergenceWarning)
        x, info = linear.cg(*args, **kwargs)
    return x, 0 if info.converged else (info.iterations if info.status == "maxiter" else -1)


CASES = [case for case in scipy_tests.IterativeParams().generate_tests() if case.solver is spla.cg]
for _case in CASES:
    _case.solver = cg


@pytest.mark.parametrize("name", ["test_maxiter", "test_convergence", "test_precond_dummy", "test_x0_equals_Mb"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(name, case):
    getattr(scipy_tests, name)(case)


@pytest.mark.parametrize("name", ["test_atol", "test_zero_rhs", "test_x0_working",
                                  "test_x0_solves_problem_exactly", "test_positional_error"])
def test_solver(name):
    getattr(scipy_tests, name)(cg)


@pytest.mark.parametrize("atol", ["legacy", None, -1])
def test_invalid_atol(atol):
    scipy_tests.test_invalid_atol(cg, atol)


@pytest.mark.parametrize("case", [c for c in scipy_tests.IterativeParams().cases
                                  if c.name in ("poisson1d", "poisson2d")], ids=["poisson1d", "poisson2d"])
def test_precond_inverse(case, monkeypatch):
    monkeypatch.setattr(scipy_tests, "_SOLVERS", [cg])  # the test loops over this list
    scipy_tests.test_precond_inverse(case)


def test_all_cg_cases_are_run():
    """43 CG cases in scipy's file: 8 cases x 4 case tests, 5 solver tests, 3 invalid atols,
    2 inverse-preconditioner tests; the 43rd, test_maxiter_worsening, is excluded: scipy marks
    it xfail and skips it for every solver but gmres, lgmres and qmr."""
    assert len(CASES) == 8
    assert {c.name for c in CASES} >= {"poisson1d-cg", "rand-cmplx-sym-pd-F-cg"}
