"""Where a result came from: the landbench commit, whether it was modified, versions, device.

Every result file records :func:`provenance` so a number can be traced to the code that made it.
The commit is read from git when the imported ``landbench`` package lives in a git checkout, else
from ``landbench/_build_info.json``, which the build of a wheel or sdist writes (``setup.py``), so
an installed wheel still knows which commit it was built from.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

BUILD_INFO_NAME = "_build_info.json"
"""File name, inside the ``landbench`` package, of the commit recorded at build time."""

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The directory of the imported ``landbench`` package."""

_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
# Results live in leaderboard/: regenerating them must not mark the code that made them dirty.
_DIRTY_PATHSPEC = (".", ":!leaderboard")
_GIT_TIMEOUT_S = 10


def _git(args: list[str], cwd: Path) -> str | None:
    """Output of ``git ARGS`` run in ``cwd``, or None when git is missing or the call fails."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.cache
def checkout_root(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The git work tree whose tracked files include the imported ``landbench`` package.

    Args:
        package_dir: the ``landbench`` package directory.

    Returns:
        The work tree's top directory, or None when the package is not tracked in a git
        checkout (an installed wheel, even one installed inside some other repository).
    """
    top = _git(["rev-parse", "--show-toplevel"], package_dir)
    if not top:
        return None
    root = Path(top.strip())
    # A wheel installed into a virtualenv that happens to sit inside a git repository is not
    # that repository's code: require the package's own files to be tracked there.
    tracked = _git(["ls-files", "--error-unmatch", "__init__.py"], package_dir)
    return root if tracked is not None else None


def read_build_info(package_dir: Path = PACKAGE_DIR) -> dict[str, Any] | None:
    """The build-time record (``commit``, ``dirty``) of an installed package, if there is one."""
    path = package_dir / BUILD_INFO_NAME
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not _COMMIT_RE.match(str(info.get("commit", ""))):
        return None
    return info


@functools.cache
def git_state(root: Path) -> tuple[str | None, bool | None]:
    """The HEAD commit of the checkout at ``root`` and whether tracked code differs from it.

    Args:
        root: a git work tree.

    Returns:
        ``(commit, dirty)``: the 40-hex commit (None if git cannot tell) and whether any tracked
        file outside ``leaderboard/`` differs from it (None if git cannot tell). Cached for the
        process: a run records the state of the code it started with.
    """
    head = _git(["rev-parse", "HEAD"], root)
    commit = head.strip() if head and _COMMIT_RE.match(head.strip()) else None
    if commit is None:
        return None, None
    status = _git(["status", "--porcelain", "--untracked-files=no", "--", *_DIRTY_PATHSPEC], root)
    return commit, (None if status is None else bool(status.strip()))


def code_state(package_dir: Path = PACKAGE_DIR) -> dict[str, Any]:
    """The commit of the landbench code and how it was found.

    Args:
        package_dir: the ``landbench`` package directory.

    Returns:
        ``{"commit": 40-hex or None, "dirty": bool or None, "commit_source": "git" | "build" |
        None, "commit_reason": why the commit is None (only then)}``.
    """
    root = checkout_root(package_dir)
    if root is not None:
        commit, dirty = git_state(root)
        if commit is not None:
            return {"commit": commit, "dirty": dirty, "commit_source": "git"}
    info = read_build_info(package_dir)
    if info is not None:
        dirty = info.get("dirty")
        return {
            "commit": info["commit"],
            "dirty": dirty if isinstance(dirty, bool) else None,
            "commit_source": "build",
        }
    where = f"git checkout at {root}" if root is not None else "git checkout"
    return {
        "commit": None,
        "dirty": None,
        "commit_source": None,
        "commit_reason": (
            f"landbench at {package_dir} is neither in a {where} with a readable HEAD nor an "
            f"installed build with {BUILD_INFO_NAME}"
        ),
    }


def _version(distribution: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of Python, landbench and the libraries a result depends on (None: not installed).

    Read from package metadata, so this never imports torch or lightning.
    """
    from landbench._version import __version__

    return {
        "landbench": __version__,
        "python": platform.python_version(),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "lightning": _version("lightning"),
        "torchgeo": _version("torchgeo"),
    }


def provenance(device: Any = None) -> dict[str, Any]:
    """Where a result comes from: the code's commit, its dirty flag, versions and the device.

    Args:
        device: the device that ran the computation (a ``torch.device`` or a string such as
            ``"cpu"`` or ``"cuda:0"``); None records null (unknown), so pass what ran it.

    Returns:
        A JSON-serialisable dict: ``commit`` (40-hex git commit of the landbench code, or None
        with ``commit_reason``), ``dirty`` (tracked files outside ``leaderboard/`` differ from the
        commit; None when unknown), ``commit_source`` (``"git"`` or ``"build"``), ``versions``
        (``landbench``, ``python``, ``torch``, ``numpy``, ``lightning``, ``torchgeo``), ``device``
        (str or None) and ``platform`` (operating system and machine).
    """
    record = code_state()
    record["versions"] = versions()
    record["device"] = None if device is None else str(device)
    record["platform"] = f"{platform.system()}-{platform.machine()}"
    return record
