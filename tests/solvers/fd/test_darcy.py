import math

import numpy as np
import pytest
import scipy.sparse as sp

from pdekit.solvers.fd import darcy, poisson_system
from pdekit.solvers.random_fields import gaussian_random_field, threshold_coefficient


def _fno_coefficient(s, seed):
    g = gaussian_random_field((s, s), alpha=2.0, tau=3.0, bc="neumann",
                              rng=np.random.default_rng(seed))
    return threshold_coefficient(g, high=12.0, low=3.0)


def test_direct_and_amg_agree_on_the_fno_coefficient():
    a = _fno_coefficient(65, 0)
    u_direct = darcy(a, solver="direct")
    u_amg = darcy(a, solver="pcg", preconditioner="amg", rtol=1e-12)
    u_auto = darcy(a, solver="auto")
    assert u_direct.shape == (65, 65)
    assert np.abs(u_direct - u_amg).max() < 1e-9 * np.abs(u_direct).max()
    assert np.abs(u_direct - u_auto).max() < 1e-7 * np.abs(u_direct).max()
    assert (u_direct[[0, -1], :] == 0).all() and (u_direct[:, [0, -1]] == 0).all()
    # discrete maximum principle: f = 1 > 0 gives u > 0 inside
    assert u_direct[1:-1, 1:-1].min() > 0


def test_solution_satisfies_the_assembled_system():
    a = _fno_coefficient(33, 1)
    u = darcy(a, 2.0)
    system = poisson_system(a.shape, a=a, f=2.0)
    x = system.from_grid(u)
    assert np.linalg.norm(system.matrix @ x - system.rhs) < 1e-10 * np.linalg.norm(system.rhs)


def test_scaling_and_reuse_across_coefficients():
    base = darcy(np.ones((17, 17)), solver="pcg")
    for c in (0.5, 12.0):
        np.testing.assert_allclose(darcy(np.full((17, 17), c), solver="pcg"), base / c,
                                   rtol=1e-8, atol=1e-12)


def test_high_contrast_coefficient_with_amg():
    g = gaussian_random_field((65, 65), alpha=2.0, tau=3.0, bc="neumann",
                              rng=np.random.default_rng(3))
    a = np.exp(4.0 * g / np.abs(g).max() * math.log(1e3) / 4.0 * 2)  # contrast ~ 1e6
    assert a.max() / a.min() > 1e4
    u_amg = darcy(a, solver="pcg", rtol=1e-12)
    u_direct = darcy(a, solver="direct")
    assert np.abs(u_amg - u_direct).max() < 1e-8 * np.abs(u_direct).max()


def test_3d_manufactured_solution_second_order():
    hs, errs = [], []
    pi = math.pi
    for s in (9, 17, 25):
        x = np.linspace(0, 1, s)
        X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
        u = np.sin(pi * X) * np.sin(pi * Y) * np.sin(pi * Z)
        a = 1.0 + X * Y * Z
        grad = [pi * np.cos(pi * X) * np.sin(pi * Y) * np.sin(pi * Z),
                pi * np.sin(pi * X) * np.cos(pi * Y) * np.sin(pi * Z),
                pi * np.sin(pi * X) * np.sin(pi * Y) * np.cos(pi * Z)]
        da = [Y * Z, X * Z, X * Y]
        f = 3 * pi**2 * a * u - sum(d * g for d, g in zip(da, grad))
        errs.append(np.abs(darcy(a, f) - u).max())
        hs.append(1.0 / (s - 1))
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert 1.9 < order < 2.2


def test_arithmetic_average_and_matrix_properties():
    a = _fno_coefficient(11, 2)
    for avg in ("harmonic", "arithmetic"):
        A = poisson_system(a.shape, a=a, face_average=avg).matrix
        assert abs(A - A.T).max() == 0.0
        # Cholesky-free SPD check: all eigenvalues positive
        assert np.linalg.eigvalsh(A.toarray()).min() > 0
    # the arithmetic mean is >= the harmonic one, so its matrix dominates
    diff = (poisson_system(a.shape, a=a, face_average="arithmetic").matrix
            - poisson_system(a.shape, a=a).matrix)
    assert np.linalg.eigvalsh(diff.toarray()).min() > -1e-9
    assert sp.issparse(diff)


