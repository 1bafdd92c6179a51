"""examples/slurm/generate.sbatch as SLURM runs it: array tasks, then the merge; same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pdekit.data import generate

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "slurm" / "generate.sbatch"
ARGS = ["heat", "--n", "5", "--resolution", "8", "--t-final", "0.02", "--n-records", "2", "--seed", "4"]


def _run(env: dict, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_array_tasks_then_merge_give_the_single_run_bytes(tmp_path):
    venv_bin = str(Path(sys.executable).parent)
    if not (Path(venv_bin) / "pdekit").exists():
        pytest.skip("the pdekit console script is not installed beside this interpreter")
    ref, out = tmp_path / "ref.h5", tmp_path / "heat.h5"
    generate("heat", ref, n=5, resolution=8, seed=4, workers=0, t_final=0.02, n_records=2)
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    base["PATH"] = f"{venv_bin}{os.pathsep}{base.get('PATH', '')}"
    for task in (1, 0):  # array tasks, in any order
        proc = _run({**base, "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_COUNT": "2"},
                    [*ARGS, "-o", str(out)])
        assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.with_name("heat.h5.parts").glob("*.npz")) == \
        [f"{i:09d}.npz" for i in range(5)]
    proc = _run(base, [*ARGS, "-o", str(out)])  # the merge job: no array task id
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == ref.read_bytes()
    bad = _run({**base, "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3"}, [*ARGS, "-o", str(out)])
    assert bad.returncode == 2 and "shard index must be in 0..2" in bad.stderr
    assert _run(base, []).returncode == 2
