"""examples/chebyshev_tucker.ipynb runs top to bottom on small settings and meets its tolerance."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "chebyshev_tucker.ipynb"


def test_notebook_approximates_the_potential(tmp_path, monkeypatch):
    settings = {"PARTICLES": "60", "TOL": "1e-6", "DEGREES": "16,32,64", "TOLS": "1e-3,1e-5,1e-7",
                "POINTS": "1500", "SLICE": "48"}
    for k, v in settings.items():
        monkeypatch.setenv(f"PDEKIT_NB_CT_{k}", v)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    summary = None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/plain", "")
            if out.get("output_type") == "execute_result" and text.startswith("{'ranks'"):
                summary = ast.literal_eval(text)
    assert summary is not None, "the last cell did not display its summary dict"
    assert summary["rms_error"] <= 1e-6 and summary["max_error"] <= 2e-6
    assert summary["slice_error"] <= 2e-6
    errors = [row[3] for row in summary["by_degree"]]
    assert errors[0] > 1e3 * errors[-1]  # error falls with the degree
    ranks = [row[1] for row in summary["by_tol"]]
    assert ranks == sorted(ranks) and ranks[0] < ranks[-1]  # ranks grow as tol shrinks
    assert [row[2] <= 1.0001 * row[0] for row in summary["by_tol"]] == [True] * 3
    assert not any(summary["slater_converged"]) and summary["slater_error"] > 1e-5
