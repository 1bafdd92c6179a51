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

__all__ = ["atomic_path", "atomic_files", "check_writable_dir", "refuse_existing"]


def refuse_existing(path: str | os.PathLike, overwrite: bool) -> None:
    """Raise FileExistsError when ``path`` exists and ``overwrite`` is false.

    The one wording of the refusal, shared by every public writer (the CLI verbs map
    ``overwrite=True`` to ``--overwrite``).
    """
    if not overwrite and os.path.lexists(path):
        raise _exists(path)


def _exists(path: str | os.PathLike) -> FileExistsError:
    return FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it (nothing was written)")


def _commit(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move ``tmp`` to ``path``: replacing it, or (``overwrite`` false) only if it does not exist.

    The no-clobber move is a hard link (atomic: of two writers, one wins and the other is
    refused); where the filesystem has no hard links, an existence check and a rename.
    """
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError:  # no hard links here (some network and FAT filesystems)
        refuse_existing(path, False)
        os.replace(tmp, path)
    else:
        tmp.unlink()


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
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success move it over ``path`` atomically.

    Parameters
    ----------
    path : path-like
        Final destination.
    suffix : str, optional
        Suffix of the temporary file (some writers infer the format from it);
        defaults to the suffix of ``path``.
    overwrite : bool
        False: refuse (FileExistsError) when ``path`` exists, before anything is written and
        again, atomically, when the file is moved into place. The default True is for a run's
        own files (checkpoints, journals); public writers pass their caller's ``overwrite``.

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
    refuse_existing(path, overwrite)
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
        _commit(tmp_path, path, overwrite)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_files(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` for a file that comes with sidecar files.

    The caller writes ``path.name`` (and any files it references, such as the ``.h5`` of an
    ``.xdmf``) into the folder. On success every file is moved into ``path``'s folder
    atomically, the sidecars first and ``path`` last, so a reader never finds the main file
    without its data; on failure nothing is left behind. With ``overwrite=False`` an existing
    ``path`` is refused before anything is written, and an existing sidecar before any file is
    moved (FileExistsError; nothing of the caller's is touched).

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
    refuse_existing(path, overwrite)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else "."))
    try:
        yield tmpdir
        files = sorted(tmpdir.iterdir(), key=lambda p: p.name == path.name)
        for side in files:
            refuse_existing(path.parent / side.name, overwrite)
        for side in files:
            with atomic_path(path.parent / side.name, overwrite=overwrite) as tmp:
                shutil.move(str(side), str(tmp))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
