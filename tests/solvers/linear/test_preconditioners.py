"""Jacobi and pyamg AMG preconditioners."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from pdekit.solvers.linear import amg, cg, jacobi, make_preconditioner, pcg
from tests.solvers.linear._systems import laplacian_2d


def test_jacobi_divides_by_the_diagonal():
    A = laplacian_2d(5, coefficient_seed=1)
    r = np.arange(25.0)
    M = jacobi(A)
    assert np.allclose(M(r), r / A.diagonal())
    assert np.allclose(M(torch.from_numpy(r)).numpy(), r / A.diagonal())
    assert np.allclose(M.as_linear_operator() @ r, r / A.diagonal())


def test_amg_is_usable_by_scipy():
    A = laplacian_2d(16)
    x, flag = spla.cg(A, np.ones(256), rtol=1e-8, M=amg(A).as_linear_operator())
    assert flag == 0


def test_make_preconditioner_by_name():
    A = laplacian_2d(10)
    for name in ("jacobi", "ic0", "amg", "rs-amg"):
        _, info = pcg(A, np.ones(100), rtol=1e-8, M=make_preconditioner(name, A))
        assert info.converged
    with pytest.raises(ValueError, match="unknown preconditioner 'ilu'"):
        make_preconditioner("ilu", A)


@pytest.mark.parametrize("name", ["jacobi", "ic0", "amg"])
def test_update_gives_the_preconditioner_of_the_new_values(name):
    A, B = laplacian_2d(12, coefficient_seed=1), laplacian_2d(12, coefficient_seed=2)
    r = np.random.default_rng(0).normal(size=144)
    updated = make_preconditioner(name, A).update(B)
    fresh = make_preconditioner(name, B)
    if name == "amg":  # transfers kept from A: a different, still SPD, cycle
        assert r @ updated(r) > 0 and pcg(B, r, rtol=1e-8, M=updated)[1].converged
    else:
        assert np.allclose(updated(r), fresh(r), rtol=1e-12, atol=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="positive diagonal"):
        jacobi(sp.diags([1.0, -1.0]).tocsr())
    with pytest.raises(TypeError, match="explicit matrix"):
        jacobi(spla.aslinearoperator(laplacian_2d(3)))
    with pytest.raises(ValueError, match="preconditioner M must have shape"):
        cg(laplacian_2d(3), np.ones(9), M=sp.identity(4))
