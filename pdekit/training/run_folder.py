"""A training run's folder, and the rule that a new run never takes over an old one.

A run folder holds ``config.json`` (the options of the run), ``checkpoint.pt`` (exact
resume), ``metrics.jsonl`` (one record per epoch), ``model.pt`` (the trained model) and
``curves.png`` (loss and error curves). Starting a run in a folder that holds another run's
files would mix two runs (the metrics log is appended to), so :func:`claim_run_folder`
refuses unless the caller resumes that run or asks to overwrite it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

__all__ = ["RUN_FILES", "claim_run_folder", "existing_run_files"]

#: the files of a run folder (``pdekit train``)
RUN_FILES = ("config.json", "checkpoint.pt", "metrics.jsonl", "model.pt", "curves.png")


def existing_run_files(out: str | os.PathLike, files: Sequence[str] = RUN_FILES) -> list[str]:
    """The names in ``files`` that exist in folder ``out``."""
    out = Path(out)
    return [name for name in files if (out / name).exists()]


def claim_run_folder(out: str | os.PathLike, *, resume: bool = False, overwrite: bool = False,
                     files: Sequence[str] = RUN_FILES, remove: bool = True) -> Path:
    """Check that folder ``out`` may receive this run; return it as a Path.

    Parameters
    ----------
    out : path-like
        The run folder (need not exist yet).
    resume : bool
        This run continues the one in ``out``: its ``checkpoint.pt`` must exist.
    overwrite : bool
        Start a new run even if ``out`` holds another run's files; those of ``files`` are
        deleted (when ``remove``), so nothing of the old run is mixed into the new one.
    files : sequence of str
        The run files that count (default :data:`RUN_FILES`).
    remove : bool
        Delete the old files when overwriting (False on ranks other than the main one).

    Raises
    ------
    NotADirectoryError
        ``out`` is an existing file.
    FileExistsError
        ``out`` holds another run's files, and neither ``resume`` nor ``overwrite`` is set.
    FileNotFoundError
        ``resume`` without a checkpoint in ``out``.
    ValueError
        Both ``resume`` and ``overwrite``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"run folder {str(out)!r} is a file; expected a folder (created if missing)")
    if resume and overwrite:
        raise ValueError("resume and overwrite contradict each other: resume continues the run in "
                         f"{str(out)!r}, overwrite starts a new one there")
    if resume:
        if not (out / "checkpoint.pt").is_file():
            raise FileNotFoundError(f"nothing to resume: {str(out / 'checkpoint.pt')!r} does not exist; "
                                    f"start the run without resume")
        return out
    found = existing_run_files(out, files)
    if found and not overwrite:
        raise FileExistsError(
            f"{str(out)!r} holds another run ({', '.join(found)}); continue it with --resume "
            f"(resume=True), start over with --overwrite (overwrite=True), or pick another folder"
        )
    if found and remove:
        for name in found:
            (out / name).unlink(missing_ok=True)
    return out
