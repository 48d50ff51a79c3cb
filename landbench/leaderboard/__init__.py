"""The landbench leaderboard: submissions of predictions, recomputed scores, rendered tables.

A submission carries predicted masks, never scores; the evaluator recomputes every figure on
the fixed test split. Typical use::

    from landbench.leaderboard import init_submission, validate_submission, submit, render

    init_submission("synth", "preds/", "my-entry", dataset_kwargs={"size": 32, "n": 40})
    # ... fill in my-entry/submission.json ...
    validate_submission("my-entry")          # raises SubmissionError listing every problem
    submit("my-entry", "leaderboard")        # -> leaderboard/results/<entry>.json
    render("leaderboard")                    # README.md, leaderboard.csv, index.html
    check_leaderboard("leaderboard")         # reference results tied to this checkout's code

Several training seeds: ``init_submission(..., seeds=[0, 1, 2])`` with the masks of each seed
in ``preds/seed-<N>/`` (submission schema 2); tables show mean ± std over seeds, each seed's
pooled F1 and rank groups (:mod:`landbench.leaderboard.groups`).
"""

from __future__ import annotations

from landbench.leaderboard.archive import MAX_FILES, MAX_UNCOMPRESSED_BYTES, open_submission
from landbench.leaderboard.audit import check_leaderboard
from landbench.leaderboard.entries import load_entries
from landbench.leaderboard.errors import ArchiveError, LeaderboardError, SubmissionError
from landbench.leaderboard.groups import rank_groups
from landbench.leaderboard.reference import load_reported
from landbench.leaderboard.rendering import render
from landbench.leaderboard.scaffold import init_submission, write_prediction_folder
from landbench.leaderboard.scoring import predictions_sha256, score_submission, submit
from landbench.leaderboard.submission import Submission, validate_submission

__all__ = [
    "MAX_FILES",
    "MAX_UNCOMPRESSED_BYTES",
    "ArchiveError",
    "LeaderboardError",
    "Submission",
    "SubmissionError",
    "check_leaderboard",
    "init_submission",
    "load_entries",
    "load_reported",
    "open_submission",
    "predictions_sha256",
    "rank_groups",
    "render",
    "score_submission",
    "submit",
    "validate_submission",
    "write_prediction_folder",
]
