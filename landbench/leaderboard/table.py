"""The leaderboard as a table model: boards, rows and every displayed value, computed once.

:func:`build_leaderboard` turns checked entries (:mod:`landbench.leaderboard.entries`) and
reported rows into :class:`Leaderboard`: one :class:`Board` per exact test split (dataset, split
version, manifest hash, dataset options, generator settings), each holding its :class:`Row` s
ranked by mean pooled F1 over seeds, with rank groups (:mod:`landbench.leaderboard.groups`).
The writers (Markdown, CSV, HTML) only format what a row holds, each escaping for its language.

One bad entry never breaks the page for everyone: an entry whose values cannot be displayed is
left out, with a logged warning, and listed in :attr:`Leaderboard.skipped`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from landbench.evaluation.metrics import mean_std
from landbench.leaderboard.entries import Entry, dataset_seeds
from landbench.leaderboard.folders import RESULTS_DIR
from landbench.leaderboard.groups import rank_groups
from landbench.leaderboard.reference import ReportedRow

log = logging.getLogger(__name__)

DATASET_TITLES: dict[str, str] = {"bijie": "Bijie", "hokkaido": "Hokkaido", "synth": "synth"}
"""Display names of datasets (others are shown by their registry name)."""

DIGITS = 3
"""Decimals shown for metrics in Markdown and HTML (the CSV keeps full precision)."""

MAX_URL_CHARS = 500
"""Longest URL shown as a link (the submission schema's bound)."""


def safe_url(url: Any) -> str | None:
    """``url`` if it is an http(s) URL that parses with a host and holds no blank or quote.

    Anything else (``javascript:``, relative paths, text with ``<`` or ``"``) is not a link.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        return None
    if any(c.isspace() or c in "<>\"'`\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return url


def fmt(value: float | None, digits: int = DIGITS) -> str:
    """A metric with fixed decimals, ``n/a`` when undefined."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_count(n: int) -> str:
    """A parameter count for humans: ``31.0M``, ``850K``; exact integer arithmetic, any size."""
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            tenths = (n * 10 + size // 2) // size  # rounded, never through float
            return f"{tenths // 10}.{tenths % 10}{unit}"
    return str(n)


def inputs_label(bands: Sequence[str]) -> str:
    """``RGB+DEM`` for ``["R", "G", "B", "DEM"]``."""
    bands = [str(b) for b in bands]
    rgb = all(b in bands for b in ("R", "G", "B"))
    optical = ["RGB"] if rgb else [b for b in bands if b in ("R", "G", "B")]
    return "+".join(optical + [b for b in bands if b not in ("R", "G", "B")])


@dataclass(frozen=True)
class SeedScore:
    """One seed's recomputed scores on one dataset split.

    Attributes:
        seed: the seed (None for a schema-1 submission, which has one unnamed seed).
        metrics: metric name to value (None when undefined).
        intervals: metric name to its bootstrap interval ``(low, high)``.
        counts: pooled pixel counts ``tp``, ``fp``, ``fn``, ``tn``.
        per_image: ``[n_images, 3]`` int64 array of per-image ``tp, fp, fn`` in id order.
        ids: the image ids, sorted.
        predictions_sha256: digest of the decoded predictions.
        evaluator_version: version of the evaluator that scored it.
        confidence: confidence level of the intervals (e.g. 0.95).
    """

    seed: int | None
    metrics: dict[str, float | None]
    intervals: dict[str, tuple[float | None, float | None]]
    counts: dict[str, int]
    per_image: np.ndarray
    ids: tuple[str, ...]
    predictions_sha256: str
    evaluator_version: str
    confidence: float

    @classmethod
    def from_record(cls, seed: int | None, sha: str, ev: Mapping[str, Any]) -> SeedScore:
        """From one evaluation record (``EvaluationResult.to_dict()``)."""
        rows = sorted(ev["per_image"], key=lambda r: str(r["id"]))
        return cls(
            seed=seed,
            metrics={k: (None if v is None else float(v)) for k, v in ev["metrics"].items()},
            intervals={
                k: tuple(None if x is None else float(x) for x in v)  # type: ignore[misc]
                for k, v in ev["intervals"].items()
            },
            counts={k: int(ev["counts"][k]) for k in ("tp", "fp", "fn", "tn")},
            per_image=np.array([[r["tp"], r["fp"], r["fn"]] for r in rows], dtype=np.int64),
            ids=tuple(str(r["id"]) for r in rows),
            predictions_sha256=str(sha),
            evaluator_version=str(ev["evaluator_version"]),
            confidence=float(ev.get("bootstrap", {}).get("confidence", 0.95)),
        )


def _mean(values: Sequence[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else float(np.mean(values))


@dataclass
class Row:
    """One entry on one dataset split, with every displayed value.

    Attributes:
        entry: the entry name.
        seeds: its seeds' scores, in seed order.
        rank: competition rank by mean pooled F1 (set by the board).
        group: rank group (1 = shares the top group; set by the board).
        text: submitter text by field (model, team, contact, description, license,
            code_commit, training_data, pretrained_weights, date, landbench_version),
            unescaped: each writer escapes for its own language.
    """

    entry: str
    seeds: list[SeedScore]
    text: dict[str, str]
    inputs: list[str]
    external_data: bool
    parameter_count: int
    paper_url: str | None
    code_url: str | None
    split: str
    split_version: str
    manifest_sha256: str
    submitted_at: str
    scored_with: str
    warnings: list[str] = field(default_factory=list)
    rank: int = 0
    group: int | None = None

    def metric(self, name: str) -> float | None:
        """A metric's mean over seeds (None when undefined for a seed)."""
        return _mean([s.metrics.get(name) for s in self.seeds])

    def std(self, name: str = "f1") -> float | None:
        """Sample standard deviation over seeds (None with one seed)."""
        values = [s.metrics.get(name) for s in self.seeds]
        if any(v is None for v in values):
            return None
        spread = mean_std(values)
        return spread.std if spread.n > 1 else None

    def interval(self, name: str) -> tuple[float | None, float | None]:
        """The bootstrap interval of a single-seed entry; ``(None, None)`` over several seeds."""
        if len(self.seeds) != 1:
            return None, None
        low, high = self.seeds[0].intervals.get(name, (None, None))
        return low, high

    @property
    def n_images(self) -> int:
        """Test images scored."""
        return len(self.seeds[0].ids)

    @property
    def result_file(self) -> str:
        """The result file, relative to the leaderboard folder."""
        return f"{RESULTS_DIR}/{self.entry}.json"

    @property
    def inputs_label(self) -> str:
        """``RGB+DEM``."""
        return inputs_label(self.inputs)

    @property
    def params_label(self) -> str:
        """``31.0M``."""
        return fmt_count(self.parameter_count)

    @property
    def seed_list(self) -> str:
        """The seeds, e.g. ``0, 1, 2`` (``-`` for an unnamed single seed)."""
        return ", ".join("-" if s.seed is None else str(s.seed) for s in self.seeds)

    @property
    def f1_per_seed(self) -> str:
        """Each seed's pooled F1, e.g. ``0.812, 0.820, 0.801``."""
        return ", ".join(fmt(s.metrics.get("f1")) for s in self.seeds)

    def summary(self, name: str = "f1") -> str:
        """``0.812 ± 0.010`` over several seeds, ``0.812 [0.790, 0.831]`` for one seed."""
        if len(self.seeds) > 1:
            std = self.std(name)
            return f"{fmt(self.metric(name))} ± {fmt(std)}"
        low, high = self.interval(name)
        return f"{fmt(self.metric(name))} [{fmt(low)}, {fmt(high)}]"

    @property
    def sort_key(self) -> tuple[float, str]:
        """Best mean pooled F1 first (undefined last), then entry name."""
        f1 = self.metric("f1")
        return (-f1 if f1 is not None else math.inf, self.entry)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def build_row(entry: Entry, name: str) -> Row:
    """The row of one entry on one dataset (raises on values that cannot be displayed)."""
    rec = entry.record
    sub, result = rec["submission"], rec["results"][name]
    spec, model = sub["datasets"][name], sub["model"]
    count = model["parameter_count"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"parameter_count {str(count)[:40]!r} is not a count")
    return Row(
        entry=entry.name,
        seeds=[SeedScore.from_record(s, sha, ev) for s, sha, ev in dataset_seeds(result)],
        text={
            "model": _text(model["name"]),
            "description": _text(model.get("description", "")),
            "team": _text(sub["team"]),
            "contact": _text(sub["contact"]),
            "license": _text(sub["license"]),
            "code_commit": _text(sub["code"]["commit"]),
            "training_data": _text(spec["training_data"]),
            "pretrained_weights": _text(spec["pretrained_weights"]),
            "date": _text(sub["date"]),
            "landbench_version": _text(sub["landbench_version"]),
        },
        inputs=[str(b) for b in spec["inputs"]],
        external_data=bool(spec["external_data"]),
        parameter_count=count,
        paper_url=safe_url(sub.get("paper_url")),
        code_url=safe_url(sub["code"].get("url")),
        split=str(result["split"]),
        split_version=str(result["split_version"]),
        manifest_sha256=str(result["manifest_sha256"]),
        submitted_at=str(rec["submitted_at"]),
        scored_with=str(rec["scored_with"]["landbench_version"]),
        warnings=[str(w) for w in rec.get("warnings", [])],
    )


@dataclass
class Board:
    """One ranked table: the recomputed entries of one exact test split."""

    dataset: str
    split_version: str
    manifest_sha256: str
    dataset_kwargs: dict[str, Any]
    synthetic: bool
    dataset_config: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """A stable HTML id, unique per board (the split, options and generator settings)."""
        key = json.dumps(
            [self.manifest_sha256, self.dataset_kwargs, self.dataset_config], sort_keys=True
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return f"{self.dataset}-{self.split_version}-{digest}"

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

    @property
    def confidence_pct(self) -> int:
        """Confidence level of the intervals shown, in percent."""
        return round(100 * self.rows[0].seeds[0].confidence) if self.rows else 95

    def rank(self) -> None:
        """Sort rows by mean pooled F1, set competition ranks and rank groups."""
        self.rows.sort(key=lambda r: r.sort_key)
        for i, row in enumerate(self.rows):
            same = i and row.metric("f1") == self.rows[i - 1].metric("f1")
            row.rank = self.rows[i - 1].rank if same else i + 1
        shared = len({s.ids for r in self.rows for s in r.seeds})
        groups = (
            rank_groups([[s.per_image for s in r.seeds] for r in self.rows])
            if shared == 1
            else [None] * len(self.rows)
        )
        for row, group in zip(self.rows, groups):
            row.group = group


@dataclass
class Leaderboard:
    """Everything rendered: boards of real then synthetic data, reported rows, skipped entries.

    Attributes:
        boards: ranked boards, real data first.
        reported: published rows, shown apart and never ranked.
        skipped: one line per entry left out because it cannot be displayed.
    """

    boards: list[Board]
    reported: list[ReportedRow]
    skipped: list[str] = field(default_factory=list)

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

    @property
    def confidence_pct(self) -> int:
        """Confidence level of the intervals, in percent (of the first board)."""
        return self.boards[0].confidence_pct if self.boards else 95


def sources(rows: Sequence[ReportedRow]) -> list[tuple[str, str]]:
    """The distinct (full citation, note) pairs of reported rows, sorted."""
    return sorted({(r.citation, r.note) for r in rows})


def build_leaderboard(entries: Iterable[Entry], reported: Sequence[ReportedRow]) -> Leaderboard:
    """Group entries into boards (one per exact split), rank each, skip undisplayable entries."""
    groups: dict[tuple[Any, ...], Board] = {}
    skipped: list[str] = []
    for entry in entries:
        for name, result in sorted(entry.record["results"].items()):
            try:
                row = build_row(entry, name)
                kwargs = dict(result["dataset_kwargs"])
                config = dict(result.get("dataset_config", {}))
                key = (
                    bool(result["synthetic"]),
                    name,
                    row.split_version,
                    row.manifest_sha256,
                    json.dumps(kwargs, sort_keys=True),
                    json.dumps(config, sort_keys=True),
                )
            except (KeyError, TypeError, ValueError, ArithmeticError) as err:
                line = f"{entry.path.name}: {name}: left out of the tables ({err})."
                log.warning("%s", line)
                skipped.append(line)
                continue
            board = groups.setdefault(
                key, Board(name, row.split_version, row.manifest_sha256, kwargs, key[0], config)
            )
            board.rows.append(row)
    boards = [groups[k] for k in sorted(groups)]
    for board in boards:
        board.rank()
    return Leaderboard(boards, list(reported), skipped)
