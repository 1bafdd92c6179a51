"""Credit-based flow control measured in bytes (ZeroMQ guide, "Credit-Based Flow Control").

The receiver grants each client session a cumulative *limit*: the client may send a time
step only while the bytes it has sent in the session, this step included, stay within the
limit. Limits only grow, so a grant is idempotent and survives reordering. The receiver
grants no more than its memory budget allows, so a slow trainer stops granting, the clients
block in ``send`` (back-pressure) and nothing is ever dropped. Bytes are the raw field bytes
of STEP messages (headers are not counted).

:class:`CreditWindow` is the client's side, :class:`CreditLedger` the receiver's.
"""

from __future__ import annotations

import dataclasses
from typing import Hashable, Iterator

__all__ = ["CreditWindow", "CreditLedger", "Session"]


class CreditWindow:
    """The client's view: bytes sent so far and the limit granted by the receiver.

    Examples
    --------
    >>> w = CreditWindow(limit=100)
    >>> w.can_send(60), w.spend(60), w.can_send(60)
    (True, None, False)
    >>> w.grant(200); w.can_send(60)
    True
    """

    def __init__(self, limit: int = 0) -> None:
        self.limit = int(limit)
        self.sent = 0

    def can_send(self, nbytes: int) -> bool:
        return self.sent + int(nbytes) <= self.limit

    def spend(self, nbytes: int) -> None:
        if not self.can_send(nbytes):
            raise RuntimeError(f"no credit for {nbytes} bytes: sent {self.sent}, limit {self.limit}")
        self.sent += int(nbytes)

    def grant(self, limit: int) -> None:
        """Raise the limit (a smaller, stale limit is ignored)."""
        self.limit = max(self.limit, int(limit))

    @property
    def available(self) -> int:
        return self.limit - self.sent


@dataclasses.dataclass
class Session:
    """One client session on the receiver's side."""

    limit: int = 0        # cumulative bytes the client may send
    received: int = 0     # cumulative bytes received from it
    need: int = 0         # size of its largest step so far (or of the step it waits to send)

    @property
    def outstanding(self) -> int:
        """Granted bytes not yet received (in flight or unused)."""
        return max(0, self.limit - self.received)


class CreditLedger:
    """Per-session limits; the total outstanding credit is what the budget must reserve.

    Parameters
    ----------
    max_window : int
        Most bytes a session may have outstanding (bounds in-flight data per client).
    """

    def __init__(self, *, max_window: int = 8 << 20) -> None:
        if int(max_window) < 1:
            raise ValueError(f"max_window must be a positive number of bytes; got {max_window}")
        self.max_window = int(max_window)
        self._sessions: dict[Hashable, Session] = {}

    def __contains__(self, key: Hashable) -> bool:
        return key in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._sessions))

    def session(self, key: Hashable) -> Session:
        return self._sessions[key]

    def open(self, key: Hashable) -> Session:
        """Start a session with no credit (call :meth:`top_up` to grant)."""
        self._sessions[key] = s = Session()
        return s

    def close(self, key: Hashable) -> int:
        """End a session; return the outstanding credit it gives back."""
        s = self._sessions.pop(key, None)
        return 0 if s is None else s.outstanding

    @property
    def outstanding(self) -> int:
        return sum(s.outstanding for s in self._sessions.values())

    def receive(self, key: Hashable, nbytes: int) -> bool:
        """Count ``nbytes`` received from ``key``; False if that exceeds its limit."""
        s = self._sessions[key]
        s.received += int(nbytes)
        s.need = max(s.need, int(nbytes))
        return s.received <= s.limit

    def want(self, key: Hashable, nbytes: int) -> None:
        """The client waits to send a step of ``nbytes``."""
        s = self._sessions[key]
        s.need = max(s.need, int(nbytes))

    def window(self, budget: int) -> int:
        """Outstanding bytes a session may hold: a fair share of ``budget``, capped."""
        share = int(budget) // (4 * max(1, len(self._sessions)))
        return min(self.max_window, share)

    def top_up(self, key: Hashable, available: int, budget: int) -> int | None:
        """Grant ``key`` more credit out of ``available`` bytes; return its new limit or None.

        A session is topped up to its window (at least one step of ``need`` bytes) when its
        outstanding credit fell below half the window; a grant that would not cover one step
        is not made (the client keeps waiting, which is the back-pressure).
        """
        s = self._sessions[key]
        target = max(s.need, self.window(budget), 1)
        if s.outstanding >= max(s.need, target // 2) and s.outstanding > 0:
            return None
        grant = min(target - s.outstanding, int(available))
        if grant <= 0 or s.outstanding + grant < s.need:
            return None
        s.limit += grant
        return s.limit
