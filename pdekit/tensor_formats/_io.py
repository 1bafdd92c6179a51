"""HDF5 storage of tensor formats: a named group of arrays plus a ``format`` attribute, written atomically."""

from __future__ import annotations

import os
from typing import Any, Mapping

import h5py
import numpy as np

from .._atomic import atomic_path
from . import _backend as B

__all__ = ["write_arrays", "read_arrays"]

_FORMAT_ATTR = "pdekit_tensor_format"


def write_arrays(path: str | os.PathLike, kind: str, arrays: Mapping[str, Any],
                 attrs: Mapping[str, Any] | None = None, *, overwrite: bool = False) -> None:
    """Write ``arrays`` (name -> array; torch tensors are copied to numpy) to an HDF5 file.

    The file is written to a temporary name and moved to ``path`` (atomic); an existing
    ``path`` is refused (FileExistsError) unless ``overwrite=True``.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs[_FORMAT_ATTR] = kind
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            for name, arr in arrays.items():
                f.create_dataset(name, data=B.to_numpy(arr), track_times=False)


def read_arrays(path: str | os.PathLike, kind: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read back what :func:`write_arrays` wrote; raise if the file holds another format.

    Returns
    -------
    arrays : dict of name -> ndarray
    attrs : dict of name -> value
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no tensor file {str(path)!r}")
    with h5py.File(path, "r") as f:
        found = f.attrs.get(_FORMAT_ATTR)
        found = found.decode() if isinstance(found, bytes) else found
        if found != kind:
            raise ValueError(f"{str(path)!r} holds a {found!r} tensor; expected a {kind!r} tensor "
                             f"written by its save()")
        arrays = {name: f[name][()] for name in f.keys()}
        attrs = {k: v for k, v in f.attrs.items() if k != _FORMAT_ATTR}
    return arrays, attrs
