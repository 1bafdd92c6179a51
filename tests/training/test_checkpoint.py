"""RNG capture/restore, atomic weights-only checkpoints, compatibility errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from pdekit.training.checkpoint import (capture_rng_state, check_state_dict_compatible, load_checkpoint,
                                        restore_rng_state, save_checkpoint)


def _draw():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)]


def test_rng_states_survive_a_round_trip_through_a_file(tmp_path):
    np.random.randn()  # leaves a cached gaussian in numpy's state
    state = capture_rng_state()
    expected = _draw()
    save_checkpoint(tmp_path / "c.pt", {"rng": state})
    _draw()
    restore_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    assert _draw() == expected


def test_checkpoint_file_is_weights_only_and_tagged(tmp_path):
    save_checkpoint(tmp_path / "c.pt", {"a": torch.ones(2), "epoch": 3})
    raw = torch.load(tmp_path / "c.pt", weights_only=True)
    assert raw["format"] == "pdekit-checkpoint-1" and raw["epoch"] == 3
    assert not list(tmp_path.glob(".*tmp"))  # no temporary left behind
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        save_checkpoint(tmp_path / "c.pt", {"epoch": 4})
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 3
    save_checkpoint(tmp_path / "c.pt", {"epoch": 4}, overwrite=True)
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 4
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="is not a readable pdekit checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_state_dict_compatibility_messages():
    a = torch.nn.Linear(3, 4)
    check_state_dict_compatible(a.state_dict(), torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match=r"\(written for Big\) does not fit this Linear: 2 shape mismatches "
                                         r"\(e.g. 'bias': saved \(5,\), model \(4,\)\)"):
        check_state_dict_compatible(torch.nn.Linear(3, 5).state_dict(), a, saved_name="Big")
    with pytest.raises(ValueError, match=r"missing 1 tensors \(e.g. \['bias'\]\)"):
        check_state_dict_compatible({"weight": torch.zeros(4, 3)}, a)


def test_data_fingerprint_tells_data_apart():
    from pdekit.training.checkpoint import data_fingerprint
    from tests.training._toy import PairDataset

    a = PairDataset(6)
    assert data_fingerprint(a) == data_fingerprint(PairDataset(6))
    assert data_fingerprint(a).startswith("n=6 sha256=")
    assert data_fingerprint(a) != data_fingerprint(PairDataset(6, seed=1))
    assert data_fingerprint(a) != data_fingerprint(PairDataset(7))
    assert data_fingerprint(a) != data_fingerprint(torch.utils.data.Subset(a, range(5)))
    # streams and plain lists of batches have no identity that can be taken without consuming them
    assert data_fingerprint(iter([1, 2])) is None
    assert data_fingerprint([(torch.zeros(2), torch.zeros(2))]) is None
