"""Writing a benchmark's JSON record (shared by the scripts in this folder)."""

from __future__ import annotations

import json
from pathlib import Path

from pdekit._atomic import atomic_path


def write_record(path, record: dict, **json_kwargs) -> Path:
    """Write ``record`` as JSON to ``path`` atomically (folders created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    json_kwargs.setdefault("indent", 2)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, **json_kwargs) + "\n")
    return path
