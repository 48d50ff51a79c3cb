"""Errors of the leaderboard: each carries the full list of problems found, not just the first."""

from __future__ import annotations

from collections.abc import Sequence

from landbench.core.errors import LandbenchError

MAX_LISTED_PROBLEMS = 50
"""At most this many problems are spelled out in a message; the rest are counted."""


def format_problems(header: str, problems: Sequence[str]) -> str:
    """One message: a header line, then one ``- problem`` line each (the tail counted)."""
    lines = [header]
    lines += [f"  - {p}" for p in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more problem(s).")
    return "\n".join(lines)


class SubmissionError(LandbenchError):
    """A submission (folder, archive, ``submission.json`` or masks) is refused.

    Attributes:
        problems: every problem found, one human-readable line each.
    """

    def __init__(self, source: object, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        n = len(self.problems)
        header = (
            f"Submission {source} was refused ({n} problem{'s' if n != 1 else ''}); "
            "fix them and run `landbench leaderboard validate` again:"
        )
        super().__init__(format_problems(header, self.problems))


class ArchiveError(SubmissionError):
    """A submission archive (or folder) is unsafe or too large to unpack."""


class LeaderboardError(LandbenchError):
    """The leaderboard folder holds an invalid entry, or its rendered files are out of date.

    Attributes:
        problems: every problem found, one human-readable line each.
    """

    def __init__(self, header: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(format_problems(header, self.problems))
