"""Functions the cluster tests run as jobs (importable, so submitit pickles them by reference)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def square(x: int) -> int:
    return x * x


def killed_once(marker: str, value: int) -> int:
    """Die by SIGKILL on the first run (no result left behind), return ``value`` on the next."""
    path = Path(marker)
    if not path.exists():
        path.write_text("first attempt")
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def slow_once(marker: str, seconds: float, value: int) -> int:
    """Sleep ``seconds`` on the first run (to run out of time), return ``value`` on the next."""
    path = Path(marker)
    if not path.exists():
        path.write_text("first attempt")
        time.sleep(seconds)
    return value


def always_fails(message: str) -> None:
    raise ValueError(message)


def env_value(name: str) -> str | None:
    return os.environ.get(name)
