"""Shards: the documented assignment of sample indices, parsing, and per-shard progress."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.data.journal import Journal
from pdekit.data.locks import DatasetLocks
from pdekit.data.shards import Shard, shard_progress, write_shard_status


def test_assignment_is_round_robin_and_covers_every_sample_once():
    n = 23
    for count in (1, 2, 3, 5, 30):
        parts = [Shard(k, count).indices(n) for k in range(count)]
        np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))
        for k, idx in enumerate(parts):
            assert (idx % count == k).all()
    np.testing.assert_array_equal(Shard(1, 3).indices(10), [1, 4, 7])
    # growing n keeps every shard's earlier samples
    np.testing.assert_array_equal(Shard(2, 4).indices(20)[:3], Shard(2, 4).indices(12))


@pytest.mark.parametrize("text, match", [
    ("3/2", r"shard index must be in 0\.\.1 for 2 shards; got 3/2"),
    ("2/2", r"got 2/2 \(shards count from 0, like \$SLURM_ARRAY_TASK_ID with --array=0-1\)"),
    ("0/0", r"shard count must be >= 1; got 0/0"),
    ("x", r"shard 'x' is not understood; expected K/N"),
    ("-1/2", "not understood"), ("1/2/3", "not understood"), ("", "not understood"),
])
def test_bad_shards_are_refused(text, match):
    with pytest.raises(ValueError, match=match):
        Shard.parse(text)


def test_parse_forms():
    assert Shard.parse(" 1 / 4 ") == Shard(1, 4) == Shard.parse((1, 4)) == Shard.parse(Shard(1, 4))
    assert str(Shard(1, 4)) == "1/4" and Shard(1, 4).status_name == "shard-1-of-4.json"
    with pytest.raises(TypeError):
        Shard(True, 2)
    with pytest.raises(TypeError):
        Shard.parse(1.5)


def test_progress_counts_file_and_parts_and_sees_running_shards(tmp_path):
    target = tmp_path / "d.h5"
    journal = Journal(target, "key")
    journal.prepare(exclusive=True)
    completed = np.zeros(10, bool)
    completed[[0, 2]] = True  # merged earlier
    for i in (4, 1):
        journal.write(i, np.zeros((2, 1)), np.zeros((2, 1)))
    write_shard_status(journal.dir, Shard(0, 2), n=10)
    write_shard_status(journal.dir, Shard(1, 2), n=10)
    running = DatasetLocks(journal.dir, target)
    running.hold_shard(1, 2)
    try:
        progress = shard_progress(target, completed)
    finally:
        running.release()
    assert [(str(p.shard), p.assigned, p.solved, p.missing, p.running) for p in progress] == \
        [("0/2", 5, 3, 2, False), ("1/2", 5, 1, 4, True)]
    text = progress[1].describe()
    assert text.startswith("shard 1/2     1/5 solved, 4 missing, running (host ") and "pid" in text
    assert shard_progress(tmp_path / "other.h5", completed) == []
