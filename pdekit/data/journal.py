"""The parts folder of a dataset being generated: one verified file per finished sample.

HDF5 opened for writing is not crash-safe, so :func:`pdekit.data.generate` never keeps the
target file open for writing. Each finished sample is written into a *part file*
``<target>.parts/<index>.npz`` (to a temporary name, then renamed, so a part on disk is
whole when written), and the target ``.h5`` is rebuilt from the previous ``.h5`` plus the
parts and published by an atomic rename. A run killed at any point leaves the last
published ``.h5`` (readable) and whole parts; the next run picks both up.

A part holds ``inputs`` and ``outputs`` (float32) and a ``checksum``: the SHA-256 of the
run key, the sample index, and the arrays' shapes and bytes. Parts that another process
wrote (an interrupted run, a shard of :mod:`pdekit.data.shards`) are checked by
:meth:`Journal.verify` before they are merged: a part that is truncated, unreadable,
holds non-finite values, or whose checksum does not match (another index, other settings,
flipped bytes) is deleted and its sample solved again.

The folder also holds ``run.json`` (the run key the parts belong to; parts of another key
are stale and discarded), the locks of :mod:`pdekit.data.locks`, and the status files of
shards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np

from pdekit._atomic import atomic_path

__all__ = ["Journal", "journal_dir", "write_part", "read_part", "part_checksum", "describe_run",
           "CorruptPartError"]

_PART_SUFFIX = ".npz"


class CorruptPartError(ValueError):
    """A part file that cannot be trusted: unreadable, truncated, non-finite, or a checksum mismatch."""


def journal_dir(target: str | os.PathLike) -> Path:
    """Folder of the parts of ``target`` (``<target>.parts`` beside it)."""
    target = Path(target)
    return target.with_name(target.name + ".parts")


def describe_run(**fields) -> str:
    """Canonical JSON of the fields identifying a run (the journal's ``run_key``)."""
    return json.dumps(fields, sort_keys=True)


def part_checksum(run_key: str, index: int, inputs: np.ndarray, outputs: np.ndarray) -> str:
    """SHA-256 (hex) binding a sample's float32 arrays to its index and its run."""
    h = hashlib.sha256()
    h.update(run_key.encode())
    h.update(f"|{int(index)}|".encode())
    for arr in (inputs, outputs):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        h.update(f"{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def part_path(directory: str | os.PathLike, index: int) -> Path:
    """Path of the part file of sample ``index`` in ``directory``."""
    return Path(directory) / f"{int(index):09d}{_PART_SUFFIX}"


def write_part(directory: str | os.PathLike, index: int, inputs: np.ndarray, outputs: np.ndarray,
               *, run_key: str) -> Path:
    """Atomically write the part file of sample ``index`` (float32 arrays and their checksum)."""
    inputs = np.asarray(inputs, dtype=np.float32)
    outputs = np.asarray(outputs, dtype=np.float32)
    path = part_path(directory, index)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, inputs=inputs, outputs=outputs,
                     checksum=np.array(part_checksum(run_key, index, inputs, outputs)))
    return path


def read_part(path: str | os.PathLike, *, index: int, run_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(inputs, outputs)`` of a part file after checking it whole.

    Raises
    ------
    CorruptPartError
        The file is not a readable part (truncated, flipped bytes, missing arrays, wrong
        dtype), holds NaN or infinite values, or its checksum does not match ``index`` and
        ``run_key``; the message says which.
    FileNotFoundError
        No such file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            missing = sorted({"inputs", "outputs", "checksum"} - set(z.files))
            if missing:
                raise CorruptPartError(f"part file {str(path)!r} lacks {missing}")
            inputs, outputs, checksum = z["inputs"], z["outputs"], z["checksum"]
    except FileNotFoundError:
        raise
    except CorruptPartError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise CorruptPartError(f"part file {str(path)!r} is unreadable ({type(exc).__name__}: {exc})") from None
    for name, arr in (("inputs", inputs), ("outputs", outputs)):
        if arr.dtype != np.float32 or arr.ndim < 2:
            raise CorruptPartError(f"part file {str(path)!r}: {name} is {arr.dtype} of shape {arr.shape}; "
                                   f"expected float32 with spatial axes and a channel axis")
        if not np.isfinite(arr).all():
            raise CorruptPartError(f"part file {str(path)!r}: {name} holds "
                                   f"{int((~np.isfinite(arr)).sum())} NaN/inf values")
    if checksum.shape != () or checksum.dtype.kind != "U" \
            or str(checksum) != part_checksum(run_key, index, inputs, outputs):
        raise CorruptPartError(f"part file {str(path)!r}: checksum mismatch (the file was altered, or "
                               f"belongs to another sample or to other settings)")
    return inputs, outputs


class Journal:
    """The parts folder of one run, beside its target file.

    Parameters
    ----------
    target : path-like
        The dataset file being generated.
    run_key : str
        Canonical description of the run (problem, parameters, seed, resolution, versions);
        parts written under another key are stale.
    """

    def __init__(self, target: str | os.PathLike, run_key: str) -> None:
        self.target = Path(target)
        self.dir = journal_dir(self.target)
        self.run_key = run_key

    def prepare(self, *, exclusive: bool) -> None:
        """Create the folder and adopt it for this run key (stale parts are deleted).

        ``exclusive=True`` (no other run of this target is going on) also drops the
        temporaries of interrupted writes, in the folder and beside the target.
        """
        self.dir.mkdir(exist_ok=True)
        if exclusive:
            for tmp in self.dir.glob(".*.tmp"):  # interrupted part writes
                tmp.unlink(missing_ok=True)
            for tmp in self.target.parent.glob(f".{self.target.name}.*.tmp"):  # interrupted publishes
                tmp.unlink(missing_ok=True)
        key_file = self.dir / "run.json"
        old = key_file.read_text() if key_file.exists() else None
        if old != self.run_key:
            if old is not None:
                for part in self.dir.glob(f"*{_PART_SUFFIX}"):
                    part.unlink(missing_ok=True)
            with atomic_path(key_file) as tmp:
                tmp.write_text(self.run_key)

    def remove(self) -> None:
        """Delete the whole folder (after a complete publish)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- parts ----------------------------------------------------------------------------------
    def part_path(self, index: int) -> Path:
        """Path of the part file of sample ``index``."""
        return part_path(self.dir, index)

    def indices(self) -> list[int]:
        """Sorted indices of the samples that have a part file (not yet verified)."""
        out = []
        if self.dir.is_dir():
            for p in self.dir.glob(f"*{_PART_SUFFIX}"):
                if p.stem.isdigit():
                    out.append(int(p.stem))
        return sorted(out)

    def write(self, index: int, inputs: np.ndarray, outputs: np.ndarray) -> Path:
        """Write the part of sample ``index`` for this run."""
        return write_part(self.dir, index, inputs, outputs, run_key=self.run_key)

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Read and check the part of sample ``index`` (:func:`read_part`)."""
        return read_part(self.part_path(index), index=index, run_key=self.run_key)

    def verify(self, indices: Iterable[int]) -> tuple[list[int], list[tuple[int, str]]]:
        """Check the parts of ``indices``; delete those that fail.

        Returns
        -------
        good : list of int
        discarded : list of (int, str)
            Index and reason of every part deleted.
        """
        good, bad = [], []
        for i in indices:
            try:
                self.read(int(i))
            except FileNotFoundError:
                continue  # gone meanwhile (merged by another run): nothing to verify
            except CorruptPartError as exc:
                self.part_path(int(i)).unlink(missing_ok=True)
                bad.append((int(i), str(exc)))
            else:
                good.append(int(i))
        return good, bad

    def discard(self, indices: Iterable[int]) -> None:
        """Delete the parts of ``indices`` (they are in the published file now)."""
        for i in indices:
            self.part_path(int(i)).unlink(missing_ok=True)
