"""examples/learned_cg.ipynb runs top to bottom on small settings and shows DCDM converging fast."""

from __future__ import annotations

from ._notebooks import run_notebook


def test_notebook_compares_methods_and_trains(tmp_path, monkeypatch):
    env = {f"PDEKIT_NB_{k}": v for k, v in {"SIZE": "97", "RTOL": "1e-8", "TRAIN_EPOCHS": "3",
                                             "TRAIN_SIZE": "33"}.items()}
    summary = run_notebook("learned_cg.ipynb", env=env, workdir=tmp_path, monkeypatch=monkeypatch,
                           summary_prefix="{'iterations'")
    its = summary["iterations"]
    assert all(summary["converged"].values())
    assert its["DCDM (pretrained)"] <= 10 and its["DCDM (pretrained)"] < its["IC(0)-PCG"] / 3
    assert its["DCDM (pretrained)"] < its["DCDM (untrained)"]
    assert its["DCDM (trained here)"] <= its["DCDM (untrained)"]
    assert summary["loss"][1] < summary["loss"][0]
    assert 5 < summary["network_spmv"] < 20
