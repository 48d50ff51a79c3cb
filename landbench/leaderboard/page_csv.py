"""The leaderboard as CSV (``leaderboard.csv``), every text cell guarded against formulas."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from landbench.leaderboard.table import Leaderboard

CSV_COLUMNS: tuple[str, ...] = (
    "source",
    "dataset",
    "synthetic",
    "split_version",
    "manifest_sha256",
    "dataset_kwargs",
    "rank",
    "group",
    "entry",
    "model",
    "setting",
    "team",
    "n_seeds",
    "seeds",
    "f1",
    "f1_std",
    "f1_per_seed",
    "f1_low",
    "f1_high",
    "iou",
    "iou_low",
    "iou_high",
    "precision",
    "precision_low",
    "precision_high",
    "recall",
    "recall_low",
    "recall_high",
    "mean_f1_empty_as_1",
    "mean_f1_landslide_tiles",
    "n_images",
    "tp",
    "fp",
    "fn",
    "tn",
    "inputs",
    "external_data",
    "pretrained_weights",
    "parameter_count",
    "date",
    "paper_url",
    "code_url",
    "code_commit",
    "license",
    "evaluator_version",
    "predictions_sha256",
    "reported_value",
    "reported_in",
)
"""Columns of ``leaderboard.csv``; ``source`` is ``recomputed`` or ``reported``. Metrics are
means over seeds; intervals, counts and the predictions digest are given for single-seed entries
(``tp``..``tn`` and digests are joined with spaces over seeds)."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: Any) -> str:
    """Text for a CSV cell, never read as a spreadsheet formula (a leading ``'`` if it could)."""
    text = " ".join(str(text).split())
    return "'" + text if text.startswith(_FORMULA_START) else text


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def render_csv(board: Leaderboard) -> str:
    """The leaderboard as CSV: recomputed rows, then reported rows (``source`` column)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for b in board.boards:
        for row in b.rows:
            record: dict[str, Any] = {
                "source": "recomputed",
                "dataset": csv_text(b.dataset),
                "synthetic": str(b.synthetic).lower(),
                "split_version": csv_text(b.split_version),
                "manifest_sha256": csv_text(b.manifest_sha256),
                "dataset_kwargs": csv_text(json.dumps(b.dataset_kwargs, sort_keys=True)),
                "rank": row.rank,
                "group": "" if row.group is None else row.group,
                "entry": csv_text(row.entry),
                "model": csv_text(row.text["model"]),
                "team": csv_text(row.text["team"]),
                "n_seeds": len(row.seeds),
                "seeds": csv_text(row.seed_list),
                "f1_std": _num(row.std("f1")),
                "f1_per_seed": " ".join(_num(s.metrics.get("f1")) for s in row.seeds),
                "n_images": row.n_images,
                "inputs": csv_text(" ".join(row.inputs)),
                "external_data": str(row.external_data).lower(),
                "pretrained_weights": csv_text(row.text["pretrained_weights"]),
                "parameter_count": row.parameter_count,
                "date": csv_text(row.text["date"]),
                "paper_url": csv_text(row.paper_url or ""),
                "code_url": csv_text(row.code_url or ""),
                "code_commit": csv_text(row.text["code_commit"]),
                "license": csv_text(row.text["license"]),
                "evaluator_version": csv_text(row.seeds[0].evaluator_version),
                "predictions_sha256": " ".join(s.predictions_sha256 for s in row.seeds),
            }
            for k in ("tp", "fp", "fn", "tn"):
                record[k] = " ".join(str(s.counts[k]) for s in row.seeds)
            for name in ("f1", "iou", "precision", "recall"):
                low, high = row.interval(name)
                record |= {
                    name: _num(row.metric(name)),
                    f"{name}_low": _num(low),
                    f"{name}_high": _num(high),
                }
            for name in ("mean_f1_empty_as_1", "mean_f1_landslide_tiles"):
                record[name] = _num(row.metric(name))
            writer.writerow(record)
    for r in board.reported:
        writer.writerow(
            {
                "source": "reported",
                "dataset": csv_text(r.dataset),
                "synthetic": "false",
                "model": csv_text(r.model),
                "setting": csv_text(r.setting),
                "reported_value": csv_text(r.value),
                "reported_in": csv_text(f"{r.citation} {r.table}"),
            }
        )
    return out.getvalue()
