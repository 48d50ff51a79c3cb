"""Build hooks: ship the repository's top-level data and the source commit inside the package.

All metadata lives in pyproject.toml. The hooks do what pyproject.toml cannot:

- copy ``baselines/configs``, ``leaderboard/reported`` and ``datasets_cards`` into
  ``landbench/_data/`` of the build (the folders stay where people edit them; the table
  below mirrors ``landbench.core.resources.KINDS``);
- write ``landbench/_build_info.json`` with the git commit the build was made from and whether
  tracked files outside ``leaderboard/`` differed from it (``landbench.core.provenance``), so an
  installed wheel knows its commit. An sdist carries the file (and, through MANIFEST.in, the data
  folders), so a wheel built from it has both.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
BUILD_INFO = "landbench/_build_info.json"
# source folder in the repository -> (destination inside the package, file patterns shipped)
DATA_FOLDERS = {
    "baselines/configs": ("landbench/_data/recipes", ("*.yaml", "*.md")),
    "leaderboard/reported": ("landbench/_data/reported", ("*.json",)),
    "datasets_cards": ("landbench/_data/cards", ("*.md",)),
}


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def build_info() -> str | None:
    """JSON of the commit being built, from git; None outside a checkout (e.g. from an sdist)."""
    top = _git("rev-parse", "--show-toplevel")
    # An unpacked sdist inside some other repository must not record that repository's commit.
    if top is None or Path(top).resolve() != ROOT:
        return None
    commit = _git("rev-parse", "HEAD")
    if not commit or len(commit) != 40:
        return None
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!leaderboard")
    dirty = None if status is None else bool(status)
    return json.dumps({"commit": commit, "dirty": dirty}, indent=2, sort_keys=True) + "\n"


def copy_data(dest_root: Path) -> None:
    """Copy the repository's data folders into the package tree under ``dest_root``."""
    for source, (dest, patterns) in DATA_FOLDERS.items():
        src = ROOT / source
        if not src.is_dir():
            continue
        target = dest_root / dest
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for pattern in patterns:
            for path in sorted(src.glob(pattern)):
                shutil.copy2(path, target / path.name)


def write_build_info(dest_root: Path) -> None:
    """Write ``_build_info.json`` under ``dest_root`` when git knows the commit.

    Outside a checkout (a build from an sdist) the sdist's own record, package data like any
    other JSON file, is what the build ships.
    """
    info = build_info()
    if info is not None:
        path = dest_root / BUILD_INFO
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(info)


class BuildPy(build_py):
    """build_py that adds the data folders and the build record to the built package."""

    def run(self) -> None:
        """Build the package, then add the data folders and the build record."""
        super().run()
        # An editable install imports the checkout itself, where git and the folders are at hand.
        if not getattr(self, "editable_mode", False):
            copy_data(Path(self.build_lib))
            write_build_info(Path(self.build_lib))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        """The built files, the added ones included (setuptools lists what it installs)."""
        outputs = super().get_outputs(include_bytecode)
        build_lib = Path(self.build_lib)
        extra = [str(p) for p in (build_lib / "landbench" / "_data").rglob("*") if p.is_file()]
        info = build_lib / BUILD_INFO
        return [*outputs, *extra, *([str(info)] if info.is_file() else [])]


class Sdist(sdist):
    """sdist whose package holds the build record: a build from it has no git to ask."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        """Assemble the sdist's tree, then write the build record into its package."""
        super().make_release_tree(base_dir, files)
        write_build_info(Path(base_dir))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
