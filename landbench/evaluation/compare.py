"""Paired comparison of two models on the same test images, and Holm's correction.

The test (docs/protocol.md): the statistic is the difference in pooled F1, ``F1(A) - F1(B)``.
Each bootstrap resample draws ``N`` of the ``N`` test images with replacement (a multinomial
count per image, seeded) and applies the same draw to both models and to every seed of each, so
the comparison is paired: what both models find hard cancels out. Per-image confusion counts are
pooled with the draw's weights (one matrix product for all resamples) and pooled F1 recomputed.

* Interval: the percentile interval of the resampled differences (``np.quantile``, linear
  interpolation) at ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``.
* p-value (two-sided, H0: no difference): ``p = min(1, 2 * min((1 + #{d* <= 0}) / (B + 1),
  (1 + #{d* >= 0}) / (B + 1)))`` over the ``B`` resampled differences ``d*``; the ``+1`` counts
  the observed sample as one of the resamples (Davison & Hinkley 1997, eq. 4.11), so ``p`` is
  never 0 and is at least ``2 / (B + 1)``.
* Seeds: each seed of A is paired with the seed of B that has the same training seed value when
  both sides record the same set of seed values; otherwise seeds are paired by position (both in
  the order given). The pooled comparison uses the mean over seeds of each side's pooled F1 on
  every resample (A and B may then have different numbers of seeds).
* Several comparisons (rank groups): :func:`holm` adjusts their p-values for the family.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from landbench.core.errors import ConfigError, InvalidDataError
from landbench.evaluation.metrics import resample_weights
from landbench.evaluation.result import EvaluationResult

__all__ = [
    "N_RESAMPLES",
    "Comparison",
    "PairedDifference",
    "Scored",
    "bootstrap_p_value",
    "compare",
    "holm",
    "paired_bootstrap",
    "read_scored",
    "resample_weights",
    "resampled_pooled_f1",
]

N_RESAMPLES = 10000
"""Default bootstrap resamples of a comparison (p-values resolve down to ``2 / 10001``)."""


def resampled_pooled_f1(per_image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pooled F1 of every seed on every resample.

    Args:
        per_image: counts ``[S, N, k]`` (``k >= 3``: tp, fp, fn first) of ``S`` seeds on the
            same ``N`` images, or ``[N, k]`` for one seed.
        weights: ``[B, N]`` from :func:`resample_weights`.

    Returns:
        float64 ``[S, B]`` (``[B]`` for a 2-D input); F1 is 0 where a resample holds no
        positive pixel in either prediction or truth (scikit-learn's ``zero_division=0``).
    """
    counts = np.asarray(per_image, dtype=np.float64)
    single = counts.ndim == 2
    counts = counts[None] if single else counts
    # A batched BLAS product ([B, N] @ [S, N, 3] -> [S, B, 3]), 10x faster than the einsum it
    # replaced; weights and counts are integers far below 2**53, so every sum is exact.
    pooled = np.matmul(weights.astype(np.float64), counts[..., :3])
    tp, fp, fn = pooled[..., 0], pooled[..., 1], pooled[..., 2]
    den = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)
    return f1[0] if single else f1


