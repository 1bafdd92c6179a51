"""HDF5 files of the tensor formats: every save is atomic and refuses an existing file."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.tensor_formats import ChebyshevTucker, CPTensor, TTTensor, TuckerTensor, cp, tt, tucker

_X = np.einsum("i,j,k->ijk", *[np.linspace(1, 2, n) for n in (4, 5, 6)])
_MAKE = {
    "tucker": (lambda: tucker(_X, rank=1), TuckerTensor),
    "cp": (lambda: cp(_X, rank=1), CPTensor),
    "tt": (lambda: tt(_X, rank=1), TTTensor),
    "chebyshev_tucker": (lambda: ChebyshevTucker.from_function(lambda x: np.exp(x.sum(-1)), [(0, 1)] * 3,
                                                               tol=1e-8), ChebyshevTucker),
}


@pytest.mark.parametrize("kind", sorted(_MAKE))
def test_save_refuses_an_existing_file_unless_overwrite(tmp_path, kind):
    make, cls = _MAKE[kind]
    t = make()
    path = tmp_path / f"{kind}.h5"
    path.write_bytes(b"a user's file")
    with pytest.raises(FileExistsError, match=rf"{kind}\.h5' exists; pass overwrite=True"):
        t.save(path)
    assert path.read_bytes() == b"a user's file" and len(list(tmp_path.iterdir())) == 1
    t.save(path, overwrite=True)
    back = cls.load(path)
    probe = np.full((1, 3), 0.5)
    if kind == "chebyshev_tucker":
        assert np.allclose(back(probe), t(probe))
    else:
        assert np.allclose(back.full(), t.full())
