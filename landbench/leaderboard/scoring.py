"""Scoring a submission: validate it, recompute every figure, record the result atomically.

Only the evaluator's figures reach the leaderboard. A result file,
``<leaderboard>/results/<entry>.json`` (schema ``schema/result-v2.json``), records per dataset
the split version and manifest hash it was scored against and the dataset options that rebuild a
synthetic split; per seed the recomputed counts, metrics and bootstrap intervals (the evaluator's
``EvaluationResult.to_dict``) and a SHA-256 over the decoded predictions; pooled F1 over seeds
(mean, sample std, each seed's value); the submission's metadata and time; the provenance of the
scoring code (:func:`landbench.core.provenance.provenance`); and the warnings the maintainer was
given, e.g. predictions identical to those of an entry already on the leaderboard.

The dependency is one-way: this module scores what :mod:`~landbench.leaderboard.submission`
validated and read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from landbench._version import __version__
from landbench.core.errors import LandbenchError
from landbench.core.io import atomic_write_json
from landbench.core.provenance import provenance
from landbench.leaderboard.archive import open_submission
from landbench.leaderboard.entries import MAX_RESULT_BYTES, dataset_seeds, summary
from landbench.leaderboard.errors import SubmissionError
from landbench.leaderboard.folders import DEFAULT_LEADERBOARD_DIR, results_dir, taken_entries
from landbench.leaderboard.schema import CURRENT_VERSION, read_document, schema_problems
from landbench.leaderboard.submission import Submission, check_submission_folder, is_synthetic

log = logging.getLogger(__name__)


def predictions_sha256(predictions: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over decoded binary masks, independent of how the PNGs were encoded.

    For each id in sorted order, the digest takes the UTF-8 line ``<id>``, the line ``<H>x<W>``
    (each ended by a newline), then the mask as ``H * W`` bytes in row-major order: 1 for
    landslide (any non-zero value), 0 else.
    Re-encoding the PNGs (other compression, {0, 255} instead of {0, 1}) keeps the digest.

    Args:
        predictions: id to mask ``[H, W]``.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    for sample_id in sorted(predictions):
        mask = np.asarray(predictions[sample_id])
        if mask.ndim != 2:
            raise ValueError(f"mask {sample_id!r} has shape {mask.shape}; expected [H, W].")
        h, w = mask.shape
        digest.update(f"{sample_id}\n{h}x{w}\n".encode())
        digest.update(np.ascontiguousarray(mask != 0, dtype=np.uint8).tobytes())
    return digest.hexdigest()


def known_predictions(leaderboard_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """``predictions_sha256`` of every seed of every entry already on a leaderboard.

    Unreadable result files are passed over: they are reported by ``render`` and ``check``.

    Returns:
        Digest to the entries (``entry``, with ``dataset``/``seed``) that hold it.
    """
    out: dict[str, list[str]] = {}
    folder = results_dir(leaderboard_dir)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = read_document(path, path.name, MAX_RESULT_BYTES)
            for name, result in sorted(record["results"].items()):
                for seed, sha, _ in dataset_seeds(result):
                    where = name if seed is None else f"{name}, seed {seed}"
                    out.setdefault(str(sha), []).append(f"{record['entry']!r} ({where})")
        except (LandbenchError, KeyError, TypeError, AttributeError):
            continue
    return out


def duplicate_warnings(record: Mapping[str, Any], known: Mapping[str, list[str]]) -> list[str]:
    """One warning per seed whose predictions equal those of an entry already on the board."""
    warnings = []
    for name, result in sorted(record["results"].items()):
        for seed, sha, _ in dataset_seeds(result):
            if sha in known:
                where = name if seed is None else f"{name} seed {seed}"
                warnings.append(
                    f"duplicate predictions: {where} of entry {record['entry']!r} has "
                    f"predictions_sha256 {sha[:16]}..., identical to {', '.join(known[sha])}; "
                    "check that this is not the same model submitted twice."
                )
    return warnings


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def score_submission(
    submission: Submission, submitted_at: str | None = None, progress: bool = False
) -> dict[str, Any]:
    """Recompute every figure of a checked submission with the evaluator.

    Args:
        submission: from :func:`~landbench.leaderboard.submission.check_submission_folder`,
            its folder still open (masks are decoded as they are scored).
        submitted_at: ISO 8601 UTC time to record (default: now).
        progress: show a progress bar while evaluating.

    Returns:
        The result record (see the module docstring), valid against the result schema.
    """
    from landbench.evaluation import evaluate_predictions

    results = {}
    for name in sorted(submission.datasets):
        dataset = submission.datasets[name]
        spec = submission.metadata["datasets"][name]
        seeds = []
        for seed, predictions in sorted(
            submission.predictions[name].items(), key=lambda kv: (kv[0] is not None, kv[0] or 0)
        ):
            evaluation = evaluate_predictions(predictions, dataset, progress=progress)
            seeds.append(
                {
                    "seed": seed,
                    "predictions_sha256": predictions_sha256(predictions),
                    "evaluation": _jsonable(evaluation.to_dict()),
                }
            )
        config = getattr(dataset, "config", None)
        results[name] = {
            "synthetic": is_synthetic(name),
            "split": dataset.split,
            "split_version": dataset.manifest.version,
            "manifest_sha256": dataset.manifest.sha256,
            "dataset_kwargs": dict(spec.get("dataset_kwargs", {})),
            "n_samples": len(dataset.ids),
            "seeds": seeds,
            "summary": summary([s["evaluation"] for s in seeds]),
        }
        if isinstance(config, Mapping):  # e.g. the generator version of synthetic tiles
            results[name]["dataset_config"] = dict(config)
    record = {
        "schema_version": CURRENT_VERSION["result"],
        "kind": "recomputed",
        "entry": submission.entry,
        "submitted_at": submitted_at or _utc_now(),
        "scored_with": {"landbench_version": __version__},
        "provenance": provenance(device="cpu"),  # masks are scored with numpy on the CPU
        "submission": submission.metadata,
        "results": results,
    }
    # Round-trip through JSON types so that the record written equals the record returned.
    problems = schema_problems(_jsonable(record), "result", "result")
    if problems:  # a bug, not a user error: the evaluator's output no longer fits the schema
        raise RuntimeError("result record does not fit its schema: " + "; ".join(problems))
    return record


def _jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars and tuples turned into JSON types."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def submit(
    submission_path: str | os.PathLike[str],
    leaderboard_dir: str | os.PathLike[str] = DEFAULT_LEADERBOARD_DIR,
    root: str | None = None,
    progress: bool = False,
    submitted_at: str | None = None,
) -> Path:
    """Validate a submission, recompute its scores and add it to a leaderboard.

    Nothing is written unless every check passes; the result file is written atomically and an
    existing entry is never replaced. Predictions identical to an entry already on the leaderboard
    (same ``predictions_sha256``) are not refused (a maintainer decides) but logged as a warning
    naming that entry and recorded in the result's ``warnings``. Run
    :func:`~landbench.leaderboard.rendering.render` afterwards to update the tables.

    Args:
        submission_path: a submission folder or ``.zip``.
        leaderboard_dir: the leaderboard folder (its ``results/`` receives the result).
        root: raw-data folder of real datasets (None: each dataset's default).
        progress: show a progress bar while evaluating.
        submitted_at: ISO 8601 UTC time to record (default: now).

    Returns:
        The path of the new result file, ``<leaderboard_dir>/results/<entry>.json``.

    Raises:
        SubmissionError: listing every problem of the submission.
    """
    taken = taken_entries(leaderboard_dir)
    # Masks are decoded as they are scored, so score while the (unpacked) submission is open.
    with open_submission(submission_path) as folder:
        submission = check_submission_folder(
            folder, Path(submission_path), root=root, taken_entries=taken
        )
        record = _jsonable(score_submission(submission, submitted_at, progress))
    warnings = duplicate_warnings(record, known_predictions(leaderboard_dir))
    if warnings:
        record["warnings"] = warnings
        for line in warnings:
            log.warning("warning: %s", line)
    target = results_dir(leaderboard_dir) / f"{submission.entry}.json"
    if target.exists():  # submitted concurrently while we were scoring
        raise SubmissionError(
            submission_path,
            [f"entry {submission.entry!r} is already on the leaderboard; choose another name."],
        )
    return atomic_write_json(target, record, overwrite=False)
