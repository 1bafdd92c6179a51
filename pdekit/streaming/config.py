"""The settings of a streaming run: one validated record, saved as ``RUN/config.json``.

The coordinator writes it; every training rank reads it; a run folder is resumed only with
the same settings (:meth:`StreamConfig.difference` names what changed). ``--config FILE``
reads the same keys from TOML (dashes or underscores).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shlex
import shutil
from pathlib import Path
from typing import Any, Mapping

from pdekit.streaming.sampler import ParameterSpace

__all__ = ["StreamConfig", "parse_memory", "load_toml", "OPERATIONAL_KEYS"]

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "k": 10**3, "m": 10**6, "g": 10**9}

#: settings that may change when a run is resumed (they do not change what is learned)
OPERATIONAL_KEYS = ("quiet", "launcher", "clients", "timeout", "max_restarts", "device", "host",
                    "heartbeat", "liveness", "slurm", "progress_every")


def parse_memory(value: str | int | float) -> int:
    """Bytes from ``"2GB"``, ``"512MiB"``, ``"1.5e9"`` or a number (KB/MB/GB are powers of 10,
    KiB/MiB/GiB powers of 2)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        n = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"--memory {value!r} does not parse; expected bytes with a unit such as "
                             f"2GB, 512MB or 1.5GiB")
        n = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not math.isfinite(n) or n < 1:
        raise ValueError(f"--memory must be a positive number of bytes; got {value!r}")
    return int(n)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Settings from a TOML file (keys as on the command line, dashes or underscores)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError("--config needs Python 3.11 or the tomli package") from None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:  # noqa: BLE001 - tomllib.TOMLDecodeError and UnicodeDecodeError
        raise ValueError(f"{str(path)!r} is not valid TOML: {exc}") from None
    return {k.replace("-", "_"): v for k, v in data.items()}


