"""Label-free training of DCDM networks on the solvers' own matrices.

The loss of Kaneda et al. (ICML 2023): for a unit right-hand side ``b`` and ``q = f(b)``,

    L(b) = || b - (q.b / q.Aq) A q ||^2,

the squared residual left by one exact line search along the network's direction; it is zero
when ``f`` is a multiple of ``A^-1``. Right-hand sides come from Lanczos Ritz vectors of each
matrix, low end of the spectrum weighted 9x (:func:`pdekit.data.ritz.ritz_rhs`). Systems are
drawn at random: for grid networks (:func:`random_grid_system`) 2D or 3D Poisson grids with
random obstacles, random Dirichlet/Neumann sides and, for some, a piecewise-constant Darcy
coefficient; for algebraic networks (:func:`random_fem_system`) finite-element stiffness
matrices of pdekit's own meshes, P1 and P2, 2D and 3D, with random thresholded or lognormal
coefficients and random Dirichlet parts of the boundary. Optimisation, checkpoints and progress
go through :class:`pdekit.training.Trainer`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from pdekit.data.ritz import ritz_rhs
from pdekit.solvers.fd import GridSystem, poisson_system, side_names
from pdekit.solvers.random_fields import gaussian_random_field, threshold_coefficient
from pdekit.training.trainer import Trainer

__all__ = ["dcdm_loss", "random_grid_system", "random_fem_system", "FEMSystem", "RitzBatches", "train_dcdm",
           "train_pretrained", "PRETRAINED_RECIPES"]


def dcdm_loss(model: Any, batch: dict[str, Any]) -> torch.Tensor:
    """Mean over the batch of ``||b - (q.b / q.Aq) A q||^2 / ||b||^2`` with ``q = model(b)``.

    Parameters
    ----------
    model : VCycleNet (or a DDP wrapper of one)
        Called as ``model(hierarchy, b)``.
    batch : dict
        ``"hierarchy"``: a :class:`~pdekit.operators.dcdm.TorchHierarchy`;
        ``"rhs"``: (n, B) tensor of right-hand sides.
    """
    h, b = batch["hierarchy"], batch["rhs"]
    q = model(h, b)
    Aq = h.matrix @ q
    alpha = (q * b).sum(0) / (q * Aq).sum(0)
    residual = b - alpha * Aq
    return ((residual ** 2).sum(0) / (b ** 2).sum(0)).mean()


def _random_obstacle(shape: tuple[int, ...], rng: np.random.Generator, count: int) -> np.ndarray:
    """Union of ``count`` random boxes and balls covering a modest part of the interior."""
    solid = np.zeros(shape, dtype=bool)
    coords = np.meshgrid(*[np.linspace(0.0, 1.0, s) for s in shape], indexing="ij")
    for _ in range(count):
        centre = rng.uniform(0.15, 0.85, size=len(shape))
        half = rng.uniform(0.04, 0.14, size=len(shape))
        if rng.random() < 0.5:
            inside = np.all([np.abs(c - x) <= h for c, x, h in zip(coords, centre, half)], axis=0)
        else:
            inside = sum((c - x) ** 2 for c, x in zip(coords, centre)) <= half[0] ** 2
        solid |= inside
    return solid


def random_grid_system(ndim: int, size: int, rng: np.random.Generator, *, max_obstacles: int = 4,
                       neumann_probability: float = 0.4, darcy_probability: float = 0.3) -> GridSystem:
    """A random Poisson/Darcy system on a ``size^ndim`` node grid (see the module doc).

    Parameters
    ----------
    ndim : {2, 3}
    size : int
        Nodes per axis, boundary included.
    rng : numpy Generator
    max_obstacles : int
        Up to this many random boxes/balls become solid (u = 0) nodes.
    neumann_probability : float
        Chance of each side being Neumann (at least one side stays Dirichlet).
    darcy_probability : float
        Chance of a piecewise-constant coefficient (thresholded Gaussian random field, contrast
        drawn in [2, 20]) instead of a = 1.
    """
    shape = (int(size),) * ndim
    sides = side_names(ndim)
    kinds = ["neumann" if rng.random() < neumann_probability else "dirichlet" for _ in sides]
    if "dirichlet" not in kinds:
        kinds[int(rng.integers(len(kinds)))] = "dirichlet"
    obstacle = _random_obstacle(shape, rng, int(rng.integers(0, max_obstacles + 1)))
    a = None
    if rng.random() < darcy_probability:
        field = gaussian_random_field(shape, alpha=2.0, tau=3.0, bc="neumann", rng=rng)
        a = threshold_coefficient(field, high=float(rng.uniform(2.0, 20.0)), low=1.0)
    return poisson_system(shape, a=a, obstacle=obstacle if obstacle.any() else None,
                          bc=dict(zip(sides, kinds)))


@dataclasses.dataclass
class FEMSystem:
    """A condensed finite-element system: ``matrix`` (n, n) SPD, ``rhs`` (n,), and what it is."""

    matrix: Any
    rhs: np.ndarray
    description: str
    unknowns: None = None  # no grid


def random_fem_system(rng: np.random.Generator, *, dim: int | None = None, degree: int | None = None,
                      size: int | None = None) -> FEMSystem:
    """A random SPD stiffness matrix ``-div(a grad u)`` of one of pdekit's meshes (see the module doc).

    Parameters
    ----------
    rng : numpy Generator
    dim : {2, 3}, optional
        Drawn when None.
    degree : {1, 2}, optional
        Drawn when None.
    size : int, optional
        Mesh resolution parameter (cells per side); drawn so that the system has about 1,000 to
        15,000 unknowns when None.

    Notes
    -----
    2D meshes: the structured and the perturbed (unstructured) unit square; 3D: the structured
    and the unstructured unit cube. The disk and the L-shape are kept out of training: the
    benchmark evaluates on them. The coefficient is a random-feature Gaussian field (length
    scale in [0.05, 0.3]) thresholded to a contrast in [2, 50] or made lognormal; Dirichlet
    conditions hold on the whole boundary or on one to three sides (Neumann elsewhere).
    """
    from pdekit import meshes
    from pdekit.solvers import fem
    from pdekit.solvers.random_fields import draw_random_field, lognormal_coefficient, threshold_coefficient

    dim = int(rng.choice([2, 3])) if dim is None else int(dim)
    degree = int(rng.choice([1, 2])) if degree is None else int(degree)
    if dim not in (2, 3) or degree not in (1, 2):
        raise ValueError(f"dim must be 2 or 3 and degree 1 or 2; got dim={dim}, degree={degree}")
    if size is None:
        size = int(rng.integers(30, 100)) if dim == 2 else int(rng.integers(8, 20))
        size = max(4, size // degree)
    unstructured = bool(rng.random() < 0.6)
    if dim == 2:
        mesh = meshes.unstructured_square(size, rng=rng) if unstructured else meshes.unit_square(size)
        sides = ["left", "right", "bottom", "top"]
    else:
        mesh = meshes.unstructured_cube(size, rng=rng) if unstructured else meshes.unit_cube(size)
        sides = ["left", "right", "bottom", "top", "front", "back"]
    space = fem.function_space(mesh, degree)
    field = draw_random_field(rng, dim, length_scale=float(rng.uniform(0.05, 0.3)))
    values = field(meshes.cell_centroids(mesh.points, mesh.cells).T)
    if rng.random() < 0.5:
        contrast = float(np.exp(rng.uniform(np.log(2.0), np.log(50.0))))
        a, kind = threshold_coefficient(values, high=contrast, low=1.0), f"threshold {contrast:.3g}"
    else:
        a, kind = lognormal_coefficient(values, scale=float(rng.uniform(0.5, 2.0))), "lognormal"
    tags = None if rng.random() < 0.5 else list(rng.choice(sides, size=int(rng.integers(1, 4)), replace=False))
    dofs = fem.dirichlet_dofs(space, tags)
    system = fem.condense(fem.stiffness_matrix(space, a), fem.load_vector(space, 1.0), dofs, 0.0)
    what = (f"P{degree} {'unstructured' if unstructured else 'structured'} {dim}D size {size}, {kind}, "
            f"Dirichlet on {'all sides' if tags is None else '+'.join(tags)}")
    return FEMSystem(system.matrix, system.rhs, what)


class RitzBatches:
    """Batches ``{"hierarchy", "rhs"}`` cycling over systems, with Ritz right-hand sides.

    Parameters
    ----------
    model : VCycleNet
        Builds each system's hierarchy (setup is done once, here).
    systems : sequence of GridSystem or FEMSystem
        Their ``matrix`` and, for grid networks, ``unknowns``.
    rhs_per_system : int
        Ritz right-hand sides drawn per system.
    batch_size : int
        Right-hand sides per batch (all from one system).
    steps_per_epoch : int
    n_ritz : int
        Lanczos steps per system.
    seed : int
    """

    def __init__(self, model: Any, systems: Sequence[GridSystem], *, rhs_per_system: int = 32,
                 batch_size: int = 8, steps_per_epoch: int = 50, n_ritz: int = 64, seed: int = 0) -> None:
        if not systems:
            raise ValueError("RitzBatches needs at least one system")
        self.items = []
        for i, s in enumerate(systems):
            grid = {} if getattr(s, "unknowns", None) is None else {"unknowns": s.unknowns}
            h = model.hierarchy(s.matrix, **grid)
            rhs = ritz_rhs(s.matrix, rhs_per_system, n_ritz=min(n_ritz, s.matrix.shape[0]), seed=seed + 7 * i)
            self.items.append((h, torch.from_numpy(rhs.T.copy())))
        self.batch_size = min(int(batch_size), int(rhs_per_system))
        self.steps_per_epoch = int(steps_per_epoch)
        self.seed = int(seed)
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self._epoch = int(epoch)

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rng = np.random.default_rng((self.seed, self._epoch))
        for step in range(self.steps_per_epoch):
            h, rhs = self.items[int(rng.integers(len(self.items)))]
            cols = rng.choice(rhs.shape[1], size=self.batch_size, replace=False)
            yield {"hierarchy": h, "rhs": rhs[:, torch.from_numpy(cols)]}


def train_dcdm(model: Any, systems: Sequence[GridSystem], *, epochs: int = 10, steps_per_epoch: int = 50,
               batch_size: int = 8, rhs_per_system: int = 32, n_ritz: int = 64, lr: float = 1e-2,
               seed: int = 0, out_dir: str | os.PathLike | None = None, progress=None) -> dict[str, Any]:
    """Train a DCDM network with :func:`dcdm_loss` on Ritz right-hand sides of ``systems``.

    Returns
    -------
    dict
        ``history`` (per-epoch records of the Trainer), ``setup_seconds`` (hierarchies and
        Lanczos), ``train_seconds``, ``initial_loss`` and ``final_loss`` (mean loss over all
        right-hand sides before and after training).
    """
    t0 = time.perf_counter()
    batches = RitzBatches(model, systems, rhs_per_system=rhs_per_system, batch_size=batch_size,
                          steps_per_epoch=steps_per_epoch, n_ritz=n_ritz, seed=seed)
    setup = time.perf_counter() - t0

    def full_loss() -> float:
        with torch.no_grad():
            return float(np.mean([dcdm_loss(model, {"hierarchy": h, "rhs": r}).item() for h, r in batches.items]))

    initial = full_loss()
    trainer = Trainer(model, loss_fn=dcdm_loss, lr=lr, epochs=epochs, seed=seed, device="cpu",
                      distributed=False, out_dir=out_dir, progress=progress, scheduler="cosine")
    t1 = time.perf_counter()
    history = trainer.fit(batches)
    return {"history": history, "setup_seconds": setup, "train_seconds": time.perf_counter() - t1,
            "initial_loss": initial, "final_loss": full_loss()}


#: how the shipped networks (``pdekit.operators.pretrained``) are trained
PRETRAINED_RECIPES: dict[str, dict[str, Any]] = {
    "dcdm-poisson-2d": {"model": {"ndim": 2, "stencil": "box", "smoothing_steps": 1, "interpolation": "operator"},
                        "sizes": [65, 97, 129], "n_systems": 16, "epochs": 15, "steps_per_epoch": 40,
                        "batch_size": 8, "rhs_per_system": 32, "n_ritz": 64, "lr": 2e-2, "seed": 0},
    "dcdm-poisson-3d": {"model": {"ndim": 3, "stencil": "box", "smoothing_steps": 1, "interpolation": "operator"},
                        "sizes": [25, 33], "n_systems": 10, "epochs": 10, "steps_per_epoch": 30,
                        "batch_size": 4, "rhs_per_system": 16, "n_ritz": 48, "lr": 2e-2, "seed": 0},
    "dcdm-algebraic": {"network": "AlgebraicVCycleNet",
                       "model": {"degree": 2, "smoothing_steps": 2, "level_groups": 2, "cycle": "K"},
                       "fem": True, "n_systems": 16, "epochs": 12, "steps_per_epoch": 40,
                       "batch_size": 8, "rhs_per_system": 32, "n_ritz": 64, "lr": 2e-2, "seed": 0},
}


def train_pretrained(name: str, directory: str | os.PathLike, *, scale: float = 1.0, progress=None,
                     overwrite: bool = False) -> dict[str, Any]:
    """Train the shipped network ``name`` by its recipe and write ``NAME.pt`` and ``NAME.json``.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED_RECIPES`.
    directory : path-like
        Where the weights and the training card are written (atomically).
    scale : float in (0, 1]
        Shrink the number of systems and epochs (for quick checks); 1 reproduces the shipped run.
    overwrite : bool
        Replace an existing ``NAME.pt`` / ``NAME.json`` (otherwise FileExistsError, before training).

    Returns
    -------
    dict
        The training card (also written as JSON).
    """
    import json
    import platform
    from pathlib import Path

    from pdekit._atomic import atomic_path, refuse_existing
    from pdekit.operators.dcdm import VCycleNet
    from pdekit.operators.dcdm_algebraic import AlgebraicVCycleNet

    if name not in PRETRAINED_RECIPES:
        raise ValueError(f"unknown pretrained network {name!r}; expected one of {sorted(PRETRAINED_RECIPES)}")
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"scale must be in (0, 1]; got {scale}")
    recipe = PRETRAINED_RECIPES[name]
    for suffix in (".pt", ".json"):
        refuse_existing(Path(directory) / f"{name}{suffix}", overwrite)
    rng = np.random.default_rng(recipe["seed"])
    n_systems = max(1, int(round(recipe["n_systems"] * scale)))
    t0 = time.perf_counter()
    if recipe.get("fem"):  # one of each (dim, degree) first, then at random
        kinds = [(2, 1), (2, 2), (3, 1), (3, 2)]
        systems = [random_fem_system(rng, dim=kinds[i][0], degree=kinds[i][1]) if i < len(kinds)
                   else random_fem_system(rng) for i in range(n_systems)]
    else:
        systems = [random_grid_system(recipe["model"]["ndim"], int(rng.choice(recipe["sizes"])), rng)
                   for _ in range(n_systems)]
    generate = time.perf_counter() - t0
    model = AlgebraicVCycleNet(**recipe["model"]) if recipe.get("network") == "AlgebraicVCycleNet" \
        else VCycleNet(**recipe["model"])
    result = train_dcdm(model, systems, epochs=max(1, int(round(recipe["epochs"] * scale))),
                        steps_per_epoch=recipe["steps_per_epoch"], batch_size=recipe["batch_size"],
                        rhs_per_system=recipe["rhs_per_system"], n_ritz=recipe["n_ritz"], lr=recipe["lr"],
                        seed=recipe["seed"], progress=progress)
    card = {"name": name, "model": type(model).__name__, "config": model.config, "recipe": recipe,
            "scale": scale, "n_parameters": model.n_parameters(),
            "systems": [{"shape": list(s.shape), "unknowns": int(s.matrix.shape[0])} if hasattr(s, "shape")
                        else {"system": s.description, "unknowns": int(s.matrix.shape[0])} for s in systems],
            "generate_seconds": generate, "setup_seconds": result["setup_seconds"],
            "train_seconds": result["train_seconds"],
            "total_seconds": generate + result["setup_seconds"] + result["train_seconds"],
            "initial_loss": result["initial_loss"], "final_loss": result["final_loss"],
            "loss_per_epoch": [float(h.get("train_loss", h.get("loss", float("nan")))) for h in result["history"]],
            "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine()}
    directory = Path(directory)
    model.save(directory / f"{name}.pt", overwrite=overwrite)
    with atomic_path(directory / f"{name}.json", overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(card, indent=1) + "\n")
    return card
