"""The journal of finished samples: whole shards, a lock, stale files cleaned up."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.data.journal import Journal, journal_dir, read_shard, write_shard


def test_shard_roundtrip_is_float32(tmp_path):
    path = write_shard(tmp_path, 12, np.arange(6.0).reshape(3, 2), np.ones((2, 3, 1)))
    assert path.name == "000000012.npz"
    x, y = read_shard(path)
    assert x.dtype == np.float32 and y.shape == (2, 3, 1)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(3, 2))
    assert [p.name for p in tmp_path.iterdir()] == ["000000012.npz"]  # no temporary left


def test_indices_lock_and_cleanup(tmp_path):
    target = tmp_path / "d.h5"
    with Journal(target, "run-A") as j:
        assert j.dir == journal_dir(target) == tmp_path / "d.h5.parts"
        for i in (5, 0, 3):
            write_shard(j.dir, i, np.zeros((2, 1)), np.zeros((2, 1)))
        (j.dir / ".000000009.npz.abc.npz.tmp").write_bytes(b"half")  # an interrupted write
        assert j.indices() == [0, 3, 5]
        with pytest.raises(FileExistsError, match="another process is generating"):
            Journal(target, "run-A").open()
        j.discard([3])
        assert j.indices() == [0, 5]
    (tmp_path / ".d.h5.xyz.h5.tmp").write_bytes(b"half")  # an interrupted publish
    with Journal(target, "run-A") as j:  # same run: shards kept, temporaries dropped
        assert j.indices() == [0, 5]
        assert not list(j.dir.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    with Journal(target, "run-B") as j:  # other settings: the shards are stale
        assert j.indices() == []
        assert (j.dir / "run.json").read_text() == "run-B"
    j.close(remove=True)
    assert not journal_dir(target).exists()
