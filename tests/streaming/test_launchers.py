import os
import time

from pdekit.streaming.launchers import LocalProcess, describe_exit, torchrun_command


def test_kill_takes_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child"
    proc = LocalProcess(f"sleep 60 & echo $! > {pidfile}; wait", env=dict(os.environ),
                        log_path=tmp_path / "log")
    deadline = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    child = int(pidfile.read_text())
    assert proc.poll() is None
    proc.kill()
    assert proc.poll() == -9
    time.sleep(0.1)
    try:
        os.kill(child, 0)
        alive = open(f"/proc/{child}/stat").read().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        alive = False
    assert not alive  # the shell's child went with it


def test_exit_descriptions_and_log_tail(tmp_path):
    proc = LocalProcess("echo one; echo two; exit 3", env=dict(os.environ), log_path=tmp_path / "log")
    proc.popen.wait()
    assert proc.poll() == 3 and proc.tail() == "one | two"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "killed by signal 9 (SIGKILL)"
    assert describe_exit(137).startswith("exited with code 137 (signal 9, SIGKILL")


def test_torchrun_command():
    cmd = torchrun_command(2, 3, "run/config.json")
    assert cmd[1:3] == ["-m", "torch.distributed.run"] and "--nproc-per-node=2" in cmd
    assert "--max-restarts=3" in cmd and cmd[-3:] == ["-m", "pdekit.streaming.rank", "run/config.json"]
