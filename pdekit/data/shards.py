"""Shards of a dataset: a fixed assignment of sample indices, and how far each shard got.

Shard ``K`` of ``N`` (``0 <= K < N``, as ``$SLURM_ARRAY_TASK_ID`` of ``--array=0-(N-1)``)
solves the samples ``i`` with ``i % N == K``: ``K, K + N, K + 2N, ...``. The assignment
depends on nothing else (not on ``n``, the machine or the other shards), so any number of
shards can run at once on nodes sharing a file system, each resumable on its own, and a
dataset extended to a larger ``n`` keeps it. Sample ``i`` is the same whichever shard
solves it (its seed is ``sample_seeds(seed, n)[i]``).

A shard run writes its samples as part files into ``<target>.parts/`` and a status file
``shard-K-of-N.json`` (host, pid, ``n``, start time); it never rewrites the target. A run
without ``--shard`` merges (:func:`pdekit.data.generate`); :func:`shard_progress` reads how
far each shard got, which ``pdekit info`` prints.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import socket
from pathlib import Path

import numpy as np

from pdekit._atomic import atomic_path

__all__ = ["Shard", "ShardProgress", "shard_progress", "write_shard_status"]

_STATUS = re.compile(r"shard-(\d+)-of-(\d+)\.json")


@dataclasses.dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the samples ``i`` with ``i % count == index``.

    Raises
    ------
    ValueError, TypeError
        ``count < 1`` or ``index`` outside ``0 .. count - 1``.

    Examples
    --------
    >>> Shard.parse("1/3").indices(10)
    array([1, 4, 7])
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        for name in ("index", "count"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"shard {name} must be an integer; got {v!r}")
        if self.count < 1:
            raise ValueError(f"shard count must be >= 1; got {self.index}/{self.count} "
                             f"(expected K/N with 0 <= K < N)")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard index must be in 0..{self.count - 1} for {self.count} shards; got "
                             f"{self.index}/{self.count} (shards count from 0, like $SLURM_ARRAY_TASK_ID "
                             f"with --array=0-{self.count - 1})")
        object.__setattr__(self, "index", int(self.index))
        object.__setattr__(self, "count", int(self.count))

    @classmethod
    def parse(cls, text: "str | Shard | tuple[int, int]") -> "Shard":
        """A shard from ``"K/N"`` (or a Shard, or a ``(K, N)`` pair)."""
        if isinstance(text, Shard):
            return text
        if isinstance(text, tuple) and len(text) == 2:
            return cls(*text)
        if not isinstance(text, str):
            raise TypeError(f"shard must be 'K/N' or (K, N); got {text!r}")
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if m is None:
            raise ValueError(f"shard {text!r} is not understood; expected K/N with 0 <= K < N, "
                             f"e.g. --shard 0/4 (or $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)")
        return cls(int(m.group(1)), int(m.group(2)))

    def indices(self, n: int) -> np.ndarray:
        """The sample indices of this shard among ``0 .. n-1`` (ascending)."""
        return np.arange(self.index, int(n), self.count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def status_name(self) -> str:
        """File name of this shard's status file in the parts folder."""
        return f"shard-{self.index}-of-{self.count}.json"


def write_shard_status(folder: str | os.PathLike, shard: Shard, *, n: int) -> None:
    """Record in ``folder`` that this process runs ``shard`` of a dataset of ``n`` samples."""
    record = {"shard": shard.index, "shards": shard.count, "n": int(n), "host": socket.gethostname(),
              "pid": os.getpid(),
              "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    with atomic_path(Path(folder) / shard.status_name) as tmp:
        tmp.write_text(json.dumps(record, sort_keys=True))


@dataclasses.dataclass(frozen=True)
class ShardProgress:
    """How far one shard of an unfinished dataset got.

    Attributes
    ----------
    shard : Shard
    n : int
        Samples of the dataset the shard was run for.
    assigned, solved : int
        Its samples, and those of them that are done (in the file or as part files).
    running : bool
        Whether its run holds its lock now.
    host, started : str
    pid : int
    """

    shard: Shard
    n: int
    assigned: int
    solved: int
    running: bool
    host: str
    pid: int
    started: str

    @property
    def missing(self) -> int:
        return self.assigned - self.solved

    def describe(self) -> str:
        state = "running" if self.running else ("finished" if not self.missing else "stopped")
        return (f"shard {str(self.shard):<7} {self.solved}/{self.assigned} solved, {self.missing} missing, "
                f"{state} (host {self.host}, pid {self.pid}, started {self.started})")


def shard_progress(target: str | os.PathLike, completed: np.ndarray) -> list[ShardProgress]:
    """Progress of every shard that ran on ``target``, sorted by (count, index).

    Parameters
    ----------
    target : path-like
        The dataset file.
    completed : (n,) bool
        Its ``/completed`` mask (samples already merged into the file).
    """
    from pdekit.data.journal import Journal, journal_dir
    from pdekit.data.locks import DatasetLocks

    folder = journal_dir(target)
    if not folder.is_dir():
        return []
    parts = set(Journal(target, "").indices())
    running = set(DatasetLocks(folder, target).running_shards())
    out = []
    for p in folder.iterdir():
        m = _STATUS.fullmatch(p.name)
        if m is None:
            continue
        try:
            record = json.loads(p.read_text())
            shard = Shard(int(m.group(1)), int(m.group(2)))
            n = int(record["n"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a status file being replaced, or foreign: skip it
        idx = shard.indices(n)
        done = sum(1 for i in idx if (i < completed.size and completed[i]) or int(i) in parts)
        out.append(ShardProgress(shard=shard, n=n, assigned=int(idx.size), solved=done,
                                 running=(shard.index, shard.count) in running,
                                 host=str(record.get("host", "?")), pid=int(record.get("pid", -1)),
                                 started=str(record.get("started", "?"))))
    return sorted(out, key=lambda s: (s.shard.count, s.shard.index))
