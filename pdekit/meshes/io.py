"""Read and write meshes with their tags through meshio (Gmsh ``.msh``, VTU, XDMF).

File layout written by :func:`write` (and understood by :func:`read`):

* two cell blocks: the cells, then the tagged facets (``vertex`` / ``line`` / ``triangle``);
* cell data ``gmsh:physical`` holds the subdomain tag of each cell and the tag of each facet,
  ``gmsh:geometrical`` repeats it (Gmsh needs an entity number);
* tag names go to meshio's ``field_data`` as ``name -> [tag, dim]``: ``dim = d - 1`` for
  boundary tags and ``d`` for subdomain names. Gmsh stores them as ``$PhysicalNames``; for
  VTU they are a ``<FieldData>`` block of the grid and for XDMF an ``<Information>`` element
  (the one dolfin and meshio read), both added after meshio has written the file;
* tag 0 means "untagged" (as in Gmsh): facets tagged 0 are dropped when a file is read;
* points are padded to three coordinates; reading drops coordinates that are zero throughout;
* XDMF of a line mesh: meshio cannot read ``vertex`` blocks back from XDMF, so the end-point
  tags are point data ``pdekit:vertex_tag`` (0 = untagged) instead.

``.msh`` files are written in Gmsh's 2.2 format (read by every Gmsh version and by meshio);
both 2.2 and 4.1 are read. Writing is atomic: the file appears complete or not at all. XDMF
with HDF5 data writes ``name.h5`` beside ``name.xdmf``; both are first written to a temporary
folder, then the ``.h5`` and after it the ``.xdmf`` are moved into place, so a reader never
sees an ``.xdmf`` whose data is missing (``xdmf_data="XML"`` keeps everything in one file).
"""

from __future__ import annotations

import contextlib
import io as _stdio
import os
import warnings
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import meshio
import numpy as np
from meshio._helpers import reader_map as _READERS
from meshio._mesh import topological_dimension as _TOPO_DIM

from .._atomic import atomic_files, check_writable_dir, refuse_existing
from .mesh import Mesh
from .topology import CELL_TYPES

__all__ = ["read", "write", "to_meshio", "from_meshio", "SUPPORTED_FORMATS"]

#: suffix -> meshio format name
SUPPORTED_FORMATS: dict[str, str] = {".msh": "gmsh22", ".vtu": "vtu", ".xdmf": "xdmf", ".xmf": "xdmf"}
_READ_FORMATS = {".msh": "gmsh", ".vtu": "vtu", ".xdmf": "xdmf", ".xmf": "xdmf"}
_FACET_TYPE = {"line": "vertex", "triangle": "line", "tetra": "triangle"}
VERTEX_TAG_KEY = "pdekit:vertex_tag"
_TAG_KEYS = ("gmsh:physical", "pdekit:tag", "medit:ref", "cell_tags")


def _formats_text() -> str:
    return "supported: .msh (Gmsh 2.2/4.1), .vtu (VTK XML), .xdmf/.xmf (XDMF 3)"


def _suffix_format(path: Path, file_format: str | None, table: dict[str, str]) -> str:
    if file_format is not None:
        return file_format
    fmt = table.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the mesh format of {str(path)!r} from its suffix "
                         f"{path.suffix!r}; {_formats_text()}; or pass file_format")
    return fmt


def to_meshio(mesh: Mesh, *, point_data: dict | None = None, cell_data: dict | None = None,
              vertex_tags_as_point_data: bool = False) -> meshio.Mesh:
    """Convert to a :class:`meshio.Mesh` laid out as described in the module docstring.

    Parameters
    ----------
    mesh : Mesh
    point_data : dict name -> (n,) or (n, c) array, optional
    cell_data : dict name -> (m,) or (m, c) array, optional
        Values on the cells; the facet block gets zeros.
    vertex_tags_as_point_data : bool
        For line meshes: store the facet (end point) tags as point data ``pdekit:vertex_tag``
        (0 = untagged) instead of a ``vertex`` block, which meshio's XDMF cannot read back.
    """
    n, d = mesh.n_points, mesh.dim
    points = np.zeros((n, 3))
    points[:, :d] = mesh.points
    blocks = [(mesh.cell_type, mesh.cells)]
    tags = [mesh.subdomains]
    pdata = {}
    if vertex_tags_as_point_data and mesh.cell_type == "line":
        vertex_tag = np.zeros(n, dtype=np.int64)
        vertex_tag[mesh.facets[:, 0]] = mesh.facet_tags
        pdata[VERTEX_TAG_KEY] = vertex_tag
    elif len(mesh.facets):
        blocks.append((_FACET_TYPE[mesh.cell_type], mesh.facets))
        tags.append(mesh.facet_tags)
    data = {"gmsh:physical": tags, "gmsh:geometrical": [t.copy() for t in tags]}
    for name, values in (cell_data or {}).items():
        values = np.asarray(values)
        if values.shape[:1] != (mesh.n_cells,):
            raise ValueError(f"cell_data[{name!r}] must have {mesh.n_cells} rows, one per cell; "
                             f"got shape {values.shape}")
        if name in data:
            raise ValueError(f"cell_data name {name!r} is reserved for the tags")
        data[name] = [values] + [np.zeros((len(mesh.facets),) + values.shape[1:], values.dtype)
                                 for _ in blocks[1:]]
    for name, values in (point_data or {}).items():
        values = np.asarray(values)
        if values.shape[:1] != (n,):
            raise ValueError(f"point_data[{name!r}] must have {n} rows, one per point; "
                             f"got shape {values.shape}")
        pdata[name] = values
    field = {name: np.array([tag, d - 1]) for name, tag in mesh.tag_names.items()}
    field.update({name: np.array([tag, d]) for name, tag in mesh.subdomain_names.items()})
    return meshio.Mesh(points, blocks, point_data=pdata, cell_data=data, field_data=field)


