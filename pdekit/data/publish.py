"""Publishing a dataset being generated: rebuild the target from the last file plus the parts.

The target ``.h5`` is never open for writing: :class:`Publisher` writes a new complete file
(:func:`pdekit.data.layout.write_dataset`, samples in index order) from the previously
published file and the part files, and moves it over the target in one rename. It
publishes when the number of samples has doubled since the last publish (so the total
copying stays O(n)), when the last publish is older than ten times its own duration (and at
least five seconds), and at the end; merging the parts of finished shards is one publish.
"""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np

from pdekit._atomic import atomic_path
from pdekit.data.journal import CorruptPartError, Journal
from pdekit.data.layout import DatasetHeader, write_dataset

__all__ = ["Publisher"]

#: publish when the last publish is older than this many times its own duration ...
_FRESHNESS_FACTOR = 10.0
#: ... and at least this many seconds old
_MIN_PUBLISH_INTERVAL = 5.0


class _BadPart(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index, self.reason = index, reason


class Publisher:
    """Rebuilds and atomically republishes the target from the last file plus the journal.

    Parameters
    ----------
    path : Path
        The target file.
    header : DatasetHeader
    journal : Journal
    file_done : (n,) bool
        Samples in the published file.
    part_done : iterable of int
        Samples whose part files are in the journal (checked when they are merged).
    """

    def __init__(self, path: Path, header: DatasetHeader, journal: Journal, file_done: np.ndarray,
                 part_done=()) -> None:
        self.path, self.header, self.journal = path, header, journal
        self.file_done = file_done.copy()
        self.part_done = np.zeros(header.n, dtype=bool)
        for i in part_done:
            if i < header.n:
                self.part_done[i] = True
        self.published_count = int(self.file_done.sum())
        self.count = int(self.done.sum())
        self.last_time = time.monotonic()
        self.last_duration = 0.0
        #: (index, reason) of every corrupt part file found and deleted
        self.discarded: list[tuple[int, str]] = []

    @property
    def done(self) -> np.ndarray:
        """(n,) bool: samples in the file or in part files."""
        return self.file_done | self.part_done

    @property
    def dirty(self) -> bool:
        """Whether some part is not in the published file yet."""
        return bool((self.part_done & ~self.file_done).any())

    def add(self, index: int) -> None:
        """Record that the part of sample ``index`` is on disk."""
        if not (self.part_done[index] or self.file_done[index]):
            self.count += 1
        self.part_done[index] = True

    def due(self) -> bool:
        """Whether it is time to publish (see the module docstring)."""
        if self.count >= max(1, 2 * self.published_count):
            return True
        age = time.monotonic() - self.last_time
        return age > max(_FRESHNESS_FACTOR * self.last_duration, _MIN_PUBLISH_INTERVAL)

    def publish(self) -> None:
        """Write the file of every done sample and move it over the target.

        Each part file is checked as it is read (:func:`pdekit.data.journal.read_part`): a
        corrupt one is deleted, its sample marked missing again and recorded in
        :attr:`discarded`, and the file is written again without it.
        """
        while True:
            try:
                return self._publish()
            except _BadPart as bad:
                self.journal.discard([bad.index])
                self.part_done[bad.index] = False
                self.count -= 1
                self.discarded.append((bad.index, bad.reason))

    def _publish(self) -> None:
        start = time.monotonic()
        done = self.done
        new = np.flatnonzero(self.part_done)
        old_file = h5py.File(self.path, "r") if self.file_done.any() else None
        try:
            def sample(i: int) -> tuple[np.ndarray, np.ndarray]:
                if self.file_done[i]:
                    return old_file["inputs"][i], old_file["outputs"][i]
                try:
                    return self.journal.read(i)
                except CorruptPartError as exc:
                    raise _BadPart(i, str(exc)) from None

            with atomic_path(self.path) as tmp:
                write_dataset(tmp, self.header, completed=done, sample=sample)
        finally:
            if old_file is not None:
                old_file.close()
        self.journal.discard(new)
        self.file_done = done
        self.part_done[:] = False
        self.published_count = int(done.sum())
        self.last_time = time.monotonic()
        self.last_duration = self.last_time - start