def test_bad_input():
    a = np.ones((9, 9))
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        darcy(np.ones(9))
    with pytest.raises(ValueError, match="positive everywhere"):
        darcy(np.where(np.eye(9) > 0, 0.0, 1.0))
    bad = a.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"finite everywhere.*\(3, 4\)"):
        darcy(bad)
    with pytest.raises(ValueError, match="unknown method"):
        darcy(a, solver="cholesky")
    with pytest.raises(TypeError, match="coefficient a must be real"):
        darcy(a + 0.5j)  # issue 12: cast to real with only numpy's warning before
    with pytest.raises(TypeError, match="source f must be real"):
        darcy(a, 1.0 + 1.0j)
    with pytest.raises(ValueError, match="source f"):
        darcy(a, np.ones((8, 8)))
    with pytest.raises(ValueError, match="pure-Neumann"):
        darcy(a, bc="neumann")
    with pytest.raises(ValueError, match="rtol"):
        darcy(a, solver="pcg", rtol=-1.0)


@pytest.mark.parametrize("value", [1e160, 1e-300])
def test_coefficients_at_the_ends_of_the_float_range(value):
    """Issue 12: these returned all-NaN with only a warning; the system is scaled now."""
    base = darcy(np.ones((16, 16)))
    u = darcy(np.full((16, 16), value))
    assert np.isfinite(u).all()
    np.testing.assert_allclose(u * value, base, rtol=1e-10)
    with pytest.raises(ValueError, match="does not fit in float64"):
        darcy(np.full((16, 16), 1e-300), 1e10)


def test_every_solver_and_a_grid_network_agree():
    from pdekit.operators import pretrained

    a = _fno_coefficient(33, 4)
    reference = darcy(a, solver="direct")
    for kwargs in ({"solver": "cg"}, {"solver": "pcg", "preconditioner": "ic0"},
                   {"solver": "fcg", "preconditioner": "rs-amg"}, {"preconditioner": pretrained("dcdm-poisson-2d")},
                   {"solver": "amg"}):
        u = darcy(a, rtol=1e-11, **kwargs)
        assert np.abs(u - reference).max() < 1e-8 * np.abs(reference).max(), kwargs
    with pytest.warns(DeprecationWarning, match="solver="):
        darcy(a, method="direct")
    with pytest.raises(ValueError, match=r"pdekit.operators.pretrained\('dcdm-poisson-2d'\)"):
        darcy(a, preconditioner="dcdm-poisson-2d")


def test_non_convergence_raises():
    from pdekit.solvers.linear import ConvergenceError

    with pytest.raises(ConvergenceError, match="did not converge"):
        darcy(_fno_coefficient(33, 5), solver="cg", maxiter=3)


_SAMPLE_HASHES = """
import hashlib, sys
import numpy as np
from pdekit.solvers.fd import darcy
from pdekit.solvers.random_fields import gaussian_random_field, threshold_coefficient
for seed in map(int, sys.argv[1:]):
    g = gaussian_random_field((128, 128), alpha=2.0, tau=3.0, bc="neumann", rng=np.random.default_rng(seed))
    u = darcy(threshold_coefficient(g, high=12.0, low=3.0))
    print(seed, hashlib.sha256(u.tobytes()).hexdigest())
"""


def _sample_hashes(seeds, threads):
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", _SAMPLE_HASHES, *map(str, seeds)], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return dict(line.split() for line in out.splitlines())


def test_a_sample_is_the_same_bits_whatever_was_solved_before_and_whatever_the_thread_count():
    # 126^2 unknowns: the AMG-CG path of the default solver, and dot products long enough for
    # OpenBLAS to split them across threads (a pool worker has one thread, a serial run many)
    import hashlib

    from pdekit.solvers.linear import clear_preconditioner_cache

    clear_preconditioner_cache()
    u_fresh = darcy(_fno_coefficient(128, 7))
    for seed in (3, 11):
        darcy(_fno_coefficient(128, seed))
    u_after = darcy(_fno_coefficient(128, 7))
    assert u_fresh.tobytes() == u_after.tobytes()
    here = hashlib.sha256(u_fresh.tobytes()).hexdigest()
    assert _sample_hashes([7], threads=1) == {"7": here}
    assert _sample_hashes([11, 7], threads=2)["7"] == here
