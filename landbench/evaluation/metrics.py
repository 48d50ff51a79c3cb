"""Segmentation metrics of the landslide class, derived from confusion counts.

Definitions (positive class = landslide; ``tp, fp, fn, tn`` pooled as stated):

* ``precision = tp / (tp + fp)``, ``recall = tp / (tp + fn)``,
  ``f1 = 2 tp / (2 tp + fp + fn)``, ``iou = tp / (tp + fp + fn)`` (Jaccard index).
* **Zero division**: a ratio whose denominator is 0 is ``zero_division`` (default 0.0), as
  scikit-learn's ``zero_division`` argument; F1 and IoU are only undefined when neither the
  prediction nor the ground truth holds a landslide pixel.
* **Pooled** (micro, landbench's primary metric): counts are summed over all pixels of the split
  first, then the ratio is taken.
* **Per-image mean F1**, the convention behind most published Bijie numbers: F1 per tile, then
  the mean over tiles. Its value depends on how tiles without any landslide are scored, so the
  rule is part of the name: ``mean_f1_empty_as_1`` scores a tile where both prediction and ground
  truth are empty as 1 (a tile with false positives only scores 0);
  ``mean_f1_landslide_tiles`` averages over the tiles whose ground truth holds a landslide only.

Bootstrap intervals resample images (not pixels) with replacement, since pixels of one tile are
strongly correlated; every statistic is recomputed from the resampled images' counts.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from landbench.core.errors import InvalidDataError
from landbench.evaluation.counts import Counts

POOLED_METRICS: tuple[str, ...] = ("f1", "iou", "precision", "recall")
"""Metrics computed from counts pooled over all pixels (``f1`` is the primary metric)."""

MEAN_METRICS: tuple[str, ...] = ("mean_f1_empty_as_1", "mean_f1_landslide_tiles")
"""Per-image mean F1 variants; the empty-tile rule is in the name."""

METRIC_VERSION = "1.0"
"""Version of the metric definitions above (docs/protocol.md), recorded in every result. Bump it
when a metric's definition or convention changes, and regenerate the committed results."""

ALL_METRICS: tuple[str, ...] = POOLED_METRICS + MEAN_METRICS

METRIC_LABELS: dict[str, str] = {
    "f1": "F1 (pooled)",
    "iou": "IoU (pooled)",
    "precision": "Precision (pooled)",
    "recall": "Recall (pooled)",
    "mean_f1_empty_as_1": "Mean F1 per image (empty tiles = 1)",
    "mean_f1_landslide_tiles": "Mean F1 per image (landslide tiles only)",
}
"""Human-readable names for tables and figures."""


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, float(zero_division), dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _columns(counts: Counts | np.ndarray) -> tuple[np.ndarray, ...]:
    """``tp, fp, fn, tn`` of a :class:`Counts` or of an int array ``[..., 4]``."""
    if isinstance(counts, Counts):
        array = counts.to_array()
    else:
        array = np.asarray(counts)
        if array.shape[-1:] != (4,):
            raise InvalidDataError(f"Counts must have a last axis of 4, got shape {array.shape}.")
    return array[..., 0], array[..., 1], array[..., 2], array[..., 3]


def precision(counts: Counts | np.ndarray, zero_division: float = 0.0) -> np.ndarray | float:
    """``tp / (tp + fp)`` of :class:`Counts` (a float) or of counts ``[..., 4]`` (an array)."""
    tp, fp, _, _ = _columns(counts)
    return _scalar(_ratio(tp, tp + fp, zero_division), counts)


def recall(counts: Counts | np.ndarray, zero_division: float = 0.0) -> np.ndarray | float:
    """``tp / (tp + fn)``; see :func:`precision`."""
    tp, _, fn, _ = _columns(counts)
    return _scalar(_ratio(tp, tp + fn, zero_division), counts)


def f1(counts: Counts | np.ndarray, zero_division: float = 0.0) -> np.ndarray | float:
    """``2 tp / (2 tp + fp + fn)``, the harmonic mean of precision and recall."""
    tp, fp, fn, _ = _columns(counts)
    return _scalar(_ratio(2 * tp, 2 * tp + fp + fn, zero_division), counts)


def iou(counts: Counts | np.ndarray, zero_division: float = 0.0) -> np.ndarray | float:
    """``tp / (tp + fp + fn)``, the intersection over union (Jaccard index)."""
    tp, fp, fn, _ = _columns(counts)
    return _scalar(_ratio(tp, tp + fp + fn, zero_division), counts)


def _scalar(value: np.ndarray, counts: Counts | np.ndarray) -> np.ndarray | float:
    return float(value) if isinstance(counts, Counts) else value


