"""Rendering the leaderboard: Markdown, CSV and a self-contained, sortable HTML page.

Rendering is a pure function of the committed results (``results/*.json``) and the reported
rows: no clock, no environment, stable ordering, so CI can re-render and fail when the committed
output differs (:func:`render` with ``check=True``). The table model
(:mod:`~landbench.leaderboard.table`) computes rows and columns once; thin writers format them
(:mod:`~.page_markdown`, :mod:`~.page_csv`, :mod:`~.page_html` from jinja2 templates).

Layout: one section per real dataset holding one table per split (dataset, split version,
manifest hash), ranked by mean pooled F1 over seeds with rank groups, then the dataset's reported
(not recomputed) rows in a table of their own; then, apart, the synthetic-data tables, one per
set of generation parameters.

``render`` keeps the page alive for everyone: an entry that fails its checks or cannot be
displayed is left out with a logged warning (and listed on the page); ``render(check=True)``,
what CI runs, refuses any invalid entry.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from landbench.core.io import atomic_write_text
from landbench.leaderboard.entries import Entry, load_entries
from landbench.leaderboard.errors import LeaderboardError
from landbench.leaderboard.folders import DEFAULT_LEADERBOARD_DIR
from landbench.leaderboard.page_csv import render_csv
from landbench.leaderboard.page_html import render_html
from landbench.leaderboard.page_markdown import render_markdown
from landbench.leaderboard.reference import load_reported
from landbench.leaderboard.table import Board, Leaderboard, Row, build_leaderboard

log = logging.getLogger(__name__)

OUTPUT_FILES: tuple[str, ...] = ("README.md", "leaderboard.csv", "index.html")
"""Files :func:`render` writes into the leaderboard folder."""


def _entries(folder: Path, strict: bool) -> tuple[list[Entry], list[str]]:
    """Checked entries; unless ``strict``, invalid ones are left out and described."""
    if strict:
        return load_entries(folder), []
    try:
        return load_entries(folder), []
    except LeaderboardError as err:
        bad = {p.split(":", 1)[0] for p in err.problems}
        for line in err.problems:
            log.warning("left out of the leaderboard: %s", line)
        entries = load_entries(folder, skip=bad)
        return entries, [
            f"{Path(p).name}: fails its checks; see `render --check`." for p in sorted(bad)
        ]


def build(leaderboard_dir: str | os.PathLike[str], strict: bool = True) -> Leaderboard:
    """The table model of a leaderboard folder.

    Args:
        leaderboard_dir: the leaderboard folder.
        strict: refuse any invalid entry (else leave it out with a warning).

    Raises:
        LeaderboardError: listing every invalid reported-rows file (and, if ``strict``, entry).
    """
    folder = Path(leaderboard_dir)
    entries, skipped = _entries(folder, strict)
    board = build_leaderboard(entries, load_reported(folder))
    board.skipped = skipped + board.skipped
    return board


def render_files(leaderboard_dir: str | os.PathLike[str], strict: bool = True) -> dict[str, str]:
    """The content of every output file, rendered from the committed entries.

    Raises:
        LeaderboardError: listing every invalid entry (if ``strict``) or reported-rows file.
    """
    board = build(leaderboard_dir, strict)
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
    per-image counts). Rendering leaves out an invalid entry with a logged warning and lists it
    on the page; ``check`` refuses it.

    Args:
        leaderboard_dir: the leaderboard folder (``results/``, optional ``reported/``).
        check: write nothing; fail if an entry is invalid or a committed output differs from a
            fresh render.

    Returns:
        The output paths (written, or verified up to date).

    Raises:
        LeaderboardError: on an invalid reported-rows file, or (``check``) on an invalid entry
            or an out-of-date output.
    """
    folder = Path(leaderboard_dir)
    if not folder.is_dir():
        raise LeaderboardError(f"Leaderboard folder {folder} does not exist:", ["create it first."])
    files = render_files(folder, strict=check)
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
    "build",
    "build_leaderboard",
    "render",
    "render_csv",
    "render_files",
    "render_html",
    "render_markdown",
]
