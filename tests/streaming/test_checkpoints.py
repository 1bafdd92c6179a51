import numpy as np
import torch

from pdekit.streaming.checkpoints import from_storable, load_rank_state, prune_rank_files, rank_file, \
    save_rank_state, to_storable


def test_any_numpy_dtype_survives_a_weights_only_checkpoint(tmp_path):
    state = {"a": np.arange(6, dtype=">i2").reshape(2, 3), "b": (np.float32(1.5), np.ones((), "c8")),
             "c": [np.zeros(0, "u1"), {"d": np.array([True, False])}], 3: "three"}
    save_rank_state(tmp_path, 1, 7, state)
    back = load_rank_state(tmp_path, 1, 7)
    np.testing.assert_array_equal(back["a"], state["a"])
    assert back["a"].dtype == np.dtype(">i2") and back["b"][0] == 1.5 and back["b"][1].shape == ()
    assert back["c"][0].shape == (0,) and back["c"][1]["d"].tolist() == [True, False] and back[3] == "three"
    assert isinstance(to_storable(np.ones(2))["__ndarray__"], torch.Tensor)
    assert from_storable(to_storable({"x": 1})) == {"x": 1}


def test_prune_keeps_the_committed_step(tmp_path):
    for step in (3, 6, 9):
        save_rank_state(tmp_path, 0, step, {"s": step})
    save_rank_state(tmp_path, 1, 3, {"s": 3})
    prune_rank_files(tmp_path, 0, 6)
    assert not rank_file(tmp_path, 0, 3).exists() and rank_file(tmp_path, 0, 6).exists()
    assert not rank_file(tmp_path, 0, 9).exists() and rank_file(tmp_path, 1, 3).exists()
