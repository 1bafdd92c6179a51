"""Property tests of the mesh readers: corrupted .msh / .vtu / .xdmf files (byte flips,
truncation, corrupted cell indices) raise only pdekit's documented errors (ValueError, or
FileNotFoundError), never IndexError, KeyError, a crash or a silently wrong mesh."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meshio

from pdekit.meshes import l_shape, read, write
from pdekit.meshes.io import to_meshio

SUFFIXES = (".msh", ".vtu", ".xdmf")


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Small valid files of each format (XDMF with inline data, so one file holds it all)."""
    d = tmp_path_factory.mktemp("meshes")
    mesh = l_shape(1)
    out = {}
    for suffix in SUFFIXES:
        path = d / f"m{suffix}"
        write(path, mesh, point_data={"u": mesh.points[:, 0]}, **({"xdmf_data": "XML"} if suffix == ".xdmf" else {}))
        out[suffix] = path.read_bytes()
    # ASCII versions (the connectivity is text, so single indices can be corrupted)
    m = to_meshio(mesh, point_data={"u": mesh.points[:, 0]}, vertex_tags_as_point_data=False)
    for suffix, kw in ((".msh", dict(file_format="gmsh22", binary=False)), (".vtu", dict(binary=False))):
        meshio.write(d / f"a{suffix}", m, **kw)
        out["ascii" + suffix] = (d / f"a{suffix}").read_bytes()
    out["ascii.xdmf"] = out[".xdmf"]
    return mesh, out


def _read_or_documented_error(path, mesh):
    try:
        back = read(path)
    except (ValueError, FileNotFoundError):
        return None
    # a file that still reads gives a valid mesh (construction validates it)
    assert back.n_points >= 1 and back.cells.max() < back.n_points and back.cells.min() >= 0
    return back


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_byte_flips_and_truncation(data, originals, tmp_path):
    mesh, files = originals
    suffix = data.draw(st.sampled_from(SUFFIXES))
    raw = bytearray(files[suffix])
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    for _ in range(data.draw(st.integers(0, 6))):
        if raw:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / f"f{suffix}"
    path.write_bytes(bytes(raw))
    _read_or_documented_error(path, mesh)


def _cell_index_spans(text: str, suffix: str) -> list[tuple[int, int]]:
    """Character spans of the integers that are cell (connectivity) indices."""
    if suffix == ".msh":  # $Elements: "id type ntags tag... v1 v2 v3"
        block = re.search(r"\$Elements\n\d+\n(.*?)\$EndElements", text, re.S)
        spans = []
        for line in re.finditer(r"[^\n]+", block.group(1)):
            nums = list(re.finditer(r"-?\d+", line.group(0)))
            ntags = int(nums[2].group(0))
            spans += [(block.start(1) + line.start() + m.start(), block.start(1) + line.start() + m.end())
                      for m in nums[3 + ntags:]]
        return spans
    name = r'Name="connectivity"[^>]*>' if suffix == ".vtu" else r'<Topology[^>]*>\s*<DataItem[^>]*>'
    block = re.search(name + r"(.*?)</DataArray>" if suffix == ".vtu" else name + r"(.*?)</DataItem>", text, re.S)
    return [(block.start(1) + m.start(), block.start(1) + m.end()) for m in re.finditer(r"\d+", block.group(1))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_cell_indices(data, originals, tmp_path):
    mesh, files = originals
    suffix = data.draw(st.sampled_from(SUFFIXES))
    text = files["ascii" + suffix].decode()
    spans = _cell_index_spans(text, suffix)
    assert len(spans) >= mesh.n_cells  # the corpus really has ASCII connectivity to corrupt
    start, end = spans[data.draw(st.integers(0, len(spans) - 1))]
    value = data.draw(st.sampled_from([mesh.n_points, mesh.n_points + 1, 10**6, 2**31, -1, 0]))
    path = tmp_path / f"c{suffix}"
    path.write_text(text[:start] + str(value) + text[end:])
    back = _read_or_documented_error(path, mesh)
    if value >= mesh.n_points + (suffix == ".msh"):  # Gmsh numbers nodes from 1
        assert back is None  # an index past the last point is never read silently


def test_cell_index_past_the_points_names_the_problem(originals, tmp_path):
    mesh, files = originals
    text = files["ascii.vtu"].decode()
    start, end = _cell_index_spans(text, ".vtu")[4]
    path = tmp_path / "bad.vtu"
    path.write_text(text[:start] + "999" + text[end:])
    with pytest.raises(ValueError, match=r"refers to point 999, but the file has \d+ points"):
        read(path)


def test_write_given_a_solution_says_what_to_call(tmp_path):
    from pdekit.meshes import unit_square
    from pdekit.solvers import fem

    uh = fem.poisson(unit_square(3), f=1.0)
    with pytest.raises(TypeError, match=r"got a FEFunction .*fem.write_function\(path, u\)"):
        write(tmp_path / "u.vtu", uh)
    tr = fem.heat(unit_square(3), u0=0.0, dt=0.1, n_steps=1)
    with pytest.raises(TypeError, match="Trajectory .*XDMF time series"):
        write(tmp_path / "u.xdmf", tr)
    with pytest.raises(TypeError, match="takes a Mesh; got ndarray"):
        write(tmp_path / "u.vtu", np.zeros(3))
    assert not list(tmp_path.iterdir())
