"""Scoring a model or a set of predicted masks on one split, with the same code for everyone.

Both entry points end in an :class:`~landbench.evaluation.result.EvaluationResult`. Models are
run through the inference layer (:class:`landbench.inference.Predictor`: each tile at its own
size, padding never scored); this module only counts and scores.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from landbench.evaluation.counts import ConfusionAccumulator
from landbench.evaluation.metrics import threshold_counts
from landbench.evaluation.predictions import (
    PredictionError,
    _Problems,
    check_sizes,
    collect_folder,
    collect_mapping,
)
from landbench.evaluation.result import (
    CONVENTIONS,
    EVALUATOR_VERSION,
    PR_THRESHOLDS,
    RESULT_FORMAT,
    EvaluationResult,
    current_provenance,
)
from landbench.inference.predictor import (
    DEFAULT_THRESHOLD,
    check_threshold,
    iter_probabilities,
    make_predictor,
)

if TYPE_CHECKING:
    from landbench.datasets.base import LandslideDataset

logger = logging.getLogger(__name__)

__all__ = [
    "CONVENTIONS",
    "EVALUATOR_VERSION",
    "PR_THRESHOLDS",
    "RESULT_FORMAT",
    "EvaluationResult",
    "evaluate_model",
    "evaluate_predictions",
    "predict_masks",
]


def _result(
    dataset: LandslideDataset, acc: ConfusionAccumulator, source: dict[str, Any], **kwargs: Any
) -> EvaluationResult:
    manifest = dataset.manifest
    kwargs.setdefault("provenance", current_provenance(source.get("device")))
    return EvaluationResult(
        dataset=dataset.name,
        split=dataset.split,
        split_version=manifest.version,
        manifest_sha256=manifest.sha256,
        ids=acc.ids,
        per_image=acc.per_image,
        source=source,
        **kwargs,
    )


def _target(sample: Mapping[str, Any]) -> np.ndarray:
    mask = sample["mask"]
    return mask.numpy() if hasattr(mask, "numpy") else np.asarray(mask)


def _source(predictor: Any, dataset: LandslideDataset, threshold: float, device: str) -> dict:
    """The ``source`` block of a model evaluation (weights, threshold, training manifest)."""
    source = dict(getattr(predictor, "source", None) or {"kind": "model", "weights": None})
    source["threshold"] = float(threshold)
    source["threshold_rule"] = "fixed" if threshold == DEFAULT_THRESHOLD else "given"
    source["device"] = str(device)
    trained_on = source.get("trained_manifest_sha256")
    if trained_on is not None:
        source["same_manifest_as_training"] = trained_on == dataset.manifest.sha256
        if trained_on != dataset.manifest.sha256 and source.get("trained_dataset") == dataset.name:
            logger.warning(
                "The weights were trained on %s with another split manifest (%s...) than the one "
                "scored (%s...): check the dataset options (e.g. --set preset=...).",
                dataset.name,
                str(trained_on)[:12],
                dataset.manifest.sha256[:12],
            )
    return source


def _progress(items: Any, dataset: LandslideDataset, verb: str, progress: bool) -> Any:
    from tqdm.auto import tqdm

    desc = f"{verb} {dataset.name}/{dataset.split}"
    return tqdm(items, total=len(dataset), desc=desc, disable=not progress)


def evaluate_predictions(
    predictions: str | os.PathLike[str] | Mapping[str, Any],
    dataset: LandslideDataset,
    *,
    progress: bool = True,
    n_resamples: int = 1000,
    seed: int = 0,
) -> EvaluationResult:
    """Score a complete set of predicted masks against a split's ground truth.

    Args:
        predictions: a folder with one single-band 8-bit ``<id>.png`` per sample of the split
            (values {0, 1} or {0, 255}), or a mapping id to a ``[H, W]`` mask (numpy or torch,
            values {0, 1} or {0, 255}).
        dataset: the split to score against (e.g. ``landbench.load("bijie", split="test")``).
        progress: show a progress bar over the split.
        n_resamples: bootstrap resamples for the intervals.
        seed: bootstrap seed.

    Returns:
        The :class:`EvaluationResult`.

    Raises:
        PredictionError: if any prediction is missing, extra, duplicated, for another split,
            unreadable, not single-band 8-bit, outside {0, 1, 255} or of the wrong size; every
            offending id is listed and nothing is scored.
    """
    from tqdm.auto import tqdm

    # Every problem (names, file contents, sizes) is collected and reported together; the
    # ground truth is read once, checking sizes while counting, and no score is returned
    # unless the whole set is valid.
    problems = _Problems()
    if isinstance(predictions, (str, os.PathLike)):
        masks = collect_folder(predictions, dataset, problems, progress=progress)
        source: dict[str, Any] = {"kind": "predictions", "path": str(predictions)}
        what = f"Predictions in {predictions}"
    elif isinstance(predictions, Mapping):
        masks = collect_mapping(predictions, dataset, problems)
        source = {"kind": "predictions", "path": None}
        what = "Predictions"
    else:
        raise PredictionError(
            "predictions must be a folder path or a mapping id -> mask, got "
            f"{type(predictions).__name__}."
        )
    acc = ConfusionAccumulator()
    for index in tqdm(
        range(len(dataset)), desc=f"scoring {dataset.name}/{dataset.split}", disable=not progress
    ):
        sample = dataset[index]
        sample_id, target = sample["id"], _target(sample)
        if sample_id not in masks:
            continue
        mask = masks[sample_id]  # a folder's mask is decoded on each access: once here
        check_sizes({sample_id: mask}, {sample_id: target.shape}, problems)
        if not problems:
            acc.update(mask, target, sample_id)
    problems.raise_if_any(what, dataset)
    return _result(dataset, acc, source, n_resamples=n_resamples, seed=seed)


def evaluate_model(
    model_or_path: Any,
    dataset: LandslideDataset,
    *,
    device: str = "cpu",
    threshold: float = DEFAULT_THRESHOLD,
    progress: bool = True,
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    masks: dict[str, np.ndarray] | None = None,
) -> EvaluationResult:
    """Predict every tile of a split at native size and score it.

    Args:
        model_or_path: a run folder (``RUN/model.safetensors``), a ``.safetensors`` file, a
            :class:`~landbench.inference.predictor.Predictor`, or a model with ``normalization``.
        dataset: the split to score (its samples must carry the model's bands, in order).
        device: torch device for inference (``"cpu"``, ``"cuda"``, ...).
        threshold: a pixel is landslide when its probability is greater than this.
        progress: show a progress bar over the split.
        normalization: ``(mean, std)`` per band, only for a bare ``torch.nn.Module``.
        n_resamples: bootstrap resamples for the intervals.
        seed: bootstrap seed.
        masks: if given, each tile's binary mask (uint8 ``[H, W]`` in {0, 1}) is stored in it
            under the tile's id: the masks :func:`predict_masks` returns, from the same single
            pass (a leaderboard submission of the scored model then needs no second pass).

    Returns:
        The :class:`EvaluationResult`, with a precision-recall curve over
        :data:`PR_THRESHOLDS`.
    """
    check_threshold(threshold)
    predictor = make_predictor(model_or_path, device=device, normalization=normalization)
    source = _source(predictor, dataset, threshold, device)
    acc = ConfusionAccumulator()
    curve = np.zeros((len(PR_THRESHOLDS), 4), dtype=np.int64)
    samples = iter_probabilities(predictor, dataset)
    for sample, probs in _progress(samples, dataset, "evaluating", progress):
        target = _target(sample)
        predicted = probs > threshold
        acc.update(predicted, target, sample["id"])
        if masks is not None:
            masks[sample["id"]] = predicted.astype(np.uint8)
        curve += threshold_counts(probs, target, PR_THRESHOLDS)
    pr = {"thresholds": PR_THRESHOLDS.tolist(), "counts": curve}
    return _result(dataset, acc, source, pr_curve=pr, n_resamples=n_resamples, seed=seed)


def predict_masks(
    model_or_path: Any,
    dataset: LandslideDataset,
    *,
    device: str = "cpu",
    threshold: float = DEFAULT_THRESHOLD,
    progress: bool = True,
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
) -> dict[str, np.ndarray]:
    """Binary masks predicted for every tile of a split, at each tile's native size.

    The same prediction path as :func:`evaluate_model`; use it to make a leaderboard submission
    (``landbench predict`` writes these masks as ``<id>.png``).

    Args:
        model_or_path: as for :func:`evaluate_model`.
        dataset: the split to predict.
        device: torch device for inference.
        threshold: a pixel is landslide when its probability is greater than this.
        progress: show a progress bar over the split.
        normalization: ``(mean, std)`` per band, only for a bare ``torch.nn.Module``.

    Returns:
        Sample id to uint8 mask ``[H, W]`` in {0, 1}.
    """
    check_threshold(threshold)
    predictor = make_predictor(model_or_path, device=device, normalization=normalization)
    samples = iter_probabilities(predictor, dataset)
    return {
        sample["id"]: (probs > threshold).astype(np.uint8)
        for sample, probs in _progress(samples, dataset, "predicting", progress)
    }