def pooled_metrics(counts: Counts, zero_division: float = 0.0) -> dict[str, float]:
    """F1, IoU, precision and recall of counts pooled over all pixels.

    Args:
        counts: pooled counts of a split.
        zero_division: value of a ratio whose denominator is 0.

    Returns:
        ``{"f1", "iou", "precision", "recall"}`` to floats in [0, 1].
    """
    return {
        "f1": f1(counts, zero_division),
        "iou": iou(counts, zero_division),
        "precision": precision(counts, zero_division),
        "recall": recall(counts, zero_division),
    }


def per_image_f1(per_image: np.ndarray, empty_value: float = 1.0) -> np.ndarray:
    """F1 of each image ``[N]`` from counts ``[N, 4]``.

    Images whose prediction and ground truth are both empty score ``empty_value``.
    """
    return np.asarray(f1(np.asarray(per_image), zero_division=empty_value))


def mean_f1_empty_as_1(per_image: np.ndarray) -> float:
    """Mean over images of per-image F1, a tile with empty prediction and truth scoring 1.

    Args:
        per_image: int counts ``[N, 4]``.

    Returns:
        The mean, or NaN for zero images.
    """
    scores = per_image_f1(per_image, 1.0)
    return float(scores.mean()) if scores.size else float("nan")


def mean_f1_landslide_tiles(per_image: np.ndarray) -> float:
    """Mean of per-image F1 over the images whose ground truth holds a landslide pixel.

    Args:
        per_image: int counts ``[N, 4]``.

    Returns:
        The mean, or NaN when no image holds a landslide.
    """
    per_image = np.asarray(per_image)
    has_landslide = (per_image[:, 0] + per_image[:, 2]) > 0
    if not has_landslide.any():
        return float("nan")
    return float(per_image_f1(per_image[has_landslide], 0.0).mean())


