"""Heartbeats with a liveness count (ZeroMQ guide, "Paranoid Pirate"), for both ends of a session.

Each side sends a HEARTBEAT when it has sent nothing for ``interval`` seconds, and declares
its peer dead when it has heard nothing at all (any message counts) for ``liveness``
intervals in a row. A heartbeat proves that a process is alive, not that it makes progress:
the coordinator's ``--timeout`` watches new time steps instead.
"""

from __future__ import annotations

import time

__all__ = ["Heartbeat"]


class Heartbeat:
    """When to send a heartbeat, and whether the peer is still alive.

    Parameters
    ----------
    interval : float
        Seconds between heartbeats (> 0).
    liveness : int
        Missed intervals after which the peer is presumed dead (>= 1).
    clock : callable
        Monotonic clock (tests pass a fake one).
    """

    def __init__(self, interval: float, liveness: int, *, clock=time.monotonic) -> None:
        if not interval > 0:
            raise ValueError(f"heartbeat interval must be positive seconds; got {interval}")
        if int(liveness) < 1:
            raise ValueError(f"liveness must be a positive number of intervals; got {liveness}")
        self.interval, self.liveness, self.clock = float(interval), int(liveness), clock
        now = clock()
        self.last_heard = now
        self.last_sent = now

    @property
    def patience(self) -> float:
        """Seconds of silence after which the peer is presumed dead."""
        return self.interval * self.liveness

    def heard(self) -> None:
        """Something arrived from the peer."""
        self.last_heard = self.clock()

    def sent(self) -> None:
        """Something was sent to the peer (a heartbeat is not needed before the next interval)."""
        self.last_sent = self.clock()

    def due(self) -> bool:
        """True when a heartbeat should be sent now."""
        return self.clock() - self.last_sent >= self.interval

    def peer_alive(self) -> bool:
        """False once the peer has been silent for ``liveness`` intervals."""
        return self.clock() - self.last_heard <= self.patience

    def silence(self) -> float:
        """Seconds since the peer was last heard."""
        return self.clock() - self.last_heard
