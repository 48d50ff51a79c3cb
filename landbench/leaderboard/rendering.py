"""Rendering the leaderboard: Markdown, CSV and a self-contained, sortable HTML page.

Rendering is a pure function of the committed files (``results/*.json`` and
``reported/*.json``): no clock, no environment, stable ordering, so CI can re-render and fail
when the committed output differs (:func:`render` with ``check=True``).

Layout: one section per real dataset holding one table per split (dataset, split version,
manifest hash), ranked by pooled F1, then the dataset's reported (not recomputed) rows in a table
of their own; then, apart, the synthetic-data tables, one per set of generation parameters.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from landbench.core.io import atomic_write_text
from landbench.leaderboard.entries import Entry, load_entries
from landbench.leaderboard.errors import LeaderboardError
from landbench.leaderboard.reference import ReportedRow, load_reported
from landbench.leaderboard.scoring import DEFAULT_LEADERBOARD_DIR, RESULTS_DIR

OUTPUT_FILES: tuple[str, ...] = ("README.md", "leaderboard.csv", "index.html")
"""Files :func:`render` writes into the leaderboard folder."""

DATASET_TITLES: dict[str, str] = {"bijie": "Bijie", "hokkaido": "Hokkaido", "synth": "synth"}
"""Display names of datasets (others are shown by their registry name)."""

DIGITS = 3
"""Decimals shown for metrics in Markdown and HTML (the CSV keeps full precision)."""

CSV_COLUMNS: tuple[str, ...] = (
    "source",
    "dataset",
    "synthetic",
    "split_version",
    "manifest_sha256",
    "dataset_kwargs",
    "rank",
    "entry",
    "model",
    "setting",
    "team",
    "f1",
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
"""Columns of ``leaderboard.csv``; ``source`` is ``recomputed`` or ``reported``."""


@dataclass(frozen=True)
class Row:
    """One recomputed entry on one dataset split."""

    entry: str
    submission: dict[str, Any]
    result: dict[str, Any]
    submitted_at: str
    scored_with: str

    @property
    def evaluation(self) -> dict[str, Any]:
        """The evaluator's record."""
        return self.result["evaluation"]

    @property
    def spec(self) -> dict[str, Any]:
        """The submission's description of this dataset."""
        return self.submission["datasets"][self.evaluation["dataset"]]

    def metric(self, name: str) -> float | None:
        """A metric's value (None when undefined)."""
        return self.evaluation["metrics"].get(name)

    def interval(self, name: str) -> tuple[float | None, float | None]:
        """A metric's bootstrap interval."""
        low, high = self.evaluation["intervals"].get(name, (None, None))
        return low, high

    @property
    def sort_key(self) -> tuple[float, str]:
        """Best pooled F1 first (undefined last), then entry name."""
        f1 = self.metric("f1")
        return (-f1 if f1 is not None else float("inf"), self.entry)


