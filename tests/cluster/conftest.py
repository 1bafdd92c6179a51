"""Fixtures of the cluster tests: job processes that can import the test helpers, a fake SLURM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cluster import fake_slurm

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def job_env(monkeypatch):
    """Jobs run from the repository root with the tests importable, one BLAS thread each."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def fake_slurm_dir(tmp_path, monkeypatch, job_env):
    """sbatch/srun/sacct/scancel of :mod:`tests.cluster.fake_slurm` first on PATH."""
    folder = tmp_path / "slurm"
    bin_dir = fake_slurm.install(folder)
    monkeypatch.setenv("FAKE_SLURM_DIR", str(folder))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield folder
    fake_slurm.stop_all(folder)


@pytest.fixture
def no_slurm(tmp_path, monkeypatch):
    """A PATH on which no SLURM command can be found (python and sh still can)."""
    import shutil
    import sys

    bin_dir = tmp_path / "bare-bin"
    bin_dir.mkdir()
    for tool in ("sh", "bash"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    (bin_dir / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir
