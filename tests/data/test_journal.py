"""Part files: whole, checksummed, verified before a merge; the parts folder and its run key."""

from __future__ import annotations

import numpy as np
import pytest

from pdekit.data.journal import (CorruptPartError, Journal, journal_dir, part_checksum, read_part,
                                 write_part)

KEY = '{"run": "A"}'


def _part(tmp_path, index=12, key=KEY):
    return write_part(tmp_path, index, np.arange(6.0).reshape(3, 2), np.ones((2, 3, 1)), run_key=key)


def test_part_roundtrip_is_float32_with_a_checksum(tmp_path):
    path = _part(tmp_path)
    assert path.name == "000000012.npz"
    x, y = read_part(path, index=12, run_key=KEY)
    assert x.dtype == np.float32 and y.shape == (2, 3, 1)
    np.testing.assert_array_equal(x, np.arange(6.0).reshape(3, 2))
    with np.load(path) as z:
        assert str(z["checksum"]) == part_checksum(KEY, 12, x, y) and len(str(z["checksum"])) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["000000012.npz"]  # no temporary left
    assert part_checksum(KEY, 12, x, y) != part_checksum(KEY, 13, x, y) != part_checksum("B", 12, x, y)


def test_truncated_and_flipped_parts_are_detected(tmp_path):
    path = _part(tmp_path)
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(CorruptPartError, match="000000012.npz' is unreadable"):
            read_part(path, index=12, run_key=KEY)
    start = data.index(np.arange(6.0, dtype=np.float32).tobytes())  # the inputs' bytes
    flipped = bytearray(data)
    flipped[start + 5] ^= 0x40
    path.write_bytes(bytes(flipped))
    with pytest.raises(CorruptPartError):  # zip's CRC or the checksum catches it
        read_part(path, index=12, run_key=KEY)


def test_nan_part_with_a_valid_checksum_is_refused(tmp_path):
    x, y = np.zeros((3, 1), np.float32), np.full((3, 1), np.nan, np.float32)
    path = tmp_path / "000000004.npz"
    np.savez(path, inputs=x, outputs=y, checksum=np.array(part_checksum(KEY, 4, x, y)))
    with pytest.raises(CorruptPartError, match="outputs holds 3 NaN/inf values"):
        read_part(path, index=4, run_key=KEY)


def test_part_of_another_sample_or_run_or_layout_is_refused(tmp_path):
    path = _part(tmp_path, index=3)
    with pytest.raises(CorruptPartError, match="checksum mismatch"):
        read_part(path, index=4, run_key=KEY)  # renamed to another index
    with pytest.raises(CorruptPartError, match="checksum mismatch"):
        read_part(path, index=3, run_key='{"run": "B"}')
    np.savez(tmp_path / "old.npz", inputs=np.zeros((2, 1), np.float32), outputs=np.zeros((2, 1), np.float32))
    with pytest.raises(CorruptPartError, match=r"lacks \['checksum'\]"):  # a part of pdekit < 0.2
        read_part(tmp_path / "old.npz", index=0, run_key=KEY)
    np.savez(tmp_path / "f64.npz", inputs=np.zeros((2, 1)), outputs=np.zeros((2, 1), np.float32),
             checksum=np.array("x"))
    with pytest.raises(CorruptPartError, match="inputs is float64"):
        read_part(tmp_path / "f64.npz", index=0, run_key=KEY)
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(CorruptPartError, match="unreadable"):
        read_part(tmp_path / "text.npz", index=0, run_key=KEY)
    with pytest.raises(FileNotFoundError):
        read_part(tmp_path / "none.npz", index=0, run_key=KEY)


def test_journal_verifies_prepares_and_discards(tmp_path):
    target = tmp_path / "d.h5"
    j = Journal(target, KEY)
    j.prepare(exclusive=True)
    assert j.dir == journal_dir(target) == tmp_path / "d.h5.parts"
    for i in (5, 0, 3):
        j.write(i, np.zeros((2, 1)), np.full((2, 1), float(i)))
    j.part_path(3).write_bytes(j.part_path(3).read_bytes()[:50])  # truncated
    (j.dir / ".000000009.npz.abc.npz.tmp").write_bytes(b"half")  # an interrupted write
    assert j.indices() == [0, 3, 5]
    good, bad = j.verify([0, 3, 5, 7])
    assert good == [0, 5] and [b[0] for b in bad] == [3] and "unreadable" in bad[0][1]
    assert j.indices() == [0, 5]
    np.testing.assert_array_equal(j.read(5)[1], 5.0)
    j.prepare(exclusive=False)  # a shard joining: temporaries of others are left alone
    assert list(j.dir.glob("*.tmp"))
    (tmp_path / ".d.h5.xyz.h5.tmp").write_bytes(b"half")  # an interrupted publish
    j.prepare(exclusive=True)
    assert j.indices() == [0, 5] and not list(j.dir.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    j.discard([0])
    assert j.indices() == [5]
    other = Journal(target, '{"run": "B"}')
    other.prepare(exclusive=True)  # other settings: the parts are stale
    assert other.indices() == [] and (other.dir / "run.json").read_text() == '{"run": "B"}'
    other.remove()
    assert not journal_dir(target).exists()
