import os

import meshio
import numpy as np
import pytest

from pdekit.meshes import unit_cube, unit_square
from pdekit.solvers.fem import (darcy, function_space, heat, interpolate, linear_elasticity, poisson,
                                wave, write_function)

#: VTK's edge order of the quadratic cells (edge nodes follow the vertices)
VTK_EDGES = {"triangle6": [(0, 1), (1, 2), (2, 0)],
             "tetra10": [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]}


def test_p1_vtu_with_coefficient_roundtrip(tmp_path):
    uh, a = darcy(unit_square(6), rng=0, degree=1)
    path = write_function(tmp_path / "p.vtu", uh, name="p", coefficient=a)
    m = meshio.read(path)
    assert np.allclose(m.point_data["p"], uh.point_values())
    assert np.allclose(m.cell_data["a"][0], a)


@pytest.mark.parametrize("mesh", [unit_square(3), unit_cube(2)], ids=["triangle6", "tetra10"])
@pytest.mark.parametrize("suffix", [".vtu", ".xdmf"])
def test_p2_is_written_at_its_own_nodes_on_quadratic_cells(tmp_path, mesh, suffix):
    quadratic = lambda x: x[0] ** 2 - 2 * x[0] * x[1] + 0.5 * x[-1] ** 2  # noqa: E731  in the P2 space
    uh = interpolate(function_space(mesh, 2), quadratic)
    a = np.arange(mesh.n_cells, dtype=float)
    path = write_function(tmp_path / f"u{suffix}", uh, coefficient=a,
                          point_data={"x": mesh.points[:, 0]})  # per vertex: extended to the edges
    m = meshio.read(path)
    kind = "triangle6" if mesh.dim == 2 else "tetra10"
    assert [b.type for b in m.cells] == [kind] and len(m.cells[0].data) == mesh.n_cells
    cells, pts = m.cells[0].data, m.points
    assert len(pts) == uh.space.dofmap.n_nodes > mesh.n_points
    # edge nodes sit at the midpoints of VTK's edges, so ParaView interpolates correctly
    for k, (i, j) in enumerate(VTK_EDGES[kind]):
        np.testing.assert_allclose(pts[cells[:, mesh.dim + 1 + k]], 0.5 * (pts[cells[:, i]] + pts[cells[:, j]]))
    # the field at every written node is the quadratic itself (not vertex values on linear cells)
    np.testing.assert_allclose(m.point_data["u"].reshape(-1), quadratic(pts[:, : mesh.dim].T), atol=1e-14)
    np.testing.assert_allclose(m.point_data["x"].reshape(-1), pts[:, 0], atol=1e-14)
    np.testing.assert_allclose(m.cell_data["a"][0].reshape(-1), a)
    assert sorted(os.listdir(tmp_path)) == sorted([f"u{suffix}"] + (["u.h5"] if suffix == ".xdmf" else []))


def test_vector_fields_are_padded_to_three_components(tmp_path):
    u = linear_elasticity(unit_square(3), lam=1.0, mu=1.0, body_force=np.array([0.0, -1.0]))
    m = meshio.read(write_function(tmp_path / "u.vtu", u))
    assert m.point_data["u"].shape == (16, 3) and np.all(m.point_data["u"][:, 2] == 0)
    u2 = linear_elasticity(unit_square(3), lam=1.0, mu=1.0, body_force=np.array([0.0, -1.0]), degree=2)
    m = meshio.read(write_function(tmp_path / "u2.vtu", u2))
    assert m.point_data["u"].shape == (49, 3)
    np.testing.assert_allclose(m.point_data["u"][:, :2], u2.nodal_values())


def _series(path):
    with meshio.xdmf.TimeSeriesReader(path) as reader:
        points, cells = reader.read_points_cells()
        steps = [reader.read_data(k) for k in range(reader.num_steps)]
    return points, cells, steps


