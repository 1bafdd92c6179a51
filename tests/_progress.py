"""A progress object for tests: records what a library call tells its bar, and can stop the call."""

from __future__ import annotations


class RecordingProgress:
    """Records ``("start", total, desc)``, ``("update", n)`` and ``("close",)`` in :attr:`events`.

    ``stop_after``: raise KeyboardInterrupt (as Ctrl-C would) once updates add up to this many.
    """

    def __init__(self, stop_after: int | None = None) -> None:
        self.events: list[tuple] = []
        self.stop_after, self.count = stop_after, 0

    def start(self, total, desc=""):
        self.events.append(("start", total, desc))

    def update(self, n=1, **postfix):
        self.count += n
        self.events.append(("update", n))
        if self.stop_after is not None and self.count >= self.stop_after:
            raise KeyboardInterrupt

    def close(self):
        self.events.append(("close",))

    @property
    def calls(self) -> list[tuple]:
        """:attr:`events` without the bar's description."""
        return [e[:2] if e[0] == "start" else e for e in self.events]
