import os
from pathlib import Path

import meshio
import numpy as np
import pytest

from pdekit.meshes import box, interval, l_shape, read, refine, unstructured_square, write
from pdekit.meshes import io as mesh_io

DATA = Path(__file__).parent / "data"


def _tagged(mesh):
    mesh.subdomains[:] = np.arange(mesh.n_cells) % 3
    mesh.subdomain_names = {"steel": 0, "copper": 1, "air": 2}
    return mesh


MESHES = {"1d": lambda: _tagged(interval(4)), "2d": lambda: _tagged(l_shape(1)),
          "3d": lambda: _tagged(box(1, 2, 1)), "2d-unstructured": lambda: unstructured_square(3, rng=0)}


@pytest.mark.parametrize("suffix", [".msh", ".vtu", ".xdmf"])
@pytest.mark.parametrize("kind", list(MESHES))
def test_round_trip_keeps_everything(tmp_path, kind, suffix):
    mesh = MESHES[kind]()
    u = np.sin(mesh.points).sum(axis=1)
    k = np.arange(mesh.n_cells, dtype=np.float64)
    out = write(tmp_path / f"mesh{suffix}", mesh, point_data={"u": u},
                cell_data=None if suffix == ".msh" else {"k": k})
    back, pdata, cdata = read(out, return_data=True)
    assert back.cell_type == mesh.cell_type
    np.testing.assert_array_equal(back.points, mesh.points)
    np.testing.assert_array_equal(back.cells, mesh.cells)
    np.testing.assert_array_equal(back.facets, mesh.facets)
    np.testing.assert_array_equal(back.facet_tags, mesh.facet_tags)
    np.testing.assert_array_equal(back.subdomains, mesh.subdomains)
    assert back.tag_names == mesh.tag_names
    assert back.subdomain_names == mesh.subdomain_names
    np.testing.assert_allclose(pdata["u"], u)
    if suffix != ".msh":
        np.testing.assert_allclose(cdata["k"], k)
    expected = {f"mesh{suffix}"} | ({"mesh.h5"} if suffix == ".xdmf" else set())
    assert set(os.listdir(tmp_path)) == expected  # no temporary files left behind


def test_xdmf_inline_data_has_no_sidecar(tmp_path):
    mesh = refine(box(1, 1, 1))
    write(tmp_path / "m.xdmf", mesh, xdmf_data="XML")
    assert os.listdir(tmp_path) == ["m.xdmf"]
    back = read(tmp_path / "m.xdmf")
    np.testing.assert_array_equal(back.facet_tags, mesh.facet_tags)
    assert back.tag_names == mesh.tag_names


def test_written_files_are_standard(tmp_path):
    mesh = l_shape(1)
    write(tmp_path / "m.msh", mesh)
    raw = meshio.read(tmp_path / "m.msh")
    assert {name: int(v[0]) for name, v in raw.field_data.items()} == mesh.tag_names
    assert all(int(v[1]) == 1 for v in raw.field_data.values())  # boundary names have dim d-1
    write(tmp_path / "m.vtu", mesh)
    assert meshio.read(tmp_path / "m.vtu").field_data["reentrant"].tolist() == [5, 1]
    write(tmp_path / "forced.dat", mesh, file_format="vtu")
    assert read(tmp_path / "forced.dat", file_format="vtu").n_cells == mesh.n_cells


