"""Local launch: each simulation (and the trainer) in its own process group, killable whole.

A command runs through ``/bin/sh -c`` in a new session (``start_new_session=True``), so it
and every process it starts share one process group; :meth:`LocalProcess.kill` sends SIGKILL
to the whole group, which also ends a hung solver's children. Output goes to a log file.
SLURM launch goes through :mod:`pdekit.cluster` (see :mod:`pdekit.streaming.slurm`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

__all__ = ["LocalProcess", "LocalLauncher", "describe_exit", "torchrun_command"]


def describe_exit(code: int) -> str:
    """``"exited with code 1"``, ``"killed by signal 9 (SIGKILL)"``, ..."""
    def name(sig: int) -> str:
        try:
            return signal.Signals(sig).name
        except ValueError:
            return "unknown"

    if code < 0:
        return f"killed by signal {-code} ({name(-code)})"
    if code > 128 and code - 128 < 64:
        return f"exited with code {code} (signal {code - 128}, {name(code - 128)}, in a shell)"
    return f"exited with code {code}"


class LocalProcess:
    """A command running in its own process group.

    Parameters
    ----------
    command : str or sequence of str
        A shell command line, or an argv list (run without a shell).
    env : mapping
        Its whole environment.
    log_path : path-like, optional
        Where its standard output and error go (default: discarded).
    """

    def __init__(self, command: str | Sequence[str], *, env: Mapping[str, str],
                 log_path: str | os.PathLike | None = None, cwd: str | os.PathLike | None = None) -> None:
        self.log_path = Path(log_path) if log_path is not None else None
        out = open(self.log_path, "ab") if self.log_path is not None else subprocess.DEVNULL
        try:
            self.popen = subprocess.Popen(command, shell=isinstance(command, str), env=dict(env), cwd=cwd,
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        self.pid = self.popen.pid

    def poll(self) -> int | None:
        """Exit code, or None while it runs."""
        return self.popen.poll()

    def kill(self) -> None:
        """SIGKILL the whole process group, then reap the process."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - an unkillable process
            pass

    def terminate(self, grace: float = 5.0) -> None:
        """SIGTERM the group, then SIGKILL it after ``grace`` seconds."""
        try:
            os.killpg(self.pid, signal.SIGTERM)
            self.popen.wait(timeout=grace)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 5) -> str:
        """The last lines of its log (for error messages)."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        text = self.log_path.read_bytes()[-4000:].decode("utf-8", "replace").strip().splitlines()
        return " | ".join(text[-lines:])


class LocalLauncher:
    """Launch simulations as local process groups (``--launcher local``)."""

    name = "local"

    def launch(self, command: str | Sequence[str], *, env: Mapping[str, str],
               log_path: str | os.PathLike | None = None) -> LocalProcess:
        return LocalProcess(command, env=env, log_path=log_path)


def torchrun_command(ranks: int, max_restarts: int, config_path: str | os.PathLike, *,
                     standalone: bool = True) -> list[str]:
    """``torchrun`` (as ``python -m torch.distributed.run``) starting the streaming trainer ranks."""
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={int(ranks)}",
           f"--max-restarts={int(max_restarts)}", "--monitor-interval=0.5"]
    if standalone:
        cmd.append("--standalone")
    return cmd + ["-m", "pdekit.streaming.rank", str(config_path)]
