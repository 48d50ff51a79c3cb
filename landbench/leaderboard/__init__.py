"""The landbench leaderboard: submissions of predictions, recomputed scores, rendered tables.

A submission carries predicted masks, never scores; the evaluator recomputes every figure on
the fixed test split. Typical use::

    from landbench.leaderboard import init_submission, validate_submission, submit, render

    init_submission("synth", "preds/", "my-entry", dataset_kwargs={"size": 32, "n": 40})
    # ... fill in my-entry/submission.json ...
    validate_submission("my-entry")          # raises SubmissionError listing every problem
    submit("my-entry", "leaderboard")        # -> leaderboard/results/<entry>.json
    render("leaderboard")                    # README.md, leaderboard.csv, index.html

Names are imported lazily so that ``landbench --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "ArchiveError": "landbench.leaderboard.errors",
    "LeaderboardError": "landbench.leaderboard.errors",
    "SubmissionError": "landbench.leaderboard.errors",
    "MAX_FILES": "landbench.leaderboard.archive",
    "MAX_UNCOMPRESSED_BYTES": "landbench.leaderboard.archive",
    "open_submission": "landbench.leaderboard.archive",
    "Submission": "landbench.leaderboard.submission",
    "init_submission": "landbench.leaderboard.submission",
    "validate_submission": "landbench.leaderboard.submission",
    "write_prediction_folder": "landbench.leaderboard.submission",
    "predictions_sha256": "landbench.leaderboard.scoring",
    "score_submission": "landbench.leaderboard.scoring",
    "submit": "landbench.leaderboard.scoring",
    "load_entries": "landbench.leaderboard.entries",
    "load_reported": "landbench.leaderboard.reference",
    "render": "landbench.leaderboard.rendering",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
