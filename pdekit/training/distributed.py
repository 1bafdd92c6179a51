"""Distributed data parallel under ``torchrun``: detection, set-up and small collectives.

``torchrun`` (or SLURM via ``srun torchrun``) sets the environment variables ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` for each process. :func:`init_distributed` reads them,
opens the process group (NCCL when the process drives a GPU, gloo on CPU) and says which
device this rank uses. Without those variables, or with ``WORLD_SIZE=1``, everything runs
in one process and the collectives below do nothing.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["DistributedContext", "init_distributed", "env_world", "pick_device", "all_reduce_sum",
           "gather_objects", "barrier"]


@dataclasses.dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) run.

    Attributes
    ----------
    rank, world_size, local_rank : int
        Global rank, number of ranks, rank on this node.
    device : torch.device
        The device this rank computes on.
    backend : str or None
        ``"nccl"`` or ``"gloo"``; None when not distributed.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the rank that writes files and prints."""
        return self.rank == 0


def env_world(environ: dict[str, str] | None = None) -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``.

    Missing variables mean a single process ``(0, 1, 0)``.

    Raises
    ------
    ValueError
        A variable is not an integer, or the ranks are inconsistent.
    """
    env = os.environ if environ is None else environ
    values = []
    for name, default in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", None)):
        raw = env.get(name, default if default is not None else env.get("RANK", "0"))
        try:
            values.append(int(raw))
        except ValueError:
            raise ValueError(f"environment variable {name} must be an integer; got {raw!r}") from None
    rank, world, local = values
    if world < 1 or not (0 <= rank < world) or local < 0:
        raise ValueError(
            f"inconsistent distributed environment: RANK={rank}, WORLD_SIZE={world}, "
            f"LOCAL_RANK={local}; expected 0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0"
        )
    return rank, world, local


#: device types a run can compute on (each also needs its backend to be available)
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


def _available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    backend = getattr(torch, kind, None)
    return bool(backend is not None and callable(getattr(backend, "is_available", None))
                and backend.is_available())


def pick_device(device: str | torch.device | None = None, local_rank: int = 0) -> torch.device:
    """The device a run computes on, checked.

    Parameters
    ----------
    device : str or torch.device, optional
        ``"cpu"``, ``"cuda"`` (GPU ``local_rank``), ``"cuda:N"``, ``"mps"``; default: the local
        GPU if there is one, else the CPU.
    local_rank : int
        This process's rank on its node (picks the GPU for a bare ``"cuda"``).

    Raises
    ------
    ValueError
        An unknown device name, a device that holds no data (``"meta"``), a backend this
        torch build or machine lacks (``"cuda"`` on a CPU-only torch), or a GPU index
        beyond the GPUs visible.
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {str(device)!r}; expected 'cpu', 'cuda' or 'cuda:N' "
                         f"(a GPU index)") from None
    if dev.type not in DEVICE_TYPES:
        raise ValueError(f"device {str(device)!r} cannot run training or evaluation; expected 'cpu', "
                         f"'cuda' or 'cuda:N'")
    if not _available(dev.type):
        if dev.type == "cuda":
            build = ("this torch build has no CUDA support" if torch.version.cuda is None
                     else "no GPU is visible (CUDA_VISIBLE_DEVICES, driver)")
            raise ValueError(f"device {str(device)!r} asked for, but {build} (torch {torch.__version__}); "
                             f"use --device cpu, or install a CUDA build of torch (README: GPUs and clusters)")
        raise ValueError(f"device {str(device)!r} is not available on this machine; use 'cpu'")
    if dev.type == "cuda":
        count = torch.cuda.device_count()
        if dev.index is None:
            dev = torch.device("cuda", local_rank % count)
        elif dev.index >= count:
            raise ValueError(f"device {str(device)!r} asked for, but only {count} GPU(s) are visible "
                             f"(cuda:0 to cuda:{count - 1})")
    return dev


_pick_device = pick_device  # the name other modules used before it was public


def init_distributed(*, device: str | torch.device | None = None,
                     backend: str | None = None) -> DistributedContext:
    """Open the process group if the environment asks for more than one rank.

    Parameters
    ----------
    device : str or torch.device, optional
        ``"cpu"``, ``"cuda"`` (this rank's GPU is ``LOCAL_RANK``) or an explicit device;
        default: the local GPU if there is one, else the CPU.
    backend : {"nccl", "gloo"}, optional
        Default: NCCL for CUDA devices, gloo otherwise.

    Returns
    -------
    DistributedContext
    """
    rank, world, local = env_world()
    dev = pick_device(device, local)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world == 1:
        return DistributedContext(0, 1, 0, dev, None)
    if backend is None:
        backend = "nccl" if dev.type == "cuda" else "gloo"
    if backend not in ("nccl", "gloo"):
        raise ValueError(f"unknown distributed backend {backend!r}; expected 'nccl' or 'gloo'")
    if not dist.is_initialized():
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if name not in os.environ:
                raise ValueError(
                    f"WORLD_SIZE={world} asks for a distributed run but {name} is not set; "
                    f"launch with torchrun, or set MASTER_ADDR and MASTER_PORT"
                )
        store = _restart_store(world)
        if store is None:
            dist.init_process_group(backend=backend, rank=rank, world_size=world)
        else:
            dist.init_process_group(backend=backend, store=store, rank=rank, world_size=world)
    return DistributedContext(rank, world, local, dev, backend)


def _restart_store(world: int):
    """A store private to this torchrun restart, or None to let ``env://`` build one.

    Under torchrun the agent's store outlives a restart (``--max-restarts``), and the gloo
    addresses the previous ranks published there are still in it: a rank that starts early
    connects to a dead peer ("Connection refused") and the restart fails. Prefixing the keys
    with the restart count keeps each generation to itself.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    import datetime

    restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world,
                          is_master=False, timeout=datetime.timedelta(minutes=30))
    return dist.PrefixStore(f"pdekit/restart-{restart}", store)


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` over all ranks (in place, returned); identity without a process group."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` without a process group)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        out: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(out, obj)
        return out
    return [obj]


def barrier() -> None:
    """Wait for all ranks (no-op without a process group)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()
