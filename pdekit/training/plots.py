"""Figures of a training run: loss and error curves, and input / truth / prediction / error panels.

Both write a PNG atomically (matplotlib's Agg canvas: no display needed, nothing global is
touched). :func:`plot_curves` draws what ``metrics.jsonl`` holds (``pdekit train`` writes
``RUN/curves.png``); :func:`plot_predictions` runs a model on a few samples of a dataset and
draws, for each, the input, the truth, the prediction and the error, each with a colorbar
(``pdekit evaluate --plot``). :func:`draw_panels` is the grid of image panels they share
(the demo's figure uses it too).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = ["plot_curves", "plot_predictions", "prediction_panels", "draw_panels", "Panel"]

#: a panel: (title, 2D array (nx, ny) or 1D array (n,), kind); kind is "field" (sequential
#: colours), "signed" (colours centred on 0) or "error" (absolute error)
Panel = tuple[str, np.ndarray, str]

_CMAPS = {"field": "viridis", "signed": "RdBu_r", "error": "magma"}
_METRIC = re.compile(r"^(?P<name>.+)/l2@(?P<res>\d+)$")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike, overwrite: bool) -> Path:
    from pdekit._atomic import atomic_path

    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png")
    return path


def plot_curves(metrics: str | os.PathLike | Iterable[Mapping[str, Any]], path: str | os.PathLike, *,
                overwrite: bool = False) -> Path:
    """Draw the training loss and the relative L2 errors against the epoch; save a PNG.

    Parameters
    ----------
    metrics : path-like or iterable of dict
        A ``metrics.jsonl`` file, or its records (``epoch``, ``train_loss`` and any
        ``"{name}/l2@{resolution}"`` keys, as :class:`pdekit.training.Trainer` writes them).
    path : path-like
        The PNG to write (atomically).
    overwrite : bool
        Replace ``path`` if it exists (otherwise FileExistsError).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        No record to draw.
    """
    if isinstance(metrics, (str, os.PathLike)):
        from pdekit.training.metrics import read_metrics

        metrics = read_metrics(metrics)
    records = [r for r in metrics if "epoch" in r]
    if not records:
        raise ValueError("no epoch records to plot (train for at least one epoch)")
    epochs = np.array([r["epoch"] for r in records], dtype=float)

    def series(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else float(r[key]) for r in records])

    fig = _figure(9.0, 3.4)
    ax_loss, ax_err = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    marker = "o" if len(records) < 30 else None
    ax_loss.plot(epochs, series("train_loss"), marker=marker, label="train loss")
    ax_loss.set_title("training loss")
    keys = sorted({k for r in records for k in r if _METRIC.match(k)},
                  key=lambda k: (_METRIC.match(k)["name"], int(_METRIC.match(k)["res"])))
    for key in keys:
        m = _METRIC.match(key)
        ax_err.plot(epochs, series(key), marker=marker, label=f"{m['name']} at {m['res']}")
    ax_err.set_title("relative L2 error")
    for ax in (ax_loss, ax_err):
        ax.set_xlabel("epoch")
        values = np.concatenate([ln.get_ydata() for ln in ax.get_lines()] or [np.array([])])
        if values.size and np.all(values[np.isfinite(values)] > 0) and np.isfinite(values).any():
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if ax.get_lines():
            ax.legend(fontsize=8)
    if not keys:
        ax_err.text(0.5, 0.5, "no evaluation data", ha="center", va="center", transform=ax_err.transAxes)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def draw_panels(rows: Sequence[Sequence[Panel]], path: str | os.PathLike, *,
                extent: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0),
                share: Sequence[Sequence[int]] = (), overwrite: bool = False) -> Path:
    """Save a grid of panels, one row per sample, each panel with its own colorbar.

    Parameters
    ----------
    rows : sequence of sequence of Panel
        ``(title, array, kind)``; a 2D array ``(nx, ny)`` is drawn as an image with x to
        the right, a 1D array as a curve.
    path : path-like
        The PNG to write (atomically).
    extent : (x0, x1, y0, y1)
        Physical extent of the images.
    share : sequence of sequence of int
        Groups of column indices whose panels share one colour scale per row (truth and
        prediction, say).
    overwrite : bool
        Replace ``path`` if it exists (otherwise FileExistsError).

    Returns
    -------
    Path
    """
    if not rows or not any(rows):
        raise ValueError("nothing to draw: no panels")
    n_cols = max(len(r) for r in rows)
    fig = _figure(2.9 * n_cols, 2.5 * len(rows))
    for i, row in enumerate(rows):
        limits: dict[int, tuple[float, float]] = {}
        for group in share:
            vals = [np.asarray(row[j][1]) for j in group if j < len(row)]
            if vals:
                lo, hi = min(float(np.nanmin(v)) for v in vals), max(float(np.nanmax(v)) for v in vals)
                limits.update({j: (lo, hi) for j in group})
        for j, (title, arr, kind) in enumerate(row):
            ax = fig.add_subplot(len(rows), n_cols, i * n_cols + j + 1)
            arr = np.asarray(arr, dtype=float)
            ax.set_title(title, fontsize=8)
            if arr.ndim == 1:
                ax.plot(np.linspace(extent[0], extent[1], arr.size), arr)
                ax.tick_params(labelsize=6)
                continue
            if arr.ndim != 2:
                raise ValueError(f"panel {title!r} has shape {arr.shape}; expected a 1D or 2D array")
            vmin, vmax = limits.get(j, (float(np.nanmin(arr)), float(np.nanmax(arr))))
            if kind == "signed":
                lim = max(abs(vmin), abs(vmax)) or 1.0
                vmin, vmax = -lim, lim
            image = ax.imshow(arr.T, origin="lower", cmap=_CMAPS.get(kind, "viridis"), extent=extent,
                              vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
            bar.ax.tick_params(labelsize=6)
    fig.tight_layout()
    return _save(fig, path, overwrite)


def prediction_panels(model, dataset, *, indices: Sequence[int] = (0, 1, 2), channel: int = -1,
                      device=None, names: tuple[str, str] = ("input", "truth")) -> list[list[Panel]]:
    """Run ``model`` on samples of ``dataset``; one row of panels per sample: input, truth,
    prediction, absolute error (its title gives the sample's relative L2 error).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``x : (B, C_in, *spatial)`` to ``(B, C_out, *spatial)``.
    dataset : map-style dataset of ``{"x", "y"}`` dicts
        1D or 2D grid samples, ``x : (C_in, *spatial)``, ``y : (C_out, *spatial)``.
    indices : sequence of int
        Which samples (those beyond the dataset's length are skipped).
    channel : int
        Output channel shown (default the last: the final frame of a time series folded
        into channels); the input panel shows the last input channel.
    device : optional
        Where the model runs (default: where its parameters are).
    names : (str, str)
        Names of the input and output fields, for the titles.

    Returns
    -------
    list of list of Panel

    Raises
    ------
    ValueError
        No valid index, or data that are not on a 1D or 2D grid.
    """
    import torch

    chosen = [int(i) for i in indices if -len(dataset) <= int(i) < len(dataset)]
    if not chosen:
        raise ValueError(f"no sample to plot: indices {list(indices)} for a dataset of {len(dataset)} samples")
    if device is None:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    rows = []
    try:
        with torch.no_grad():
            for i in chosen:
                item = dataset[i]
                x, y = torch.as_tensor(item["x"]), torch.as_tensor(item["y"])
                if x.ndim not in (2, 3):
                    raise ValueError(f"plots need samples on a 1D or 2D grid; sample {i} has x of "
                                     f"shape {tuple(x.shape)} (channels first)")
                pred = model(x[None].to(device)).float().cpu()[0]
                truth, guess = y[channel].numpy(), pred[channel].numpy()
                err = np.abs(guess - truth)
                rel = float(np.linalg.norm(guess - truth) / max(float(np.linalg.norm(truth)), 1e-30))
                kind = "signed" if truth.min() < 0 < truth.max() else "field"
                rows.append([(f"#{i} {names[0]}", x[-1].numpy(), "field"),
                             (f"#{i} {names[1]}", truth, kind),
                             (f"#{i} prediction", guess, kind),
                             (f"#{i} |error|, rel. L2 {rel:.3g}", err, "error")])
    finally:
        model.train(was_training)
    return rows


def plot_predictions(model, dataset, path: str | os.PathLike, *, indices: Sequence[int] = (0, 1, 2),
                     channel: int = -1, device=None, names: tuple[str, str] = ("input", "truth"),
                     extent: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0),
                     overwrite: bool = False) -> Path:
    """Save the :func:`prediction_panels` of ``model`` on ``dataset`` as a PNG (truth and
    prediction share a colour scale; every panel has a colorbar); returns the path.

    ``extent`` is the physical extent ``(x0, x1, y0, y1)`` of the grid; an existing ``path``
    is replaced only with ``overwrite=True``.
    """
    rows = prediction_panels(model, dataset, indices=indices, channel=channel, device=device, names=names)
    return draw_panels(rows, path, extent=extent, share=[(1, 2)], overwrite=overwrite)
