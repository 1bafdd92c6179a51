"""Job states: SLURM's and the local executor's, reduced to six; commands as jobs."""

from __future__ import annotations

import pytest

from pdekit.cluster import Command, job_status
from pdekit.cluster.jobs import _last_error_line


@pytest.mark.parametrize("state, status", [
    ("PENDING", "pending"), ("REQUEUED", "pending"), ("PREEMPTED", "pending"), ("SUSPENDED", "pending"),
    ("RUNNING", "running"), ("COMPLETING", "running"),
    ("TIMEOUT", "lost"), ("NODE_FAIL", "lost"), ("OUT_OF_MEMORY", "lost"), ("FAILED", "lost"),
    ("COMPLETED", "lost"),  # completed but left no result: the call never finished
    ("BOOT_FAIL", "lost"), ("DEADLINE", "lost"),
    ("CANCELLED by 1234", "cancelled"), ("CANCELLED", "cancelled"),
    ("FINISHED", "lost"), ("INTERRUPTED", "lost"),  # the local executor's words
])
def test_scheduler_states_without_a_result(state, status):
    assert job_status(state, has_result=False) == status


def test_a_result_decides_whatever_the_state():
    assert job_status("RUNNING", has_result=True) == "succeeded"
    assert job_status("TIMEOUT", has_result=True, succeeded=False) == "failed"


def test_last_error_line_of_a_submitit_trace():
    trace = ("Job (task=0) failed during processing with trace:\n----------------------\n"
             "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n    raise ValueError('x: y')\n"
             "ValueError: x: y\n\n----------------------\n"
             "You can check full logs with 'job.stderr(0)' and 'job.stdout(0)'or at paths:\n  - /a/b.err\n")
    assert _last_error_line(trace) == "ValueError: x: y"
    assert _last_error_line("no exception here\nlast words") == "last words"


def test_command_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="a command needs a program"):
        Command([])
    with pytest.raises(TypeError, match="environment variables must map str to str"):
        Command(["true"], env={"N": 3})
    assert Command("true").argv == ("true",)
    out = tmp_path / "out.txt"
    assert Command(["sh", "-c", f'printf "$GREETING" > {out}'], env={"GREETING": "hi"})() == 0
    assert out.read_text() == "hi"
    with pytest.raises(RuntimeError, match="ended with exit code 3"):
        Command(["sh", "-c", "exit 3"])()
