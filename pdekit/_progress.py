"""Injected progress reporting.

Library calls print nothing by default. A caller that wants feedback passes a progress
object (anything with ``start(total, desc)``, ``update(n=1)`` and ``close()``); the CLI
passes a :class:`TqdmProgress`, which draws a bar.

Examples
--------
>>> p = NullProgress()
>>> p.start(10, "samples"); p.update(3); p.close()
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Progress", "NullProgress", "TqdmProgress", "as_progress"]


@runtime_checkable
class Progress(Protocol):
    """What a long-running library call reports to."""

    def start(self, total: int | None, desc: str = "") -> None: ...

    def update(self, n: int = 1, **postfix: object) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    """A progress object that reports nothing (the library default)."""

    def start(self, total: int | None, desc: str = "") -> None:
        pass

    def update(self, n: int = 1, **postfix: object) -> None:
        pass

    def close(self) -> None:
        pass


class TqdmProgress:
    """A tqdm progress bar on standard error.

    Parameters
    ----------
    disable : bool
        Draw nothing (``--quiet``).
    leave : bool
        Keep the finished bar on screen.
    """

    def __init__(self, *, disable: bool = False, leave: bool = True) -> None:
        self.disable = disable
        self.leave = leave
        self._bar = None

    def start(self, total: int | None, desc: str = "") -> None:
        from tqdm.auto import tqdm

        self.close()
        self._bar = tqdm(total=total, desc=desc, disable=self.disable, leave=self.leave,
                         dynamic_ncols=True)

    def update(self, n: int = 1, **postfix: object) -> None:
        if self._bar is not None:
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def as_progress(progress: Progress | None) -> Progress:
    """Return ``progress``, or a :class:`NullProgress` when it is None."""
    if progress is None:
        return NullProgress()
    for name in ("start", "update", "close"):
        if not callable(getattr(progress, name, None)):
            raise TypeError(
                f"progress must have start(total, desc), update(n) and close() methods; "
                f"got {type(progress).__name__} without {name}()"
            )
    return progress
