"""Reading and checking the recomputed entries committed under ``<leaderboard>/results/``.

A committed entry is checked beyond its schema: its file name must be its entry name, its
submission metadata must pass the submission schema it declares, every dataset it was scored on
must agree between the metadata and the result, and every stored figure (pooled counts, metrics
and bootstrap intervals of every seed, and the summary over seeds) must equal what the evaluator
recomputes from the stored per-image counts. A hand-edited score is therefore caught by
``landbench leaderboard render --check``.

Results of schema version 1 hold one unnamed seed per dataset (``predictions_sha256`` and
``evaluation`` beside the split fields); version 2 holds ``seeds`` (one scored set of
predictions per seed) and ``summary``. :func:`dataset_seeds` reads both the same way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landbench.core.errors import LandbenchError
from landbench.evaluation.metrics import mean_std
from landbench.leaderboard.errors import LeaderboardError
from landbench.leaderboard.folders import results_dir
from landbench.leaderboard.schema import read_document, schema_problems
from landbench.leaderboard.submission import is_synthetic, submission_seeds

MAX_RESULT_BYTES = 64 << 20
"""Most bytes (64 MiB) a result file may hold: per-image counts of up to 20 seeds of a large
test split take a few MiB."""

TOLERANCE = 1e-9
"""Largest difference allowed between a stored figure and its recomputation (float noise)."""


@dataclass(frozen=True)
class Entry:
    """One committed, checked leaderboard entry.

    Attributes:
        path: its result file.
        record: the parsed result file.
    """

    path: Path
    record: dict[str, Any]

    @property
    def name(self) -> str:
        """The entry name."""
        return str(self.record["entry"])


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=TOLERANCE)


def dataset_seeds(result: Mapping[str, Any]) -> Iterator[tuple[int | None, str, Any]]:
    """``(seed, predictions_sha256, evaluation)`` of each seed of one dataset's result.

    A schema-1 result has one unnamed seed (None).
    """
    if "seeds" in result:
        for item in result["seeds"]:
            yield item["seed"], item["predictions_sha256"], item["evaluation"]
    else:
        yield None, result["predictions_sha256"], result["evaluation"]


def summary(evaluations: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Pooled F1 over seeds: ``n_seeds``, ``f1_mean``, ``f1_std`` (None for one), ``f1_per_seed``.

    Args:
        evaluations: one evaluation record (``EvaluationResult.to_dict()``) per seed.
    """
    values = [ev["metrics"]["f1"] for ev in evaluations]
    spread = mean_std([math.nan if v is None else v for v in values])
    return {
        "n_seeds": len(values),
        "f1_mean": spread.mean if spread.n == len(values) else None,
        "f1_std": spread.std if spread.n == len(values) > 1 else None,
        "f1_per_seed": values,
    }


def _figure_problems(name: str, result: Mapping[str, Any]) -> list[str]:
    """Problems of one dataset's stored figures (every seed, the summary) against recomputation."""
    problems = []
    seeds = list(dataset_seeds(result))
    for seed, _, ev in seeds:
        where = f"results.{name}" if seed is None else f"results.{name}.seeds[seed {seed}]"
        problems += _evaluation_problems(name, where, result, ev)
    if "summary" in result and not problems:
        again = summary([ev for _, _, ev in seeds])
        stored = result["summary"]
        same = stored["n_seeds"] == again["n_seeds"] and all(
            _close(stored[k], again[k]) for k in ("f1_mean", "f1_std")
        )
        same = same and len(stored["f1_per_seed"]) == len(again["f1_per_seed"])
        same = same and all(map(_close, stored["f1_per_seed"], again["f1_per_seed"]))
        if not same:
            problems.append(
                f"results.{name}.summary = {stored} but the seeds give {again}; figures must "
                "come from the evaluator."
            )
    return problems