@dataclasses.dataclass
class StreamConfig:
    """Everything ``pdekit stream`` needs (see ``pdekit stream --help`` for each key)."""

    out: str
    simulations: int
    steps: int
    pde: str | None = None
    resolution: int | None = None
    command: str | None = None
    parameters: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    clients: int = 4
    ranks: int = 1
    model: str = "fno"
    modes: int = 12
    width: int = 32
    layers: int = 4
    buffer: str = "reservoir"
    memory: int = 2 * 10**9
    watermark: int = 32
    batch_size: int = 16
    lr: float = 1e-3
    target: str = "autoregressive"
    validation: int = 2
    eval_every: int = 100
    timeout: float | None = None
    max_crashes: int = 3
    max_redraws: int = 3
    seed: int = 0
    launcher: str = "local"
    checkpoint_every: int = 0
    max_restarts: int = 3
    device: str | None = None
    host: str = "127.0.0.1"
    heartbeat: float = 1.0
    liveness: int = 10
    quiet: bool = False
    progress_every: float = 0.5
    slurm: dict[str, Any] = dataclasses.field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "StreamConfig":
        """Build and validate from a mapping (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; expected some of {sorted(names)}")
        values = dict(values)
        if "memory" in values:
            values["memory"] = parse_memory(values["memory"])
        params = values.get("parameters") or {}
        if not isinstance(params, Mapping):  # "NAME=LOW:HIGH" strings
            params = ParameterSpace(list(params)).as_json()
        values["parameters"] = {str(k): [float(v[0]), float(v[1])] for k, v in params.items()}
        if values.get("launcher") == "slurm" and "host" not in values:
            values["host"] = "*"  # compute nodes must reach the coordinator and the ranks
        cfg = cls(**values)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise ValueError/FileNotFoundError naming the first bad setting."""
        if (self.pde is None) == (self.command is None):
            raise ValueError("give either --pde NAME (pdekit's own solvers) or --command \"...\" "
                             "(an external solver that uses StreamClient), not both or neither")
        for key in ("simulations", "steps", "clients", "ranks", "modes", "width", "layers",
                    "watermark", "batch_size", "max_crashes", "liveness"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"--{key.replace('_', '-')} must be a positive integer; got {v!r}")
        for key in ("validation", "max_redraws", "checkpoint_every", "max_restarts", "eval_every"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"--{key.replace('_', '-')} must be an integer >= 0; got {v!r}")
        for key in ("lr", "heartbeat", "progress_every"):
            v = getattr(self, key)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"--{key.replace('_', '-')} must be a positive number; got {v!r}")
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"--timeout must be a positive number of seconds; got {self.timeout!r}")
        from pdekit.streaming.buffers import BUFFERS
        from pdekit.streaming.targets import TARGETS

        for key, choices in (("buffer", BUFFERS), ("target", TARGETS), ("launcher", ("local", "slurm")),
                             ("model", ("fno", "tfno", "mgtfno"))):
            if getattr(self, key) not in choices:
                raise ValueError(f"unknown --{key} {getattr(self, key)!r}; expected one of {sorted(choices)}")
        if self.target == "autoregressive" and self.steps < 2:
            raise ValueError(f"the autoregressive target pairs consecutive steps; --steps must be >= 2, got {self.steps}")
        if self.target == "parameters" and not self.parameters:
            raise ValueError("--target parameters learns (parameters, t) -> fields; give at least one "
                             "--parameter NAME=LOW:HIGH")
        ParameterSpace(self.parameters, draw_seed=self.pde is not None)  # checks names and ranges
        if self.pde is not None:
            self._validate_problem()
        else:
            self._validate_command()
        if self.launcher == "slurm":
            from pdekit.cluster import check_slurm
            from pdekit.streaming.slurm import job_options

            job_options(self, name="pdekit-stream")  # checks partition, time, ... in sbatch's words
            check_slurm(hint="use --launcher local, or the sbatch templates in examples/slurm")
        elif self.slurm:
            raise ValueError(f"job options {sorted(self.slurm)} need --launcher slurm")

    def _validate_problem(self) -> None:
        from pdekit.streaming.problem_client import check_problem
        from pdekit.streaming.targets import make_target

        if self.resolution is None:
            raise ValueError(f"--pde {self.pde} needs --resolution (grid points per axis)")
        check_problem(self.pde, self.resolution, self.steps, self.parameters)
        step = 8 * self.resolution**2  # one float64 field on the grid
        need = make_target(self.target, steps=self.steps, parameter_names=list(self.parameters)).minimum_budget(
            step, 1 if self.buffer == "reservoir" else self.batch_size)
        if self.budget_per_rank < need:
            raise ValueError(f"--memory {self.memory:,} bytes gives each of the {self.ranks} ranks "
                             f"{self.budget_per_rank:,} bytes, smaller than one training sample plus the "
                             f"stream's working set ({need:,} bytes for {self.resolution}x{self.resolution} "
                             f"float64 steps); raise --memory")

    def _validate_command(self) -> None:
        try:
            argv = shlex.split(self.command)
        except ValueError as exc:
            raise ValueError(f"--command {self.command!r} does not parse as a shell command: {exc}") from None
        if not argv:
            raise ValueError("--command is empty; give the solver command, e.g. \"python my_solver.py\"")
        exe = argv[0]
        if "=" in exe and not exe.startswith(("/", ".")):
            return  # VAR=value prefix: the shell resolves the program
        if shutil.which(exe) is None and not Path(exe).is_file():
            raise FileNotFoundError(f"solver command {exe!r} (from --command {self.command!r}) was not "
                                    f"found on PATH or as a file")

    # ------------------------------------------------------------------ persistence
    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        from pdekit._atomic import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "StreamConfig":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**data)

    def difference(self, other: "StreamConfig") -> list[str]:
        """Settings (other than :data:`OPERATIONAL_KEYS` and ``out``) that differ from ``other``."""
        a, b = self.as_json(), other.as_json()
        return [f"{k} ({b[k]!r} before, {a[k]!r} now)" for k in a
                if k not in OPERATIONAL_KEYS and k != "out" and a[k] != b.get(k)]

    # ------------------------------------------------------------------ derived
    @property
    def budget_per_rank(self) -> int:
        """``memory`` split evenly over the ranks (bytes)."""
        return self.memory // self.ranks

    def parameter_space(self) -> ParameterSpace:
        return ParameterSpace(self.parameters, seed=self.seed, draw_seed=self.pde is not None)
