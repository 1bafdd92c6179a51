"""Train and test datasets for a training run, opened from pdekit HDF5 files.

:func:`open_train_test` opens the training split (optionally strided to a coarser resolution
and cut to its first samples) and the held-out test split, and checks that they agree on
channels; :func:`eval_strides` turns the resolutions a user wants scored into strides of the
test data. The ``pdekit train`` command, the demo and user scripts share them.
"""

from __future__ import annotations

import os

from pdekit.training.batches import resolution_stride

__all__ = ["open_train_test", "eval_strides"]


def _spatial_size(dataset) -> int:
    return int(dataset.x_shape[-1])


def open_train_test(data: str | os.PathLike, *, test_data: str | os.PathLike | None = None,
                    test_fraction: float = 0.2, n_train: int | None = None,
                    train_resolution: int | None = None):
    """Open the train and test datasets of a run.

    Parameters
    ----------
    data : path-like
        The training dataset (.h5 from ``pdekit generate``).
    test_data : path-like, optional
        A separate test dataset (another seed, say); without it the last ``test_fraction``
        of ``data`` is held out.
    test_fraction : float
        Held-out fraction of ``data`` when ``test_data`` is not given.
    n_train : int, optional
        Use only the first ``n_train`` training samples.
    train_resolution : int, optional
        Stride the training data to this many points per axis.

    Returns
    -------
    train, test : PDEDataset
        The training set (strided) and the test set at its own resolution (scoring strides it).
    stride : int
        The stride applied to the training data.

    Raises
    ------
    ValueError
        ``n_train`` out of range, an unreachable ``train_resolution``, or test data whose
        channels differ from the training data's.
    """
    from pdekit.data.torch_dataset import open_dataset

    full = open_dataset(data)
    stride = 1 if train_resolution is None else resolution_stride(_spatial_size(full), train_resolution)
    if test_data is not None:
        train = open_dataset(data, stride=stride)
        test = open_dataset(test_data)
    else:
        train = open_dataset(data, split="train", test_fraction=test_fraction, stride=stride)
        test = open_dataset(data, split="test", test_fraction=test_fraction)
    if n_train is not None:
        if not 0 < n_train <= len(train):
            raise ValueError(f"n_train must be between 1 and the {len(train)} training samples; got {n_train}")
        train = train.subset(slice(0, n_train))
    if test.x_shape[0] != train.x_shape[0] or test.y_shape[0] != train.y_shape[0]:
        raise ValueError(f"the test data have {test.x_shape[0]} input / {test.y_shape[0]} output "
                         f"channels; the training data have {train.x_shape[0]} / {train.y_shape[0]}")
    return train, test, stride


def eval_strides(test, resolutions) -> list[int]:
    """Strides of the ``test`` dataset that give ``resolutions`` points per axis.

    Raises
    ------
    ValueError
        A resolution that no integer stride of the test data reaches.
    """
    return [resolution_stride(_spatial_size(test), r) for r in resolutions]
