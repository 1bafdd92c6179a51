"""Loss/error curves and input / truth / prediction / error panels, drawn to PNG files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from pdekit.training.plots import draw_panels, plot_curves, plot_predictions, prediction_panels
from tests.training._toy import PairDataset


class Smooth(torch.nn.Module):
    """The exact map of PairDataset (a 3x3 mean plus 0.5): a perfect model."""

    def forward(self, x):
        return torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3) / 9.0, padding=1) + 0.5


def test_curves_from_records_and_file(tmp_path):
    records = [{"epoch": e, "step": 4 * e, "train_loss": 1.0 / e, "test/l2@8": 0.5 / e, "test/l2@4": None}
               for e in range(1, 6)]
    path = plot_curves(records, tmp_path / "c.png")
    img = imread(path)
    assert img.shape[:2] == (340, 900) and img[..., :3].std() > 0.05
    (tmp_path / "m.jsonl").write_text("".join(__import__("json").dumps(r) + "\n" for r in records))
    assert imread(plot_curves(tmp_path / "m.jsonl", tmp_path / "d.png")).shape == img.shape
    with pytest.raises(ValueError, match="no epoch records"):
        plot_curves([], tmp_path / "e.png")


def test_prediction_panels_of_a_perfect_and_a_wrong_model(tmp_path):
    data = PairDataset(4, size=8)
    rows = prediction_panels(Smooth(), data, indices=(0, 3, 9))
    assert len(rows) == 2  # index 9 is beyond the data
    titles = [p[0] for p in rows[1]]
    assert titles[:3] == ["#3 input", "#3 truth", "#3 prediction"] and titles[3].startswith("#3 |error|")
    assert np.allclose(rows[1][1][1], data[3]["y"][0].numpy())
    assert np.abs(rows[1][3][1]).max() < 1e-6 and float(titles[3].split()[-1]) < 1e-6
    zero = torch.nn.Conv2d(1, 1, 1)
    torch.nn.init.zeros_(zero.weight), torch.nn.init.zeros_(zero.bias)
    rows = prediction_panels(zero, data, indices=(1,))
    assert np.allclose(rows[0][3][1], np.abs(data[1]["y"][0].numpy()))
    assert rows[0][3][0].endswith("rel. L2 1")
    img = imread(plot_predictions(Smooth(), data, tmp_path / "p.png", indices=(0, 1)))
    assert img.shape[:2] == (500, 1160)
    with pytest.raises(ValueError, match="no sample to plot"):
        prediction_panels(Smooth(), data, indices=(7,))


def test_draw_panels_shapes(tmp_path):
    rows = [[("a", np.random.default_rng(0).random((6, 5)), "field"), ("b", np.linspace(-1, 1, 9), "signed")]]
    assert imread(draw_panels(rows, tmp_path / "x.png")).shape[:2] == (250, 580)
    with pytest.raises(ValueError, match="expected a 1D or 2D array"):
        draw_panels([[("c", np.zeros((2, 2, 2)), "field")]], tmp_path / "y.png")
    with pytest.raises(ValueError, match="nothing to draw"):
        draw_panels([], tmp_path / "z.png")


def test_every_figure_refuses_an_existing_file_unless_overwrite(tmp_path):
    rows = [[("a", np.ones((4, 4)), "field")]]
    records = [{"epoch": 1, "step": 1, "train_loss": 1.0}]
    draws = {"panels.png": lambda p, **kw: draw_panels(rows, p, **kw),
             "curves.png": lambda p, **kw: plot_curves(records, p, **kw),
             "pred.png": lambda p, **kw: plot_predictions(Smooth(), PairDataset(2, size=8), p, indices=(0,), **kw)}
    for name, draw in draws.items():
        path = tmp_path / name
        path.write_bytes(b"a user's picture")
        with pytest.raises(FileExistsError, match=rf"{name}' exists; pass overwrite=True"):
            draw(path)
        assert path.read_bytes() == b"a user's picture"
        assert imread(draw(path, overwrite=True)).ndim == 3
