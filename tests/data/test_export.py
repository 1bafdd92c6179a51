"""Exports to PDEBench and The Well, read back the way each project's loader reads its files.

``_pdebench_*`` re-implement, with h5py and numpy only, what ``pdebench.models.fno.utils``'s
``FNODatasetSingle`` (``tensor``, ``nu``, ``*-coordinate``) and ``FNODatasetMult`` (one group per
sample, ``data`` and ``grid``) do; ``_well_*`` what ``the_well.data.WellDataset`` does in
``_build_metadata``, ``_reconstruct_fields``, ``_reconstruct_grids`` and ``_padding_bcs``, following
The Well's documented data format. No network, no peer package needed.
"""

from __future__ import annotations

import itertools
import json

import h5py
import numpy as np
import pytest

from pdekit.data import generate
from pdekit.data.export import export_dataset
from pdekit.data.problems import Problem, Sample, register_problem

BC_CODES = {"WALL": 0, "OPEN": 1, "PERIODIC": 2}  # the_well.data.datasets.BoundaryCondition


# ------------------------------------------------------------------ the loaders, as documented
def _pdebench_single(path):
    """FNODatasetSingle: (data [batch, x1.., t, v], grid) of a single-file scalar dataset."""
    with h5py.File(path, "r") as f:
        data = np.array(f["tensor"], dtype=np.float32)
        if data.ndim == 3:  # 1D: batch, time, x
            data = np.transpose(data, (0, 2, 1))[..., None]
            grid = np.array(f["x-coordinate"], dtype=np.float32)[:, None]
        else:  # 2D Darcy flow: nu -> tensor
            data = np.transpose(data, (0, 2, 3, 1))
            nu = np.transpose(np.array(f["nu"], dtype=np.float32)[:, None], (0, 2, 3, 1))
            data = np.concatenate([nu, data], axis=-1)[..., None]
            x, y = (np.array(f[k], dtype=np.float32) for k in ("x-coordinate", "y-coordinate"))
            grid = np.stack(np.meshgrid(x, y, indexing="ij"), axis=-1)
    return data, grid


def _pdebench_mult(path):
    """FNODatasetMult: per sample (sorted group keys) data [x1.., t, v] and grid."""
    out = []
    with h5py.File(path, "r") as f:
        for key in sorted(f.keys()):
            group = f[key]
            data = np.array(group["data"], dtype="f")
            data = np.transpose(data, [*range(1, data.ndim - 1), 0, data.ndim - 1])
            axes = [np.array(group["grid"][k], dtype="f") for k in ("x", "y", "z")[:data.ndim - 2]]
            grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
            out.append((data, grid, np.array(group["grid"]["t"], dtype="f")))
    return out


def _well_read(path, sample, time_idx=0, n_steps=None):
    """What WellDataset returns for one window (flattened fields, concatenated channels)."""
    with h5py.File(path, "r") as f:
        spatial = list(f["dimensions"].attrs["spatial_dims"])
        meta = {"n_traj": int(f.attrs["n_trajectories"]), "ndim": int(f.attrs["n_spatial_dims"]),
                "name": f.attrs["dataset_name"], "grid_type": f.attrs["grid_type"],
                "steps": f["dimensions"]["time"].shape[-1],
                "size": [f["dimensions"][d].shape[-1] for d in spatial]}
        n_steps = meta["steps"] - time_idx if n_steps is None else n_steps
        variable, constant, names = [], [], []
        for i in range(3):
            group = f[f"t{i}_fields"]
            for field in group.attrs["field_names"]:
                ds = group[field]
                index = ()
                if ds.attrs["sample_varying"]:
                    index += (sample,)
                if ds.attrs["time_varying"]:
                    index += (slice(time_idx, time_idx + n_steps),)
                data = ds[index]
                data = data.reshape(*data.shape[:data.ndim - i], -1) if i else data[..., None]
                (variable if ds.attrs["time_varying"] else constant).append(data)
                names += [f"{field}_{''.join(p)}" if i else field
                          for p in itertools.product(spatial, repeat=i)]
        scalars = {k: f["scalars"][k][()] for k in f["scalars"].attrs["field_names"]}
        boundary = np.ones((meta["ndim"], 2))  # open unless told otherwise
        for name in f["boundary_conditions"]:
            bc = f["boundary_conditions"][name]
            kind = bc.attrs["bc_type"].upper()
            mask = bc["mask"][:]
            agg = np.min if kind == "WALL" else np.max
            for dim in bc.attrs["associated_dims"]:
                if agg(mask[:1]):
                    boundary[spatial.index(dim)][0] = BC_CODES[kind]
                if agg(mask[-1:]):
                    boundary[spatial.index(dim)][1] = BC_CODES[kind]
        grid = np.stack(np.meshgrid(*[f["dimensions"][d][:] for d in spatial], indexing="ij"), axis=-1)
        time = f["dimensions"]["time"][time_idx:time_idx + n_steps]
        params = list(f.attrs["simulation_parameters"])
    return {"meta": meta, "fields": np.concatenate(variable, axis=-1) if variable else None,
            "constant": np.concatenate(constant, axis=-1) if constant else None, "names": names,
            "scalars": scalars, "boundary": boundary, "grid": grid, "time": time, "params": params}


