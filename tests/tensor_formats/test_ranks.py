"""Ranks from a fraction of the parameters: the same numbers as tensorly's validate_*_rank."""

import pytest
import tensorly as tl

from pdekit.tensor_formats._ranks import cp_rank, tt_rank, tucker_rank

SHAPES = [(3, 4, 2), (32, 32, 16, 9), (15, 15, 5, 3), (4, 4, 6, 4), (64, 64, 12, 7), (8, 8, 5, 5, 3), (20, 11)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.2, 0.5, 1.0, "same"])
def test_fractions_give_tensorly_ranks(shape, fraction):
    assert tucker_rank(shape, fraction) == list(tl.tucker_tensor.validate_tucker_rank(shape, fraction))
    assert cp_rank(shape, fraction) == max(1, tl.cp_tensor.validate_cp_rank(shape, fraction))
    if len(shape) > 2:  # tensorly warns (and we agree) for matrices
        assert tt_rank(shape, fraction) == list(tl.tt_tensor.validate_tt_rank(shape, fraction))


def test_fixed_modes_and_explicit_ranks():
    shape = (16, 16, 12, 7)
    assert tucker_rank(shape, 0.1, fixed_modes=[0]) == list(
        tl.tucker_tensor.validate_tucker_rank(shape, 0.1, fixed_modes=[0]))
    assert tucker_rank(shape, 3, fixed_modes=[0]) == [16, 3, 3, 3]
    assert tucker_rank(shape, (1, 2, 3, 4)) == [1, 2, 3, 4]
    assert tt_rank(shape, 40) == [1, 40, 40, 40, 1]  # over-parametrized, as in tensorly
    assert cp_rank(shape, 7) == 7


@pytest.mark.parametrize("call, error, match", [
    (lambda: tucker_rank((4, 4), -0.1), ValueError, "must be > 0"),
    (lambda: tucker_rank((4, 4), "half"), ValueError, "must be 'same'"),
    (lambda: tucker_rank((4, 4, 3), (2, 2)), ValueError, "must be 3 positive ints"),
    (lambda: tucker_rank((4, 4), True), TypeError, "fraction"),
    (lambda: tucker_rank((4, 4), 2, fixed_modes=[5]), ValueError, "out of range"),
    (lambda: tt_rank((4, 4, 3), (2, 2, 2, 2)), ValueError, "start and end with 1"),
    (lambda: tt_rank((4, 4, 3), (1, 2, 1)), ValueError, "4 positive ints"),
    (lambda: cp_rank((4, 4), (2, 2)), TypeError, "CP rank"),
    (lambda: cp_rank((4, 4), 0), ValueError, ">= 1"),
])
def test_bad_ranks(call, error, match):
    with pytest.raises(error, match=match):
        call()
