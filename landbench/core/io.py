"""Atomic file-system writes shared by every part that writes user-visible output.

A result, a cache, a build or an extracted archive is first written next to its destination and
then renamed into place, so an interrupted run never leaves a half-written file or folder, and an
existing destination is never silently replaced. What lands in place has the permissions the
umask gives (``0o666 & ~umask`` for files, ``0o777 & ~umask`` for folders), as ``open`` and
``mkdir`` would give, not the private ``0o600`` of a temporary file.

A run killed outright (``SIGKILL``, power loss) cannot clean up after itself. What it leaves is
hidden and named for landbench (``.<name>.landbench-partial-<pid>-*`` holding the marker file
:data:`PARTIAL_MARKER`, ``.<name>.landbench-<pid>-*.tmp``), is never read by any command, and is
removed by the next write to the same destination once its process is gone (which says so). To
clean by hand: ``rm -rf .<name>.landbench-*`` next to the destination, when no landbench runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from landbench.core.errors import LandbenchError

logger = logging.getLogger(__name__)

PARTIAL_MARKER = ".landbench-partial"
"""File inside a folder being built by :func:`atomic_directory`: it marks the folder as
landbench's own (JSON: ``pid``, ``host``), so a later run removes it only if its writer is gone.
It is removed before the folder is renamed into place."""


def current_umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def _dead_writer(rest: str) -> int | None:
    """The writer's pid at the start of ``rest`` (``<pid>-...``), if that process is gone."""
    pid = rest.split("-", 1)[0]
    return int(pid) if pid.isdigit() and not _alive(int(pid)) else None


def _clean_leftovers(path: Path) -> None:
    """Remove what killed runs left next to ``path``: only landbench's own, writer gone."""
    parent = path.parent
    if not parent.is_dir():
        return
    host = socket.gethostname()
    prefix = f".{path.name}.landbench-"
    for tmp in parent.glob(f"{glob_escape(prefix)}*"):
        kind, _, rest = tmp.name[len(prefix) :].partition("-")
        if kind.isdigit() and tmp.name.endswith(".tmp") and tmp.is_file():
            if _dead_writer(tmp.name[len(prefix) :]) is not None:
                tmp.unlink(missing_ok=True)
                logger.warning("Removed %s, a temporary file left by an interrupted run.", tmp)
        elif kind == "partial" and tmp.is_dir():
            _clean_partial(tmp, host)
        elif kind == "old" and tmp.is_dir() and _dead_writer(rest) is not None:
            if path.exists():  # the swap finished; only the removal of the old copy did not
                shutil.rmtree(tmp, ignore_errors=True)
                logger.warning("Removed %s, the replaced copy of %s.", tmp, path)
            else:  # killed between the two renames: the previous version is the one to keep
                os.replace(tmp, path)
                logger.warning("Restored %s from %s (an interrupted replacement).", path, tmp)


def _clean_partial(folder: Path, host: str) -> None:
    marker = folder / PARTIAL_MARKER
    try:
        owner = json.loads(marker.read_text(encoding="utf-8"))
        pid, owner_host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return  # no marker: not a folder this code wrote; never touched
    if owner_host != host:
        logger.warning(
            "%s is an unfinished landbench folder from host %s; remove it (rm -rf) if no run "
            "there is writing it.",
            folder,
            owner_host,
        )
    elif not _alive(pid):
        shutil.rmtree(folder, ignore_errors=True)
        logger.warning(
            "Removed %s, an unfinished folder left by an interrupted landbench run (pid %d).",
            folder,
            pid,
        )


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped, for :meth:`Path.glob`."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The file gets the permissions the umask gives (``0o666 & ~umask``).

    Args:
        path: destination file.
        data: bytes to write.
        overwrite: if False, refuse to replace an existing file.

    Returns:
        The destination path.

    Raises:
        LandbenchError: if ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    _clean_leftovers(path)
    if not overwrite and path.exists():
        raise LandbenchError(f"{path} already exists; remove it or choose another path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.landbench-{os.getpid()}-", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~current_umask())  # mkstemp makes it 0o600
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, overwrite: bool = True) -> Path:
    """Write UTF-8 ``text`` atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, overwrite: bool = True) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (stable bytes for diffs and hashes)."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return atomic_write_text(path, text, overwrite=overwrite)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], overwrite: bool = False) -> Iterator[Path]:
    """Build a folder in a temporary sibling and move it to ``path`` only on success.

    The sibling, ``.<name>.landbench-partial-<pid>-*``, holds the ownership marker
    :data:`PARTIAL_MARKER` until the rename; the folder gets the permissions the umask gives
    (``0o777 & ~umask``). Leftovers of killed runs for the same ``path`` are removed first (see
    the module docstring).

    Usage::

        with atomic_directory("out/build") as tmp:
            (tmp / "file.txt").write_text("...")
        # "out/build" now exists, complete; on an exception nothing is left behind.

    Args:
        path: the final folder.
        overwrite: if True, an existing folder at ``path`` is replaced only after the new one is
            complete; if False, an existing folder is an error raised before any work.

    Yields:
        The temporary folder to fill.

    Raises:
        LandbenchError: if ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    _clean_leftovers(path)  # may restore ``path`` from an interrupted replacement
    if path.exists() and not overwrite:
        raise LandbenchError(
            f"{path} already exists; remove it, choose another output folder, or pass an "
            "overwrite option."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.landbench-partial-{pid}-"))
    try:
        tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes it 0o700
        marker = tmp / PARTIAL_MARKER
        marker.write_text(json.dumps({"pid": pid, "host": socket.gethostname()}), "utf-8")
        yield tmp
        marker.unlink(missing_ok=True)
        if path.exists():
            old = path.with_name(f".{path.name}.landbench-old-{pid}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in ``chunk_size`` byte blocks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