def test_heat_trajectory_is_an_xdmf_time_series(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # meshio's own writer would put the .h5 in the working folder
    (tmp_path / "out").mkdir()
    tr = heat(unit_square(4), u0=lambda x: np.sin(np.pi * x[0]) * np.sin(np.pi * x[1]), dt=0.01,
              n_steps=6, save_every=2)
    path = write_function(tmp_path / "out" / "T.xdmf", tr, name="T", coefficient=np.ones(32))
    assert sorted(os.listdir(tmp_path / "out")) == ["T.h5", "T.xdmf"] and sorted(os.listdir(tmp_path)) == ["out"]
    points, cells, steps = _series(path)
    assert [b.type for b in cells] == ["triangle"]
    assert [t for t, _, _ in steps] == pytest.approx([0.0, 0.02, 0.04, 0.06])
    for k, (_, pdata, cdata) in enumerate(steps):
        np.testing.assert_allclose(pdata["T"].reshape(-1), tr.values[k])
        assert set(cdata) == {"a", "subdomain"}
    assert np.abs(steps[-1][1]["T"]).max() < np.abs(steps[0][1]["T"]).max()  # it decays


def test_wave_trajectory_p2_with_velocity(tmp_path):
    tr = wave(unit_square(3), u0=lambda x: np.sin(np.pi * x[0]) * np.sin(np.pi * x[1]), dt=0.05,
              n_steps=4, degree=2)
    points, cells, steps = _series(write_function(tmp_path / "w.xdmf", tr))
    assert [b.type for b in cells] == ["triangle6"] and len(points) == tr.values.shape[1]
    assert len(steps) == 5 and set(steps[0][1]) == {"u", "u_t"}
    np.testing.assert_allclose(steps[3][1]["u_t"].reshape(-1), tr.velocities[3])


def test_bad_input(tmp_path):
    uh, _ = darcy(unit_square(3), rng=0)
    with pytest.raises(ValueError, match=r"a has shape \(5,\)"):
        write_function(tmp_path / "x.vtu", uh, coefficient=np.ones(5))
    with pytest.raises(TypeError, match="takes an FEFunction or a Trajectory"):
        write_function(tmp_path / "x.vtu", unit_square(2))
    tr = heat(unit_square(2), u0=0.0, dt=0.1, n_steps=1)
    with pytest.raises(ValueError, match=r"time series \(Trajectory\) is written as .xdmf"):
        write_function(tmp_path / "x.vtu", tr)
    p2 = poisson(unit_square(2), f=1.0, degree=2)
    with pytest.raises(ValueError, match="a P2 function is written as .vtu or .xdmf"):
        write_function(tmp_path / "x.msh", p2)
    with pytest.raises(ValueError, match=r"point_data\['b'\] has shape \(4,\)"):
        write_function(tmp_path / "x.vtu", p2, point_data={"b": np.ones(4)})
    assert os.listdir(tmp_path) == []


def test_existing_files_are_refused_unless_overwrite(tmp_path):
    p1 = poisson(unit_square(3), f=1.0)
    p2 = poisson(unit_square(3), f=1.0, degree=2)
    tr = heat(unit_square(3), u0=lambda x: np.sin(np.pi * x[0]), dt=0.01, n_steps=2)
    for name, uh in (("p1.vtu", p1), ("p1.xdmf", p1), ("p2.vtu", p2), ("t.xdmf", tr)):
        write_function(tmp_path / name, uh)
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        with pytest.raises(FileExistsError, match=rf"{name}' exists; pass overwrite=True"):
            write_function(tmp_path / name, uh)
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
        write_function(tmp_path / name, uh, name="v", overwrite=True)
        fields = _series(tmp_path / name)[2][-1][1] if name == "t.xdmf" else meshio.read(tmp_path / name).point_data
        assert "v" in fields
    # a time series never replaces an .h5 beside it that it did not write
    (tmp_path / "s.h5").write_text("another program's data")
    with pytest.raises(FileExistsError, match=r"s\.h5' exists"):
        write_function(tmp_path / "s.xdmf", tr)
    assert not (tmp_path / "s.xdmf").exists() and (tmp_path / "s.h5").read_text() == "another program's data"
