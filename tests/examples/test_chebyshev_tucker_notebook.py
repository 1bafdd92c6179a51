"""examples/chebyshev_tucker.ipynb runs top to bottom on small settings and meets its tolerance."""

from __future__ import annotations

from ._notebooks import run_notebook


def test_notebook_approximates_the_potential(tmp_path, monkeypatch):
    settings = {"PARTICLES": "60", "TOL": "1e-6", "DEGREES": "16,32,64", "TOLS": "1e-3,1e-5,1e-7",
                "POINTS": "1500", "SLICE": "48"}
    summary = run_notebook("chebyshev_tucker.ipynb", env={f"PDEKIT_NB_CT_{k}": v for k, v in settings.items()},
                           workdir=tmp_path, monkeypatch=monkeypatch, summary_prefix="{'ranks'")
    assert summary["rms_error"] <= 1e-6 and summary["max_error"] <= 2e-6
    assert summary["slice_error"] <= 2e-6
    errors = [row[3] for row in summary["by_degree"]]
    assert errors[0] > 1e3 * errors[-1]  # error falls with the degree
    ranks = [row[1] for row in summary["by_tol"]]
    assert ranks == sorted(ranks) and ranks[0] < ranks[-1]  # ranks grow as tol shrinks
    assert [row[2] <= 1.0001 * row[0] for row in summary["by_tol"]] == [True] * 3
    assert not any(summary["slater_converged"]) and summary["slater_error"] > 1e-5
