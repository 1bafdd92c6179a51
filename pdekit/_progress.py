"""Injected progress reporting: the ``progress=`` option of pdekit's long calls.

Library calls print nothing by default. Every long call (``pdekit.data.generate``,
``Trainer.fit``, the FD/FEM time steppers, FEM assembly on a large mesh, the tensor
decompositions) takes ``progress=``, which may be

* ``None`` or ``False``: silent (the default);
* ``True``: a tqdm bar on standard error (in a notebook, tqdm's notebook widget);
* a tqdm-like bar you made, e.g. ``tqdm.tqdm(leave=False)``: the call resets its total and
  description, advances it, and leaves it open (you close it, so one bar can follow several
  calls);
* a tqdm-like class or factory, e.g. ``tqdm.notebook.tqdm``: called as
  ``factory(total=..., desc=...)`` when the call starts, closed when it ends;
* any object with ``start(total, desc)``, ``update(n=1, **postfix)`` and ``close()`` (the
  :class:`Progress` protocol), used as it is.

:func:`as_progress` turns each of these into a :class:`Progress`; it is the one place where
``progress=`` is interpreted.

Examples
--------
>>> p = as_progress(None)
>>> p.start(10, "samples"); p.update(3); p.close()
>>> class Count:
...     def update(self, n=1): self.n = getattr(self, "n", 0) + n
...     def close(self): pass
>>> bar = Count(); p = as_progress(bar)        # tqdm-like: update() and close()
>>> p.start(5, "steps"); p.update(2); p.update(); p.close(); bar.n
3
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Progress", "NullProgress", "TqdmProgress", "TqdmAdapter", "as_progress", "ProgressLike"]


@runtime_checkable
class Progress(Protocol):
    """What a long-running library call reports to."""

    def start(self, total: int | None, desc: str = "") -> None: ...

    def update(self, n: int = 1, **postfix: object) -> None: ...

    def close(self) -> None: ...


#: what ``progress=`` accepts (see the module docstring)
ProgressLike = Any


class NullProgress:
    """A progress object that reports nothing (the library default)."""

    def start(self, total: int | None, desc: str = "") -> None:
        pass

    def update(self, n: int = 1, **postfix: object) -> None:
        pass

    def close(self) -> None:
        pass


class TqdmProgress:
    """A tqdm progress bar on standard error (what ``progress=True`` gives).

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


class TqdmAdapter:
    """A :class:`Progress` around a tqdm-like bar or bar factory.

    Parameters
    ----------
    bar : object with ``update(n)`` and ``close()``, optional
        An open bar owned by the caller: :meth:`start` resets it (``reset(total=)`` and
        ``set_description`` when it has them), :meth:`close` only refreshes it.
    factory : callable, optional
        ``factory(total=..., desc=...)`` returns a new bar at each :meth:`start`; the bar is
        closed by :meth:`close`.
    """

    def __init__(self, bar: Any = None, *, factory: Any = None) -> None:
        if (bar is None) == (factory is None):
            raise ValueError("give exactly one of bar and factory")
        self._owned = bar is None
        self._factory = factory
        self._bar = bar

    def start(self, total: int | None, desc: str = "") -> None:
        if self._owned:
            self.close()
            self._bar = self._factory(total=total, desc=desc)
            return
        if callable(getattr(self._bar, "reset", None)):
            self._bar.reset(total=total)
        elif hasattr(self._bar, "total"):
            self._bar.total = total
        if desc and callable(getattr(self._bar, "set_description", None)):
            self._bar.set_description(desc)

    def update(self, n: int = 1, **postfix: object) -> None:
        if self._bar is None:
            return
        if postfix and callable(getattr(self._bar, "set_postfix", None)):
            try:
                self._bar.set_postfix(postfix, refresh=False)
            except TypeError:
                self._bar.set_postfix(postfix)
        self._bar.update(n)

    def close(self) -> None:
        if self._bar is None:
            return
        if self._owned:
            self._bar.close()
            self._bar = None
        elif callable(getattr(self._bar, "refresh", None)):
            self._bar.refresh()


def _is_protocol(obj: Any) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("start", "update", "close"))


def as_progress(progress: ProgressLike = None) -> Progress:
    """The :class:`Progress` that ``progress=`` stands for (see the module docstring).

    Parameters
    ----------
    progress : None, bool, Progress, tqdm-like bar, or tqdm-like class / factory

    Returns
    -------
    Progress

    Raises
    ------
    TypeError
        ``progress`` is none of the accepted kinds.
    """
    if progress is None or progress is False:
        return NullProgress()
    if progress is True:
        return TqdmProgress()
    if isinstance(progress, type) or (callable(progress) and not hasattr(progress, "update")):
        # a class such as tqdm.tqdm / tqdm.notebook.tqdm, or a function returning a bar
        return TqdmAdapter(factory=progress)
    if _is_protocol(progress):
        return progress
    if callable(getattr(progress, "update", None)) and callable(getattr(progress, "close", None)):
        return TqdmAdapter(progress)
    raise TypeError(
        "progress must have start(total, desc), update(n) and close() methods, or be "
        f"True/False/None, a tqdm bar or a tqdm class; got {type(progress).__name__}"
    )
