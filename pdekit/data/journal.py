"""The journal of a dataset being generated: one small file per finished sample.

HDF5 opened for writing is not crash-safe, so :func:`pdekit.data.generate` never keeps the
target file open for writing. Finished samples are written into shard files
``<target>.parts/<index>.npz`` (each written to a temporary name and renamed, so a shard on
disk is always whole), and the target ``.h5`` is rebuilt from the previous ``.h5`` plus the
shards and published by an atomic rename. A run killed at any point leaves the last
published ``.h5`` (readable) and whole shards; the next run picks both up.

The folder also holds ``run.json`` (the parameters the shards belong to; shards of other
parameters are stale and discarded) and ``lock`` (an advisory ``flock`` held while a run is
writing, released by the kernel even on ``kill -9``).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import numpy as np

from pdekit._atomic import atomic_path

__all__ = ["Journal", "journal_dir", "write_shard", "read_shard", "describe_run"]

_SHARD_SUFFIX = ".npz"


def journal_dir(target: str | os.PathLike) -> Path:
    """Folder of the journal of ``target`` (``<target>.parts`` beside it)."""
    target = Path(target)
    return target.with_name(target.name + ".parts")


class Journal:
    """Shard files of finished samples of one run, beside its target file.

    Parameters
    ----------
    target : path-like
        The dataset file being generated.
    run_key : str
        Canonical description of the run (problem, parameters, seed, resolution, version);
        shards written under another key are discarded by :meth:`open`.
    """

    def __init__(self, target: str | os.PathLike, run_key: str) -> None:
        self.target = Path(target)
        self.dir = journal_dir(self.target)
        self.run_key = run_key
        self._lock_fh = None

    # -- life cycle ---------------------------------------------------------------------
    def open(self) -> "Journal":
        """Create the folder, take the lock, drop stale temporaries and foreign shards."""
        self.dir.mkdir(exist_ok=True)
        self._lock_fh = open(self.dir / "lock", "a")
        try:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            self._lock_fh = None
            raise FileExistsError(
                f"another process is generating {str(self.target)!r} (it holds "
                f"{str(self.dir / 'lock')!r}); wait for it to finish or stop it first"
            ) from None
        for tmp in self.dir.glob(".*.tmp"):  # interrupted shard writes
            tmp.unlink(missing_ok=True)
        for tmp in self.target.parent.glob(f".{self.target.name}.*.tmp"):  # interrupted publishes
            tmp.unlink(missing_ok=True)
        key_file = self.dir / "run.json"
        if key_file.exists() and key_file.read_text() != self.run_key:
            for shard in self.dir.glob(f"*{_SHARD_SUFFIX}"):
                shard.unlink()
        if not key_file.exists() or key_file.read_text() != self.run_key:
            with atomic_path(key_file) as tmp:
                tmp.write_text(self.run_key)
        return self

    def close(self, *, remove: bool = False) -> None:
        """Release the lock; ``remove=True`` deletes the whole journal folder."""
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._lock_fh is not None:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def __enter__(self) -> "Journal":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- shards -------------------------------------------------------------------------
    def shard_path(self, index: int) -> Path:
        """Path of the shard of sample ``index``."""
        return self.dir / f"{index:09d}{_SHARD_SUFFIX}"

    def indices(self) -> list[int]:
        """Sorted indices of the samples that have a whole shard."""
        out = []
        for p in self.dir.glob(f"*{_SHARD_SUFFIX}"):
            if p.stem.isdigit():
                out.append(int(p.stem))
        return sorted(out)

    def discard(self, indices) -> None:
        """Delete the shards of ``indices`` (they are in the published file now)."""
        for i in indices:
            self.shard_path(int(i)).unlink(missing_ok=True)


def write_shard(directory: str | os.PathLike, index: int, inputs: np.ndarray,
                outputs: np.ndarray) -> Path:
    """Atomically write the shard of sample ``index`` (float32 arrays) into ``directory``."""
    path = Path(directory) / f"{index:09d}{_SHARD_SUFFIX}"
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, inputs=np.asarray(inputs, dtype=np.float32),
                     outputs=np.asarray(outputs, dtype=np.float32))
    return path


def read_shard(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(inputs, outputs)`` stored in a shard file."""
    with np.load(path, allow_pickle=False) as z:
        return z["inputs"], z["outputs"]


def describe_run(**fields) -> str:
    """Canonical JSON of the fields identifying a run (the journal's ``run_key``)."""
    return json.dumps(fields, sort_keys=True)
