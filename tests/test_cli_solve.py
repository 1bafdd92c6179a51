"""``pdekit solve``: .npz and .mtx systems, every method, atomic output, honest exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse.linalg as spla

from pdekit.data.systems import load_system, save_system
from pdekit.cli import main
from pdekit.solvers.fd import poisson_system


@pytest.fixture(scope="module")
def grid_system(tmp_path_factory):
    d = tmp_path_factory.mktemp("solve")
    obstacle = np.zeros((33, 33), bool)
    obstacle[12:18, 10:20] = True
    s = poisson_system((33, 33), obstacle=obstacle, bc={"left": "neumann"})
    save_system(d / "sys.npz", s.matrix, s.rhs, unknowns=s.unknowns)
    return d, s, spla.spsolve(s.matrix.tocsc(), s.rhs)


@pytest.mark.parametrize("args", [["--method", "cg"], ["--method", "pcg", "--preconditioner", "amg"],
                                  ["--method", "fcg", "--preconditioner", "jacobi"], ["--method", "pcg"],
                                  ["--method", "dcdm"], ["--method", "fcg", "--preconditioner", "dcdm-poisson-2d"]])
def test_methods_write_the_solution(grid_system, args, capsys):
    d, s, x_direct = grid_system
    out = d / "x.npy"
    assert main(["solve", str(d / "sys.npz"), "--rtol", "1e-9", "-o", str(out), "--json", *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    x = np.load(out)
    assert summary["converged"] and summary["relative_residual"] <= 1e-9
    assert np.linalg.norm(x - x_direct) <= 1e-7 * np.linalg.norm(x_direct)
    if args[1] == "dcdm":
        assert summary["preconditioner"] == "dcdm-poisson-2d" and summary["iterations"] <= 10
        assert summary["network_cost_spmv"] < 20


def test_matrix_market_with_rhs_and_shape_and_table(tmp_path, capsys):
    s = poisson_system((19, 19))  # all 17 x 17 interior nodes are unknowns
    scipy.io.mmwrite(tmp_path / "A.mtx", s.matrix)
    np.save(tmp_path / "b.npy", s.rhs)
    code = main(["solve", str(tmp_path / "A.mtx"), "--rhs", str(tmp_path / "b.npy"), "--method", "dcdm",
                 "--shape", "17,17", "--rtol", "1e-8"])
    text = capsys.readouterr().out
    assert code == 0 and "converged" in text and "yes" in text and "SpMV per application" in text
    assert (tmp_path / "A.solution.npy").is_file()


def test_non_convergence_gives_exit_code_3(grid_system, capsys):
    d, _, _ = grid_system
    assert main(["solve", str(d / "sys.npz"), "--method", "cg", "--maxiter", "3", "-o", str(d / "y.npy")]) == 3
    captured = capsys.readouterr()
    assert "NO (maxiter)" in captured.out and "did not converge" in captured.err
    assert (d / "y.npy").is_file()


@pytest.mark.parametrize("args, message", [
    (["--method", "cg", "--preconditioner", "ic0"], "takes no preconditioner"),
    (["--method", "pcg", "--preconditioner", "dcdm-poisson-2d"], "not a linear SPD"),
    (["--method", "dcdm", "--preconditioner", "amg"], "needs a learned network"),
    (["--method", "pcg", "--preconditioner", "ilu"], "unknown preconditioner 'ilu'"),
    (["--method", "dcdm", "--shape", "5,5"], "unknowns but A has"),
    (["--method", "dcdm", "--shape", "a,b"], "--shape must be integers"),
])
def test_bad_options(grid_system, args, message, capsys):
    d, _, _ = grid_system
    assert main(["solve", str(d / "sys.npz"), "-o", str(d / "z.npy"), *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_files(tmp_path, capsys):
    scipy.io.mmwrite(tmp_path / "A.mtx", poisson_system((5, 5)).matrix)
    assert main(["solve", str(tmp_path / "A.mtx")]) == 2
    assert "no right-hand side" in capsys.readouterr().err
    assert main(["solve", str(tmp_path / "missing.npz")]) == 2
    np.savez(tmp_path / "junk.npz", x=np.ones(3))
    with pytest.raises(ValueError, match="scipy's sparse layout"):
        load_system(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="unknown system format"):
        (tmp_path / "A.txt").write_text("1")
        load_system(tmp_path / "A.txt")
