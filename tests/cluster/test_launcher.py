"""Launchers: the same pickled calls as local processes and as SLURM job arrays; resubmission."""

from __future__ import annotations

import time

import pytest

from pdekit.cluster import Command, JobError, JobOptions, Launcher, SlurmUnavailableError, wait_for
from tests.cluster import fake_slurm
from tests.cluster.job_functions import always_fails, env_value, killed_once, slow_once, square

FAST = dict(poll_interval=0.1)


def test_local_job_array_returns_results_in_order(tmp_path, job_env):
    launcher = Launcher("local", tmp_path / "jobs", options=JobOptions(time="0:30"))
    jobs = launcher.map(square, [(3,), (4,), (5,)], labels=["a", "b", "c"])
    assert [j.label for j in jobs] == ["a", "b", "c"] and len({j.job_id for j in jobs}) == 3
    polls = []
    assert wait_for(jobs, on_poll=lambda js: polls.append(len(js)), **FAST) == [9, 16, 25]
    assert polls and set(polls) == {3}
    assert all(j.attempts == 1 and j.status() == "succeeded" for j in jobs)
    assert list((tmp_path / "jobs").glob("*_result.pkl"))  # submitit's own files, in the folder


def test_killed_job_is_resubmitted(tmp_path, job_env):
    launcher = Launcher("local", tmp_path / "jobs")
    job = launcher.submit(killed_once, str(tmp_path / "marker"), 7, label="fragile")
    assert wait_for([job], **FAST) == [7]
    assert job.attempts == 2 and len(set(job.job_ids)) == 2


def test_job_that_keeps_failing_is_reported_with_its_error(tmp_path, job_env):
    launcher = Launcher("local", tmp_path / "jobs")
    ok = launcher.submit(square, 2, label="fine")
    bad = launcher.submit(always_fails, "bad coefficient", label="shard 1/2")
    with pytest.raises(JobError, match=r"shard 1/2 \(job \d+\) failed after 2 attempt\(s\): "
                                       r"ValueError: bad coefficient \(log: .*_log\.err\)") as err:
        wait_for([ok, bad], max_resubmits=1, **FAST)
    assert err.value.failures[0][0] is bad and bad.attempts == 2 and ok.status() == "succeeded"
    with pytest.raises(ValueError, match="max_resubmits must be an integer >= 0"):
        wait_for([ok], max_resubmits=-1)


def test_timed_out_job_is_run_again(tmp_path, job_env):
    launcher = Launcher("local", tmp_path / "jobs", options=JobOptions(time="0:05"))
    plain = launcher.submit(slow_once, str(tmp_path / "m1"), 60, 1, label="plain")
    resumable = launcher.submit(slow_once, str(tmp_path / "m2"), 60, 2, label="resumable", resumable=True)
    t0 = time.monotonic()
    assert wait_for([plain, resumable], **FAST) == [1, 2]
    assert time.monotonic() - t0 < 30
    assert plain.attempts == 2  # failed at its time limit, resubmitted by wait_for
    assert resumable.attempts == 1  # checkpointed and requeued by submitit itself


def test_commands_run_with_their_environment(tmp_path, job_env):
    launcher = Launcher("local", tmp_path / "jobs")
    out = tmp_path / "client-{}.txt"
    commands = [Command(["sh", "-c", f'printf "$RANK" > {str(out).format(k)}'], env={"RANK": str(k)})
                for k in range(2)]
    assert wait_for(launcher.submit_commands(commands), **FAST) == [0, 0]
    assert [out.with_name(f"client-{k}.txt").read_text() for k in range(2)] == ["0", "1"]
    job = launcher.submit(env_value, "PDEKIT_TEST_VAR")
    assert wait_for([job], **FAST) == [None]
    failing = launcher.submit_commands([Command(["sh", "-c", "exit 4"])], labels=["client 0"])
    with pytest.raises(JobError, match=r"client 0 .* ended with exit code 4"):
        wait_for(failing, max_resubmits=0, **FAST)


def test_interrupt_cancels_running_jobs(tmp_path, job_env):
    launcher = Launcher("local", tmp_path / "jobs")
    job = launcher.submit(slow_once, str(tmp_path / "m"), 60, 0)

    def interrupt(jobs):
        if jobs[0].status() == "running":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait_for([job], on_poll=interrupt, **FAST)
    deadline = time.monotonic() + 10
    while job.status() == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.status() != "running"