# ------------------------------------------------------------------ datasets
@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    paths = {
        "darcy": generate("darcy", root / "darcy.h5", n=3, resolution=16, seed=0, workers=0).path,
        "heat": generate("heat", root / "heat.h5", n=3, resolution=8, seed=1, workers=0,
                         n_records=3, t_final=0.3, dt=0.05).path,
        "burgers": generate("burgers", root / "burgers.h5", n=3, resolution=32, seed=2, workers=0).path,
    }
    return root, paths


def _arrays(path):
    with h5py.File(path, "r") as f:
        return f["inputs"][()], f["outputs"][()], {k: f["coords"][k][()] for k in f["coords"]}


def test_pdebench_darcy_reads_as_nu_to_tensor(datasets):
    root, paths = datasets
    out = export_dataset(paths["darcy"], root / "darcy_pdebench.h5", format="pdebench")
    data, grid = _pdebench_single(out)
    a, u, coords = _arrays(paths["darcy"])
    assert data.shape == (3, 16, 16, 2, 1)  # batch, x, y, t = [nu, u], channel
    assert np.array_equal(data[..., 0, 0], a[..., 0]) and np.array_equal(data[..., 1, 0], u[..., 0])
    assert np.allclose(grid[3, 5], [coords["x"][3], coords["y"][5]])
    with h5py.File(out, "r") as f:
        assert f.attrs["a_high"] == 12.0 and json.loads(f.attrs["pdekit_params"])["tau"] == 3.0


def test_pdebench_one_dimensional_trajectory_starts_at_the_initial_state(datasets):
    root, paths = datasets
    out = export_dataset(paths["burgers"], root / "burgers_pdebench.h5", format="pdebench")
    data, grid = _pdebench_single(out)
    u0, u, coords = _arrays(paths["burgers"])
    assert data.shape == (3, 32, 2, 1)  # batch, x, t = [u0, u(t_final)], channel
    assert np.array_equal(data[:, :, 0, 0], u0[..., 0]) and np.array_equal(data[:, :, 1, 0], u[..., 0])
    assert np.allclose(grid[:, 0], coords["x"])
    with h5py.File(out, "r") as f:
        assert np.allclose(f["t-coordinate"][()], [0.0, 1.0])  # t_final = 1


def test_pdebench_two_dimensional_trajectories_are_one_group_per_sample(datasets):
    root, paths = datasets
    out = export_dataset(paths["heat"], root / "heat_pdebench.h5", format="pdebench")
    u0, u, coords = _arrays(paths["heat"])
    samples = _pdebench_mult(out)
    assert len(samples) == 3
    for i, (data, grid, t) in enumerate(samples):
        assert data.shape == (8, 8, 4, 1)  # x, y, t = [u0, u(t1..t3)], channel
        assert np.array_equal(data[:, :, 0], u0[i]) and np.array_equal(np.moveaxis(data[:, :, 1:], 2, 0), u[i])
        assert np.allclose(t, [0.0, *coords["t"]]) and np.allclose(grid[2, 7], [coords["x"][2], coords["y"][7]])


def test_the_well_trajectories_boundaries_grids_and_scalars(datasets):
    root, paths = datasets
    out = export_dataset(paths["heat"], root / "heat_well.h5", format="the-well")
    u0, u, coords = _arrays(paths["heat"])
    well = _well_read(out, sample=1)
    assert well["meta"] == {"n_traj": 3, "ndim": 2, "name": "heat", "grid_type": "cartesian", "steps": 4,
                            "size": [8, 8]}
    assert well["names"] == ["u"]
    assert well["fields"].shape == (4, 8, 8, 1)  # T x H x W x C
    assert np.array_equal(well["fields"][0], u0[1]) and np.array_equal(well["fields"][1:], u[1])
    assert np.array_equal(well["boundary"], np.full((2, 2), BC_CODES["PERIODIC"]))
    assert np.allclose(well["time"], [0.0, *coords["t"]])
    assert np.allclose(well["grid"][3, 4], [coords["x"][3], coords["y"][4]])
    assert sorted(well["params"]) == ["alpha", "dt", "kappa", "n_records", "t_final", "tau", "theta"]
    assert well["scalars"]["kappa"] == pytest.approx(0.01)
    window = _well_read(out, sample=2, time_idx=1, n_steps=2)["fields"]  # n_steps_input + n_steps_output = 2
    assert np.array_equal(window, u[2, :2])


