"""Parameter ranges: what each check accepts, what it refuses, and how it says so."""

from __future__ import annotations

import doctest
import re

import pytest

from pdekit.data import limits as L


@pytest.mark.parametrize("check, good, bad", [
    (L.positive, [1e-9, 3, 2.5], [0, 0.0, -1e-3, float("nan"), float("inf"), True, "1"]),
    (L.non_negative, [0, 0.0, 4.0], [-1e-12, float("-inf")]),
    (L.at_least(1), [1, 7, 3.0], [0, 2.5, None, -1]),
    (L.at_least(2, allow_none=True), [None, 2], [1]),
    (L.between(0.0, 1.0), [0, 0.5, 1.0], [-0.1, 1.01]),
    (L.between(0.0, 1.0, low_open=True), [1e-6, 1.0], [0.0]),
    (L.one_of("euler", "heun"), ["euler"], ["Euler", None, 1]),
    (L.one_of(1, 2), [1, 2], [True, 3, "1"]),
    (L.finite_list(2), [[1, 2.5], (0, 0)], [[1], [1, float("nan")], "1,2", [True, 1]]),
])
def test_checks(check, good, bad):
    for value in good:
        check("p", value)
    for value in bad:
        with pytest.raises(ValueError, match=f"parameter p must be .*{re.escape(str(check))}|must be finite"):
            check("p", value)


def test_integers_come_back_as_int_and_lists_as_floats():
    assert L.at_least(1)("n", 3.0) == 3 and isinstance(L.at_least(1)("n", 3.0), int)
    assert L.finite_list(2)("v", (1, 2)) == [1.0, 2.0]


def test_descriptions_and_doctests():
    assert str(L.positive) == "> 0" and str(L.non_negative) == ">= 0"
    assert str(L.at_least(2, allow_none=True)) == "an integer >= 2 or none"
    assert str(L.between(0, 1, high_open=True)) == "in [0, 1)"
    result = doctest.testmod(L)
    assert result.attempted > 0 and result.failed == 0
