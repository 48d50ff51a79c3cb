"""Reported reference rows: published scores shown beside, never among, recomputed entries.

Scores transcribed from publications are data (schema ``schema/reported-v1.json``), one file per
publication, kept in the repository's ``leaderboard/reported/`` and shipped as package data
(``landbench.core.resources``, kind ``reported``). The paper's Tables 1 (Bijie) and 2 (Hokkaido)
are the one source of those values: :mod:`landbench.evaluation.reported` reads the same file.
Every leaderboard shows the shipped rows, from a checkout or an installed wheel; another
leaderboard folder may add its own in ``<leaderboard>/reported/*.json``. They cannot be recomputed,
since no predictions exist and neither the split nor the F1 definition behind them is published,
so every rendering puts them in a separate, clearly labelled table and never ranks them with
recomputed figures.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from landbench.core.resources import resource_path
from landbench.leaderboard.errors import LeaderboardError
from landbench.leaderboard.folders import REPORTED_DIR
from landbench.leaderboard.schema import schema_problems


@dataclass(frozen=True)
class ReportedRow:
    """One published score, as printed.

    Attributes:
        dataset: dataset name.
        table: where it is printed, e.g. ``"Table 1"``.
        model: the model as the publication names it.
        setting: the training setting as the publication states it.
        metric: the metric as the publication names it.
        value: the score exactly as printed (e.g. ``"0.850"``).
        citation: the publication's full reference.
        short_citation: its short form, for table cells.
        url: a link to the publication, or None.
        note: why the row is not comparable with recomputed entries.
        source: the file it was read from (its name, for stable output).
    """

    dataset: str
    table: str
    model: str
    setting: str
    metric: str
    value: str
    citation: str
    short_citation: str
    url: str | None
    note: str
    source: str


def packaged_reported() -> list[Path]:
    """The reported-rows files shipped with landbench (the paper's tables), by name."""
    return sorted(resource_path("reported").glob("*.json"))


def reported_problems(path: Path) -> list[str]:
    """Every problem of one reported-rows file, one line each."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return [f"{path}: not readable UTF-8 JSON ({err})."]
    return [f"{path}: {p}" for p in schema_problems(doc, "reported", path.name)]


def load_reported(leaderboard_dir: str | os.PathLike[str]) -> list[ReportedRow]:
    """Read the packaged reported rows and a leaderboard's own, checked against their schema.

    Args:
        leaderboard_dir: the leaderboard folder.

    Returns:
        The rows: the packaged files', then the folder's, each by file name, then as printed.

    Raises:
        LeaderboardError: listing every invalid file.
    """
    folder = Path(leaderboard_dir) / REPORTED_DIR
    packaged = packaged_reported()
    shipped = {p.name for p in packaged}
    extra = [p for p in sorted(folder.glob("*.json")) if p.name not in shipped]
    paths = packaged + extra
    problems = [p for path in paths for p in reported_problems(path)]
    if problems:
        raise LeaderboardError(f"Invalid reported rows in {folder}:", problems)
    rows = []
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for row in doc["rows"]:
            rows.append(
                ReportedRow(
                    dataset=row["dataset"],
                    table=row["table"],
                    model=row["model"],
                    setting=row["setting"],
                    metric=row["metric"],
                    value=row["value"],
                    citation=doc["citation"],
                    short_citation=doc["short_citation"],
                    url=doc["url"],
                    note=doc["note"],
                    source=path.name,
                )
            )
    return rows
