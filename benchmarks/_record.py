"""Writing a benchmark's JSON record (shared by the scripts in this folder)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pdekit._atomic import atomic_path


def machine_state() -> dict:
    """What the machine was doing when the record was written (figures from a shared machine
    mean something only next to its load)."""
    import os

    state = {"cpus": os.cpu_count(), "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if hasattr(os, "getloadavg"):
        state["load_average_1_5_15_min"] = [round(v, 2) for v in os.getloadavg()]
    return state


def write_record(path, record: dict, **json_kwargs) -> Path:
    """Write ``record`` as JSON to ``path`` atomically (folders created); return the path.

    The record gets a ``machine_state`` entry (:func:`machine_state`) unless it has one.
    """
    path = Path(path)
    record = {**record, "machine_state": record.get("machine_state", machine_state())}
    path.parent.mkdir(parents=True, exist_ok=True)
    json_kwargs.setdefault("indent", 2)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, **json_kwargs) + "\n")
    return path
