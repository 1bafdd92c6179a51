"""Job options: sbatch time formats, extra sbatch lines, and their translation for submitit."""

from __future__ import annotations

import doctest

import pytest

from pdekit.cluster import JobOptions, options
from pdekit.cluster.options import parse_sbatch_line, parse_time


@pytest.mark.parametrize("text, seconds", [
    (90, 5400), (0.5, 30), ("90", 5400), ("0:05", 5), ("05:30", 330), ("01:30:00", 5400),
    ("2-00", 172800), ("1-02:30", 95400), ("1-02:30:15", 95415),
])
def test_parse_time_reads_every_sbatch_format(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("bad, match", [
    ("1h", "not understood; expected minutes, MM:SS"), ("", "not understood"), ("0:00", "positive"),
    (0, "positive number of minutes"), (-5, "positive"), (float("nan"), "positive"),
])
def test_parse_time_rejects_other_text(bad, match):
    with pytest.raises(ValueError, match=match):
        parse_time(bad)
    with pytest.raises(TypeError):
        parse_time(True)


def test_sbatch_lines():
    assert parse_sbatch_line("--qos=high") == ("qos", "high")
    assert parse_sbatch_line("#SBATCH --constraint a100") == ("constraint", "a100")
    assert parse_sbatch_line("  --exclusive ") == ("exclusive", True)
    assert parse_sbatch_line("--mail_type=END") == ("mail-type", "END")
    with pytest.raises(ValueError, match="not understood; expected a long option"):
        parse_sbatch_line("-p debug")
    with pytest.raises(ValueError, match="sets --array, which the launcher sets itself"):
        parse_sbatch_line("--array=0-3")


def test_slurm_and_local_parameters():
    opts = JobOptions(name="gen", time="1:30:00", partition="cpu", account="proj1", cpus_per_task=4,
                      mem_gb=7.5, gpus_per_node=1, array_parallelism=8,
                      sbatch_lines=("--qos=high", "#SBATCH --exclusive"), setup=("module load x",))
    p = opts.slurm_parameters()
    assert p == {"job_name": "gen", "time": 90, "nodes": 1, "ntasks_per_node": 1, "cpus_per_task": 4,
                 "signal_delay_s": 90, "partition": "cpu", "account": "proj1", "mem": "7680MB",
                 "gpus_per_node": 1, "array_parallelism": 8, "setup": ["module load x"],
                 "additional_parameters": {"qos": "high", "exclusive": True}}
    assert JobOptions(mem_gb=4, time=0.5).slurm_parameters()["mem"] == "4GB"
    assert JobOptions(time=0.5).slurm_parameters()["time"] == 1  # sbatch counts whole minutes
    local = JobOptions(time="0:08", tasks_per_node=2).local_parameters()
    assert local == {"timeout_min": 8 / 60, "tasks_per_node": 2, "gpus_per_node": 0, "signal_delay_s": 2}
    with pytest.raises(ValueError, match="local launcher runs jobs on this one machine; got nodes=2"):
        JobOptions(nodes=2).local_parameters()
    assert opts.replace(cpus_per_task=2).cpus_per_task == 2


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(cpus_per_task=0), ValueError, "cpus_per_task must be an integer >= 1; got 0"),
    (dict(cpus_per_task=1.5), TypeError, "cpus_per_task must be an integer"),
    (dict(gpus_per_node=-1), ValueError, "gpus_per_node must be an integer >= 0"),
    (dict(mem_gb=0), ValueError, "mem_gb must be a positive number of GB"),
    (dict(partition="my part"), ValueError, "partition must be a non-empty word"),
    (dict(time="tomorrow"), ValueError, "time 'tomorrow' is not understood"),
    (dict(sbatch_lines=("--qos=a", "--qos=b")), ValueError, r"set \['--qos'\] more than once"),
    (dict(sbatch_lines=(3,)), TypeError, "sbatch_lines must be a sequence of strings"),
    (dict(array_parallelism=0), ValueError, "array_parallelism must be an integer >= 1"),
])
def test_bad_options_say_what_was_expected(kwargs, error, match):
    with pytest.raises(error, match=match):
        JobOptions(**kwargs)


def test_a_single_string_is_one_line():
    assert JobOptions(setup="module load x").setup == ("module load x",)


def test_doctests():
    from pdekit.cluster import jobs

    for module in (options, jobs):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0