def bootstrap_p_value(differences: np.ndarray) -> float:
    """Two-sided p-value of H0 "no difference" from resampled differences (module docstring)."""
    d = np.asarray(differences, dtype=np.float64)
    b = d.size
    low = (1 + np.count_nonzero(d <= 0)) / (b + 1)
    high = (1 + np.count_nonzero(d >= 0)) / (b + 1)
    return float(min(1.0, 2.0 * min(low, high)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control), in the given order.

    With the ``m`` p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the adjusted value of
    ``p_(i)`` is ``max_{j <= i} min(1, (m - j + 1) p_(j))``; a hypothesis is rejected at level
    ``alpha`` exactly when its adjusted p-value is ``<= alpha`` (as ``statsmodels``'
    ``multipletests(method="holm")``).
    """
    p = np.asarray(list(p_values), dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    if np.any((p < 0) | (p > 1) | ~np.isfinite(p)):
        raise ConfigError(f"p-values must lie in [0, 1], got {p.tolist()}.")
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.tolist()


@dataclass
class PairedDifference:
    """One paired bootstrap comparison of pooled F1, ``F1(A) - F1(B)``.

    Attributes:
        difference: the observed difference on the full test set (for the pooled comparison,
            the difference of the two sides' means over seeds).
        ci_low: lower bound of the percentile interval.
        ci_high: upper bound.
        p_value: two-sided bootstrap p-value (module docstring).
        seeds: ``{"a": [...], "b": [...]}`` the training seeds compared (None when unrecorded).
    """

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    seeds: dict[str, list[Any]]


@dataclass
class Comparison:
    """A paired comparison of two models: pooled over seeds, and per seed pair.

    Attributes:
        pooled: over all seeds of both sides.
        per_seed: one per seed pair (empty when the sides cannot be paired).
        n_images: test images compared.
        n_resamples: bootstrap resamples.
        confidence: coverage of the intervals.
        seed: seed of the resampling generator.
        pairing: ``"seed"`` (by training seed value), ``"index"`` (by position) or ``"none"``.
        labels: ``{"a": ..., "b": ...}`` what was compared.
    """

    pooled: PairedDifference
    per_seed: list[PairedDifference]
    n_images: int
    n_resamples: int
    confidence: float
    seed: int
    pairing: str
    labels: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the pooled comparison's fields at the top level, then the rest."""
        return {
            **asdict(self.pooled),
            "n_images": self.n_images,
            "per_seed": [asdict(p) for p in self.per_seed],
            "pairing": self.pairing,
            "statistic": "F1(A) - F1(B), landslide F1 pooled over all pixels of the split",
            "bootstrap": {
                "unit": "image (paired: the same draw for both models and every seed)",
                "method": "percentile",
                "p_value": "2 * min((1 + #{d* <= 0}) / (B + 1), (1 + #{d* >= 0}) / (B + 1))",
                "n_resamples": self.n_resamples,
                "confidence": self.confidence,
                "seed": self.seed,
            },
            "a": self.labels.get("a"),
            "b": self.labels.get("b"),
        }

    def format(self, digits: int = 4) -> str:
        """Human-readable lines: the pooled comparison, then one line per seed pair."""
        pct = round(self.confidence * 100)

        def line(name: str, d: PairedDifference) -> str:
            return (
                f"{name}: {d.difference:+.{digits}f} [{d.ci_low:+.{digits}f}, "
                f"{d.ci_high:+.{digits}f}] p={d.p_value:.4g}"
            )

        out = [
            f"F1(A) - F1(B), pooled F1, {pct}% paired bootstrap interval over {self.n_images} "
            f"images ({self.n_resamples} resamples, seed {self.seed})",
            f"A: {self.labels.get('a', 'A')}",
            f"B: {self.labels.get('b', 'B')}",
            line(f"pooled over seeds (A {len(self.pooled.seeds['a'])}, B "
                 f"{len(self.pooled.seeds['b'])})", self.pooled),
        ]  # fmt: skip
        for d in self.per_seed:
            out.append(line(f"seed {d.seeds['a'][0]} vs {d.seeds['b'][0]}", d))
        return "\n".join(out)


def _difference(
    f1_a: np.ndarray, f1_b: np.ndarray, boot_a: np.ndarray, boot_b: np.ndarray, alpha: float
) -> tuple[float, float, float, float]:
    diffs = boot_a - boot_b
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    return float(f1_a - f1_b), float(low), float(high), bootstrap_p_value(diffs)


def _pairs(seeds_a: Sequence[Any], seeds_b: Sequence[Any]) -> tuple[str, list[tuple[int, int]]]:
    known = None not in seeds_a and None not in seeds_b
    if known and len(set(seeds_a)) == len(seeds_a) and set(seeds_a) == set(seeds_b):
        return "seed", [(i, list(seeds_b).index(s)) for i, s in enumerate(seeds_a)]
    if len(seeds_a) == len(seeds_b):
        return "index", [(i, i) for i in range(len(seeds_a))]
    return "none", []


def paired_bootstrap(
    a: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    seeds_a: Sequence[Any] | None = None,
    seeds_b: Sequence[Any] | None = None,
    n_resamples: int = N_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Paired bootstrap of the difference in pooled F1 between two models, per seed and pooled.

    Args:
        a: per-seed per-image counts of model A, each ``[N, k]`` (tp, fp, fn first), the same
            ``N`` images in the same order for every seed of both models.
        b: likewise for model B.
        seeds_a: training seed of each entry of ``a`` (None entries when unknown).
        seeds_b: likewise for ``b``.
        n_resamples: bootstrap resamples.
        confidence: coverage of the percentile intervals, in (0, 1).
        seed: seed of the resampling generator.

    Returns:
        The :class:`Comparison`.

    Raises:
        ConfigError: if a side has no seed, the images differ, or ``confidence`` is outside
            (0, 1).
    """
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}.")
    if not a or not b:
        raise ConfigError("Each side of a comparison needs at least one seed.")
    arrays = [np.asarray(x, dtype=np.int64) for x in (*a, *b)]
    shapes = {x.shape[0] for x in arrays}
    if len(shapes) != 1 or any(x.ndim != 2 or x.shape[1] < 3 for x in arrays):
        raise ConfigError(
            "Both models must be scored on the same images: per-image counts of shapes "
            f"{sorted({x.shape for x in arrays})} differ."
        )
    counts_a, counts_b = np.stack(arrays[: len(a)]), np.stack(arrays[len(a) :])
    seeds_a = list(seeds_a) if seeds_a is not None else [None] * len(a)
    seeds_b = list(seeds_b) if seeds_b is not None else [None] * len(b)
    n_images = counts_a.shape[1]
    weights = resample_weights(n_images, n_resamples, seed)
    boot_a, boot_b = resampled_pooled_f1(counts_a, weights), resampled_pooled_f1(counts_b, weights)
    full = np.ones((1, n_images), dtype=np.int64)
    f1_a, f1_b = (
        resampled_pooled_f1(counts_a, full)[:, 0],
        resampled_pooled_f1(counts_b, full)[:, 0],
    )
    alpha = (1 - confidence) / 2
    pooled = PairedDifference(
        *_difference(f1_a.mean(), f1_b.mean(), boot_a.mean(0), boot_b.mean(0), alpha),
        seeds={"a": seeds_a, "b": seeds_b},
    )
    pairing, pairs = _pairs(seeds_a, seeds_b)
    per_seed = [
        PairedDifference(
            *_difference(f1_a[i], f1_b[j], boot_a[i], boot_b[j], alpha),
            seeds={"a": [seeds_a[i]], "b": [seeds_b[j]]},
        )
        for i, j in pairs
    ]
    return Comparison(pooled, per_seed, n_images, n_resamples, confidence, seed, pairing)


# -- reading what to compare -----------------------------------------------------------------


@dataclass
class Scored:
    """One side of a comparison: per-seed results on one split, read from files.

    Attributes:
        label: the path it was read from.
        results: one :class:`EvaluationResult` per seed.
        seeds: the training seed of each (None when the files do not say).
    """

    label: str
    results: list[EvaluationResult]
    seeds: list[Any]


def _run_seed(run_dir: Path) -> Any:
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError, AttributeError):
        return None


def _from_run(run_dir: Path, split: str) -> tuple[EvaluationResult, Any] | None:
    found = sorted(run_dir.glob(f"evaluation-*-{split}.json"))
    if not found:
        return None
    if len(found) > 1:
        raise ConfigError(
            f"{run_dir} holds several {split} evaluations ({', '.join(p.name for p in found)}); "
            "give the result file to compare."
        )
    return EvaluationResult.read_json(found[0]), _run_seed(run_dir)


def _seed_files(folder: Path, split: str) -> list[tuple[EvaluationResult, Any]]:
    """``seed-<k>.json`` evaluations of ``split`` in a folder (the demo's ``results/<config>``)."""
    found = []
    for path in sorted(folder.glob("seed-*.json")):
        seed = path.stem.removeprefix("seed-")
        result = EvaluationResult.read_json(path)
        if result.split == split:
            found.append((result, int(seed) if seed.isdigit() else seed))
    return found


def _seed_entries(data: Mapping[str, Any], dataset: str | None, path: Path) -> list[Any]:
    """``[{"seed", "evaluation"}]`` of a leaderboard result (one dataset, or the one named).

    Version 2 results list ``results[DATASET]["seeds"]``; version 1 holds a single
    ``results[DATASET]["evaluation"]`` (one unnamed seed).
    """
    results = data.get("results")
    if not isinstance(results, Mapping) or not results:
        raise InvalidDataError(
            f"{path} is neither a landbench evaluation result nor a leaderboard result with "
            "per-seed evaluations."
        )
    if dataset is None and len(results) > 1:
        raise ConfigError(f"{path} scores several datasets ({', '.join(results)}); pass --dataset.")
    name = dataset or next(iter(results))
    if name not in results:
        raise ConfigError(f"{path} has no result for dataset {name!r} ({', '.join(results)}).")
    entry = results[name]
    if "seeds" in entry:
        return list(entry["seeds"])
    return [{"seed": None, "evaluation": entry["evaluation"]}] if "evaluation" in entry else []


def read_scored(
    path: str | os.PathLike[str], split: str = "test", dataset: str | None = None
) -> Scored:
    """Read one side of a comparison.

    Args:
        path: an evaluation result JSON (``landbench evaluate --out``), a leaderboard result
            JSON (one evaluation per seed), a run folder holding ``evaluation-*-SPLIT.json`` (its
            ``run.json`` gives the seed), a folder of such run folders (one per seed, in name
            order), or a folder of ``seed-<k>.json`` evaluations (the demo's
            ``results/<config>``).
        split: the split whose evaluations a run folder is searched for.
        dataset: which dataset of a multi-dataset leaderboard result.

    Raises:
        ConfigError: if nothing comparable is found at ``path``.
        InvalidDataError: if a file is not a landbench result.
    """
    path = Path(path)
    if path.is_dir():
        own = _from_run(path, split)
        runs = [own] if own else []
        if not runs:
            runs = [r for sub in sorted(p for p in path.iterdir() if p.is_dir())
                    if (r := _from_run(sub, split))]  # fmt: skip
        if not runs:
            runs = _seed_files(path, split)
        if not runs:
            raise ConfigError(
                f"{path} holds no evaluation-*-{split}.json (in it or in its run subfolders) and "
                f"no seed-<k>.json {split} evaluations; run `landbench evaluate --model RUN "
                f"--split {split}` first."
            )
        return Scored(str(path), [r for r, _ in runs], [s for _, s in runs])
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; give a result JSON or a run folder.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InvalidDataError(f"Cannot read {path} as JSON: {err}") from err
    if isinstance(data, Mapping) and data.get("format") == "landbench-evaluation":
        return Scored(str(path), [EvaluationResult.from_dict(data)], [None])
    if not isinstance(data, Mapping):
        raise InvalidDataError(f"{path} is not a landbench result (a JSON object).")
    entries = _seed_entries(data, dataset, path)
    if not entries:
        raise InvalidDataError(f"{path} lists no scored seed.")
    results = [EvaluationResult.from_dict(e["evaluation"]) for e in entries]
    return Scored(str(path), results, [e.get("seed") for e in entries])


def _aligned(scored: Scored, ids: tuple[str, ...]) -> list[np.ndarray]:
    out = []
    for result in scored.results:
        if result.ids == ids:
            out.append(result.per_image)
            continue
        if sorted(result.ids) != sorted(ids):
            raise ConfigError(
                f"{scored.label} was scored on other images than the first result: a paired "
                "comparison needs the same split (same manifest)."
            )
        index = {i: k for k, i in enumerate(result.ids)}
        out.append(result.per_image[[index[i] for i in ids]])
    return out


def compare(
    a: str | os.PathLike[str] | Scored,
    b: str | os.PathLike[str] | Scored,
    *,
    split: str = "test",
    dataset: str | None = None,
    n_resamples: int = N_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Compare two models from their result files or run folders (:func:`read_scored`).

    Raises:
        ConfigError: if the two were not scored on the same split manifest and images.
    """
    sides = [x if isinstance(x, Scored) else read_scored(x, split, dataset) for x in (a, b)]
    first = sides[0].results[0]
    for side in sides:
        for result in side.results:
            if result.manifest_sha256 != first.manifest_sha256:
                raise ConfigError(
                    f"{side.label} was scored on split manifest {result.manifest_sha256[:12]}... "
                    f"but {sides[0].label} on {first.manifest_sha256[:12]}...: a paired "
                    "comparison needs the same images."
                )
    counts = [_aligned(side, first.ids) for side in sides]
    result = paired_bootstrap(
        counts[0], counts[1], sides[0].seeds, sides[1].seeds, n_resamples, confidence, seed
    )
    result.labels = {"a": sides[0].label, "b": sides[1].label}
    return result