def _check_read_arrays(source: str, points: np.ndarray, blocks: dict, point_data) -> None:
    """Raise ValueError for arrays of a file that cannot make a mesh: points not (n, 1..3) and
    finite, connectivity indices outside ``[0, n)``, tags or point data of the wrong length."""
    if points.ndim != 2 or not 1 <= points.shape[1] <= 3 or len(points) == 0:
        raise ValueError(f"{source}: points must be an (n, 1..3) array with n > 0; got shape {points.shape}")
    bad = ~np.isfinite(points)
    if bad.any():
        raise ValueError(f"{source}: point {int(np.argwhere(bad)[0][0])} has a non-finite coordinate")
    n = len(points)
    for kind, (conn, tags) in blocks.items():
        if conn is None:
            continue
        if conn.size and (conn.min() < 0 or conn.max() >= n):
            i, j = np.argwhere((conn < 0) | (conn >= n))[0]
            raise ValueError(f"{source}: {kind} {int(i)} refers to point {int(conn[i, j])}, but the file "
                             f"has {n} points (indices 0 to {n - 1})")
        if tags is not None and len(tags) != len(conn):
            raise ValueError(f"{source}: {len(tags)} tags for {len(conn)} {kind} cells; expected one each")
    for name, values in point_data.items():
        if len(np.asarray(values)) != n:
            raise ValueError(f"{source}: point data {name!r} has {len(np.asarray(values))} rows for "
                             f"{n} points; expected one per point")


