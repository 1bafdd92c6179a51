"""examples/darcy_tfno.ipynb runs top to bottom on small settings and trains a working model."""

from __future__ import annotations

from ._notebooks import run_notebook

SMALL = {"N_TRAIN": "48", "N_TEST": "8", "RESOLUTION": "17", "FINE": "33", "EPOCHS": "25",
         "MODES": "6", "WIDTH": "16", "RANK": "0.3"}


def test_notebook_trains_and_evaluates_at_two_resolutions(tmp_path, monkeypatch):
    env = {f"PDEKIT_NB_{k}": v for k, v in SMALL.items()}
    env["PDEKIT_NB_WORKDIR"] = str(tmp_path / "work")
    results = run_notebook("darcy_tfno.ipynb", env=env, workdir=tmp_path, monkeypatch=monkeypatch,
                           summary_prefix="{'l2@")
    # an untrained or broken model scores ~0.6-1.0 here; the trained one well under 0.25
    assert results["l2@17"] < 0.25
    assert results["l2@33"] < 0.3
    assert 1_000 < results["n_parameters"] < 100_000
    assert (tmp_path / "work" / "run" / "model.pt").is_file()
    assert len((tmp_path / "work" / "run" / "metrics.jsonl").read_text().splitlines()) == 25