def test_bad_launcher_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"unknown launcher 'pbs'; expected one of \['local', 'slurm'\]"):
        Launcher("pbs", tmp_path)
    with pytest.raises(ValueError, match="local launcher runs jobs on this one machine"):
        Launcher("local", tmp_path, options=JobOptions(nodes=2))
    launcher = Launcher("local", tmp_path)
    with pytest.raises(ValueError, match="nothing to submit"):
        launcher.map(square, [])
    with pytest.raises(ValueError, match="got 1 labels for 2 jobs"):
        launcher.map(square, [(1,), (2,)], labels=["x"])


# -- SLURM (the fake scheduler of tests/cluster/fake_slurm.py) --------------------------------


def test_slurm_without_sbatch_is_a_clear_error(tmp_path, no_slurm):
    with pytest.raises(SlurmUnavailableError, match=r"SLURM is not reachable from this machine: sbatch, "
                                                    r"srun, sacct, scancel not found on PATH.*; use the sbatch"):
        Launcher("slurm", tmp_path / "jobs", hint="use the sbatch template")
    assert not (tmp_path / "jobs").exists()


def test_slurm_job_array_with_options(tmp_path, fake_slurm_dir):
    opts = JobOptions(name="pdekit-gen", time="1:30:00", partition="debug", account="proj7", mem_gb=4,
                      cpus_per_task=2, sbatch_lines=("--qos=high",), setup=("export FROM_SETUP=yes",))
    launcher = Launcher("slurm", tmp_path / "jobs", options=opts)
    jobs = launcher.map(square, [(1,), (2,), (3,)])
    assert [j.job_id.split("_")[1] for j in jobs] == ["0", "1", "2"]
    assert wait_for(jobs, **FAST) == [1, 4, 9]
    script = (fake_slurm_dir / f"{jobs[0].job_id.split('_')[0]}.sh").read_text()
    for line in ("#SBATCH --partition=debug", "#SBATCH --account=proj7", "#SBATCH --time=90",
                 "#SBATCH --mem=4GB", "#SBATCH --cpus-per-task=2", "#SBATCH --qos=high",
                 "#SBATCH --job-name=pdekit-gen", "#SBATCH --array=0-2%3", "export FROM_SETUP=yes"):
        assert line in script
    env = launcher.submit(env_value, "FROM_SETUP")
    assert wait_for([env], **FAST) == ["yes"]


def test_slurm_resubmits_a_job_lost_to_a_node_failure(tmp_path, fake_slurm_dir):
    launcher = Launcher("slurm", tmp_path / "jobs")
    jobs = launcher.map(killed_once, [(str(tmp_path / "m"), 5), (str(tmp_path / "m2"), 6)])
    assert wait_for(jobs, result_grace_s=0, **FAST) == [5, 6]
    assert [j.attempts for j in jobs] == [2, 2]
    assert "_" not in jobs[0].job_ids[1]  # the second attempt is a job of its own


def test_slurm_timeout_and_cancel(tmp_path, fake_slurm_dir):
    launcher = Launcher("slurm", tmp_path / "jobs")
    job = launcher.submit(slow_once, str(tmp_path / "m"), 60, 3)
    deadline = time.monotonic() + 20
    while not (tmp_path / "m").exists() and time.monotonic() < deadline:  # the call has started
        time.sleep(0.05)
    fake_slurm.stop_all(fake_slurm_dir)
    fake_slurm.set_state(fake_slurm_dir, job.job_id, "TIMEOUT")
    assert wait_for([job], result_grace_s=0, **FAST) == [3] and job.attempts == 2
    other = launcher.submit(slow_once, str(tmp_path / "m3"), 60, 4, label="cancelled one")
    while not (tmp_path / "m3").exists() and time.monotonic() < deadline + 20:
        time.sleep(0.05)
    other.cancel()  # scancel, as a person would
    t0 = time.monotonic()
    with pytest.raises(JobError, match=r"cancelled one .* cancelled \(CANCELLED by 0\); not resubmitted"):
        wait_for([other], result_grace_s=0, **FAST)
    assert time.monotonic() - t0 < 15 and other.attempts == 1


def test_sbatch_refusing_is_a_clear_error(tmp_path, fake_slurm_dir, monkeypatch):
    monkeypatch.setenv("FAKE_SLURM_REFUSE", "1")
    launcher = Launcher("slurm", tmp_path / "jobs", hint="or use --launcher local")
    with pytest.raises(SlurmUnavailableError, match="sbatch refused the job .*Unable to contact slurm "
                                                    "controller.*; or use --launcher local"):
        launcher.map(square, [(1,), (2,)])
