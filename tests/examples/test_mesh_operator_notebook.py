"""examples/mesh_operator.ipynb runs top to bottom on small settings, trains a GINO on an
L-shaped mesh and transfers it to the twice-refined mesh."""

from __future__ import annotations

from ._notebooks import run_notebook

SMALL = {"MESH_N": "4", "N_TRAIN": "48", "N_TEST": "8", "EPOCHS": "15", "LATENT": "12", "MODES": "4",
         "WIDTH": "8", "BATCH": "8"}


def test_notebook_trains_a_gino_and_transfers_it_to_a_refined_mesh(tmp_path, monkeypatch):
    env = {f"PDEKIT_NB_{k}": v for k, v in SMALL.items()}
    env["PDEKIT_NB_WORKDIR"] = str(tmp_path / "work")
    results = run_notebook("mesh_operator.ipynb", env=env, workdir=tmp_path, monkeypatch=monkeypatch,
                           summary_prefix="{'l2_mesh'")
    # an untrained model scores ~0.75 here
    assert results["l2_mesh"] < 0.4
    assert results["refined_over_mesh"] < 1.3
    assert results["points"] == (65, 833)
    assert 1_000 < results["n_parameters"] < 100_000
    assert (tmp_path / "work" / "run" / "model.pt").is_file()
    assert len((tmp_path / "work" / "run" / "metrics.jsonl").read_text().splitlines()) == 15
