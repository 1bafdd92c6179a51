"""A stand-in for SLURM's commands (sbatch, srun, sacct, scancel) on this machine, for tests.

It runs each submitted batch script (each task of an ``--array``) as a detached process
group, keeps every job's state in a folder, and answers ``sacct`` the way SLURM does, so
submitit's real SLURM executor (sbatch scripts, job arrays, ``sacct`` polling, ``scancel``)
is exercised without a cluster. Scripts are kept as ``<jobid>.sh`` for inspection.

Usage (a pytest fixture does this): ``bin_dir = install(folder)``, put ``bin_dir`` first on
PATH and set ``FAKE_SLURM_DIR=folder``; :func:`stop_all` kills whatever is still running.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import textwrap
from pathlib import Path

_INSTALLS = itertools.count()

_COMMON = textwrap.dedent("""
    import os, re, signal, subprocess, sys, time
    from pathlib import Path
    STATE = Path(os.environ["FAKE_SLURM_DIR"])

    def put(key, state):
        tmp = STATE / f".{key}.state.tmp"
        tmp.write_text(state)
        os.replace(tmp, STATE / f"{key}.state")

    def get(key):
        p = STATE / f"{key}.state"
        return p.read_text() if p.exists() else None
""")

_SBATCH = _COMMON + textwrap.dedent("""
    if os.environ.get("FAKE_SLURM_REFUSE"):
        print("sbatch: error: Batch job submission failed: Unable to contact slurm controller",
              file=sys.stderr)
        sys.exit(1)
    script = Path(sys.argv[-1])
    text = script.read_text()
    opts = dict(re.findall(r"^#SBATCH --([\\w-]+)(?:=(.*))?$", text, re.M))
    counter = STATE / "counter"
    job = int(counter.read_text()) + 1
    counter.write_text(str(job))
    (STATE / f"{job}.sh").write_text(text)
    tasks = [None]
    if "array" in opts:
        first, last = opts["array"].split("%")[0].split("-")
        tasks = list(range(int(first), int(last) + 1))
    for task in tasks:
        key = f"{job}_{task}" if task is not None else str(job)
        env = dict(os.environ, SLURM_JOB_ID=str(job) if task is None else f"{job}{task:03d}",
                   SLURM_NTASKS="1", SLURM_PROCID="0", SLURM_LOCALID="0", SLURM_NODEID="0",
                   SLURM_JOB_NUM_NODES="1", SLURM_JOB_NODELIST="localhost")
        if task is not None:
            env.update(SLURM_ARRAY_JOB_ID=str(job), SLURM_ARRAY_TASK_ID=str(task),
                       SLURM_ARRAY_TASK_COUNT=str(len(tasks)))
        put(key, "PENDING")
        proc = subprocess.Popen([sys.executable, str(STATE / "bin" / "_run"), key, str(script)],
                                env=env, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (STATE / f"{key}.pid").write_text(str(proc.pid))
    print(f"Submitted batch job {job}")
""")

_RUN = _COMMON + textwrap.dedent("""
    key, script = sys.argv[1], sys.argv[2]
    put(key, "RUNNING")
    code = subprocess.call(["bash", script])
    if get(key) == "RUNNING":
        put(key, "COMPLETED" if code == 0 else ("NODE_FAIL" if code in (-9, 137) else "FAILED"))
""")

_SRUN = _COMMON + textwrap.dedent("""
    args = sys.argv[1:]
    out = err = None
    while args and args[0].startswith("--"):
        flag = args.pop(0)
        if flag in ("--output", "--error"):
            value = args.pop(0)
            job = os.environ.get("SLURM_ARRAY_JOB_ID", os.environ["SLURM_JOB_ID"])
            value = (value.replace("%A", job).replace("%a", os.environ.get("SLURM_ARRAY_TASK_ID", ""))
                     .replace("%j", os.environ["SLURM_JOB_ID"]).replace("%t", "0"))
            if flag == "--output":
                out = value
            else:
                err = value
    with open(out or os.devnull, "a") as fo, open(err or os.devnull, "a") as fe:
        sys.exit(subprocess.call(args, stdout=fo, stderr=fe))
""")

_SACCT = _COMMON + textwrap.dedent("""
    args = sys.argv[1:]
    wanted = [args[i + 1] for i, a in enumerate(args) if a == "-j"]
    print("JobID|State|NodeList")
    for p in sorted(STATE.glob("*.state")):
        key = p.name[:-len(".state")]
        if key.split("_")[0] in wanted:
            print(f"{key}|{p.read_text()}|localhost")
""")

_SCANCEL = _COMMON + textwrap.dedent("""
    for target in [a for a in sys.argv[1:] if not a.startswith("-")]:
        keys = [p.name[:-len(".pid")] for p in STATE.glob("*.pid")
                if p.name[:-len(".pid")] == target or p.name.startswith(target + "_")]
        for key in keys:
            if get(key) in ("PENDING", "RUNNING"):
                put(key, "CANCELLED by 0")
                try:
                    os.killpg(int((STATE / f"{key}.pid").read_text()), signal.SIGKILL)
                except ProcessLookupError:
                    pass
""")


def install(folder: str | os.PathLike) -> Path:
    """Write the fake commands into ``folder/bin`` and return that folder.

    Job ids never repeat within one test process, as on a real cluster: submitit keeps the
    state of finished jobs in a watcher shared by all its jobs, so a job id reused by a later
    test would read an earlier job's final state.
    """
    folder = Path(folder)
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (folder / "counter").write_text(str(1000 + next(_INSTALLS) * 10_000 - 1))
    for name, body in (("sbatch", _SBATCH), ("_run", _RUN), ("srun", _SRUN), ("sacct", _SACCT),
                       ("scancel", _SCANCEL)):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)
    return bin_dir


def set_state(folder: str | os.PathLike, key: str, state: str) -> None:
    """Force the state ``sacct`` reports for job ``key`` (``"123_0"``), e.g. ``"TIMEOUT"``."""
    (Path(folder) / f"{key}.state").write_text(state)


def stop_all(folder: str | os.PathLike) -> None:
    """Kill every job process group the fake scheduler started."""
    for pid_file in Path(folder).glob("*.pid"):
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass
