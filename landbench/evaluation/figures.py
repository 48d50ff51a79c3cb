"""Figures of evaluations (matplotlib, PNG): the paper's figure layouts, F1 bars, PR curves.

* :func:`plot_attention_figure`: the layout of the paper's figure 2, one row per sample: RGB,
  ground truth, prediction, the fusion network's attention map over the RGB image, and one
  decoder feature map.
* :func:`plot_prediction_grid`: the layout of the paper's figure 3: RGB, ground truth, then the
  predictions of several models or strategies side by side.
* :func:`plot_f1_bars`: recomputed F1 per model with its interval (and the paper's reported
  value where there is one).
* :func:`plot_precision_recall`: precision-recall over thresholds of model evaluations.

Every function returns a :class:`matplotlib.figure.Figure`; :func:`save_figure` writes it
atomically.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landbench.core.errors import ConfigError
from landbench.core.io import atomic_write_bytes
from landbench.datasets.plotting import rgb_for_display

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from landbench.evaluation.result import EvaluationResult


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)  # headless unless the user chose a backend
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: int = 150) -> Path:
    """Write ``fig`` as a PNG atomically and close it.

    Returns:
        The written path.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _rgb(sample: Mapping[str, Any]) -> np.ndarray:
    return rgb_for_display(_as_numpy(sample["image"])[:3])


def _resize(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a ``[h, w]`` map to ``shape``."""
    import torch
    import torch.nn.functional as F

    if tuple(array.shape) == tuple(shape):
        return array
    t = torch.as_tensor(np.asarray(array, dtype=np.float32))[None, None]
    return F.interpolate(t, size=tuple(shape), mode="bilinear", align_corners=False)[0, 0].numpy()


def _normalise01(array: np.ndarray) -> np.ndarray:
    lo, hi = float(np.min(array)), float(np.max(array))
    return (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array, dtype=np.float64)


def select_samples(dataset: Any, n: int = 2) -> list[dict[str, Any]]:
    """Pick ``n`` landslide tiles for illustration, deterministically, from easy to hard.

    Tiles holding a landslide are ranked by landslide fraction; the largest (an "easy" example,
    as the first row of the paper's figures) comes first, then tiles spread evenly down the
    ranking (smaller, harder landslides).

    Args:
        dataset: a landbench dataset split.
        n: how many samples.

    Returns:
        The samples (fewer if the split has fewer landslide tiles).
    """
    fractions = []
    for i in range(len(dataset)):
        mask = _as_numpy(dataset[i]["mask"])
        if mask.any():
            fractions.append((-float(mask.mean()), i))
    fractions.sort()
    if not fractions:
        return []
    picks = np.unique(np.linspace(0, (len(fractions) - 1) // 2, num=min(n, len(fractions))).round())
    return [dataset[fractions[int(k)][1]] for k in picks]


def fusion_outputs(predictor: Any, sample: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Probability, finest attention map and decoder features of one raw sample.

    Args:
        predictor: a :class:`landbench.inference.predictor.Predictor` whose model accepts
            ``forward(x, return_attention=True, return_features=True)`` (the fusion networks).
        sample: a landbench sample (raw ``image`` ``[4, H, W]``).

    Returns:
        ``{"probability": [H, W], "attention": [H, W] in [0, 1], "features": [C, H, W]}``.

    Raises:
        ConfigError: if the model does not return attention maps (not a fusion network).
    """
    import torch

    image = torch.as_tensor(_as_numpy(sample["image"]), dtype=torch.float32)
    try:
        out, (ph, pw) = predictor.forward_tile(image, return_attention=True, return_features=True)
    except TypeError as err:
        raise ConfigError(
            f"{type(predictor.model).__name__} has no attention maps; the attention figure "
            "needs a fusion network (fusionnet-*)."
        ) from err
    if not isinstance(out, Mapping) or not out.get("attention"):
        raise ConfigError("The model returned no attention maps; use a fusionnet-* model.")
    h, w = size = tuple(image.shape[-2:])

    def real(map_: Any) -> np.ndarray:
        """The part of a (possibly coarser) map that covers the tile's real pixels."""
        mh, mw = map_.shape[-2:]
        return map_[..., : -(-h * mh // ph), : -(-w * mw // pw)].float().cpu().numpy()

    probability = torch.sigmoid(out["logits"])[0, 0, :h, :w].float().cpu().numpy()
    attention = _resize(real(out["attention"][-1][0, 0]), size)
    features = real(out["features"][0])
    return {"probability": probability, "attention": _normalise01(attention), "features": features}


def plot_attention_figure(
    model: Any,
    samples: Sequence[Mapping[str, Any]],
    *,
    threshold: float = 0.5,
    feature_channel: int | None = None,
    alpha: float = 0.5,
) -> Figure:
    """The paper's figure 2 layout, one row per sample.

    Columns: (a) RGB, (b) ground truth, (c) prediction, (d) the finest decoder attention map
    superimposed on the RGB image, (e) one feature map of the last decoder block.

    Args:
        model: a run folder, a ``.safetensors`` file or a ``Predictor`` of a fusion network.
        samples: landbench samples (raw ``image`` ``[4, H, W]``, ``mask``, ``id``).
        threshold: probability threshold of the prediction panel.
        feature_channel: the feature channel shown; default: the channel of highest spatial
            variance in the first sample (a deterministic stand-in for the paper's "random
            illustration of one feature").
        alpha: opacity of the attention overlay.

    Returns:
        The figure (``len(samples)`` rows, 5 columns).
    """
    from landbench.inference.predictor import make_predictor

    if not samples:
        raise ConfigError("plot_attention_figure needs at least one sample.")
    predictor = make_predictor(model)
    outputs = [fusion_outputs(predictor, s) for s in samples]
    if feature_channel is None:
        feats = outputs[0]["features"]
        feature_channel = int(np.argmax(feats.reshape(feats.shape[0], -1).var(axis=1)))
    plt = _plt()
    titles = (
        "RGB",
        "Ground truth",
        "Prediction",
        "Attention over RGB",
        f"Feature {feature_channel}",
    )
    fig, axes = plt.subplots(len(samples), 5, figsize=(15, 3.1 * len(samples)), squeeze=False)
    for r, (sample, out) in enumerate(zip(samples, outputs)):
        rgb = _rgb(sample)
        axes[r, 0].imshow(rgb)
        axes[r, 1].imshow(_as_numpy(sample["mask"]), cmap="gray", vmin=0, vmax=1)
        axes[r, 2].imshow(out["probability"] > threshold, cmap="gray", vmin=0, vmax=1)
        axes[r, 3].imshow(rgb)
        axes[r, 3].imshow(out["attention"], cmap="jet", alpha=alpha, vmin=0, vmax=1)
        channel = min(feature_channel, out["features"].shape[0] - 1)
        axes[r, 4].imshow(out["features"][channel], cmap="viridis")
        for c in range(5):
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(titles[c])
        axes[r, 0].set_ylabel(str(sample.get("id", r)))
    fig.tight_layout()
    return fig


def plot_prediction_grid(
    samples: Sequence[Mapping[str, Any]],
    predictions: Mapping[str, Sequence[Any]],
) -> Figure:
    """The paper's figure 3 layout: RGB, ground truth, then one column per model or strategy.

    Args:
        samples: landbench samples.
        predictions: column title (e.g. ``"From scratch"``) to one ``[H, W]`` mask or
            probability map per sample (maps of another size are resized to the tile's).

    Returns:
        The figure (``len(samples)`` rows, ``2 + len(predictions)`` columns).
    """
    if not samples:
        raise ConfigError("plot_prediction_grid needs at least one sample.")
    for title, preds in predictions.items():
        if len(preds) != len(samples):
            raise ConfigError(f"{title!r} has {len(preds)} predictions for {len(samples)} samples.")
    plt = _plt()
    n_cols = 2 + len(predictions)
    fig, axes = plt.subplots(
        len(samples), n_cols, figsize=(3 * n_cols, 3.1 * len(samples)), squeeze=False
    )
    titles = ["RGB", "Ground truth", *predictions]
    for r, sample in enumerate(samples):
        mask = _as_numpy(sample["mask"])
        panels = [_rgb(sample), mask] + [
            _resize(_as_numpy(p[r]).astype(np.float32).squeeze(), mask.shape)
            for p in predictions.values()
        ]
        for c, panel in enumerate(panels):
            ax = axes[r, c]
            if c == 0:
                ax.imshow(panel)
            else:
                ax.imshow(panel, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c])
        axes[r, 0].set_ylabel(str(sample.get("id", r)))
    fig.tight_layout()
    return fig


def _bars_from(
    data: pd.DataFrame | Mapping[str, EvaluationResult], metric: str
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[float | None], str]:
    """Labels, values, interval bounds, reported values and the interval's description."""
    if isinstance(data, Mapping):
        labels = list(data)
        values = np.array([data[k].metrics[metric] for k in labels], dtype=float)
        low = np.array([data[k].intervals[metric].low for k in labels], dtype=float)
        high = np.array([data[k].intervals[metric].high for k in labels], dtype=float)
        confidence = next(iter(data.values())).confidence if data else 0.95
        return (
            labels,
            values,
            low,
            high,
            [None] * len(labels),
            (f"{confidence:.0%} bootstrap interval over images"),
        )
    frame = data
    if f"{metric}_mean" not in frame:
        raise ConfigError(f"The table has no column {metric}_mean.")
    if "column" in frame and frame["column"].nunique() > 1:
        labels = [f"{r} / {c}" for r, c in zip(frame["row"], frame["column"])]
    else:
        labels = [str(r) for r in frame["row"]]
    values = frame[f"{metric}_mean"].to_numpy(dtype=float)
    if metric == "f1" and "f1_ci_low" in frame:
        low = frame["f1_ci_low"].to_numpy(dtype=float)
        high = frame["f1_ci_high"].to_numpy(dtype=float)
        what = "95% bootstrap interval over images (mean over seeds)"
    else:
        std = np.nan_to_num(frame[f"{metric}_std"].to_numpy(dtype=float))
        low, high = values - std, values + std
        what = "± std over seeds"
    reported = (
        [None if math.isnan(v) else float(v) for v in frame["reported_f1"]]
        if metric == "f1" and "reported_f1" in frame
        else [None] * len(labels)
    )
    return labels, values, low, high, reported, what


def plot_f1_bars(
    data: pd.DataFrame | Mapping[str, EvaluationResult],
    metric: str = "f1",
    title: str | None = None,
) -> Figure:
    """Bar chart of a recomputed metric per model, with intervals and reported values.

    Args:
        data: a mapping model label to :class:`EvaluationResult` (bars with their bootstrap
            intervals), or a table from :func:`~landbench.experiments.reproduce.reproduce_table`
            (bars = mean over seeds; the paper's reported F1 drawn as black markers).
        metric: a metric name (``"f1"``, ``"iou"``, ``"mean_f1_empty_as_1"``, ...).
        title: the figure title.

    Returns:
        The figure.
    """
    from landbench.evaluation.metrics import METRIC_LABELS

    labels, values, low, high, reported, what = _bars_from(data, metric)
    if not labels:
        raise ConfigError("Nothing to plot: no models given.")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(labels) + 2), 4))
    x = np.arange(len(labels))
    err = np.vstack([np.clip(values - low, 0, None), np.clip(high - values, 0, None)])
    err = np.nan_to_num(err)
    ax.bar(x, values, color="#4C72B0", label=f"recomputed ({what})")
    ax.errorbar(x, values, yerr=err, fmt="none", ecolor="black", capsize=4, linewidth=1)
    shown = [(i, v) for i, v in enumerate(reported) if v is not None]
    if shown:
        ax.scatter(
            [i for i, _ in shown], [v for _, v in shown], marker="D", color="#DD8452",
            edgecolor="black", zorder=3, label="reported (paper)",
        )  # fmt: skip
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    # Legend below the axes: bars may reach any height, so inside it would hide some.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize="small", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    title = title or (data.attrs.get("title") if hasattr(data, "attrs") else None) or ""
    ax.set_title(textwrap.fill(title, 60), fontsize="medium")
    fig.tight_layout()
    return fig


def plot_precision_recall(
    results: Mapping[str, EvaluationResult], title: str | None = None
) -> Figure:
    """Pooled precision-recall curves over thresholds, one per model evaluation.

    The operating point of each evaluation (its threshold) is marked, with its F1 in the legend.

    Args:
        results: model label to :class:`EvaluationResult` from ``evaluate_model`` (which records
            pooled counts at thresholds 0.00-0.99).
        title: the figure title.

    Returns:
        The figure.
    """
    if not results:
        raise ConfigError("Nothing to plot: no evaluations given.")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for label, result in results.items():
        thresholds, precision, recall = result.precision_recall()
        line = ax.plot(recall, precision, label=f"{label} (F1 {result.metrics['f1']:.3f})")[0]
        chosen = result.source.get("threshold", 0.5)
        k = int(np.argmin(np.abs(thresholds - chosen)))
        ax.scatter([recall[k]], [precision[k]], color=line.get_color(), edgecolor="black", zorder=3)
    # Iso-F1 curves help read the pooled F1 of any point.
    r = np.linspace(0.01, 1, 200)
    for f in (0.2, 0.4, 0.6, 0.8):
        p = f * r / (2 * r - f)
        keep = (p > 0) & (p <= 1)
        ax.plot(r[keep], p[keep], color="gray", alpha=0.25, linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Recall (pooled)")
    ax.set_ylabel("Precision (pooled)")
    ax.set_title(title or "Precision-recall over thresholds")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
