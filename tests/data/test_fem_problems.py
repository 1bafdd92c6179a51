import numpy as np
import pytest

from pdekit.data import generate, get_problem, list_problems
from pdekit.data.fem_problems import load_mesh
from pdekit.meshes import unstructured_square, write
from pdekit.solvers.fem import function_space


def solve(seed, resolution=9, **params):
    p = get_problem("darcy-fem")
    return p.solve(np.random.default_rng(seed), resolution, **p.resolve_params(params))


def test_registered_with_node_layout_and_deterministic():
    assert "darcy-fem" in list_problems()
    s = solve(0)
    assert s.inputs.shape == (81, 1) and s.outputs.shape == (81, 1)
    assert set(np.unique(s.inputs)) <= {3.0, 12.0} and len(np.unique(s.inputs)) == 2
    assert np.array_equal(s.outputs, solve(0).outputs)
    assert not np.array_equal(s.outputs, solve(1).outputs)
    assert s.outputs.min() >= 0 and s.outputs.max() > 0  # f = 1 > 0, p = 0 on the boundary


def test_cached_mesh_and_pattern_are_reused():
    m = load_mesh(9)
    solve(2)
    pattern = function_space(m, 1).pattern
    solve(3)
    assert load_mesh(9) is m and function_space(m, 1).pattern is pattern


def test_mesh_file_parameter_and_p2(tmp_path):
    path = write(tmp_path / "m.msh", unstructured_square(6, rng=0))
    s = solve(0, resolution=2, mesh=str(path), degree=2, coefficient="lognormal")
    p = get_problem("darcy-fem")
    coords = p.coordinates(2, **p.resolve_params({"mesh": str(path)}))
    assert coords["points"].shape == (49, 2) and coords["cells"].shape[1] == 3
    assert s.inputs.shape == (49, 1) and (s.inputs > 0).all()


def test_generate_writes_mesh_coordinates(tmp_path):
    import h5py

    generate("darcy-fem", tmp_path / "d.h5", n=2, resolution=5, seed=0)
    with h5py.File(tmp_path / "d.h5") as h:
        assert h["coords/points"].shape == (25, 2) and h["coords/cells"].shape == (32, 3)
        assert h["inputs"].shape[:2] == (2, 25)


def test_bad_mesh_file(tmp_path):
    bad = tmp_path / "bad.msh"
    bad.write_text("this is not a mesh")
    with pytest.raises(ValueError, match="bad.msh"):
        solve(0, mesh=str(bad))
    with pytest.raises(FileNotFoundError, match="missing.msh"):
        solve(0, mesh=str(tmp_path / "missing.msh"))
    with pytest.raises(ValueError, match=r"parameter coefficient must be one of \[.threshold., .lognormal.\]"):
        solve(0, coefficient="uniform")


def test_wave_fem_layout_and_boundary(tmp_path):
    import h5py

    p = get_problem("wave-fem")
    params = p.resolve_params({"t_final": 0.5, "n_records": 5, "dt": 0.02})
    s = p.solve(np.random.default_rng(0), 9, **params)
    assert s.inputs.shape == (81, 1) and s.outputs.shape == (5, 81, 1)
    boundary = load_mesh(9).boundary_nodes()
    assert np.all(s.outputs[:, boundary] == 0) and np.abs(s.outputs).max() > 0
    assert np.allclose(p.coordinates(9, **params)["t"], [0.1, 0.2, 0.3, 0.4, 0.5])
    generate("wave-fem", tmp_path / "w.h5", n=1, resolution=5, seed=0, n_records=3, dt=0.05)
    with h5py.File(tmp_path / "w.h5") as h:
        assert h["outputs"].attrs["axes"] == "N,T,node,C" and h["outputs"].shape == (1, 3, 25, 1)
