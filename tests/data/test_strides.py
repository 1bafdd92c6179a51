import pytest

from pdekit.data.strides import reachable_resolutions, resolution_stride


def test_any_stride_rule():
    assert resolution_stride(421, 141) == 3
    assert resolution_stride(421, 85) == 5
    assert resolution_stride(85, 43) == 2
    assert resolution_stride(64, 16) == 4
    assert resolution_stride(11, 4) == 3  # 0, 3, 6, 9: the last node is dropped
    with pytest.raises(ValueError, match="cannot be strided to 100 points"):
        resolution_stride(421, 100)


def test_node_grid_rule_keeps_both_ends():
    assert resolution_stride(421, 85, endpoint=True) == 5
    assert resolution_stride(33, 17, endpoint=True) == 2
    with pytest.raises(ValueError, match=r"\(size - 1\) must be a multiple of \(resolution - 1\)"):
        resolution_stride(11, 4, endpoint=True)
    assert reachable_resolutions(421, endpoint=True)[:6] == [421, 211, 141, 106, 85, 71]


def test_periodic_rule():
    assert resolution_stride(256, 64, endpoint=False) == 4
    with pytest.raises(ValueError, match="multiple of resolution"):
        resolution_stride(64, 100 // 3, endpoint=False)
    assert reachable_resolutions(64, endpoint=False) == [64, 32, 16, 8, 4, 2, 1]


def test_reachable_resolutions_agree_with_the_stride():
    for size in (9, 64, 85, 421):
        for endpoint in (None, True, False):
            for r in reachable_resolutions(size, endpoint=endpoint):
                k = resolution_stride(size, r, endpoint=endpoint)
                assert len(range(0, size, k)) == r
    assert reachable_resolutions(421, at_most=65)[0] == 61  # the demo's largest grid <= 65


@pytest.mark.parametrize("size, resolution", [(0, 1), (10, 0), (10, 11), (10, 2.5)])
def test_bad_input(size, resolution):
    with pytest.raises(ValueError):
        resolution_stride(size, resolution)
