"""Atomic file-system writes shared by every part that writes user-visible output.

A result, a cache, a build or an extracted archive is first written next to its destination and
then renamed into place, so an interrupted run never leaves a half-written file or folder, and an
existing destination is never silently replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from landbench.core.errors import LandbenchError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

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
    if not overwrite and path.exists():
        raise LandbenchError(f"{path} already exists; remove it or choose another path.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
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
    if path.exists() and not overwrite:
        raise LandbenchError(
            f"{path} already exists; remove it, choose another output folder, or pass an "
            "overwrite option."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial"))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
