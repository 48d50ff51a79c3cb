"""The leaderboard as one self-contained, sortable HTML page, from jinja2 templates.

The templates (``landbench/leaderboard/templates/``: ``page.html.j2``, ``style.css.j2``,
``script.js.j2``) ship as package data. Autoescape is on, so every submitter text is escaped
for HTML; links are made only from http(s) URLs that parse (:func:`~.table.safe_url`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jinja2

from landbench.leaderboard.table import (
    DATASET_TITLES,
    Leaderboard,
    Row,
    fmt,
    safe_url,
    sources,
)

TEMPLATE = "page.html.j2"
"""The page template; it includes the CSS and JS templates."""


@dataclass(frozen=True)
class Column:
    """A sortable column: header label, sort type, first sort direction, right-aligned."""

    label: str
    type: str = "text"
    first: str = "ascending"
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("#", "number", "ascending", True),
    Column("Group", "number", "ascending"),
    Column("Model"),
    Column("Team"),
    Column("F1", "number", "descending", True),
    Column("F1 per seed"),
    Column("IoU", "number", "descending", True),
    Column("Precision", "number", "descending", True),
    Column("Recall", "number", "descending", True),
    Column("Mean F1", "number", "descending", True),
    Column("Inputs"),
    Column("External data"),
    Column("Params", "number", "ascending", True),
    Column("Date", "text", "descending"),
)
"""Columns of a recomputed table, in order (the Details column follows)."""

REPORTED_COLUMNS: tuple[Column, ...] = (
    Column("Model"),
    Column("Setting"),
    Column("Reported value", "number"),
)
"""Sortable columns of a reported table."""


def details(row: Row) -> list[tuple[str, str, str]]:
    """An entry's full record as ``(label, text, kind)``; kind picks the markup in the page."""
    first = row.seeds[0]
    metrics = "; ".join(
        f"{k} {fmt(row.metric(k), 4)}"
        + (
            f" [{fmt(row.interval(k)[0], 4)}, {fmt(row.interval(k)[1], 4)}]"
            if len(row.seeds) == 1
            else f" ± {fmt(row.std(k), 4)}"
        )
        for k in sorted(first.metrics)
    )
    pixels = "; ".join(
        f"{'' if s.seed is None else f'seed {s.seed}: '}tp {s.counts['tp']:,}, "
        f"fp {s.counts['fp']:,}, fn {s.counts['fn']:,}, tn {s.counts['tn']:,}"
        for s in row.seeds
    )
    items = [
        ("Entry", row.entry, "code"),
        ("Model", row.text["model"], "text"),
        ("Description", row.text["description"], "text"),
        ("Team", row.text["team"], "text"),
        ("Contact", row.text["contact"], "text"),
        ("Paper", row.paper_url or "", "link"),
        ("Code", row.code_url or "", "link"),
        ("Code commit", row.text["code_commit"], "code"),
        ("Licence", row.text["license"], "text"),
        ("Parameters", f"{row.parameter_count:,}", "text"),
        ("Inputs", ", ".join(row.inputs), "text"),
        ("Training data", row.text["training_data"], "text"),
        ("External data", "yes" if row.external_data else "no", "text"),
        ("Pretrained weights", row.text["pretrained_weights"], "text"),
        ("Seeds", row.seed_list, "text"),
        ("F1 per seed", row.f1_per_seed, "text"),
        ("All metrics", metrics, "text"),
        ("Pixels", f"{pixels} over {row.n_images} images", "text"),
        ("Split", f"{row.split} {row.split_version}", "text"),
        ("Manifest sha256", row.manifest_sha256, "code"),
        ("Predictions sha256", " ".join(s.predictions_sha256 for s in row.seeds), "code"),
        ("Evaluator", f"evaluator {first.evaluator_version}, landbench {row.scored_with}", "text"),
        ("Predicted with", f"landbench {row.text['landbench_version']}", "text"),
        ("Scored at", row.submitted_at, "text"),
        ("Result file", row.result_file, "result"),
    ]
    items += [("Warning", line, "warn") for line in row.warnings]
    return items


@functools.cache
def environment() -> jinja2.Environment:
    """The template environment: package templates, autoescape on, undefined names fail."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("landbench.leaderboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.globals.update(
        columns=COLUMNS,
        reported_columns=REPORTED_COLUMNS,
        details=details,
        fmt=fmt,
        safe_url=safe_url,
        sources=sources,
        title=lambda name: DATASET_TITLES.get(name, name),
    )
    return env


def render_html(board: Leaderboard, **extra: Any) -> str:
    """The leaderboard as one self-contained HTML page (inline CSS and JS, no external asset)."""
    return environment().get_template(TEMPLATE).render(board=board, **extra)