@dataclass
class Board:
    """One ranked table: the recomputed entries of one exact test split."""

    dataset: str
    split_version: str
    manifest_sha256: str
    dataset_kwargs: dict[str, Any]
    synthetic: bool
    rows: list[Row] = field(default_factory=list)

    dataset_config: dict[str, Any] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        """A stable HTML id, unique per board (the split, options and generator settings)."""
        key = json.dumps(
            [self.manifest_sha256, self.dataset_kwargs, self.dataset_config], sort_keys=True
        )
        return (
            f"{self.dataset}-{self.split_version}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        )

    @property
    def title(self) -> str:
        """Heading of the table."""
        settings = [f"{k}={v}" for k, v in sorted(self.dataset_kwargs.items())]
        if "generator_version" in self.dataset_config:  # generated tiles: name the generator
            settings.append(f"generator {self.dataset_config['generator_version']}")
        params = f" ({', '.join(settings)})" if settings else ""
        return (
            f"{DATASET_TITLES.get(self.dataset, self.dataset)}{params}: test split "
            f"{self.split_version}, manifest {self.manifest_sha256[:12]}"
        )

    def ranks(self) -> list[int]:
        """Competition ranks (equal pooled F1, equal rank), in row order."""
        out: list[int] = []
        for i, row in enumerate(self.rows):
            same = i and row.metric("f1") == self.rows[i - 1].metric("f1")
            out.append(out[-1] if same else i + 1)
        return out


@dataclass
class Leaderboard:
    """Everything rendered: boards of real then synthetic data, and reported rows."""

    boards: list[Board]
    reported: list[ReportedRow]

    @property
    def real_datasets(self) -> list[str]:
        """Real datasets with recomputed or reported rows, sorted."""
        names = {b.dataset for b in self.boards if not b.synthetic}
        names |= {r.dataset for r in self.reported}
        return sorted(names)

    def boards_of(self, dataset: str, synthetic: bool = False) -> list[Board]:
        """Boards of one dataset."""
        return [b for b in self.boards if b.dataset == dataset and b.synthetic == synthetic]

    def reported_of(self, dataset: str) -> list[ReportedRow]:
        """Reported rows of one dataset, in file order."""
        return [r for r in self.reported if r.dataset == dataset]

    @property
    def synthetic_boards(self) -> list[Board]:
        """Boards on synthetic data."""
        return [b for b in self.boards if b.synthetic]


def build_leaderboard(entries: Iterable[Entry], reported: Sequence[ReportedRow]) -> Leaderboard:
    """Group entries into boards (one per exact split) and rank each by pooled F1."""
    groups: dict[tuple[Any, ...], Board] = {}
    for entry in entries:
        rec = entry.record
        for name, result in rec["results"].items():
            kwargs = dict(result["dataset_kwargs"])
            key = (
                bool(result["synthetic"]),
                name,
                result["split_version"],
                result["manifest_sha256"],
                json.dumps(kwargs, sort_keys=True),
                json.dumps(result.get("dataset_config", {}), sort_keys=True),
            )
            board = groups.setdefault(
                key,
                Board(
                    name,
                    result["split_version"],
                    result["manifest_sha256"],
                    kwargs,
                    bool(result["synthetic"]),
                    dataset_config=dict(result.get("dataset_config", {})),
                ),
            )
            board.rows.append(
                Row(
                    entry=entry.name,
                    submission=rec["submission"],
                    result=result,
                    submitted_at=rec["submitted_at"],
                    scored_with=rec["scored_with"]["landbench_version"],
                )
            )
    boards = [groups[k] for k in sorted(groups)]
    for board in boards:
        board.rows.sort(key=lambda r: r.sort_key)
    return Leaderboard(boards, list(reported))


# --------------------------------------------------------------------------------- formatting


def fmt(value: float | None, digits: int = DIGITS) -> str:
    """A metric with fixed decimals, ``n/a`` when undefined."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_interval(row: Row, name: str) -> str:
    """``0.812 [0.790, 0.831]``."""
    low, high = row.interval(name)
    return f"{fmt(row.metric(name))} [{fmt(low)}, {fmt(high)}]"


def fmt_count(n: int) -> str:
    """A parameter count for humans: ``31.0M``, ``850K``."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _inputs(row: Row) -> str:
    bands = list(row.spec["inputs"])
    rgb = all(b in bands for b in ("R", "G", "B"))
    parts = (["RGB"] if rgb else [b for b in bands if b in "RGB"]) + [
        b for b in bands if b not in ("R", "G", "B")
    ]
    return "+".join(parts)


def _pct(row: Row) -> int:
    return round(100 * float(row.evaluation.get("bootstrap", {}).get("confidence", 0.95)))


# ----------------------------------------------------------------------------------- Markdown

_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\|*_`[]<>#"})


def md_text(text: Any) -> str:
    """User text made safe for a Markdown table cell."""
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def md_link(label: str, url: str | None) -> str:
    """A Markdown link, or nothing for a missing URL."""
    if not url:
        return ""
    return f"[{label}]({url.replace('(', '%28').replace(')', '%29').replace(' ', '%20')})"


MD_INTRO = """\
# landbench leaderboard

Landslide segmentation from RGB imagery and a DEM. **Every figure below is recomputed** by the
landbench evaluator from the submitted predicted masks on the fixed, versioned test split; no
self-reported score is ever shown as a result. The primary metric is the F1 of the landslide class
pooled over all pixels of the test split; brackets give {pct}% bootstrap intervals over images.
Mean F1 is the per-image mean with empty tiles (no landslide predicted or present) scored 1.

Scores that papers report are listed apart, under *Reported in publications*: they are not
recomputed and are not comparable (their splits and F1 definitions are not published).
Entries on synthetic data are kept in their own tables at the end.

This file, `leaderboard.csv` and `index.html` (sortable, with per-entry details) are generated by
`landbench leaderboard render` from `results/` and `reported/`; do not edit them by hand.
"""

MD_HOWTO = """\
## How to submit

1. Predict every test sample: one single-band 8-bit PNG per id, values {0, 1} or {0, 255}.
2. `landbench leaderboard init --dataset NAME --predictions DIR --out my-entry` (add
   `--set key=value` for dataset options, e.g. the synth parameters), then replace every
   `FILL ME` in `my-entry/submission.json`.
3. `landbench leaderboard validate my-entry` lists every problem at once.
4. Open a pull request with the folder (or a .zip of it); maintainers run
   `landbench leaderboard submit my-entry`, which recomputes every figure into
   `results/<entry>.json`, and `landbench leaderboard render`.
"""

_MD_HEADER = (
    "| # | Model | Team | F1 [{pct}% CI] | IoU [{pct}% CI] | Precision | Recall | Mean F1 "
    "| Inputs | External data | Params | Date | Links |"
)


def _md_board(board: Board) -> list[str]:
    lines = [f"### {md_text(board.title)}", ""]
    if not board.rows:
        return lines
    pct = _pct(board.rows[0])
    lines += [_MD_HEADER.format(pct=pct), "|" + "---|" * 13]
    for rank, row in zip(board.ranks(), board.rows):
        sub, spec = row.submission, row.spec
        links = " ".join(
            x
            for x in (
                md_link("paper", sub["paper_url"]),
                md_link("code", sub["code"]["url"]),
                md_link("result", f"{RESULTS_DIR}/{row.entry}.json"),
            )
            if x
        )
        cells = [
            str(rank),
            f"{md_text(sub['model']['name'])} (`{row.entry}`)",
            md_text(sub["team"]),
            fmt_interval(row, "f1"),
            fmt_interval(row, "iou"),
            fmt(row.metric("precision")),
            fmt(row.metric("recall")),
            fmt(row.metric("mean_f1_empty_as_1")),
            _inputs(row),
            "yes" if spec["external_data"] else "no",
            fmt_count(sub["model"]["parameter_count"]),
            sub["date"],
            links,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _md_reported(rows: Sequence[ReportedRow]) -> list[str]:
    lines = [
        "### Reported in publications (not recomputed, not comparable)",
        "",
        "| Model | Setting | Reported value | Metric as named | Source |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        label = md_text(f"{r.short_citation}, {r.table}")
        source = md_link(label, r.url) or label
        lines.append(
            f"| {md_text(r.model)} | {md_text(r.setting)} | {r.value} | {md_text(r.metric)} | "
            f"{source} |"
        )
    lines.append("")
    for citation, note in _sources(rows):
        lines += [f"> {md_text(note)}", ">", f"> Source: {md_text(citation)}", ""]
    return lines


def _sources(rows: Sequence[ReportedRow]) -> list[tuple[str, str]]:
    """The distinct (full citation, note) pairs of reported rows, sorted."""
    return sorted({(r.citation, r.note) for r in rows})


def render_markdown(board: Leaderboard) -> str:
    """The leaderboard as Markdown (``README.md``)."""
    pct = _pct(board.boards[0].rows[0]) if board.boards else 95
    lines = [MD_INTRO.format(pct=pct)]
    for name in board.real_datasets:
        lines += [f"## {md_text(DATASET_TITLES.get(name, name))}", ""]
        boards = board.boards_of(name)
        if not boards:
            lines += ["No recomputed entry yet.", ""]
        for b in boards:
            lines += _md_board(b)
        reported = board.reported_of(name)
        if reported:
            lines += _md_reported(reported)
    if board.synthetic_boards:
        lines += [
            "## Synthetic data (not comparable with real data)",
            "",
            'Generated by `landbench.load("synth", ...)` with the parameters in each heading; '
            "for testing pipelines, not for ranking models on real landslides.",
            "",
        ]
        for b in board.synthetic_boards:
            lines += _md_board(b)
    lines.append(MD_HOWTO)
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------- CSV


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def csv_text(text: Any) -> str:
    """Submitter text for a CSV cell, never read as a spreadsheet formula."""
    text = " ".join(str(text).split())
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render_csv(board: Leaderboard) -> str:
    """The leaderboard as CSV: recomputed rows, then reported rows (``source`` column)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for b in board.boards:
        for rank, row in zip(b.ranks(), b.rows):
            sub, spec, ev = row.submission, row.spec, row.evaluation
            record = {
                "source": "recomputed",
                "dataset": b.dataset,
                "synthetic": str(b.synthetic).lower(),
                "split_version": b.split_version,
                "manifest_sha256": b.manifest_sha256,
                "dataset_kwargs": json.dumps(b.dataset_kwargs, sort_keys=True),
                "rank": rank,
                "entry": row.entry,
                "model": csv_text(sub["model"]["name"]),
                "team": csv_text(sub["team"]),
                "n_images": ev["n_images"],
                "inputs": " ".join(spec["inputs"]),
                "external_data": str(spec["external_data"]).lower(),
                "pretrained_weights": csv_text(spec["pretrained_weights"]),
                "parameter_count": sub["model"]["parameter_count"],
                "date": sub["date"],
                "paper_url": sub["paper_url"] or "",
                "code_url": sub["code"]["url"],
                "code_commit": csv_text(sub["code"]["commit"]),
                "license": csv_text(sub["license"]),
                "evaluator_version": ev["evaluator_version"],
                "predictions_sha256": row.result["predictions_sha256"],
                **{k: ev["counts"][k] for k in ("tp", "fp", "fn", "tn")},
            }
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
                "dataset": r.dataset,
                "synthetic": "false",
                "model": r.model,
                "setting": r.setting,
                "reported_value": r.value,
                "reported_in": f"{r.citation} {r.table}",
            }
        )
    return out.getvalue()


# --------------------------------------------------------------------------------------- HTML


def h(text: Any) -> str:
    """HTML-escaped text."""
    return html.escape(str(text), quote=True)


def _a(label: str, url: str | None) -> str:
    # Only http(s) links: a submission cannot smuggle a javascript: URL into the page.
    if not url or not url.startswith(("https://", "http://")):
        return ""
    return f'<a href="{h(url)}" rel="noopener">{h(label)}</a>'


HTML_STYLE = """
:root { --line: #d0d7de; --muted: #57606a; --accent: #0b5cad; --band: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  margin: 0 auto; max-width: 1400px; padding: 1.5rem; }
h1 { margin-top: 0; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .3rem;
  margin-top: 2.2rem; } h3 { font-size: 1.05rem; margin-bottom: .5rem; }
p.note, .muted { color: var(--muted); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left;
  vertical-align: top; white-space: nowrap; }
td.num, th.num { text-align: right; }
thead th { background: var(--band); position: sticky; top: 0; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible { outline: 2px solid var(--accent); }
th button::after { content: " \\2195"; color: var(--muted); font-weight: 400; }
th[aria-sort="ascending"] button::after { content: " \\2191"; color: var(--accent); }
th[aria-sort="descending"] button::after { content: " \\2193"; color: var(--accent); }
tr.detail td { background: var(--band); white-space: normal; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
.ci { color: var(--muted); font-size: .9em; }
table.reported { border-left: 4px solid #bf8700; }
.badge { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: 1rem;
  border: 1px solid currentColor; margin-left: .4rem; vertical-align: middle; }
.badge.reported { color: #9a6700; } .badge.synthetic { color: #8250df; }
button.toggle { font: inherit; font-size: .85rem; cursor: pointer; }
code { font-size: .9em; }
"""

# Hand-written: the page must work offline with no external asset, and sorting ~100 rows needs
# no library. Each entry is one <tbody> (its row and its detail row), so sorting moves both.
HTML_SCRIPT = """
(function () {
  "use strict";
  function valueOf(group, index, type) {
    var cell = group.rows[0].cells[index];
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value")
                                              : cell.textContent.trim();
    if (type === "number") {
      var x = parseFloat(raw);
      return isNaN(x) ? null : x;
    }
    return raw.toLowerCase();
  }
  function sortTable(table, index, type, direction) {
    var groups = Array.prototype.slice.call(table.tBodies);
    groups.sort(function (a, b) {
      var x = valueOf(a, index, type), y = valueOf(b, index, type), c = 0;
      if (x === null || y === null) {
        c = x === null ? (y === null ? 0 : 1) : -1;  // missing values last, either way
      } else {
        c = x < y ? -1 : x > y ? 1 : 0;
        if (direction === "descending") { c = -c; }
      }
      return c || (+a.getAttribute("data-order") - +b.getAttribute("data-order"));
    });
    groups.forEach(function (g) { table.appendChild(g); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var now = th.getAttribute("aria-sort");
        var next = now === "descending" ? "ascending"
                 : now === "ascending" ? "descending"
                 : (th.getAttribute("data-first") || "ascending");
        Array.prototype.forEach.call(headers, function (other) {
          other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", next);
        sortTable(table, index, th.getAttribute("data-type") || "text", next);
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.toggle"), function (button) {
    button.addEventListener("click", function () {
      var detail = document.getElementById(button.getAttribute("aria-controls"));
      var open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", open ? "false" : "true");
      button.textContent = open ? "Details" : "Hide";
      detail.hidden = open;
    });
  });
})();
"""

# (label, data-type, first sort direction, numeric column)
_HTML_COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("#", "number", "ascending", True),
    ("Model", "text", "ascending", False),
    ("Team", "text", "ascending", False),
    ("F1", "number", "descending", True),
    ("IoU", "number", "descending", True),
    ("Precision", "number", "descending", True),
    ("Recall", "number", "descending", True),
    ("Mean F1", "number", "descending", True),
    ("Inputs", "text", "ascending", False),
    ("External data", "text", "ascending", False),
    ("Params", "number", "ascending", True),
    ("Date", "text", "descending", False),
)


def _th(label: str, dtype: str, first: str, numeric: bool, sorted_as: str | None = None) -> str:
    cls = ' class="num"' if numeric else ""
    aria = f' aria-sort="{sorted_as}"' if sorted_as else ""
    return (
        f'<th scope="col"{cls} data-type="{dtype}" data-first="{first}"{aria}>'
        f'<button type="button">{h(label)}</button></th>'
    )


def _td(text: str, value: Any = None, numeric: bool = False) -> str:
    cls = ' class="num"' if numeric else ""
    data = "" if value is None else f' data-value="{h(value)}"'
    return f"<td{cls}{data}>{text}</td>"


def _metric_td(row: Row, name: str, with_ci: bool) -> str:
    value = row.metric(name)
    text = h(fmt(value))
    if with_ci:
        low, high = row.interval(name)
        text += f' <span class="ci">[{h(fmt(low))}, {h(fmt(high))}]</span>'
    return _td(text, "" if value is None else repr(float(value)), numeric=True)


def _detail(row: Row) -> str:
    sub, spec, ev = row.submission, row.spec, row.evaluation
    counts = ev["counts"]
    result_file = f"{RESULTS_DIR}/{row.entry}.json"  # relative: a link, not a loaded asset
    metrics = "; ".join(
        f"{k} {fmt(v, 4)} [{fmt(row.interval(k)[0], 4)}, {fmt(row.interval(k)[1], 4)}]"
        for k, v in sorted(ev["metrics"].items())
    )
    code = (
        _a(sub["code"]["url"], sub["code"]["url"]) + f" at <code>{h(sub['code']['commit'])}</code>"
    )
    items = [
        ("Entry", f"<code>{h(row.entry)}</code>"),
        ("Model", h(sub["model"]["name"])),
        ("Description", h(sub["model"].get("description", "")) or "—"),
        ("Team", h(sub["team"])),
        ("Contact", h(sub["contact"])),
        ("Paper", _a(sub["paper_url"], sub["paper_url"]) or "—"),
        ("Code", code),
        ("Licence", h(sub["license"])),
        ("Parameters", f"{sub['model']['parameter_count']:,}"),
        ("Inputs", h(", ".join(spec["inputs"]))),
        ("Training data", h(spec["training_data"])),
        ("External data", "yes" if spec["external_data"] else "no"),
        ("Pretrained weights", h(spec["pretrained_weights"])),
        ("All metrics", h(metrics)),
        (
            "Pixels",
            h(
                f"tp {counts['tp']:,}, fp {counts['fp']:,}, fn {counts['fn']:,}, "
                f"tn {counts['tn']:,} over {ev['n_images']} images"
            ),
        ),
        ("Split", h(f"{row.result['split']} {row.result['split_version']}")),
        ("Manifest sha256", f"<code>{h(row.result['manifest_sha256'])}</code>"),
        ("Predictions sha256", f"<code>{h(row.result['predictions_sha256'])}</code>"),
        ("Evaluator", h(f"evaluator {ev['evaluator_version']}, landbench {row.scored_with}")),
        ("Predicted with", h(f"landbench {sub['landbench_version']}")),
        ("Scored at", h(row.submitted_at)),
        ("Result file", f'<a href="{h(result_file)}">{h(result_file)}</a>'),
    ]
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _html_board(board: Board) -> list[str]:
    out = [f'<h3 id="{h(board.anchor)}">{h(board.title)}</h3>']
    if not board.rows:
        return out
    n_cols = len(_HTML_COLUMNS) + 1
    head = "".join(
        _th(label, dtype, first, num, "descending" if label == "F1" else None)
        for label, dtype, first, num in _HTML_COLUMNS
    )
    out += [
        '<div class="table-wrap">',
        f'<table class="sortable recomputed" data-dataset="{h(board.dataset)}">',
        f'<thead><tr>{head}<th scope="col">Details</th></tr></thead>',
    ]
    for order, (rank, row) in enumerate(zip(board.ranks(), board.rows)):
        sub, spec = row.submission, row.spec
        detail_id = f"detail-{board.anchor}-{row.entry}"
        model = h(sub["model"]["name"]) + f' <span class="muted"><code>{h(row.entry)}</code></span>'
        links = " ".join(
            x for x in (_a("paper", sub["paper_url"]), _a("code", sub["code"]["url"])) if x
        )
        model += f"<br>{links}" if links else ""
        cells = [
            _td(str(rank), rank, numeric=True),
            _td(model, sub["model"]["name"]),
            _td(h(sub["team"]), sub["team"]),
            _metric_td(row, "f1", True),
            _metric_td(row, "iou", True),
            _metric_td(row, "precision", False),
            _metric_td(row, "recall", False),
            _metric_td(row, "mean_f1_empty_as_1", False),
            _td(h(_inputs(row))),
            _td("yes" if spec["external_data"] else "no"),
            _td(
                h(fmt_count(sub["model"]["parameter_count"])),
                sub["model"]["parameter_count"],
                numeric=True,
            ),
            _td(h(sub["date"])),
            _td(
                f'<button type="button" class="toggle" aria-expanded="false" '
                f'aria-controls="{h(detail_id)}">Details</button>'
            ),
        ]
        out += [
            f'<tbody class="entry" data-entry="{h(row.entry)}" data-order="{order}">',
            f'<tr class="main">{"".join(cells)}</tr>',
            f'<tr class="detail" id="{h(detail_id)}" hidden><td colspan="{n_cols}">'
            f"{_detail(row)}</td></tr>",
            "</tbody>",
        ]
    out += ["</table>", "</div>"]
    return out


def _html_reported(name: str, rows: Sequence[ReportedRow]) -> list[str]:
    out = [
        "<h3>Reported in publications"
        '<span class="badge reported">reported, not recomputed</span></h3>',
    ]
    for citation, note in _sources(rows):
        out.append(f'<p class="note">{h(note)}<br>Source: {h(citation)}</p>')
    head = "".join(
        _th(label, dtype, "ascending", False)
        for label, dtype in (("Model", "text"), ("Setting", "text"), ("Reported value", "number"))
    )
    out += [
        '<div class="table-wrap">',
        f'<table class="sortable reported" data-dataset="{h(name)}">',
        f'<thead><tr>{head}<th scope="col">Metric as named</th><th scope="col">Source</th>'
        "</tr></thead>",
    ]
    for order, r in enumerate(rows):
        label = f"{r.short_citation}, {r.table}"
        source = _a(label, r.url) or h(label)
        out.append(
            f'<tbody class="entry" data-order="{order}"><tr class="main">'
            f"{_td(h(r.model))}{_td(h(r.setting))}{_td(h(r.value), r.value)}"
            f"{_td(h(r.metric))}{_td(source)}</tr></tbody>"
        )
    out += ["</table>", "</div>"]
    return out


def render_html(board: Leaderboard) -> str:
    """The leaderboard as one self-contained HTML page (inline CSS and JS, no external asset)."""
    pct = _pct(board.boards[0].rows[0]) if board.boards else 95
    body = [
        "<header>",
        "<h1>landbench leaderboard</h1>",
        "<p>Landslide segmentation from RGB imagery and a DEM. <strong>Every figure is "
        "recomputed</strong> by the landbench evaluator from submitted predicted masks on the "
        "fixed, versioned test split. Primary metric: landslide F1 pooled over all pixels; "
        f"brackets give {pct}% bootstrap intervals over images. Mean F1 is the per-image mean "
        "with empty tiles scored 1. Click a column header to sort; <em>Details</em> shows an "
        "entry's full record.</p>",
        "</header>",
        "<main>",
    ]
    for name in board.real_datasets:
        body.append(f'<section class="dataset real" id="{h(name)}">')
        body.append(f"<h2>{h(DATASET_TITLES.get(name, name))}</h2>")
        boards = board.boards_of(name)
        if not boards:
            body.append('<p class="muted">No recomputed entry yet.</p>')
        for b in boards:
            body += _html_board(b)
        reported = board.reported_of(name)
        if reported:
            body += _html_reported(name, reported)
        body.append("</section>")
    if board.synthetic_boards:
        body += [
            '<section class="dataset synthetic" id="synthetic">',
            '<h2>Synthetic data<span class="badge synthetic">synthetic</span></h2>',
            '<p class="note">Not comparable with real data: generated by '
            '<code>landbench.load("synth", ...)</code> with the parameters in each heading, '
            "for testing pipelines.</p>",
        ]
        for b in board.synthetic_boards:
            body += _html_board(b)
        body.append("</section>")
    body += [
        "</main>",
        '<footer class="muted"><p>Generated by <code>landbench leaderboard render</code> from '
        "<code>results/</code> and <code>reported/</code>.</p></footer>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>landbench leaderboard</title>\n"
        f"<style>{HTML_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{HTML_SCRIPT}</script>\n</body>\n</html>\n"
    )


# ------------------------------------------------------------------------------------- render


def render_files(leaderboard_dir: str | os.PathLike[str]) -> dict[str, str]:
    """The content of every output file, rendered from the committed entries.

    Raises:
        LeaderboardError: listing every invalid entry or reported-rows file.
    """
    board = build_leaderboard(load_entries(leaderboard_dir), load_reported(leaderboard_dir))
    return {
        "README.md": render_markdown(board),
        "leaderboard.csv": render_csv(board),
        "index.html": render_html(board),
    }


def render(
    leaderboard_dir: str | os.PathLike[str] = DEFAULT_LEADERBOARD_DIR, check: bool = False
) -> list[Path]:
    """Render (or, with ``check``, verify) a leaderboard's Markdown, CSV and HTML.

    Every committed entry is validated first (schema, consistency, figures recomputed from its
    per-image counts), in both modes.

    Args:
        leaderboard_dir: the leaderboard folder (``results/``, ``reported/``).
        check: write nothing; fail if a committed output differs from a fresh render.

    Returns:
        The output paths (written, or verified up to date).

    Raises:
        LeaderboardError: on an invalid entry, or (``check``) on an out-of-date output.
    """
    folder = Path(leaderboard_dir)
    if not folder.is_dir():
        raise LeaderboardError(f"Leaderboard folder {folder} does not exist:", ["create it first."])
    files = render_files(folder)
    paths = [folder / name for name in OUTPUT_FILES]
    if check:
        stale = []
        for path in paths:
            if not path.is_file():
                stale.append(f"{path} is missing.")
            elif path.read_text(encoding="utf-8") != files[path.name]:
                stale.append(f"{path} differs from a fresh render.")
        if stale:
            raise LeaderboardError(
                f"The rendered leaderboard in {folder} is out of date; run `landbench leaderboard "
                f"render --leaderboard-dir {folder}` and commit the result:",
                stale,
            )
        return paths
    for path in paths:
        if not path.is_file() or path.read_text(encoding="utf-8") != files[path.name]:
            atomic_write_text(path, files[path.name])
    return paths


__all__ = [
    "OUTPUT_FILES",
    "Board",
    "Leaderboard",
    "Row",
    "build_leaderboard",
    "render",
    "render_csv",
    "render_files",
    "render_html",
    "render_markdown",
]
