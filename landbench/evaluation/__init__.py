"""Scoring landslide segmentation: confusion counts, metrics, evaluators, tables and figures.

The primary metric is the F1 of the landslide class pooled over all pixels of a split; IoU,
precision, recall and per-image mean F1 (with its empty-tile rule in its name) are reported
beside it, each with a bootstrap interval over images.

Example:
    >>> import landbench
    >>> from landbench.evaluation import evaluate_predictions
    >>> test = landbench.load("synth", split="test")
    >>> result = evaluate_predictions("predictions/", test)
    >>> result.metrics["f1"], result.intervals["f1"]
"""

from landbench.evaluation.compare import Comparison, holm, paired_bootstrap
from landbench.evaluation.counts import (
    COUNT_FIELDS,
    ConfusionAccumulator,
    Counts,
    confusion_counts,
    confusion_counts_per_image,
)
from landbench.evaluation.evaluate import evaluate_model, evaluate_predictions, predict_masks
from landbench.evaluation.figures import (
    plot_attention_figure,
    plot_f1_bars,
    plot_precision_recall,
    plot_prediction_grid,
    save_figure,
)
from landbench.evaluation.metrics import (
    ALL_METRICS,
    Interval,
    MeanStd,
    aggregate_seeds,
    all_metrics,
    bootstrap_intervals,
    f1,
    iou,
    mean_f1_empty_as_1,
    mean_f1_landslide_tiles,
    mean_std,
    pooled_metrics,
    precision,
    recall,
)
from landbench.evaluation.predictions import PredictionError, read_predictions
from landbench.evaluation.result import EVALUATOR_VERSION, EvaluationResult

__all__ = [
    "ALL_METRICS",
    "COUNT_FIELDS",
    "Comparison",
    "EVALUATOR_VERSION",
    "ConfusionAccumulator",
    "Counts",
    "EvaluationResult",
    "Interval",
    "MeanStd",
    "PredictionError",
    "aggregate_seeds",
    "all_metrics",
    "bootstrap_intervals",
    "confusion_counts",
    "confusion_counts_per_image",
    "evaluate_model",
    "evaluate_predictions",
    "predict_masks",
    "f1",
    "holm",
    "iou",
    "mean_f1_empty_as_1",
    "mean_f1_landslide_tiles",
    "mean_std",
    "paired_bootstrap",
    "plot_attention_figure",
    "plot_f1_bars",
    "plot_precision_recall",
    "plot_prediction_grid",
    "pooled_metrics",
    "precision",
    "read_predictions",
    "recall",
    "save_figure",
]
