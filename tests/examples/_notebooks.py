"""Run an example notebook top to bottom on small settings and read back the dict it displays."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbclient
import nbformat

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_notebook(name: str, *, env: dict[str, str], workdir: Path, monkeypatch,
                 summary_prefix: str, timeout: int = 120) -> dict:
    """Execute ``examples/<name>`` with ``env`` set and return its displayed summary dict.

    The summary is the ``execute_result`` whose text starts with ``summary_prefix``
    (e.g. ``"{'ranks'"``); the test fails if the notebook displays none.
    """
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}}).execute()
    for cell in reversed(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/plain", "")
            if out.get("output_type") == "execute_result" and text.startswith(summary_prefix):
                return ast.literal_eval(text)
    raise AssertionError(f"{name} displayed no summary starting with {summary_prefix!r}")
