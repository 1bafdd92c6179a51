"""``pdekit solve``: .npz and .mtx systems, every method, atomic output, honest exit codes, no lost files."""

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
                                  ["--method", "dcdm"], ["--method", "fcg", "--preconditioner", "dcdm-poisson-2d"],
                                  [], ["--method", "direct"], ["--method", "dcdm", "--preconditioner", "dcdm-algebraic"]])
def test_methods_write_the_solution(grid_system, args, capsys):
    d, s, x_direct = grid_system
    out = d / "x.npy"
    assert main(["solve", str(d / "sys.npz"), "--rtol", "1e-9", "-o", str(out), "--overwrite", "--json", *args]) == 0
    summary = json.loads(capsys.readouterr().out)
    x = np.load(out)
    assert summary["converged"] and summary["relative_residual"] <= 1e-9
    assert np.linalg.norm(x - x_direct) <= 1e-7 * np.linalg.norm(x_direct)
    if args == ["--method", "dcdm"]:
        assert summary["preconditioner"] == "dcdm-poisson-2d" and summary["iterations"] <= 10
        assert summary["network_cost_spmv"] < 20
    if not args:
        assert summary["method"] == "direct"  # auto: 1,000 unknowns


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
    assert main(["solve", str(d / "sys.npz"), "--method", "cg", "--maxiter", "3", "-o", str(d / "y.npy"),
                 "--overwrite"]) == 3
    captured = capsys.readouterr()
    assert "NO (maxiter)" in captured.out and "did not converge" in captured.err
    assert (d / "y.npy").is_file()


@pytest.mark.parametrize("args, message", [
    (["--method", "cg", "--preconditioner", "ic0"], "takes no preconditioner"),
    (["--method", "pcg", "--preconditioner", "dcdm-poisson-2d"], "not a linear SPD"),
    (["--method", "dcdm", "--preconditioner", "amg"], "needs a learned network"),
    (["--method", "dcdm", "--preconditioner", "dcdm-poisson-3d"], "works on 3D grids; the system's grid is 2D"),
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


def _one_line_error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


def test_issue_12_crashes_are_one_line_errors(tmp_path, capsys):
    """Reproductions from issue 12: a segfault and four tracebacks."""
    import scipy.sparse as sp

    n = 50
    L = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]).tocsr()
    i = L.indices.copy()
    i[4] = 10**6
    np.savez(tmp_path / "bad.npz", data=L.data, indices=i, indptr=L.indptr, shape=np.array(L.shape),
             format=np.array("csr"), b=np.ones(n))
    assert "out of range" in _one_line_error(capsys, "solve", str(tmp_path / "bad.npz"), "--method", "cg")
    (tmp_path / "text.npz").write_text("this is not a zip file")
    assert "not a readable .npz" in _one_line_error(capsys, "solve", str(tmp_path / "text.npz"))
    from pdekit.operators import FNO

    FNO(n_modes=(4, 4), in_channels=1, out_channels=1, hidden_channels=4).save(tmp_path / "fno.pt")
    save_system(tmp_path / "sys.npz", L, np.ones(n))
    assert "not a learned preconditioner" in _one_line_error(
        capsys, "solve", str(tmp_path / "sys.npz"), "--method", "fcg", "--preconditioner", str(tmp_path / "fno.pt"))
    np.savez(tmp_path / "empty.npz", data=np.zeros(0), indices=np.zeros(0, int), indptr=np.zeros(1, int),
             shape=np.array([0, 0]), format=np.array("csr"), b=np.zeros(0))
    assert "empty (0 x 0)" in _one_line_error(capsys, "solve", str(tmp_path / "empty.npz"),
                                              "--preconditioner", "amg", "--method", "pcg")
    for folder in ("folder.npy", "folder"):
        (tmp_path / folder).mkdir()
        assert "is a folder" in _one_line_error(capsys, "solve", str(tmp_path / "sys.npz"), "-o", str(tmp_path / folder))


def test_issue_12_no_lost_files(tmp_path, capsys):
    """`-o sys.npz` replaced its own input and `-o darcy.h5` destroyed a dataset."""
    import scipy.sparse as sp

    L = sp.diags([-np.ones(9), 2 * np.ones(10), -np.ones(9)], [-1, 0, 1]).tocsr()
    save_system(tmp_path / "sys.npz", L, np.ones(10))
    before = (tmp_path / "sys.npz").read_bytes()
    assert "ending in .npy" in _one_line_error(capsys, "solve", str(tmp_path / "sys.npz"), "-o",
                                               str(tmp_path / "sys.npz"))
    assert "ending in .npy" in _one_line_error(capsys, "solve", str(tmp_path / "sys.npz"), "-o",
                                               str(tmp_path / "sys.npz"), "--overwrite")
    (tmp_path / "darcy.h5").write_bytes(b"a dataset")
    _one_line_error(capsys, "solve", str(tmp_path / "sys.npz"), "-o", str(tmp_path / "darcy.h5"))
    assert (tmp_path / "sys.npz").read_bytes() == before and (tmp_path / "darcy.h5").read_bytes() == b"a dataset"
    np.save(tmp_path / "b.npy", np.ones(10))
    assert "is an input of this solve" in _one_line_error(
        capsys, "solve", str(tmp_path / "sys.npz"), "--rhs", str(tmp_path / "b.npy"), "-o", str(tmp_path / "b.npy"),
        "--overwrite")
    assert main(["solve", str(tmp_path / "sys.npz"), "-o", str(tmp_path / "x.npy")]) == 0
    first = np.load(tmp_path / "x.npy")
    assert "pass --overwrite" in _one_line_error(capsys, "solve", str(tmp_path / "sys.npz"), "-o",
                                                 str(tmp_path / "x.npy"))
    assert main(["solve", str(tmp_path / "sys.npz"), "-o", str(tmp_path / "x.npy"), "--overwrite"]) == 0
    assert np.allclose(np.load(tmp_path / "x.npy"), first)
