"""One submitted job: what it runs, where it stands, and how to run it again.

A :class:`Job` wraps a ``submitit`` job together with the call it runs, so a job that
failed, was pre-empted or ran out of time can be submitted again
(:func:`pdekit.cluster.wait_for` does that). :func:`job_status` reduces the many states of
SLURM (``sacct``) and of submitit's local executor to six:

============  =================================================================
``pending``   queued, requeued, suspended or pre-empted and waiting to restart
``running``   running (or completing)
``succeeded`` finished and its result is on disk
``failed``    finished by raising an exception (the traceback is kept)
``lost``      ended without a result: killed, timed out, out of memory, node failure
``cancelled`` cancelled by a person (``scancel``): never resubmitted
============  =================================================================

:class:`Command` runs a program as a job (a client simulation, ``torchrun``), with extra
environment variables.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

__all__ = ["Job", "Command", "job_status", "STATUSES"]

STATUSES = ("pending", "running", "succeeded", "failed", "lost", "cancelled")

_PENDING = {"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "CONFIGURING", "SUSPENDED",
            "RESIZING", "PREEMPTED", "UNKNOWN", "READY", "RESV_DEL_HOLD", "STOPPED", ""}
_RUNNING = {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT"}


def job_status(state: str, *, has_result: bool, succeeded: bool = True) -> str:
    """One of :data:`STATUSES` for a scheduler ``state`` and what the job left on disk.

    Parameters
    ----------
    state : str
        ``sacct``'s State (``"RUNNING"``, ``"TIMEOUT"``, ``"CANCELLED by 123"`` ...) or the
        local executor's (``"RUNNING"``, ``"FINISHED"``, ``"INTERRUPTED"``).
    has_result : bool
        Whether the job wrote its result (success or traceback).
    succeeded : bool
        With ``has_result``: whether that result is a success.

    Examples
    --------
    >>> job_status("TIMEOUT", has_result=False), job_status("PREEMPTED", has_result=False)
    ('lost', 'pending')
    """
    if has_result:
        return "succeeded" if succeeded else "failed"
    word = state.strip().split(" ")[0].upper() if state else ""
    if word in _RUNNING:
        return "running"
    if word in _PENDING:
        return "pending"
    if word == "CANCELLED":
        return "cancelled"
    return "lost"  # TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, FAILED, BOOT_FAIL, DEADLINE, FINISHED ...


class _Call:
    """A function and its arguments, as one picklable callable (what a job runs)."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: Mapping[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, tuple(args), dict(kwargs)

    def __call__(self) -> Any:
        return self.fn(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"{getattr(self.fn, '__name__', type(self.fn).__name__)}{self.args!r}"


class _ResumableCall(_Call):
    """A call that may be stopped and run again (it resumes from its own files).

    submitit calls :meth:`checkpoint` when the job is pre-empted or about to run out of
    time, and requeues the same call.
    """

    def checkpoint(self, *args: Any, **kwargs: Any):
        from submitit.core.utils import DelayedSubmission

        return DelayedSubmission(self)


@dataclasses.dataclass(frozen=True)
class Command:
    """A program run as a job: ``argv`` with ``env`` added to the job's environment.

    Its standard output and error go to the job's log files. Calling it returns 0, or
    raises ``RuntimeError`` naming the exit code (and the signal, if one ended it).

    Parameters
    ----------
    argv : sequence of str
        The program and its arguments (no shell).
    env : mapping of str to str
        Variables added to the environment (e.g. the address a client streams to).
    cwd : str, optional
        Working folder (default: the job's).
    """

    argv: Sequence[str]
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cwd: str | None = None

    def __post_init__(self) -> None:
        argv = (self.argv,) if isinstance(self.argv, str) else tuple(self.argv)
        if not argv or not all(isinstance(a, str) for a in argv):
            raise ValueError(f"a command needs a program and string arguments; got {self.argv!r}")
        bad = [k for k, v in dict(self.env).items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"environment variables must map str to str; got {bad}")
        object.__setattr__(self, "argv", argv)
        object.__setattr__(self, "env", dict(self.env))

    def __call__(self) -> int:
        proc = subprocess.Popen(list(self.argv), env={**os.environ, **self.env}, cwd=self.cwd)
        try:
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the job itself was interrupted: take the program along
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if code != 0:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
            raise RuntimeError(f"command {' '.join(self.argv)!r} ended with {how}")
        return 0

    def __repr__(self) -> str:
        return f"Command({' '.join(self.argv)!r})"


class Job:
    """A submitted call, its current submitit job, and its history of attempts.

    Made by :class:`pdekit.cluster.Launcher`; read it with :meth:`status`, :meth:`result`
    and :meth:`error`.

    Attributes
    ----------
    label : str
        What the job is, for messages (``"shard 2/4"``).
    attempts : int
        How many times the call was submitted.
    job_ids : list of str
        Scheduler ids of every attempt.
    """

    def __init__(self, launcher, call: _Call, options, label: str) -> None:
        self.launcher, self.call, self.options, self.label = launcher, call, options, label
        self.attempts = 0
        self.job_ids: list[str] = []
        self._job = None
        self._ended_without_result: float | None = None

    def _attach(self, submitit_job) -> None:
        self._job = submitit_job
        self.attempts += 1
        self.job_ids.append(str(submitit_job.job_id))
        self._ended_without_result = None

    @property
    def job_id(self) -> str:
        """Scheduler id of the current attempt."""
        return self.job_ids[-1] if self.job_ids else ""

    @property
    def state(self) -> str:
        """The scheduler's raw state of the current attempt (``"RUNNING"``, ``"TIMEOUT"`` ...)."""
        return str(self._job.state) if self._job is not None else "UNSUBMITTED"

    def _tasks(self) -> list:
        n = self._job.num_tasks
        return [self._job] if n == 1 else [self._job.task(k) for k in range(n)]

    def _has_result(self) -> bool:
        for task in self._tasks():
            try:
                task.paths.folder.stat()  # refresh the folder's cache on network file systems
            except OSError:
                pass
            if not task.paths.result_pickle.exists():
                return False
        return True

    def _outcomes(self) -> list[tuple[str, Any]]:
        """``("success", value)`` or ``("error", traceback)`` of each task, read from its result
        file (without waiting for the job's own process to exit, as ``Job.result()`` does)."""
        from submitit.core.utils import pickle_load

        out = []
        for task in self._tasks():
            for attempt in range(3):
                try:
                    out.append(pickle_load(task.paths.result_pickle))
                    break
                except EOFError:  # written by rename, but a shared file system may lag
                    time.sleep(0.5 * (attempt + 1))
            else:
                out.append(("error", f"the result file {task.paths.result_pickle} is truncated"))
        return out

    def status(self, *, result_grace_s: float = 0.0) -> str:
        """One of :data:`STATUSES` for the current attempt.

        ``result_grace_s``: a job that ended without a result is ``lost`` only after this
        many seconds (a shared file system may show the result file late).
        """
        if self._job is None:
            return "pending"
        if self._has_result():
            ok = all(outcome == "success" for outcome, _ in self._outcomes())
            return job_status("", has_result=True, succeeded=ok)
        status = job_status(self.state, has_result=False)
        if status == "lost" and result_grace_s > 0:
            now = time.monotonic()
            if self._ended_without_result is None:
                self._ended_without_result = now
            if now - self._ended_without_result < result_grace_s:
                return "running"
        return status

    def result(self) -> Any:
        """The value the call returned (a list, one per task, for multi-task jobs).

        Raises
        ------
        RuntimeError
            The call raised (the message ends with the exception's line) or has no result yet.
        """
        if self._job is None or not self._has_result():
            raise RuntimeError(f"{self.label} has no result yet ({self.state})")
        outcomes = self._outcomes()
        for outcome, value in outcomes:
            if outcome != "success":
                raise RuntimeError(f"{self.label} failed: {_last_error_line(str(value))}")
        values = [value for _, value in outcomes]
        return values if self._job.num_tasks > 1 else values[0]

    def error(self) -> str:
        """One line saying why the current attempt did not succeed, and where its log is."""
        if self._job is None:
            return "never submitted"
        log = Path(self._job.paths.stderr)
        if self._has_result():
            errors = [str(value) for outcome, value in self._outcomes() if outcome != "success"]
            if not errors:
                return "succeeded"
            return f"{_last_error_line(errors[0])} (log: {log})"
        tail = _last_error_line(_read_tail(log)) if log.exists() else ""
        return (f"ended as {self.state} without a result" + (f"; last log line: {tail}" if tail else "")
                + f" (log: {log})")

    def cancel(self) -> None:
        """Cancel the current attempt (no error if it already ended)."""
        if self._job is None:
            return
        try:
            self._job.cancel(check=False)
        except Exception:  # noqa: BLE001 - cancelling an ended job is not an error
            pass

    def __repr__(self) -> str:
        return f"Job({self.label!r}, id={self.job_id!r}, attempts={self.attempts})"


def _read_tail(path: Path, size: int = 8192) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _last_error_line(text: str) -> str:
    """The line of a traceback that names the exception (``ValueError: ...``)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= {"-"}]
    for ln in reversed(lines):
        head = ln.split(":", 1)[0]
        if head and (head.endswith(("Error", "Exception", "Interrupt", "Exit")) or head == "KeyboardInterrupt") \
                and " " not in head:
            return ln
    return lines[-1] if lines else ""
