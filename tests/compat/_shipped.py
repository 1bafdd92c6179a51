"""Running a peer package's own test file against pdekit, with only its import line changed.

The file is read from the installed package (the version the compat extra pins), its one import
of the tested object is replaced by pdekit's, and the result is executed in the namespace of the
pdekit test module that asked for it, so that pytest collects its tests there.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib

import pytest

__all__ = ["require", "shipped_test_source"]


def require(package: str) -> None:
    """Skip the calling test module when ``package`` is not installed, or fail under ``make test``.

    ``make test`` sets ``PDEKIT_COMPAT_REQUIRED=1``: there the compat extra is installed, and a
    missing package is an error, never a silent skip.
    """
    if importlib.util.find_spec(package) is not None:
        return
    message = (f"{package} is not installed: tests/compat runs its shipped tests against pdekit; install the "
               f"test extra with `pip install -e .[compat]` (make install does)")
    if os.environ.get("PDEKIT_COMPAT_REQUIRED"):
        raise RuntimeError(message)
    pytest.skip(message, allow_module_level=True)


def shipped_test_source(package: str, relative: str, old_import: str, new_import: str) -> tuple[str, str]:
    """The source of ``package``'s test file ``relative`` with ``old_import`` (one line) replaced.

    Returns ``(source, path)``; raises AssertionError when the shipped file does not hold the import
    line exactly once (another version of the package: the swap would not be the only change).
    """
    spec = importlib.util.find_spec(package)
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / relative
    source = path.read_text()
    lines = source.splitlines()
    count = sum(line == old_import for line in lines)
    assert count == 1, f"{path} holds {count} lines {old_import!r}; expected exactly one to swap"
    return "\n".join(new_import if line == old_import else line for line in lines) + "\n", str(path)
