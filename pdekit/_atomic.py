"""Atomic file writes: an interrupted write never leaves a corrupt file behind.

Everything pdekit saves (models, checkpoints, arrays, tensors) goes through
:func:`atomic_path`: the data are written to a temporary file beside the target, flushed
to disk, and moved over the target in one ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "atomic_files", "check_writable_dir"]


def check_writable_dir(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path after checking that its folder exists and is writable.

    Raises
    ------
    FileNotFoundError
        The parent folder does not exist.
    PermissionError
        The parent folder is not writable.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist; create it first"
        )
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"cannot write {str(path)!r}: folder {str(parent)!r} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success move it over ``path`` atomically.

    Parameters
    ----------
    path : path-like
        Final destination.
    suffix : str, optional
        Suffix of the temporary file (some writers infer the format from it);
        defaults to the suffix of ``path``.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_path(os.path.join(d, "x.txt")) as tmp:
    ...     _ = tmp.write_text("done")
    >>> open(os.path.join(d, "x.txt")).read(), os.listdir(d)
    ('done', ['x.txt'])
    """
    path = check_writable_dir(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=(suffix if suffix is not None else path.suffix) + ".tmp",
                               dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file 0600; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_files(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` for a file that comes with sidecar files.

    The caller writes ``path.name`` (and any files it references, such as the ``.h5`` of an
    ``.xdmf``) into the folder. On success every file is moved into ``path``'s folder
    atomically, the sidecars first and ``path`` last, so a reader never finds the main file
    without its data; on failure nothing is left behind.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_files(os.path.join(d, "a.xdmf")) as folder:
    ...     _ = (folder / "a.h5").write_text("data"); _ = (folder / "a.xdmf").write_text("a.h5")
    >>> sorted(os.listdir(d))
    ['a.h5', 'a.xdmf']
    """
    path = check_writable_dir(path)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else "."))
    try:
        yield tmpdir
        for side in sorted(tmpdir.iterdir(), key=lambda p: p.name == path.name):
            with atomic_path(path.parent / side.name) as tmp:
                shutil.move(str(side), str(tmp))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
