"""examples/learned_cg.ipynb runs top to bottom on small settings and shows DCDM converging fast."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "learned_cg.ipynb"


def test_notebook_compares_methods_and_trains(tmp_path, monkeypatch):
    for k, v in {"SIZE": "97", "RTOL": "1e-8", "TRAIN_EPOCHS": "3", "TRAIN_SIZE": "33"}.items():
        monkeypatch.setenv(f"PDEKIT_NB_{k}", v)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    summary = None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/plain", "")
            if out.get("output_type") == "execute_result" and text.startswith("{'iterations'"):
                summary = ast.literal_eval(text)
    assert summary is not None, "the last cell did not display its summary dict"
    its = summary["iterations"]
    assert all(summary["converged"].values())
    assert its["DCDM (pretrained)"] <= 10 and its["DCDM (pretrained)"] < its["IC(0)-PCG"] / 3
    assert its["DCDM (pretrained)"] < its["DCDM (untrained)"]
    assert its["DCDM (trained here)"] <= its["DCDM (untrained)"]
    assert summary["loss"][1] < summary["loss"][0]
    assert 5 < summary["network_spmv"] < 20
