"""A new run never takes over another run's folder; a Trainer refuses it too."""

from __future__ import annotations

import pytest
import torch

from pdekit.training import Trainer
from pdekit.training.metrics import read_metrics
from pdekit.training.run_folder import RUN_FILES, claim_run_folder, existing_run_files
from tests.training._toy import PairDataset, TinyNet, one_thread  # noqa: F401


def test_claim_refuses_overwrites_and_resumes(tmp_path):
    out = tmp_path / "run"
    assert claim_run_folder(out) == out and not out.exists()  # a new folder is fine
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    claim_run_folder(out)  # other files do not make a run
    (out / "metrics.jsonl").write_text("{}\n")
    (out / "model.pt").write_bytes(b"x")
    assert existing_run_files(out) == ["metrics.jsonl", "model.pt"]
    with pytest.raises(FileExistsError, match=r"holds another run \(metrics.jsonl, model.pt\)"):
        claim_run_folder(out)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        claim_run_folder(out, resume=True)
    with pytest.raises(ValueError, match="contradict"):
        claim_run_folder(out, resume=True, overwrite=True)
    claim_run_folder(out, overwrite=True, remove=False)  # another rank: removes nothing
    assert existing_run_files(out) == ["metrics.jsonl", "model.pt"]
    claim_run_folder(out, overwrite=True)
    assert existing_run_files(out) == [] and (out / "notes.txt").read_text() == "mine"
    (out / "checkpoint.pt").write_bytes(b"x")
    assert claim_run_folder(out, resume=True) == out
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match="is a file"):
        claim_run_folder(tmp_path / "f")
    assert "curves.png" in RUN_FILES


def test_trainer_refuses_another_runs_folder_and_other_data(tmp_path, one_thread):
    data = PairDataset(8)
    Trainer(TinyNet(), epochs=1, batch_size=4, out_dir=tmp_path, distributed=False).fit(data)
    with pytest.raises(FileExistsError, match="holds another run"):
        Trainer(TinyNet(), epochs=2, batch_size=4, out_dir=tmp_path, distributed=False).fit(data)
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 1  # not appended to
    # resuming on other data (same shapes), or a subset, is refused
    for other in (PairDataset(8, seed=1), torch.utils.data.Subset(data, range(4))):
        with pytest.raises(ValueError, match="trained on other data"):
            Trainer(TinyNet(), epochs=2, batch_size=4, out_dir=tmp_path, distributed=False).fit(
                other, resume=True)
    Trainer(TinyNet(), epochs=2, batch_size=4, out_dir=tmp_path, distributed=False).fit(data, resume=True)
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2]
    # overwrite=True starts a fresh log
    t = Trainer(TinyNet(), epochs=1, batch_size=4, out_dir=tmp_path, distributed=False, overwrite=True)
    t.fit(data)
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1]
