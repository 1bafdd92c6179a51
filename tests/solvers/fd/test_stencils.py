import math

import numpy as np
import pytest

from pdekit.solvers.fd import first_derivative, grid_coordinates, laplacian


@pytest.mark.parametrize("bc", ["periodic", "dirichlet", "neumann"])
def test_laplacian_second_order_on_smooth_fields(bc):
    hs, errs = [], []
    for s in (16, 32, 64):
        x = grid_coordinates(s, bc)
        X, Y = np.meshgrid(x, x, indexing="ij")
        u = np.cos(2 * math.pi * X) * np.cos(2 * math.pi * Y)  # Neumann-compatible
        lap = (laplacian((s, s), bc=bc) @ u.ravel()).reshape(s, s)
        inner = (slice(1, -1),) * 2
        errs.append(np.abs(lap - (-8 * math.pi**2 * u))[inner].max())
        hs.append(x[1])
    assert 1.9 < np.polyfit(np.log(hs), np.log(errs), 1)[0] < 2.2


def test_laplacian_structure():
    L = laplacian((5, 6, 7), bc="periodic")
    assert L.shape == (210, 210)
    assert abs(L - L.T).max() == 0 and np.allclose(L @ np.ones(210), 0)
    D = laplacian((6,), bc="dirichlet").toarray()
    assert (D[0] == 0).all() and (D[-1] == 0).all()


def test_first_derivative_orders():
    for scheme, lo, hi in (("central", 1.9, 2.1), ("upwind", 0.9, 1.1)):
        hs, errs = [], []
        for s in (32, 64, 128):
            x = grid_coordinates(s, "periodic")
            d = first_derivative((s,), 0, scheme=scheme) @ np.sin(2 * math.pi * x)
            errs.append(np.abs(d - 2 * math.pi * np.cos(2 * math.pi * x)).max())
            hs.append(1 / s)
        assert lo < np.polyfit(np.log(hs), np.log(errs), 1)[0] < hi


def test_errors():
    with pytest.raises(ValueError, match="unknown bc"):
        laplacian((8, 8), bc="robin")
    with pytest.raises(ValueError, match=">= 3"):
        laplacian((2, 8))
    with pytest.raises(ValueError, match="unknown scheme"):
        first_derivative((8,), 0, scheme="weno")


@pytest.mark.parametrize("bc", ["periodic", "neumann"])
def test_node_weights_make_the_laplacian_symmetric(bc):
    import scipy.sparse as sp

    from pdekit.solvers.fd.stencils import node_weights

    for shape in ((9,), (7, 8), (5, 6, 4)):
        W = sp.diags(node_weights(shape, bc)) @ laplacian(shape, bc=bc)
        assert abs(W - W.T).max() <= 1e-12 * abs(W).max()
        assert (node_weights(shape, bc) > 0).all()
    assert node_weights((5, 5), "neumann")[0] == 0.25 and node_weights((5, 5), "neumann")[2] == 0.5