def from_meshio(m: meshio.Mesh, *, source: str = "<meshio.Mesh>") -> tuple[Mesh, dict, dict]:
    """Build a :class:`Mesh` from a meshio mesh, with tags from physical groups.

    The cells are the blocks of the highest dimension (line, triangle or tetra; blocks of the
    same type are joined), the facets the blocks one dimension lower whose tag (``gmsh:physical``
    or ``pdekit:tag``) is non-zero. Unused points are dropped and inverted cells reoriented.
    A facet listed twice keeps its first tag.

    Returns
    -------
    mesh : Mesh
    point_data : dict name -> array (rows follow the mesh's points)
    cell_data : dict name -> (m, ...) array on the cells
    """
    by_dim = {tdim: t for t, (tdim, _) in CELL_TYPES.items()}
    present = {b.type for b in m.cells}
    higher = present - set(CELL_TYPES) - {"vertex"}
    cell_type = next((by_dim[k] for k in (3, 2, 1) if by_dim[k] in present), None)
    if cell_type is None:
        raise ValueError(f"{source}: no line, triangle or tetra cells found (cell types: "
                         f"{sorted(present)}); pdekit meshes are linear simplices")
    tdim = CELL_TYPES[cell_type][0]
    if any(_TOPO_DIM.get(t, 0) >= tdim for t in higher):
        raise ValueError(f"{source}: unsupported cell types {sorted(higher)} next to {cell_type!r}; "
                         "pdekit meshes hold linear simplices of one type only")
    tag_key = next((k for k in _TAG_KEYS if k in m.cell_data), None)

    def gather(kind: str, key: str | None):
        idx = [i for i, b in enumerate(m.cells) if b.type == kind]
        if not idx:
            return None, None, idx
        conn = np.vstack([m.cells[i].data for i in idx]).astype(np.int64)
        tag = (np.concatenate([np.asarray(m.cell_data[key][i]).reshape(-1) for i in idx]).astype(np.int64)
               if key else np.zeros(len(conn), dtype=np.int64))
        return conn, tag, idx

    cells, subdomains, cell_idx = gather(cell_type, tag_key)
    facets, facet_tags, _ = gather(_FACET_TYPE[cell_type], tag_key)
    points = np.asarray(m.points, dtype=np.float64)
    _check_read_arrays(source, points, {cell_type: (cells, subdomains), "facet": (facets, facet_tags)},
                       m.point_data)
    if facets is None:
        facets, facet_tags = np.zeros((0, tdim), dtype=np.int64), np.zeros(0, dtype=np.int64)
    keep = facet_tags != 0
    facets, facet_tags = facets[keep], facet_tags[keep]
    if cell_type == "line" and VERTEX_TAG_KEY in m.point_data:
        vertex_tag = np.asarray(m.point_data[VERTEX_TAG_KEY]).reshape(-1).astype(np.int64)
        extra_facets = np.flatnonzero(vertex_tag)[:, None]
        facets = np.vstack([facets, extra_facets])
        facet_tags = np.concatenate([facet_tags, vertex_tag[extra_facets[:, 0]]])
    if len(facets):
        _, first = np.unique(np.sort(facets, axis=1), axis=0, return_index=True)
        first = np.sort(first)
        facets, facet_tags = facets[first], facet_tags[first]

    if points.shape[1] > tdim:
        extra = points[:, tdim:]
        if np.any(extra != 0.0):
            raise ValueError(f"{source}: {cell_type} cells with non-zero coordinate "
                             f"{'xyz'[tdim]}; embedded (surface or curve) meshes are not supported")
        points = points[:, :tdim]
    used = np.zeros(len(points), dtype=bool)
    used[cells.ravel()] = True
    tag_names, subdomain_names = {}, {}
    for name, value in m.field_data.items():
        value = np.asarray(value).reshape(-1)
        if value.size >= 2 and int(value[1]) == tdim - 1:
            tag_names[str(name)] = int(value[0])
        elif value.size >= 2 and int(value[1]) == tdim:
            subdomain_names[str(name)] = int(value[0])
    mesh = Mesh.from_arrays(points, cells, cell_type, facets=facets, facet_tags=facet_tags,
                            subdomains=subdomains, tag_names=tag_names,
                            subdomain_names=subdomain_names, orient=True, remove_unused=True)
    pdata = {k: np.asarray(v)[used] for k, v in m.point_data.items()
             if not k.startswith("gmsh:") and k != VERTEX_TAG_KEY}
    cdata = {k: np.concatenate([np.asarray(v[i]) for i in cell_idx])
             for k, v in m.cell_data.items() if k not in ("gmsh:physical", "gmsh:geometrical", tag_key)}
    return mesh, pdata, cdata


