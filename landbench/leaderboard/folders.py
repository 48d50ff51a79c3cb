"""The layout of a leaderboard folder, shared by every leaderboard module.

A leaderboard folder holds ``results/<entry>.json`` (one recomputed entry each, written by
``landbench leaderboard submit``), optionally ``reported/*.json`` (extra published rows; the
paper's rows ship with the package) and the rendered ``README.md``, ``leaderboard.csv`` and
``index.html``.
"""

from __future__ import annotations

import os
from pathlib import Path

RESULTS_DIR = "results"
"""Folder of a leaderboard holding one ``<entry>.json`` per scored submission."""

REPORTED_DIR = "reported"
"""Folder of a leaderboard holding extra reported (not recomputed) rows."""

DEFAULT_LEADERBOARD_DIR = "leaderboard"
"""The leaderboard folder of the repository."""


def results_dir(leaderboard_dir: str | os.PathLike[str]) -> Path:
    """The folder of result files of a leaderboard."""
    return Path(leaderboard_dir) / RESULTS_DIR


def taken_entries(leaderboard_dir: str | os.PathLike[str]) -> set[str]:
    """Entry names that already have a result file."""
    folder = results_dir(leaderboard_dir)
    return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()