def test_the_well_keeps_coefficients_as_constant_fields_and_walls(datasets):
    root, paths = datasets
    out = export_dataset(paths["darcy"], root / "darcy_well.h5", format="the-well", dataset_name="darcy_pdekit")
    a, u, _ = _arrays(paths["darcy"])
    well = _well_read(out, sample=0)
    assert well["meta"]["name"] == "darcy_pdekit" and well["meta"]["steps"] == 1
    assert np.array_equal(well["constant"], a[0]) and np.array_equal(well["fields"][0], u[0])
    assert np.array_equal(well["boundary"], np.full((2, 2), BC_CODES["WALL"]))


def _vector_solve(rng, resolution, *, speed):
    w = rng.standard_normal((resolution, resolution))
    frames = np.stack([np.stack([w * speed * k, -w * k, w ** 2 * k], axis=-1) for k in (1, 2)])
    return Sample(inputs=w[..., None], outputs=frames)


register_problem(Problem(
    name="export-vector-toy", summary="a test field with a vector part", defaults={"speed": 2.0},
    solve=_vector_solve, coordinates=lambda resolution, **p: {"x": np.arange(resolution) / resolution,
                                                              "y": np.arange(resolution) / resolution,
                                                              "t": np.array([0.5, 1.0])},
    input_names=("w",), output_names=("v_x", "v_y", "e")), replace=True)


def test_the_well_groups_vector_channels_and_takes_given_boundary_conditions(tmp_path):
    path = generate("export-vector-toy", tmp_path / "v.h5", n=2, resolution=6, seed=3, workers=0).path
    with pytest.raises(ValueError, match="records no boundary condition for axis 'x'"):
        export_dataset(path, tmp_path / "v_well.h5", format="the-well")
    out = export_dataset(path, tmp_path / "v_well.h5", format="the-well",
                         boundary_conditions={"x": "periodic", "y": "open"})
    w, frames, _ = _arrays(path)
    with h5py.File(out, "r") as f:
        assert list(f["t0_fields"].attrs["field_names"]) == ["e", "w"]
        assert list(f["t1_fields"].attrs["field_names"]) == ["v"]
        assert f["t1_fields"]["v"].shape == (2, 2, 6, 6, 2)  # B x T x H x W x D
    well = _well_read(out, sample=1)
    assert well["names"] == ["e", "w", "v_x", "v_y"]  # scalars first, then vectors flattened per component
    assert np.array_equal(well["fields"], frames[1][..., [2, 0, 1]])
    assert np.array_equal(well["constant"], w[1])  # w is not the initial value of v: a constant field
    assert np.array_equal(well["boundary"], [[BC_CODES["PERIODIC"]] * 2, [BC_CODES["OPEN"]] * 2])
    with pytest.raises(ValueError, match="PDEBench has no layout"):
        export_dataset(path, tmp_path / "v_pdebench.h5", format="pdebench")


def test_files_that_record_no_boundary_conditions_use_their_problems(datasets, tmp_path):
    root, paths = datasets
    old = tmp_path / "old.h5"
    old.write_bytes(paths["heat"].read_bytes())
    with h5py.File(old, "a") as f:  # as written before datasets recorded their boundary conditions
        del f.attrs["boundary_conditions"]
    out = export_dataset(old, tmp_path / "old_well.h5", format="the-well")
    assert np.array_equal(_well_read(out, 0)["boundary"], np.full((2, 2), BC_CODES["PERIODIC"]))


def test_refusals(datasets, tmp_path):
    root, paths = datasets
    target = tmp_path / "x.h5"
    export_dataset(paths["darcy"], target, format="the-well")
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        export_dataset(paths["darcy"], target, format="the-well")
    export_dataset(paths["heat"], target, format="the-well", overwrite=True)
    assert _well_read(target, 0)["meta"]["name"] == "heat"
    with pytest.raises(ValueError, match="is the dataset being exported"):
        export_dataset(paths["darcy"], paths["darcy"], format="pdebench", overwrite=True)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        export_dataset(paths["darcy"], tmp_path, format="pdebench")
    with pytest.raises(ValueError, match="unknown format"):
        export_dataset(paths["darcy"], tmp_path / "y.h5", format="zarr")
    with pytest.raises(ValueError, match="has no counterpart in The Well"):
        export_dataset(paths["darcy"], tmp_path / "y.h5", format="the-well", boundary_conditions={"x": "spiral",
                                                                                                 "y": "wall"})
    with pytest.raises(FileNotFoundError):
        export_dataset(tmp_path / "missing.h5", tmp_path / "y.h5", format="pdebench")
    assert not (tmp_path / "y.h5").exists()