def read(path: str | os.PathLike, *, file_format: str | None = None, return_data: bool = False):
    """Read a mesh file with its boundary and subdomain tags.

    Parameters
    ----------
    path : path-like
        A ``.msh``, ``.vtu`` or ``.xdmf`` file (other meshio formats with ``file_format``).
    file_format : str, optional
        meshio format name, overriding the suffix.
    return_data : bool
        Also return point data and cell data.

    Returns
    -------
    mesh : Mesh
    point_data, cell_data : dict
        Only with ``return_data``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file cannot be read as a mesh; the message names the file and the supported formats.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {str(path)!r} does not exist")
    fmt = _suffix_format(path, file_format, _READ_FORMATS)
    reader = _READERS.get(fmt)
    if reader is None:
        raise ValueError(f"unknown mesh file_format {fmt!r} for {str(path)!r}; {_formats_text()}")
    try:
        # the reader itself: meshio.read prints and calls sys.exit on a failed read
        with warnings.catch_warnings(), contextlib.redirect_stdout(_stdio.StringIO()):
            warnings.simplefilter("ignore")
            raw = reader(str(path))
    except Exception as err:  # meshio raises many kinds (ReadError, KeyError, ValueError, ...)
        raise ValueError(f"cannot read mesh file {str(path)!r} as {fmt!r}: "
                         f"{type(err).__name__}: {err}; {_formats_text()}") from err
    mesh, pdata, cdata = from_meshio(raw, source=repr(str(path)))
    return (mesh, pdata, cdata) if return_data else mesh


def _field_data_xml(mesh: Mesh, fmt: str) -> str:
    d = mesh.dim
    items = [(n, t, d - 1) for n, t in mesh.tag_names.items()] + \
            [(n, t, d) for n, t in mesh.subdomain_names.items()]
    if not items:
        return ""
    if fmt == "vtu":
        arrays = "".join(f'<DataArray type="Int64" Name={quoteattr(n)} NumberOfTuples="2" '
                         f'format="ascii">{t} {k}</DataArray>' for n, t, k in items)
        return f"<FieldData>{arrays}</FieldData>"
    maps = "".join(f'<map key={quoteattr(n)} dim="{k}">{t}</map>' for n, t, k in items)
    return f'<Information Name="Information" Value="{len(items)}">{escape("<main>" + maps + "</main>")}</Information>'


def _insert_after_open_tag(path: Path, tag: str, text: str) -> None:
    if not text:
        return
    content = path.read_text()
    start = content.find(f"<{tag}")
    end = content.find(">", start)
    if start < 0 or end < 0:
        raise RuntimeError(f"unexpected meshio output: no <{tag}> element in {path}")
    if content[end - 1] == "/":  # self-closing: open it
        content = content[: end - 1] + ">" + text + f"</{tag}>" + content[end + 1:]
    else:
        content = content[: end + 1] + text + content[end + 1:]
    path.write_text(content)


def _refuse_non_mesh(obj) -> None:
    kind = type(obj).__name__
    if hasattr(obj, "space") and (hasattr(obj, "values") or hasattr(obj, "times")):
        raise TypeError(
            f"meshes.write takes a Mesh; got a {kind} (a finite-element solution). To save it for "
            f"ParaView call pdekit.solvers.fem.write_function(path, u): P1 and P2 at their own nodes"
            + ("; a Trajectory (fem.heat / fem.wave) becomes an XDMF time series" if hasattr(obj, "times") else "")
        )
    raise TypeError(f"meshes.write takes a Mesh; got {kind}. Field values go in point_data= / cell_data=")


def write(path: str | os.PathLike, mesh: Mesh, *, point_data: dict | None = None,
          cell_data: dict | None = None, file_format: str | None = None,
          xdmf_data: str = "HDF", overwrite: bool = False) -> Path:
    """Write a mesh with its tags (and optional data) atomically.

    Parameters
    ----------
    path : path-like
        Destination; the suffix picks the format (``.msh`` -> Gmsh 2.2, ``.vtu``, ``.xdmf``).
    mesh : Mesh
    point_data : dict name -> (n,) or (n, c) array, optional
    cell_data : dict name -> (m,) or (m, c) array, optional
        Not for ``.msh`` (raises ValueError): meshio's Gmsh element data is unreliable with
        more than one cell block.
    file_format : str, optional
        meshio format name, overriding the suffix ("gmsh22", "vtu", "xdmf", ...).
    xdmf_data : {"HDF", "XML"}
        For XDMF: heavy data in a ``.h5`` file beside the ``.xdmf`` (default) or inline.
    overwrite : bool
        Replace ``path`` (and the ``.h5`` of an XDMF file) if it exists; otherwise an existing
        file is refused with FileExistsError before anything is written.

    Returns
    -------
    Path
        The path written.
    """
    if not isinstance(mesh, Mesh):
        _refuse_non_mesh(mesh)
    path = check_writable_dir(path)
    refuse_existing(path, overwrite)
    fmt = _suffix_format(path, file_format, SUPPORTED_FORMATS)
    if fmt == "gmsh":
        fmt = "gmsh22"
    if fmt.startswith("gmsh") and cell_data:
        raise ValueError(f"cannot write cell_data to {str(path)!r}: meshio's Gmsh element data "
                         "does not survive files with several cell blocks (cells and facets); "
                         "write cell data to .vtu or .xdmf instead")
    if xdmf_data not in ("HDF", "XML"):
        raise ValueError(f"xdmf_data must be 'HDF' or 'XML'; got {xdmf_data!r}")
    m = to_meshio(mesh, point_data=point_data, cell_data=cell_data,
                  vertex_tags_as_point_data=fmt == "xdmf")
    extra = _field_data_xml(mesh, fmt) if fmt in ("vtu", "xdmf") else ""
    with atomic_files(path, overwrite=overwrite) as tmpdir:  # the .h5 of XDMF moved in first, the main file last
        target = tmpdir / path.name
        kwargs = {"data_format": xdmf_data} if fmt == "xdmf" else {}
        with warnings.catch_warnings(), contextlib.redirect_stdout(_stdio.StringIO()):
            warnings.simplefilter("ignore")
            meshio.write(target, m, file_format=fmt, **kwargs)
        if fmt == "vtu":
            _insert_after_open_tag(target, "UnstructuredGrid", extra)
        elif fmt == "xdmf":
            _insert_after_open_tag(target, "Grid", extra)
    return path
