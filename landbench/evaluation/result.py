"""The result of scoring one prediction set on one split: :class:`EvaluationResult`.

It holds per-image confusion counts of the whole split at each tile's native size, from which the
pooled metrics (primary: F1 of the landslide class over all pixels), the per-image means with
their empty-tile rule, and bootstrap intervals over images are derived. It records what was
scored (dataset, split, split version, manifest sha256), by what (landbench and evaluator
versions, the code's provenance) and how (threshold, bootstrap settings), and serialises to JSON.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from landbench._version import __version__
from landbench.core.errors import InvalidDataError
from landbench.core.io import atomic_write_json
from landbench.evaluation.counts import COUNT_FIELDS, Counts
from landbench.evaluation.metrics import (
    ALL_METRICS,
    METRIC_LABELS,
    METRIC_VERSION,
    Interval,
    all_metrics,
    bootstrap_intervals,
)

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


def current_provenance(device: Any = None) -> dict[str, Any]:
    """What code is scoring: :func:`landbench.core.provenance.provenance` of ``device``.

    The commit and dirty flag of the landbench code, library versions, and the device that ran
    the model (None for prediction files, which need none).
    """
    from landbench.core.provenance import provenance

    return dict(provenance(device))


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
        evaluator_version: :data:`EVALUATOR_VERSION` of the scoring rules (the metric version).
        provenance: the code that scored (:func:`current_provenance`: git commit, dirty flag,
            library versions, device), recorded when the result is made.
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
    provenance: dict[str, Any] = field(default_factory=dict)

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
            "metric_version": METRIC_VERSION,
            "provenance": dict(self.provenance),
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
            provenance=dict(data.get("provenance") or {}),
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
