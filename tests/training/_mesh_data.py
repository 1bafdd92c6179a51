"""Small darcy-fem files on an irregular L-shaped mesh and on its refinement (GINO tests)."""

from __future__ import annotations

from pathlib import Path

from pdekit import meshes
from pdekit.data.generation import generate


def darcy_fem_files(folder: Path, *, mesh_n: int, n_coarse: int, n_fine: int) -> Path:
    """Write ``coarse.vtu`` (perturbed ``l_shape(mesh_n)``), ``fine.vtu`` (refined once),
    ``coarse.h5`` (seed 0) and ``fine.h5`` (seed 1) into ``folder``; return it."""
    coarse = meshes.perturb(meshes.l_shape(mesh_n), 0.3, rng=0, boundary="slide")
    meshes.write(folder / "coarse.vtu", coarse)
    meshes.write(folder / "fine.vtu", meshes.refine(coarse))
    for name, n, seed in (("coarse", n_coarse, 0), ("fine", n_fine, 1)):
        generate("darcy-fem", folder / f"{name}.h5", n=n, resolution=2, seed=seed, workers=0,
                 mesh=str(folder / f"{name}.vtu"))
    return folder