def _evaluation_problems(
    name: str, where: str, result: Mapping[str, Any], ev: Mapping[str, Any]
) -> list[str]:
    """Problems of one seed's evaluation record against its recomputation."""
    from landbench.evaluation import EvaluationResult

    problems = []
    for key in ("split", "split_version", "manifest_sha256"):
        if ev.get(key) != result[key]:
            problems.append(f"{where}.{key} differs from evaluation.{key}.")
    if ev.get("dataset") != name:
        problems.append(f"{where}.evaluation.dataset is {ev.get('dataset')!r}, not {name!r}.")
    if not (ev["n_images"] == result["n_samples"] == len(ev["per_image"])):
        problems.append(f"{where}: n_samples, evaluation.n_images and per-image rows disagree.")
        return problems
    try:
        recomputed = EvaluationResult.from_dict(ev)
    except (LandbenchError, KeyError, TypeError, ValueError) as err:
        return [*problems, f"{where}.evaluation cannot be rebuilt ({err})."]
    if recomputed.counts.to_dict() != {k: ev["counts"][k] for k in ("tp", "fp", "fn", "tn")}:
        problems.append(f"{where}.evaluation.counts differ from the sum of the per-image counts.")
    again = recomputed.to_dict(per_image=False)
    for metric, value in ev["metrics"].items():
        if metric not in again["metrics"] or not _close(value, again["metrics"][metric]):
            problems.append(
                f"{where}.evaluation.metrics.{metric} = {value} but the per-image counts give "
                f"{again['metrics'].get(metric)}; figures must come from the evaluator."
            )
    for metric, bounds in ev["intervals"].items():
        want = again["intervals"].get(metric)
        if want is None or not all(_close(a, b) for a, b in zip(bounds, want)):
            problems.append(
                f"{where}.evaluation.intervals.{metric} = {bounds} but the per-image counts "
                f"give {want}."
            )
    return problems


def entry_problems(path: Path, record: Any) -> list[str]:
    """Every problem of one committed result file (schema, consistency, figures)."""
    problems = schema_problems(record, "result", path.name)
    if problems:
        return problems
    if record["entry"] != path.stem:
        problems.append(f"entry {record['entry']!r} does not match the file name {path.name!r}.")
    submission = record["submission"]
    problems += [
        f"submission: {p}" for p in schema_problems(submission, "submission", "submission")
    ]
    if problems:
        return problems
    if submission["entry"] != record["entry"]:
        problems.append("submission.entry differs from entry.")
    declared_seeds = submission_seeds(submission)
    declared, scored = set(submission["datasets"]), set(record["results"])
    if declared != scored:
        problems.append(
            f"datasets declared by the submission {sorted(declared)} differ from those scored "
            f"{sorted(scored)}."
        )
    for name in sorted(declared & scored):
        spec, result = submission["datasets"][name], record["results"][name]
        for key in ("split_version", "manifest_sha256", "dataset_kwargs"):
            if spec[key] != result[key]:
                problems.append(f"results.{name}.{key} differs from submission.datasets.{key}.")
        if result["synthetic"] != is_synthetic(name):
            problems.append(
                f"results.{name}.synthetic is {result['synthetic']} but {name} is "
                f"{'' if is_synthetic(name) else 'not '}synthetic."
            )
        scored_seeds = [seed for seed, _, _ in dataset_seeds(result)]
        if scored_seeds != declared_seeds:
            problems.append(
                f"results.{name} scores seeds {scored_seeds} but the submission declares "
                f"{declared_seeds}."
            )
        problems += _figure_problems(name, result)
    return problems


def load_entries(
    leaderboard_dir: str | os.PathLike[str], skip: set[str] | frozenset[str] = frozenset()
) -> list[Entry]:
    """Read and check every committed entry of a leaderboard.

    Args:
        leaderboard_dir: the leaderboard folder.
        skip: paths (as strings) of result files to pass over.

    Returns:
        The entries, sorted by entry name.

    Raises:
        LeaderboardError: listing every problem of every invalid entry.
    """
    folder = results_dir(leaderboard_dir)
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    entries, problems = [], []
    for path in paths:
        if str(path) in skip:
            continue
        try:  # bounded: size, nesting depth, no NaN
            record = read_document(path, path.name, MAX_RESULT_BYTES)
        except LandbenchError as err:
            problems.append(f"{path}: {err}")
            continue
        found = entry_problems(path, record)
        problems += [f"{path}: {p}" for p in found]
        if not found:
            entries.append(Entry(path, record))
    if problems:
        raise LeaderboardError(
            f"Invalid leaderboard entries in {folder} (an entry is only written by "
            "`landbench leaderboard submit`; never edit one by hand):",
            problems,
        )
    return entries
