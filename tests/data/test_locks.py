"""Dataset locks: shards run side by side; a merge waits for every shard, a shard for the merge."""

from __future__ import annotations

import pytest

from pdekit.data.locks import DatasetLocks


def _locks(tmp_path):
    return DatasetLocks(tmp_path / "d.h5.parts", tmp_path / "d.h5")


def test_shards_run_together_and_block_the_merge(tmp_path):
    a, b, merge = _locks(tmp_path), _locks(tmp_path), _locks(tmp_path)
    a.hold_shard(0, 2)
    b.hold_shard(1, 2)
    assert a.running_shards() == [(0, 2), (1, 2)]
    with pytest.raises(FileExistsError, match=r"shard\(s\) 0/2, 1/2 of .*d\.h5' are still running; .*"
                                              r"`pdekit info .*d\.h5` shows their progress"):
        merge.hold_merge()
    with pytest.raises(FileExistsError, match="shard 0/2 of .* is already running"):
        _locks(tmp_path).hold_shard(0, 2)
    a.release()
    b.release()
    assert merge.running_shards() == []
    merge.hold_merge()
    assert merge.merging()
    with pytest.raises(FileExistsError, match="is being generated or merged by a run without --shard"):
        a.hold_shard(0, 2)
    assert a.running_shards() == []  # the refused shard let go of its own lock
    with pytest.raises(FileExistsError, match="another process is generating"):
        _locks(tmp_path).hold_merge()
    merge.release()
    assert not merge.merging()


def test_launch_lock(tmp_path):
    launch, merge = _locks(tmp_path), _locks(tmp_path)
    launch.hold_launch()
    assert merge.launching()
    with pytest.raises(FileExistsError, match="a launcher is running shard jobs of .* will merge them itself"):
        merge.hold_merge()
    merge.hold_merge(launched=True)  # the launcher's own final merge
    merge.release()
    with pytest.raises(FileExistsError, match="another launcher is running shard jobs"):
        _locks(tmp_path).hold_launch()
    launch.release()
    shard = _locks(tmp_path)
    shard.hold_shard(2, 3)
    with pytest.raises(FileExistsError, match=r"shard\(s\) 2/3 .* are already running; wait for them"):
        launch.hold_launch()
    shard.release()
    with launch.setup():
        assert (tmp_path / "d.h5.parts" / "setup.lock").exists()
