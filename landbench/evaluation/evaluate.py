"""Scoring a model or a set of predicted masks on one split, with the same code for everyone.

Both entry points end in :class:`EvaluationResult`: per-image confusion counts of the whole
split at each tile's native size, from which the pooled metrics (primary: F1 of the landslide
class over all pixels), the per-image means with their empty-tile rule, and bootstrap intervals
over images are derived. The result records what was scored (dataset, split, split version,
manifest sha256) and by what (landbench and evaluator versions), and serialises to JSON.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landbench._version import __version__
from landbench.core.errors import ConfigError, InvalidDataError
from landbench.core.io import atomic_write_json
from landbench.evaluation.counts import COUNT_FIELDS, ConfusionAccumulator, Counts
from landbench.evaluation.metrics import (
    ALL_METRICS,
    METRIC_LABELS,
    Interval,
    all_metrics,
    bootstrap_intervals,
    threshold_counts,
)
from landbench.evaluation.predictions import (
    PredictionError,
    _Problems,
    check_sizes,
    collect_folder,
    collect_mapping,
)

if TYPE_CHECKING:
    from landbench.datasets.base import LandslideDataset

logger = logging.getLogger(__name__)

EVALUATOR_VERSION = "1.0"
"""Version of the scoring rules (metric definitions, conventions, JSON layout). Bumped whenever
a score of the same predictions could change."""

RESULT_FORMAT = "landbench-evaluation"
"""The ``format`` field of every result JSON."""

CONVENTIONS: dict[str, str] = {
    "positive_class": "landslide (mask value 1)",
    "pooled": "tp, fp, fn, tn summed over every pixel of the split, then the ratio (micro)",
    "zero_division": "a ratio with a zero denominator is 0 (scikit-learn zero_division=0)",
    "mean_f1_empty_as_1": "per-image F1 averaged over all images; an image whose prediction and "
    "ground truth are both empty scores 1",
    "mean_f1_landslide_tiles": "per-image F1 averaged over images whose ground truth holds a "
    "landslide",
    "intervals": "percentile bootstrap over images (resampled with replacement)",
    "resolution": "each tile at its native size",
}
"""The scoring conventions, written into every result."""

PR_THRESHOLDS: np.ndarray = np.round(np.linspace(0.0, 1.0, 101)[:-1], 2)
"""Thresholds of the precision-recall curve of model evaluations (0.00, 0.01, ..., 0.99)."""


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass
class EvaluationResult:
    """The scores of one prediction set on one split, recomputable from its per-image counts.

    Attributes:
        dataset: dataset registry name.
        split: ``"train"``, ``"val"`` or ``"test"``.
        split_version: the split's version (``"v1"``).
        manifest_sha256: sha256 of the split manifest the predictions were scored against.
        ids: the split's sample ids, in order.
        per_image: int64 ``[N, 4]`` counts (tp, fp, fn, tn) of each image, in ``ids`` order.
        source: what was scored (``{"kind": "model", "weights": ..., "threshold": ...}`` or
            ``{"kind": "predictions", "path": ...}``).
        n_resamples: bootstrap resamples behind :attr:`intervals`.
        confidence: coverage of the intervals.
        seed: seed of the bootstrap.
        pr_curve: optional ``{"thresholds": [T], "counts": [T, 4]}`` pooled counts per threshold
            (model evaluations only).
        landbench_version: the package version that scored.
        evaluator_version: :data:`EVALUATOR_VERSION` of the scoring rules.
    """

    dataset: str
    split: str
    split_version: str
    manifest_sha256: str
    ids: tuple[str, ...]
    per_image: np.ndarray
    source: dict[str, Any] = field(default_factory=dict)
    n_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    pr_curve: dict[str, Any] | None = None
    landbench_version: str = __version__
    evaluator_version: str = EVALUATOR_VERSION

    def __post_init__(self) -> None:
        self.ids = tuple(self.ids)
        self.per_image = np.asarray(self.per_image, dtype=np.int64).reshape(-1, 4)
        if len(self.ids) != len(self.per_image):
            raise InvalidDataError(
                f"{len(self.ids)} ids but {len(self.per_image)} rows of per-image counts."
            )

    @property
    def n_images(self) -> int:
        """Number of images scored."""
        return len(self.ids)

    @cached_property
    def counts(self) -> Counts:
        """Counts pooled over all pixels of the split."""
        return Counts.from_array(self.per_image.sum(axis=0))

    @cached_property
    def metrics(self) -> dict[str, float]:
        """Every metric of :data:`~landbench.evaluation.metrics.ALL_METRICS`."""
        return all_metrics(self.per_image)

    @cached_property
    def intervals(self) -> dict[str, Interval]:
        """Bootstrap confidence intervals (over images) of every metric."""
        return bootstrap_intervals(
            self.per_image, n_resamples=self.n_resamples, confidence=self.confidence, seed=self.seed
        )

    @property
    def f1(self) -> float:
        """The primary metric: landslide F1 pooled over all pixels."""
        return self.metrics["f1"]

    def counts_of(self, sample_id: str) -> Counts:
        """Counts of one image."""
        return Counts.from_array(self.per_image[self.ids.index(sample_id)])

    def to_dict(self, per_image: bool = True) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes null).

        Args:
            per_image: include the per-image counts (needed to recompute every statistic).
        """
        out: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "dataset": self.dataset,
            "split": self.split,
            "split_version": self.split_version,
            "manifest_sha256": self.manifest_sha256,
            "n_images": self.n_images,
            "counts": self.counts.to_dict(),
            "metrics": {k: _nan_to_none(v) for k, v in self.metrics.items()},
            "intervals": {
                k: [_nan_to_none(v.low), _nan_to_none(v.high)] for k, v in self.intervals.items()
            },
            "bootstrap": {
                "unit": "image",
                "method": "percentile",
                "n_resamples": self.n_resamples,
                "confidence": self.confidence,
                "seed": self.seed,
            },
            "conventions": dict(CONVENTIONS),
            "source": dict(self.source),
            "landbench_version": self.landbench_version,
            "evaluator_version": self.evaluator_version,
        }
        if self.pr_curve is not None:
            out["pr_curve"] = {
                "thresholds": [float(t) for t in self.pr_curve["thresholds"]],
                "counts": np.asarray(self.pr_curve["counts"], dtype=np.int64).tolist(),
                "rule": "predicted landslide when probability > threshold",
            }
        if per_image:
            out["per_image"] = [
                {"id": i, **dict(zip(COUNT_FIELDS, map(int, row)))}
                for i, row in zip(self.ids, self.per_image)
            ]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationResult:
        """Rebuild a result from :meth:`to_dict` output (needs its ``per_image`` entries).

        Raises:
            InvalidDataError: if the dict is not a landbench evaluation with per-image counts.
        """
        if data.get("format") != RESULT_FORMAT or "per_image" not in data:
            raise InvalidDataError(
                "Not a landbench evaluation result with per-image counts (expected format "
                f"{RESULT_FORMAT!r} and a 'per_image' list)."
            )
        rows = data["per_image"]
        boot = data.get("bootstrap", {})
        pr = data.get("pr_curve")
        return cls(
            dataset=data["dataset"],
            split=data["split"],
            split_version=data["split_version"],
            manifest_sha256=data["manifest_sha256"],
            ids=tuple(r["id"] for r in rows),
            per_image=np.array([[r[k] for k in COUNT_FIELDS] for r in rows], dtype=np.int64),
            source=dict(data.get("source", {})),
            n_resamples=int(boot.get("n_resamples", 1000)),
            confidence=float(boot.get("confidence", 0.95)),
            seed=int(boot.get("seed", 0)),
            pr_curve=None
            if pr is None
            else {"thresholds": pr["thresholds"], "counts": pr["counts"]},
            landbench_version=data.get("landbench_version", __version__),
            evaluator_version=data.get("evaluator_version", EVALUATOR_VERSION),
        )

    def write_json(self, path: str | os.PathLike[str], overwrite: bool = True) -> Path:
        """Write :meth:`to_dict` as JSON atomically (stable, key-sorted bytes)."""
        return atomic_write_json(path, self.to_dict(), overwrite=overwrite)

    @classmethod
    def read_json(cls, path: str | os.PathLike[str]) -> EvaluationResult:
        """Read a result written by :meth:`write_json`."""
        import json

        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise InvalidDataError(f"Cannot read evaluation result {path}: {err}") from err
        return cls.from_dict(data)

    def precision_recall(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(thresholds, precision, recall)`` of the stored curve (each ``[T]``).

        Precision is NaN at thresholds where no pixel is predicted landslide.

        Raises:
            InvalidDataError: if the result holds no curve (prediction-folder evaluations).
        """
        from landbench.evaluation.metrics import precision, recall

        if self.pr_curve is None:
            raise InvalidDataError(
                "This result has no precision-recall curve: only model evaluations, which see "
                "probabilities, record one."
            )
        counts = np.asarray(self.pr_curve["counts"], dtype=np.int64)
        thresholds = np.asarray(self.pr_curve["thresholds"], dtype=np.float64)
        # Precision is undefined (NaN) where nothing is predicted positive; plots skip it.
        return thresholds, precision(counts, float("nan")), recall(counts, 0.0)

    def format_table(self, digits: int = 4) -> str:
        """A Markdown table of every metric with its interval, preceded by a one-line header."""
        pct = round(self.confidence * 100)
        lines = [
            f"{self.dataset} / {self.split} (split {self.split_version}, manifest "
            f"{self.manifest_sha256[:12]}, {self.n_images} images)",
            "",
            f"| metric | value | {pct}% CI (bootstrap over images) |",
            "|---|---|---|",
        ]
        for name in ALL_METRICS:
            value, ci = self.metrics[name], self.intervals[name]
            lines.append(
                f"| {METRIC_LABELS[name]} | {_fmt(value, digits)} | "
                f"[{_fmt(ci.low, digits)}, {_fmt(ci.high, digits)}] |"
            )
        c = self.counts
        lines += ["", f"pixels: tp={c.tp} fp={c.fp} fn={c.fn} tn={c.tn}"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"EvaluationResult(dataset={self.dataset!r}, split={self.split!r}, "
            f"n_images={self.n_images}, f1={self.metrics['f1']:.4f})"
        )


def _fmt(value: float, digits: int) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _result(
    dataset: LandslideDataset, acc: ConfusionAccumulator, source: dict[str, Any], **kwargs: Any
) -> EvaluationResult:
    manifest = dataset.manifest
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
        check_sizes({sample_id: masks[sample_id]}, {sample_id: target.shape}, problems)
        if not problems:
            acc.update(masks[sample_id], target, sample_id)
    problems.raise_if_any(what, dataset)
    return _result(dataset, acc, source, n_resamples=n_resamples, seed=seed)


def _weights_file(path: Path) -> Path:
    """The ``.safetensors`` file of a run folder or weights path."""
    if path.is_dir():
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise ConfigError(
                f"Run folder {path} has no model.safetensors; give a finished run folder or a "
                ".safetensors weights file."
            )
        return weights
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; give a run folder or a .safetensors file.")
    if path.suffix != ".safetensors":
        raise ConfigError(
            f"{path} is not a .safetensors file; landbench only loads safetensors weights "
            "(nothing is unpickled)."
        )
    return path


def make_predictor(
    model_or_path: Any,
    *,
    device: str = "cpu",
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """A :class:`landbench.inference.predictor.Predictor` and a description of its source.

    Args:
        model_or_path: a run folder (its ``model.safetensors`` is used), a ``.safetensors``
            file, a ``Predictor``, or a ``torch.nn.Module`` (then ``normalization`` is needed).
        device: torch device for inference.
        normalization: ``(mean, std)`` per band for a bare module.

    Returns:
        ``(predictor, source)`` where ``source`` describes the weights for the result JSON.
    """
    import torch

    from landbench.inference.predictor import Predictor

    if isinstance(model_or_path, (str, os.PathLike)):
        weights = _weights_file(Path(model_or_path))
        predictor = Predictor.from_weights(weights, device=device)
        source = {"kind": "model", "weights": str(weights)}
        meta = getattr(predictor, "metadata", None) or {}
        for key in ("model", "dataset", "split_version", "manifest_sha256"):
            if key in meta:
                source[f"trained_{key}"] = meta[key]
        return predictor, source
    if hasattr(model_or_path, "predict_proba"):
        return model_or_path, {"kind": "model", "weights": None}
    if isinstance(model_or_path, torch.nn.Module):
        if normalization is None:
            raise ConfigError(
                "A bare model needs normalization=(mean, std), the per-band statistics of its "
                "training split; or pass its run folder / .safetensors file, which record them."
            )
        mean, std = normalization
        predictor = Predictor(model_or_path, mean, std, device=device)
        return predictor, {
            "kind": "model",
            "weights": None,
            "model": getattr(model_or_path, "name", ""),
        }
    raise ConfigError(
        "evaluate_model expects a run folder, a .safetensors file, a Predictor or a torch model, "
        f"got {type(model_or_path).__name__}."
    )


def native_size(probs: Any, shape: tuple[int, int]) -> np.ndarray:
    """Probabilities ``[h, w]`` mapped to a tile's native ``shape`` (bilinear if resized).

    A predictor that ran on a resized tile returns a map of another size; scores are always
    computed at the tile's own size, so the map is interpolated back before thresholding.
    """
    import torch
    import torch.nn.functional as F

    tensor = probs if isinstance(probs, torch.Tensor) else torch.as_tensor(np.asarray(probs))
    tensor = tensor.detach().float().squeeze()
    if tensor.ndim != 2:
        raise InvalidDataError(
            f"Predicted probabilities must be [H, W], got {tuple(tensor.shape)}."
        )
    if tuple(tensor.shape) != tuple(shape):
        tensor = F.interpolate(
            tensor[None, None], size=tuple(shape), mode="bilinear", align_corners=False
        )[0, 0]
    return tensor.cpu().numpy()


def _predict_batches(predictor: Any, dataset: LandslideDataset) -> Iterator[tuple[list, list]]:
    """Yield ``(samples, probabilities)`` over the split, batching consecutive same-size tiles.

    A landbench :class:`~landbench.inference.predictor.Predictor` takes ``[N, 4, H, W]`` batches
    (up to its ``batch_size``), which keeps an accelerator busy on datasets of equal-size tiles;
    other predictors get one ``[4, H, W]`` tile at a time.
    """
    import torch

    from landbench.inference.predictor import Predictor

    batch_size = predictor.batch_size if isinstance(predictor, Predictor) else 1
    pending: list[dict[str, Any]] = []

    def flush() -> tuple[list, list]:
        images = [torch.as_tensor(s["image"]) for s in pending]
        if len(images) == 1:
            probs = [predictor.predict_proba(images[0])]
        else:
            probs = list(predictor.predict_proba(torch.stack(images)))
        out = (list(pending), probs)
        pending.clear()
        return out

    for index in range(len(dataset)):
        sample = dataset[index]
        if pending and (
            len(pending) == batch_size or pending[0]["image"].shape != sample["image"].shape
        ):
            yield flush()
        pending.append(sample)
    if pending:
        yield flush()


def _check_threshold(threshold: float) -> None:
    if not 0.0 <= float(threshold) < 1.0:
        raise ConfigError(f"threshold must be in [0, 1), got {threshold}.")


def _native_probabilities(
    predictor: Any, dataset: LandslideDataset, verb: str, progress: bool
) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
    """Yield ``(sample, probabilities [H, W] at the tile's native size)`` over the split."""
    from tqdm.auto import tqdm

    desc = f"{verb} {dataset.name}/{dataset.split}"
    with tqdm(total=len(dataset), desc=desc, disable=not progress) as bar:
        for samples, probs_batch in _predict_batches(predictor, dataset):
            for sample, probs in zip(samples, probs_batch):
                yield sample, native_size(probs, tuple(sample["mask"].shape))
            bar.update(len(samples))


def evaluate_model(
    model_or_path: Any,
    dataset: LandslideDataset,
    *,
    device: str = "cpu",
    threshold: float = 0.5,
    progress: bool = True,
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> EvaluationResult:
    """Predict every tile of a split at native size and score it.

    Args:
        model_or_path: a run folder (``RUN/model.safetensors``), a ``.safetensors`` file, a
            :class:`~landbench.inference.predictor.Predictor`, or a model with ``normalization``.
        dataset: the split to score (its samples must carry the stacked R, G, B, DEM bands).
        device: torch device for inference (``"cpu"``, ``"cuda"``, ...).
        threshold: a pixel is landslide when its probability is greater than this.
        progress: show a progress bar over the split.
        normalization: ``(mean, std)`` per band, only for a bare ``torch.nn.Module``.
        n_resamples: bootstrap resamples for the intervals.
        seed: bootstrap seed.

    Returns:
        The :class:`EvaluationResult`, with a precision-recall curve over
        :data:`PR_THRESHOLDS`.
    """
    _check_threshold(threshold)
    predictor, source = make_predictor(model_or_path, device=device, normalization=normalization)
    source["threshold"] = float(threshold)
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
    acc = ConfusionAccumulator()
    curve = np.zeros((len(PR_THRESHOLDS), 4), dtype=np.int64)
    for sample, probs in _native_probabilities(predictor, dataset, "evaluating", progress):
        target = _target(sample)
        acc.update(probs > threshold, target, sample["id"])
        curve += threshold_counts(probs, target, PR_THRESHOLDS)
    pr = {"thresholds": PR_THRESHOLDS.tolist(), "counts": curve}
    return _result(dataset, acc, source, pr_curve=pr, n_resamples=n_resamples, seed=seed)


def predict_masks(
    model_or_path: Any,
    dataset: LandslideDataset,
    *,
    device: str = "cpu",
    threshold: float = 0.5,
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
    _check_threshold(threshold)
    predictor, _ = make_predictor(model_or_path, device=device, normalization=normalization)
    return {
        sample["id"]: (probs > threshold).astype(np.uint8)
        for sample, probs in _native_probabilities(predictor, dataset, "predicting", progress)
    }
