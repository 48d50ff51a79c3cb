"""``landbench leaderboard check``: reference results are tied to the code and recipes shipped.

The maintainers' reference results in a repository's ``leaderboard/results/`` must be
reproducible from that repository: each records (``provenance``, written by ``submit``) the 40-hex
commit of the landbench code that scored it, and (``submission.reference``) the recipe that
trained it with the full resolved config. A result is refused when

* it records no commit, or a commit that is not in the repository's history (``git cat-file -e
  COMMIT^{commit}``, then ``git merge-base --is-ancestor COMMIT HEAD``);
* it records no recipe, a recipe that is not shipped, or a config whose values differ from the
  shipped recipe (``baselines/configs/<recipe>.yaml``) at any key the recipe sets (the seed apart,
  since each seed of a result runs the recipe with its own seed).

A change to a recipe or to the code therefore fails CI until the results are regenerated. The
check needs a git checkout: outside one it says it cannot check.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from landbench.core.errors import LandbenchError
from landbench.core.resources import ResourceNotFoundError, resource_path
from landbench.leaderboard.entries import MAX_RESULT_BYTES
from landbench.leaderboard.errors import LeaderboardError
from landbench.leaderboard.folders import results_dir
from landbench.leaderboard.schema import read_document

IGNORED_KEYS = frozenset(
    {"seed", "output_dir", "transfer.weights", "trainer.progress_bar", "data.root"}
)
"""Recipe keys (dotted) a reference result may set differently: what belongs to one run (its
seed, output folder, data folder and the path of its source run's weights, which the result
records in its own provenance) or only to its display (the progress bar)."""

_GIT_TIMEOUT_S = 30


class NotACheckoutError(LandbenchError):
    """The leaderboard folder is not inside a git checkout, so its history cannot be read."""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    """``git ARGS`` in ``cwd``; None when git itself cannot run."""
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT_S
        )
    except (OSError, subprocess.SubprocessError):
        return None


def repository_root(folder: Path) -> Path:
    """The git work tree holding ``folder``.

    Raises:
        NotACheckoutError: git is missing or ``folder`` is not in a work tree.
    """
    done = _git(["rev-parse", "--show-toplevel"], folder)
    if done is None or done.returncode != 0:
        raise NotACheckoutError(
            f"Cannot check {folder}: it is not inside a git checkout (or git is not installed), "
            "so the commits recorded by its results cannot be looked up. Run `landbench "
            "leaderboard check` in a clone of the repository."
        )
    return Path(done.stdout.strip())


def commit_problem(commit: Any, root: Path) -> str | None:
    """Why ``commit`` is not a commit in the history of ``HEAD`` at ``root`` (None if it is)."""
    if not isinstance(commit, str) or len(commit) != 40:
        return f"records no 40-hex code commit ({str(commit)[:60]!r})"
    exists = _git(["cat-file", "-e", f"{commit}^{{commit}}"], root)
    if exists is None or exists.returncode != 0:
        return f"records commit {commit}, which is not in this repository"
    ancestor = _git(["merge-base", "--is-ancestor", commit, "HEAD"], root)
    if ancestor is None or ancestor.returncode != 0:
        return f"records commit {commit}, which is not in the history of HEAD"
    return None


def _leaves(doc: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) of a nested mapping's leaves."""
    if isinstance(doc, Mapping) and doc:
        for key, value in doc.items():
            yield from _leaves(value, (*path, str(key)))
    else:
        yield path, doc


def _lookup(doc: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for part in path:
        if not isinstance(doc, Mapping) or part not in doc:
            return False, None
        doc = doc[part]
    return True, doc


def config_problems(recipe: str, config: Any, recipes: Path | None = None) -> list[str]:
    """How a recorded config differs from the shipped recipe (empty if it does not).

    Args:
        recipe: the recipe name (``<recipe>.yaml``).
        config: the recorded, fully resolved config.
        recipes: folder of the recipes (default: the shipped ones).
    """
    try:
        path = (
            (recipes / f"{recipe}.yaml") if recipes else resource_path("recipes", f"{recipe}.yaml")
        )
        shipped = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (ResourceNotFoundError, OSError) as err:
        return [f"recipe {recipe!r} is not shipped ({err})"]
    problems = []
    for where, want in _leaves(shipped):
        if any(".".join(where[:k]) in IGNORED_KEYS for k in range(1, len(where) + 1)):
            continue
        found, got = _lookup(config, where)
        if not found or got != want:
            shown = "missing" if not found else repr(got)[:80]
            problems.append(
                f"config.{'.'.join(where)} is {shown} but recipe {recipe!r} sets {want!r}"
            )
    return problems


def result_problems(path: Path, root: Path) -> list[str]:
    """Every reason to refuse one reference result file."""
    try:
        record = read_document(path, path.name, MAX_RESULT_BYTES)
        provenance = record.get("provenance") or {}
        reference = record["submission"].get("reference")
    except (LandbenchError, KeyError, TypeError, AttributeError) as err:
        return [f"unreadable result ({err})"]
    problems = []
    found = commit_problem(provenance.get("commit") if isinstance(provenance, dict) else None, root)
    if found:
        problems.append(found + "; regenerate it with the current code")
    if not isinstance(reference, Mapping):
        problems.append(
            "records no recipe and config (submission.reference); regenerate it with the demo"
        )
    else:
        problems += config_problems(str(reference.get("recipe")), reference.get("config"))
    return problems


def check_leaderboard(leaderboard_dir: str | os.PathLike[str]) -> list[Path]:
    """Check every reference result of a leaderboard folder in a git checkout.

    Args:
        leaderboard_dir: the leaderboard folder (its ``results/`` are checked).

    Returns:
        The result files checked, all accepted.

    Raises:
        NotACheckoutError: outside a git checkout.
        LeaderboardError: listing every refused result and why.
    """
    folder = Path(leaderboard_dir)
    if not folder.is_dir():
        raise LeaderboardError(f"Leaderboard folder {folder} does not exist:", ["create it first."])
    root = repository_root(folder)
    paths = sorted(results_dir(folder).glob("*.json"))
    problems = [f"{p.name}: {line}" for p in paths for line in result_problems(p, root)]
    if problems:
        raise LeaderboardError(
            f"Reference results in {results_dir(folder)} are not tied to this repository's code "
            "and recipes; regenerate them (`landbench demo`) and commit them:",
            problems,
        )
    return paths
