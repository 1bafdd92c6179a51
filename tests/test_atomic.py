"""Atomic writes: nothing half-written, and nothing of the user's replaced without overwrite."""

from __future__ import annotations

import os

import pytest

from pdekit import _atomic
from pdekit._atomic import atomic_files, atomic_path, refuse_existing


def test_refusal_comes_before_any_work(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("mine")
    ran = []
    with pytest.raises(FileExistsError, match=r"a\.txt' exists; pass overwrite=True"):
        with atomic_path(target, overwrite=False) as tmp:
            ran.append(tmp)
    assert ran == [] and target.read_text() == "mine" and os.listdir(tmp_path) == ["a.txt"]


def test_a_file_that_appears_during_the_write_is_not_replaced(tmp_path):
    target = tmp_path / "a.txt"
    with pytest.raises(FileExistsError, match="exists"):
        with atomic_path(target, overwrite=False) as tmp:
            tmp.write_text("ours")
            target.write_text("another writer's")  # a concurrent writer wins the race
    assert target.read_text() == "another writer's" and os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("hard_links", [True, False])
def test_new_file_is_written_and_overwrite_replaces(tmp_path, monkeypatch, hard_links):
    if not hard_links:  # filesystems without hard links: existence check and rename
        def no_link(*args):
            raise OSError("hard links not supported")
        monkeypatch.setattr(_atomic.os, "link", no_link)
    target = tmp_path / "a.txt"
    with atomic_path(target, overwrite=False) as tmp:
        tmp.write_text("one")
    with atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("two")
    assert target.read_text() == "two" and os.listdir(tmp_path) == ["a.txt"]
    with pytest.raises(FileExistsError):
        with atomic_path(target, overwrite=False) as tmp:
            tmp.write_text("three")
    assert target.read_text() == "two" and os.listdir(tmp_path) == ["a.txt"]


def test_atomic_files_refuses_an_existing_sidecar_before_moving_anything(tmp_path):
    (tmp_path / "a.h5").write_text("someone else's")
    with pytest.raises(FileExistsError, match=r"a\.h5' exists"):
        with atomic_files(tmp_path / "a.xdmf", overwrite=False) as folder:
            (folder / "a.h5").write_text("data")
            (folder / "a.xdmf").write_text("a.h5")
    assert sorted(os.listdir(tmp_path)) == ["a.h5"] and (tmp_path / "a.h5").read_text() == "someone else's"
    with atomic_files(tmp_path / "a.xdmf", overwrite=True) as folder:
        (folder / "a.h5").write_text("data")
        (folder / "a.xdmf").write_text("a.h5")
    assert sorted(os.listdir(tmp_path)) == ["a.h5", "a.xdmf"] and (tmp_path / "a.h5").read_text() == "data"


def test_refuse_existing_counts_a_dangling_link(tmp_path):
    link = tmp_path / "l"
    os.symlink(tmp_path / "missing", link)
    with pytest.raises(FileExistsError):
        refuse_existing(link, False)
    refuse_existing(link, True)
    refuse_existing(tmp_path / "free", False)
