"""Who may write a dataset being generated: advisory file locks in its parts folder.

Every lock is a ``filelock.FileLock`` (``flock`` on POSIX, ``msvcrt`` locking on Windows),
released by the operating system when its process dies, even by ``kill -9``. In
``<target>.parts/``:

``lock``
    held by a run that publishes the target (a run without ``--shard``: it merges). Two such
    runs refuse each other.
``shard-K-of-N.lock``
    held by the run of shard ``K`` of ``N`` while it solves. Any number of different shards
    run at once; a run that merges refuses to start while any shard lock is held, and a shard
    refuses to start while the merging lock is held, so a merge never happens while a shard
    is still running. (Each side takes its own lock first, then looks at the other's, so two
    runs starting at the same moment cannot both go ahead.)
``launch.lock``
    held by ``generate(..., launcher=...)`` while its shard jobs run (one launch at a time; a
    plain merge waits for it).
``setup.lock``
    held for the moment a run checks or creates the target's header and the run key.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Iterator

import filelock

__all__ = ["DatasetLocks", "SHARD_LOCK_PATTERN"]

#: file name of the lock of shard K of N
SHARD_LOCK_PATTERN = re.compile(r"shard-(\d+)-of-(\d+)\.lock")

#: how long a run waits for its own lock (a concurrent probe holds it for microseconds)
_OWN_LOCK_WAIT_S = 0.5


def _probe(path: Path) -> bool:
    """Whether another process holds the lock at ``path`` (taken and released at once if not)."""
    if not path.exists():
        return False
    lock = filelock.FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        return True
    lock.release()
    return False


class DatasetLocks:
    """The locks of the dataset whose parts folder is ``folder``; see the module docstring.

    Parameters
    ----------
    folder : path-like
        ``<target>.parts`` (created by :meth:`hold_merge` / :meth:`hold_shard` if missing).
    target : path-like
        The dataset file (named in messages).
    """

    def __init__(self, folder: str | os.PathLike, target: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.target = Path(target)
        self._held: list[filelock.FileLock] = []

    # -- what is running ----------------------------------------------------------------------
    def shard_lock_path(self, index: int, count: int) -> Path:
        return self.folder / f"shard-{index}-of-{count}.lock"

    def running_shards(self) -> list[tuple[int, int]]:
        """``(K, N)`` of every shard whose run holds its lock now, sorted."""
        out = []
        if self.folder.is_dir():
            for p in self.folder.iterdir():
                m = SHARD_LOCK_PATTERN.fullmatch(p.name)
                if m and _probe(p):
                    out.append((int(m.group(1)), int(m.group(2))))
        return sorted(out)

    def merging(self) -> bool:
        """Whether a run that publishes the target holds the merging lock now."""
        return _probe(self.folder / "lock")

    def launching(self) -> bool:
        """Whether ``generate(..., launcher=...)`` is running shard jobs of the target now."""
        return _probe(self.folder / "launch.lock")

    # -- taking locks ---------------------------------------------------------------------------
    def _take(self, name: str, busy: str) -> None:
        self.folder.mkdir(exist_ok=True)
        lock = filelock.FileLock(str(self.folder / name))
        try:
            lock.acquire(timeout=_OWN_LOCK_WAIT_S)
        except filelock.Timeout:
            raise FileExistsError(busy) from None
        self._held.append(lock)

    def hold_merge(self, *, launched: bool = False) -> None:
        """Take the merging lock; refuse while another merge, a launch or any shard runs.

        ``launched=True``: the caller is the launch itself (it holds ``launch.lock``).

        Raises
        ------
        FileExistsError
            Another process is generating the target, or shards of it are running.
        """
        t = str(self.target)
        self._take("lock", f"another process is generating {t!r} (it holds "
                           f"{str(self.folder / 'lock')!r}); wait for it to finish or stop it first")
        running = self.running_shards()
        if running or (not launched and self.launching()):
            self.release()
            if running:
                names = ", ".join(f"{k}/{n}" for k, n in running)
                raise FileExistsError(
                    f"shard(s) {names} of {t!r} are still running; the samples are merged into the "
                    f"file once they have finished: rerun then (`pdekit info {t}` shows their progress)")
            raise FileExistsError(f"a launcher is running shard jobs of {t!r} and will merge them "
                                  f"itself; wait for it (`pdekit info {t}` shows the progress)")

    def hold_shard(self, index: int, count: int) -> None:
        """Take the lock of shard ``index`` of ``count``; refuse while the target is being merged.

        Raises
        ------
        FileExistsError
            The same shard is already running, or a run is merging the target.
        """
        t = str(self.target)
        self._take(self.shard_lock_path(index, count).name,
                   f"shard {index}/{count} of {t!r} is already running (it holds "
                   f"{str(self.shard_lock_path(index, count))!r}); wait for it or stop it first")
        if self.merging():
            self.release()
            raise FileExistsError(f"{t!r} is being generated or merged by a run without --shard "
                                  f"(it holds {str(self.folder / 'lock')!r}); wait for it to finish")

    def hold_launch(self) -> None:
        """Take the launch lock; refuse while another launch or a merge runs."""
        t = str(self.target)
        self._take("launch.lock", f"another launcher is running shard jobs of {t!r} (it holds "
                                  f"{str(self.folder / 'launch.lock')!r}); wait for it or stop it first")
        running = self.running_shards()
        if self.merging() or running:
            self.release()
            if running:
                names = ", ".join(f"{k}/{n}" for k, n in running)
                raise FileExistsError(f"shard(s) {names} of {t!r} are already running; wait for them "
                                      f"to finish before launching more")
            raise FileExistsError(f"another process is generating {t!r} (it holds "
                                  f"{str(self.folder / 'lock')!r}); wait for it to finish or stop it first")

    @contextlib.contextmanager
    def setup(self) -> Iterator[None]:
        """Hold ``setup.lock`` while checking or creating the target's header and run key."""
        self.folder.mkdir(exist_ok=True)
        lock = filelock.FileLock(str(self.folder / "setup.lock"))
        try:
            lock.acquire(timeout=120)
        except filelock.Timeout:
            raise FileExistsError(f"could not take {str(self.folder / 'setup.lock')!r} within 120 s; "
                                  f"is a run of {str(self.target)!r} stuck?") from None
        try:
            yield
        finally:
            lock.release()

    def release(self) -> None:
        """Release every lock this object holds."""
        while self._held:
            self._held.pop().release()