def test_read_gmsh41_physical_groups():
    mesh = read(DATA / "square_gmsh41.msh")
    assert (mesh.n_points, mesh.n_cells, mesh.dim) == (4, 2, 2)
    assert mesh.tag_names == {"left": 1, "rest": 2}
    assert mesh.subdomain_names == {"domain": 7}
    assert mesh.subdomains.tolist() == [7, 7]
    np.testing.assert_array_equal(mesh.points[mesh.boundary_nodes("left"), 0], 0.0)
    assert len(mesh.boundary_facets("rest")) == 3


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read(tmp_path / "missing.msh")
    bad = tmp_path / "bad.msh"
    bad.write_text("this is not a mesh")
    with pytest.raises(ValueError, match=r"cannot read mesh file '.*bad\.msh' as 'gmsh'.*supported: \.msh"):
        read(bad)
    odd = tmp_path / "mesh.xyz"
    odd.write_text("1 2 3")
    with pytest.raises(ValueError, match=r"cannot tell the mesh format of '.*mesh\.xyz'.*supported"):
        read(odd)
    quads = meshio.Mesh(np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.0]]), [("quad", [[0, 1, 2, 3]])])
    meshio.write(tmp_path / "quads.vtu", quads)
    with pytest.raises(ValueError, match="no line, triangle or tetra cells"):
        read(tmp_path / "quads.vtu")
    surface = meshio.Mesh(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1.0]]), [("triangle", [[0, 1, 2]])])
    meshio.write(tmp_path / "surface.vtu", surface)
    with pytest.raises(ValueError, match="embedded .* not supported"):
        read(tmp_path / "surface.vtu")


def test_read_repairs_orientation_and_unused_points(tmp_path):
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [7, 7, 0.0]])
    meshio.write(tmp_path / "raw.vtu", meshio.Mesh(pts, [("triangle", [[0, 2, 1]])]))
    mesh = read(tmp_path / "raw.vtu")
    assert mesh.n_points == 3 and mesh.volume == pytest.approx(0.5)


def test_write_errors(tmp_path):
    mesh = l_shape(1)
    with pytest.raises(ValueError, match="cannot tell the mesh format"):
        write(tmp_path / "m.stl", mesh)
    with pytest.raises(ValueError, match="cannot write cell_data to .*msh"):
        write(tmp_path / "m.msh", mesh, cell_data={"k": np.zeros(mesh.n_cells)})
    with pytest.raises(ValueError, match=r"cell_data\['k'\] must have 6 rows"):
        write(tmp_path / "m.vtu", mesh, cell_data={"k": np.zeros(5)})
    with pytest.raises(ValueError, match=r"point_data\['u'\] must have 8 rows"):
        write(tmp_path / "m.vtu", mesh, point_data={"u": np.zeros(5)})
    with pytest.raises(ValueError, match="xdmf_data must be 'HDF' or 'XML'"):
        write(tmp_path / "m.xdmf", mesh, xdmf_data="binary")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write(tmp_path / "no" / "m.vtu", mesh)
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "m.xdmf"
    write(target, l_shape(1))
    before = target.read_bytes(), (tmp_path / "m.h5").read_bytes()

    def broken(path, mesh, **kwargs):
        Path(path).write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(mesh_io.meshio, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        write(target, l_shape(2), overwrite=True)
    assert (target.read_bytes(), (tmp_path / "m.h5").read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["m.h5", "m.xdmf"]


@pytest.mark.parametrize("suffix", [".msh", ".vtu", ".xdmf"])
def test_existing_file_is_refused_unless_overwrite(tmp_path, suffix):
    target = tmp_path / f"m{suffix}"
    write(target, l_shape(1))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(FileExistsError, match=r"m\.\w+' exists; pass overwrite=True"):
        write(target, l_shape(2))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing touched, no temp left
    write(target, l_shape(2), overwrite=True)
    assert read(target).n_cells == l_shape(2).n_cells != l_shape(1).n_cells


def test_xdmf_refuses_a_foreign_h5_beside_it(tmp_path):
    (tmp_path / "m.h5").write_text("someone else's data")
    with pytest.raises(FileExistsError, match=r"m\.h5' exists"):
        write(tmp_path / "m.xdmf", l_shape(1))
    assert sorted(os.listdir(tmp_path)) == ["m.h5"] and (tmp_path / "m.h5").read_text() == "someone else's data"
    write(tmp_path / "m.xdmf", l_shape(1), xdmf_data="XML")  # inline data: no .h5, nothing in the way
    assert sorted(os.listdir(tmp_path)) == ["m.h5", "m.xdmf"]
