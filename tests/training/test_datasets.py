import numpy as np
import pytest

from pdekit.data import generate
from pdekit.training.datasets import eval_strides, open_train_test


@pytest.fixture(scope="module")
def darcy(tmp_path_factory):
    path = tmp_path_factory.mktemp("d") / "darcy.h5"
    generate("darcy", path, n=10, resolution=17, seed=0, workers=0)
    return path


def test_split_stride_and_subset(darcy):
    train, test, stride = open_train_test(darcy, test_fraction=0.2, n_train=5, train_resolution=9)
    assert (len(train), len(test), stride) == (5, 2, 2)
    assert train.x_shape[-1] == 9 and test.x_shape[-1] == 17
    assert eval_strides(test, [17, 9]) == [1, 2]


def test_separate_test_file_and_bad_input(darcy, tmp_path):
    other = tmp_path / "other.h5"
    generate("darcy", other, n=3, resolution=17, seed=1, workers=0)
    train, test, stride = open_train_test(darcy, test_data=other)
    assert (len(train), len(test), stride) == (10, 3, 1)
    assert not np.allclose(test[0]["x"].numpy(), train[0]["x"].numpy())
    with pytest.raises(ValueError, match="n_train must be between 1 and the 8"):
        open_train_test(darcy, n_train=9)
    with pytest.raises(ValueError):
        eval_strides(test, [12])
