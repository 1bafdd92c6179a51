"""The resources of a batch job, checked once, in the words of ``sbatch``.

:class:`JobOptions` is what a user says about a job (``--partition``, ``--time``,
``--cpus-per-task``, ``--mem``, ``--account``, ``--gpus-per-node``, extra ``#SBATCH`` lines,
shell setup lines); :mod:`pdekit.cluster.launcher` turns it into the parameters of a
``submitit`` executor, so the same options drive a SLURM job array and submitit's local
executor.

Examples
--------
>>> opts = JobOptions(time="1-02:30:00", partition="cpu", mem_gb=8, sbatch_lines=("--qos=high",))
>>> opts.time_seconds
95400
>>> opts.slurm_parameters()["additional_parameters"]
{'qos': 'high'}
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

__all__ = ["JobOptions", "parse_time", "parse_sbatch_line"]

#: sbatch options that submitit sets itself (job arrays, log files, the pre-emption signal)
_RESERVED_SBATCH = ("array", "output", "error", "open-mode", "signal", "wckey")
_TIME_FORMATS = "minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (sbatch --time formats)"


def parse_time(value: int | float | str) -> int:
    """A job time limit in seconds, from minutes (a number) or an ``sbatch --time`` string.

    Accepted strings: ``"90"`` (minutes), ``"MM:SS"``, ``"HH:MM:SS"``, ``"D-HH"``,
    ``"D-HH:MM"``, ``"D-HH:MM:SS"``.

    Raises
    ------
    ValueError
        Another format, or a limit that is not positive.

    Examples
    --------
    >>> parse_time(90), parse_time("01:30:00"), parse_time("0:05"), parse_time("2-00")
    (5400, 5400, 5, 172800)
    """
    if isinstance(value, bool):
        raise TypeError(f"time must be minutes or an sbatch time string; got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"time must be a positive number of minutes; got {value!r}")
        return max(1, round(60 * value))
    if not isinstance(value, str):
        raise TypeError(f"time must be minutes or an sbatch time string; got {type(value).__name__}")
    text = value.strip()
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text)
    if m is None:
        raise ValueError(f"time {value!r} is not understood; expected {_TIME_FORMATS}")
    days, a, b, c = m.groups()
    if days is not None:  # D-HH[:MM[:SS]]
        seconds = int(days) * 86400 + int(a) * 3600 + int(b or 0) * 60 + int(c or 0)
    elif c is not None:  # HH:MM:SS
        seconds = int(a) * 3600 + int(b) * 60 + int(c)
    elif b is not None:  # MM:SS
        seconds = int(a) * 60 + int(b)
    else:  # minutes
        seconds = int(a) * 60
    if seconds <= 0:
        raise ValueError(f"time {value!r} must be a positive duration; expected {_TIME_FORMATS}")
    return seconds


def parse_sbatch_line(line: str) -> tuple[str, Any]:
    """One extra ``sbatch`` option as ``(name, value)``; a flag without a value gives ``True``.

    Accepted: ``"--qos=high"``, ``"--qos high"``, ``"#SBATCH --exclusive"``.

    Raises
    ------
    ValueError
        A line that is not an ``sbatch`` long option, or one that submitit sets itself.

    Examples
    --------
    >>> parse_sbatch_line("#SBATCH --constraint=a100"), parse_sbatch_line("--exclusive")
    (('constraint', 'a100'), ('exclusive', True))
    """
    if not isinstance(line, str):
        raise TypeError(f"an extra sbatch line must be a string; got {type(line).__name__}")
    text = line.strip()
    if text.startswith("#SBATCH"):
        text = text[len("#SBATCH"):].strip()
    m = re.fullmatch(r"--([A-Za-z][A-Za-z0-9_-]*)(?:[= ]\s*(\S.*))?", text)
    if m is None:
        raise ValueError(f"extra sbatch line {line!r} is not understood; expected a long option such "
                         f"as '--qos=high' or '#SBATCH --exclusive'")
    name, value = m.group(1), m.group(2)
    if name.replace("_", "-") in _RESERVED_SBATCH:
        raise ValueError(f"extra sbatch line {line!r} sets --{name}, which the launcher sets itself "
                         f"(job arrays and log files); remove it")
    return name.replace("_", "-"), (True if value is None else value.strip())


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return value


def _check_name(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not value.strip() or any(ch.isspace() for ch in value):
        raise ValueError(f"{name} must be a non-empty word without spaces; got {value!r}")


@dataclasses.dataclass(frozen=True)
class JobOptions:
    """The resources of each job of a submission (every task of an array gets the same).

    Parameters
    ----------
    name : str
        Job name (``sbatch --job-name``).
    time : int, float or str
        Wall-clock limit: minutes, or an ``sbatch --time`` string (``"HH:MM:SS"``,
        ``"D-HH:MM"``, ...). Default one hour. A job near its limit is signalled, and a
        resumable job is requeued to continue where it stopped.
    partition, account : str, optional
        ``sbatch --partition`` / ``--account``.
    cpus_per_task : int
        ``sbatch --cpus-per-task``.
    mem_gb : float, optional
        Memory per node in GB (``sbatch --mem``).
    gpus_per_node : int
        ``sbatch --gpus-per-node`` (0: none requested).
    nodes, tasks_per_node : int
        Nodes per job and tasks per node; each task runs the submitted function (a
        ``torchrun`` job usually wants one task per node). The local launcher has one node.
    array_parallelism : int, optional
        At most this many tasks of an array run at once (``--array=0-N%P``).
    sbatch_lines : tuple of str
        Extra ``sbatch`` options, e.g. ``("--qos=high", "#SBATCH --constraint=a100")``.
    setup : tuple of str
        Shell lines run before the job starts (``module load ...``, ``source venv/bin/activate``).

    Raises
    ------
    ValueError, TypeError
        Any option out of range or of the wrong type, with what was expected.
    """

    name: str = "pdekit"
    time: int | float | str = 60
    partition: str | None = None
    account: str | None = None
    cpus_per_task: int = 1
    mem_gb: float | None = None
    gpus_per_node: int = 0
    nodes: int = 1
    tasks_per_node: int = 1
    array_parallelism: int | None = None
    sbatch_lines: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name("name", self.name)
        if self.name is None:
            raise ValueError("name must be a non-empty word without spaces; got None")
        parse_time(self.time)
        _check_name("partition", self.partition)
        _check_name("account", self.account)
        _check_count("cpus_per_task", self.cpus_per_task, 1)
        _check_count("gpus_per_node", self.gpus_per_node, 0)
        _check_count("nodes", self.nodes, 1)
        _check_count("tasks_per_node", self.tasks_per_node, 1)
        if self.array_parallelism is not None:
            _check_count("array_parallelism", self.array_parallelism, 1)
        if self.mem_gb is not None:
            if isinstance(self.mem_gb, bool) or not isinstance(self.mem_gb, (int, float)) \
                    or not math.isfinite(self.mem_gb) or self.mem_gb <= 0:
                raise ValueError(f"mem_gb must be a positive number of GB; got {self.mem_gb!r}")
        for field in ("sbatch_lines", "setup"):
            value = getattr(self, field)
            if isinstance(value, str):
                value = (value,)
            value = tuple(value)
            if not all(isinstance(v, str) for v in value):
                raise TypeError(f"{field} must be a sequence of strings; got {value!r}")
            object.__setattr__(self, field, value)
        names = [parse_sbatch_line(line)[0] for line in self.sbatch_lines]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"extra sbatch lines set {['--' + n for n in doubled]} more than once")

    @property
    def time_seconds(self) -> int:
        """The wall-clock limit in seconds."""
        return parse_time(self.time)

    def replace(self, **changes: Any) -> "JobOptions":
        """A copy with some options changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def slurm_parameters(self) -> dict[str, Any]:
        """Parameters of ``submitit.SlurmExecutor.update_parameters`` (sbatch names)."""
        params: dict[str, Any] = {
            "job_name": self.name,
            "time": max(1, math.ceil(self.time_seconds / 60)),
            "nodes": self.nodes,
            "ntasks_per_node": self.tasks_per_node,
            "cpus_per_task": self.cpus_per_task,
            "signal_delay_s": min(90, max(10, self.time_seconds // 10)),
        }
        if self.partition:
            params["partition"] = self.partition
        if self.account:
            params["account"] = self.account
        if self.mem_gb is not None:
            params["mem"] = (f"{int(self.mem_gb)}GB" if float(self.mem_gb).is_integer()
                             else f"{math.ceil(self.mem_gb * 1024)}MB")
        if self.gpus_per_node:
            params["gpus_per_node"] = self.gpus_per_node
        if self.array_parallelism is not None:
            params["array_parallelism"] = self.array_parallelism
        if self.setup:
            params["setup"] = list(self.setup)
        extra = dict(parse_sbatch_line(line) for line in self.sbatch_lines)
        if extra:
            params["additional_parameters"] = extra
        return params

    def local_parameters(self) -> dict[str, Any]:
        """Parameters of ``submitit.LocalExecutor.update_parameters``.

        The local executor runs every job on this machine: partition, account, memory and
        extra sbatch lines do not apply; time, tasks, GPUs and setup lines do.
        """
        if self.nodes != 1:
            raise ValueError(f"the local launcher runs jobs on this one machine; got nodes={self.nodes}")
        seconds = self.time_seconds
        params: dict[str, Any] = {
            "timeout_min": seconds / 60,
            "tasks_per_node": self.tasks_per_node,
            "gpus_per_node": self.gpus_per_node,
            "signal_delay_s": max(1, min(30, seconds // 4)),
        }
        if self.setup:
            params["setup"] = list(self.setup)
        return params