def all_metrics(per_image: np.ndarray, zero_division: float = 0.0) -> dict[str, float]:
    """Every landbench metric (:data:`ALL_METRICS`) of a split's per-image counts ``[N, 4]``."""
    per_image = np.asarray(per_image, dtype=np.int64).reshape(-1, 4)
    out = pooled_metrics(Counts.from_array(per_image.sum(axis=0)), zero_division)
    out["mean_f1_empty_as_1"] = mean_f1_empty_as_1(per_image)
    out["mean_f1_landslide_tiles"] = mean_f1_landslide_tiles(per_image)
    return out


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval.

    Attributes:
        low: lower bound.
        high: upper bound.
    """

    low: float
    high: float

    def to_list(self) -> list[float]:
        """``[low, high]``."""
        return [self.low, self.high]


def resample_weights(n_images: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """How often each image is drawn in each resample: int64 ``[n_resamples, n_images]``.

    Each row is a multinomial draw of ``n_images`` images with equal probability (sampling with
    replacement), from ``numpy.random.default_rng(seed)``: the draw behind every bootstrap of
    landbench (:func:`bootstrap_intervals`, :mod:`landbench.evaluation.compare`). Small
    matrices are drawn once per process and returned read-only; copy one to change it.

    Raises:
        InvalidDataError: if there are no images or ``n_resamples`` is not positive.
    """
    if n_images < 1:
        raise InvalidDataError("A bootstrap needs at least one image.")
    if n_resamples < 1:
        raise InvalidDataError(f"n_resamples must be positive, got {n_resamples}.")
    if n_images * n_resamples <= _CACHED_WEIGHTS:
        return _cached_weights(int(n_images), int(n_resamples), int(seed))
    return _draw_weights(n_images, n_resamples, seed)


_CACHED_WEIGHTS = 4_000_000
"""Weights of at most this many cells (32 MB) are kept: rendering a leaderboard draws the same
``[1000, N]`` matrix for every seed of every entry (48 draws of 0.1 s for the demo's board)."""


def _draw_weights(n_images: int, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_images, np.full(n_images, 1.0 / n_images), size=n_resamples)


@functools.lru_cache(maxsize=4)
def _cached_weights(n_images: int, n_resamples: int, seed: int) -> np.ndarray:
    weights = _draw_weights(n_images, n_resamples, seed)
    weights.flags.writeable = False  # shared by every caller
    return weights


def bootstrap_intervals(
    per_image: np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    zero_division: float = 0.0,
) -> dict[str, Interval]:
    """Percentile bootstrap confidence intervals of every metric, resampling images.

    Each resample draws ``N`` images with replacement (a multinomial weight per image, so all
    resamples are computed at once as a matrix product) and recomputes every metric from the
    drawn images' counts. Deterministic for a given ``seed``.

    Args:
        per_image: int counts ``[N, 4]`` of the split's images.
        n_resamples: number of bootstrap resamples.
        confidence: coverage of the two-sided interval, in (0, 1).
        seed: seed of the resampling generator.
        zero_division: as in :func:`pooled_metrics`.

    Returns:
        Metric name (:data:`ALL_METRICS`) to its :class:`Interval`; NaN bounds when undefined
        (no images, or no landslide tile for ``mean_f1_landslide_tiles``).
    """
    if not 0 < confidence < 1:
        raise InvalidDataError(f"confidence must be in (0, 1), got {confidence}.")
    if n_resamples < 1:
        raise InvalidDataError(f"n_resamples must be positive, got {n_resamples}.")
    per_image = np.asarray(per_image, dtype=np.int64).reshape(-1, 4)
    n = len(per_image)
    nan = Interval(float("nan"), float("nan"))
    if n == 0:
        return dict.fromkeys(ALL_METRICS, nan)
    weights = resample_weights(n, n_resamples, seed)  # [B, N]
    pooled = weights @ per_image  # [B, 4], exact int64
    stats: dict[str, np.ndarray] = {
        "f1": f1(pooled, zero_division),
        "iou": iou(pooled, zero_division),
        "precision": precision(pooled, zero_division),
        "recall": recall(pooled, zero_division),
    }
    scores = per_image_f1(per_image, 1.0)
    stats["mean_f1_empty_as_1"] = weights @ scores / n
    has = ((per_image[:, 0] + per_image[:, 2]) > 0).astype(np.float64)
    n_has = weights @ has
    with np.errstate(invalid="ignore", divide="ignore"):
        stats["mean_f1_landslide_tiles"] = np.where(
            n_has > 0, weights @ (scores * has) / np.maximum(n_has, 1), np.nan
        )
    alpha = (1 - confidence) / 2
    out: dict[str, Interval] = {}
    for name, values in stats.items():
        values = values[np.isfinite(values)]
        if values.size == 0:
            out[name] = nan
        else:
            low, high = np.quantile(values, [alpha, 1 - alpha])
            out[name] = Interval(float(low), float(high))
    return out


@dataclass(frozen=True)
class MeanStd:
    """Mean and sample standard deviation of one metric over seeds.

    Attributes:
        mean: the mean.
        std: the sample standard deviation (``ddof=1``); NaN for fewer than two values.
        n: number of values (seeds).
    """

    mean: float
    std: float
    n: int

    def format(self, digits: int = 3) -> str:
        """``"0.812 ± 0.010"``, or ``"0.812 (n=1)"`` when a spread cannot be estimated."""
        if self.n == 0 or not np.isfinite(self.mean):
            return "n/a"
        if self.n < 2 or not np.isfinite(self.std):
            return f"{self.mean:.{digits}f} (n={self.n})"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready dict; NaN becomes None."""
        return {
            "mean": _json_float(self.mean),
            "std": _json_float(self.std),
            "n": self.n,
        }


def _json_float(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def mean_std(values: Sequence[float]) -> MeanStd:
    """Mean ± sample standard deviation (``ddof=1``) of per-seed values, ignoring NaNs."""
    array = np.asarray(list(values), dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return MeanStd(float("nan"), float("nan"), 0)
    std = float(array.std(ddof=1)) if array.size > 1 else float("nan")
    return MeanStd(float(array.mean()), std, int(array.size))


def aggregate_seeds(per_seed: Sequence[Mapping[str, float]]) -> dict[str, MeanStd]:
    """Mean ± std over seeds of every metric present in all of ``per_seed``'s dicts."""
    if not per_seed:
        return {}
    keys = [k for k in per_seed[0] if all(k in m for m in per_seed)]
    return {k: mean_std([m[k] for m in per_seed]) for k in keys}


def threshold_counts(probs: np.ndarray, target: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Counts at many thresholds at once, for precision-recall curves.

    A pixel is predicted positive at threshold ``t`` when ``prob > t`` (as
    ``torchmetrics``). One sort-free pass: each pixel's number of thresholds strictly below its
    probability is found by ``np.searchsorted``, histogrammed per class, and cumulated.

    Args:
        probs: probabilities ``[...]`` in [0, 1].
        target: binary ground truth of the same shape.
        thresholds: increasing thresholds ``[T]``.

    Returns:
        int64 ``[T, 4]`` counts (tp, fp, fn, tn) per threshold.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if thresholds.ndim != 1 or np.any(np.diff(thresholds) <= 0):
        raise InvalidDataError("thresholds must be a strictly increasing 1-D array.")
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    positive = np.asarray(target).reshape(-1).astype(bool)
    if probs.shape != positive.shape:
        raise InvalidDataError(f"probs and target sizes differ: {probs.size} vs {positive.size}.")
    n_t = thresholds.size
    below = np.searchsorted(thresholds, probs, side="left")  # thresholds < prob
    # predicted positive at threshold k <=> k < below; count pixels with below > k.
    pos_hist = np.bincount(below[positive], minlength=n_t + 1)
    neg_hist = np.bincount(below[~positive], minlength=n_t + 1)
    tp = pos_hist[::-1].cumsum()[::-1][1:]
    fp = neg_hist[::-1].cumsum()[::-1][1:]
    n_pos, n_neg = int(positive.sum()), int(positive.size - positive.sum())
    return np.stack([tp, fp, n_pos - tp, n_neg - fp], axis=1).astype(np.int64)
