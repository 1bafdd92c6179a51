"""examples/streaming.ipynb runs top to bottom on small settings: exactly once, and it learns."""

from __future__ import annotations

from ._notebooks import run_notebook

SMALL = {"SIMULATIONS": "6", "VALIDATION": "1", "STEPS": "8", "RESOLUTION": "16", "CLIENTS": "2",
         "MEMORY": "16MB", "MODES": "4", "WIDTH": "8", "LAYERS": "1"}


def test_streaming_notebook_accepts_every_step_once(tmp_path, monkeypatch):
    env = {f"PDEKIT_NB_{k}": v for k, v in SMALL.items()}
    env["PDEKIT_NB_WORKDIR"] = str(tmp_path / "work")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    s = run_notebook("streaming.ipynb", env=env, workdir=tmp_path, monkeypatch=monkeypatch,
                     summary_prefix="{'accepted'", timeout=300)
    assert s["accepted"] == s["expected"] == 6 * 8 and s["duplicates"] == 0
    assert s["samples_trained"] >= 6 * 8
    assert 0 < s["validation_l2"] < 1.0 and 0 < s["last_step_error"] < 1.5
    # the rank wrote only model.pt and a few metrics lines, not the 48 fields it received
    assert s["disk_bytes_written"] < (tmp_path / "work" / "run" / "model.pt").stat().st_size + 64 * 1024
    assert (tmp_path / "work" / "run" / "report.json").is_file()
