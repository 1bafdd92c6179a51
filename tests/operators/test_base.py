"""Tests of pdekit.operators.base: recorded configurations, save / load, clear errors."""

import pickle

import pytest
import torch

from pdekit.operators import base
from pdekit.operators.base import CheckpointError, OperatorModel, from_checkpoint, load

pytestmark = pytest.mark.usefixtures("one_thread")


class _Affine(OperatorModel):
    def __init__(self, channels: int, *, scale: float = 1.0, names=("a", "b"), **extra):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(channels) * scale)
        self.extra = extra

    def forward(self, x):
        return x * self.weight[:, None]


class _Wrapper(OperatorModel):
    def __init__(self, inner: OperatorModel, repeat: int = 2):
        super().__init__()
        self.inner, self.repeat = inner, repeat

    def forward(self, x):
        for _ in range(self.repeat):
            x = self.inner(x)
        return x


class _Sub(_Affine):
    def __init__(self, channels: int, offset: float = 0.5):
        super().__init__(channels, scale=2.0)
        self.offset = offset


def test_config_records_defaults_and_var_keywords():
    m = _Affine(3, flag=True)
    assert m.config == {"channels": 3, "scale": 1.0, "names": ("a", "b"), "flag": True}
    cfg = m.config
    cfg["channels"] = 99  # a copy
    assert m.config["channels"] == 3


def test_subclass_records_its_own_arguments():
    assert _Sub(4).config == {"channels": 4, "offset": 0.5}
    assert base.registered_models()["_Sub"] is _Sub


def test_save_load_roundtrip_is_bit_identical(tmp_path):
    m = _Affine(5, scale=3.0)
    path = tmp_path / "m.pt"
    m.save(path)
    m2 = load(path)
    assert type(m2) is _Affine and m2.config == m.config
    x = torch.randn(5, 7)
    assert torch.equal(m(x), m2(x))
    assert _Affine.load(path).config == m.config


def test_save_refuses_an_existing_file_unless_overwrite(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"not mine to replace")
    for kwargs in ({}, {"overwrite": False}):
        with pytest.raises(FileExistsError, match=r"m\.pt' exists; pass overwrite=True"):
            _Affine(3).save(path, **kwargs)
    assert path.read_bytes() == b"not mine to replace"
    m = _Affine(3)
    m.save(path, overwrite=True)
    assert torch.equal(load(path).weight, m.weight)
    m.save(tmp_path / "new.pt")  # a new file needs nothing
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left nothing behind


def test_nested_models_are_rebuilt(tmp_path):
    w = _Wrapper(_Affine(2, scale=0.5), repeat=3)
    w.save(tmp_path / "w.pt")
    w2 = load(tmp_path / "w.pt")
    assert isinstance(w2.inner, _Affine) and w2.repeat == 3
    x = torch.randn(2, 4)
    assert torch.equal(w(x), w2(x))


def test_checkpoint_of_another_model_is_refused(tmp_path):
    _Affine(2).save(tmp_path / "a.pt")
    with pytest.raises(CheckpointError, match="holds a '_Affine' model, not the '_Wrapper'"):
        _Wrapper.load(tmp_path / "a.pt")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_foreign_and_missing_files_give_clear_errors(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a pdekit operator checkpoint"):
        load(tmp_path / "plain.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a pdekit operator checkpoint"):
        load(tmp_path / "text.pt")
    with open(tmp_path / "pickle.pt", "wb") as fh:  # arbitrary pickled objects are never executed
        pickle.dump(_Affine, fh)
    with pytest.raises(CheckpointError):
        load(tmp_path / "pickle.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        load(tmp_path / "absent.pt")


def test_unknown_class_and_wrong_weights(tmp_path):
    ckpt = _Affine(2).to_checkpoint()
    ckpt["model"] = "NoSuchModel"
    with pytest.raises(CheckpointError, match="'NoSuchModel', which is not registered"):
        from_checkpoint(ckpt)
    ckpt = _Affine(2).to_checkpoint()
    ckpt["config"]["channels"] = 3
    with pytest.raises(CheckpointError, match="weights do not fit"):
        from_checkpoint(ckpt)


def test_unstorable_argument_fails_at_construction():
    with pytest.raises(TypeError, match="cannot be stored in a checkpoint"):
        _Affine(2, callback=lambda x: x)
    with pytest.raises(TypeError, match=r"\*args"):
        class _Bad(OperatorModel):
            def __init__(self, *args):
                super().__init__()
