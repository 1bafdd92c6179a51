import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from pdekit.data.matrix_market import read_matrix_market
from pdekit.data.systems import SystemFileError


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("dense", [False, True])
def test_agrees_with_scipy_on_what_scipy_writes(tmp_path, symmetric, dense):
    rng = np.random.default_rng(0)
    M = sp.random(7, 7, density=0.4, random_state=1).toarray() + np.diag(rng.uniform(1, 2, 7))
    if symmetric:
        M = M + M.T
    scipy.io.mmwrite(tmp_path / "m.mtx", M if dense else sp.csr_matrix(M),
                     symmetry="symmetric" if symmetric else "general")
    got = read_matrix_market(tmp_path / "m.mtx")
    got = got if dense else got.toarray()
    np.testing.assert_allclose(got, scipy.io.mmread(tmp_path / "m.mtx") if dense
                               else scipy.io.mmread(tmp_path / "m.mtx").toarray(), rtol=1e-15)


def test_skew_symmetric_and_integer(tmp_path):
    (tmp_path / "s.mtx").write_text("%%MatrixMarket matrix coordinate integer skew-symmetric\n"
                                    "% a comment\n2 2 1\n2 1 3\n")
    assert read_matrix_market(tmp_path / "s.mtx").toarray().tolist() == [[0.0, -3.0], [3.0, 0.0]]


@pytest.mark.parametrize("text, message", [
    ("hello\n", "first line must start with %%MatrixMarket"),
    ("%%MatrixMarket matrix coordinate real general\n", "size line is missing"),
    ("%%MatrixMarket matrix coordinate real general\n2 2 x\n", "must hold integers"),
    ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n1 2 1\n", "declares 1 entries"),
    ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n3 1 1\n", r"entry 1 at \(3, 1\) lies outside"),
    ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n1.5 1 1\n", "must be integers"),
    ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 nan\n2 2 1\n", "NaN/inf"),
    ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 a\n2 2 1\n", "not a table of numbers"),
    ("%%MatrixMarket matrix coordinate pattern general\n1 1 1\n1 1\n", "pattern matrix"),
    ("%%MatrixMarket matrix coordinate real symmetric\n2 3 2\n1 1 1\n2 2 1\n", "must be square"),
    ("%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n", "declares 4 entries"),
])
def test_broken_files_are_named(tmp_path, text, message):
    (tmp_path / "b.mtx").write_text(text)
    with pytest.raises(SystemFileError, match=message):
        read_matrix_market(tmp_path / "b.mtx")
