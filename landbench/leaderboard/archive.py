"""Safe opening of a submission given as a folder or a ``.zip`` archive.

An archive is checked as a whole before a single byte is unpacked, and every problem is
reported at once. Refused: members with absolute paths, drive letters, backslashes or ``..``;
symbolic links and other special files; duplicate member names; encrypted members; more than
:data:`MAX_FILES` files or more than :data:`MAX_UNCOMPRESSED_BYTES` of content (counted both
from the headers and, while unpacking, from the bytes actually inflated, so a forged header
cannot smuggle a zip bomb through). A folder gets the same checks (no symlinks, same limits).

An archive is unpacked into a private temporary folder that is removed afterwards; nothing is
written next to the submission.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from landbench.leaderboard.errors import ArchiveError

MAX_FILES = 20_000
"""Most files a submission may hold (Bijie's test split has a few hundred masks)."""

MAX_UNCOMPRESSED_BYTES = 1 << 30
"""Most bytes (1 GiB) a submission's files may hold once unpacked."""

METADATA_FILE = "submission.json"
"""The metadata file at the top of every submission."""

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1 << 20


def _member_problems(info: zipfile.ZipInfo) -> list[str]:
    """Why one archive member is unsafe to unpack (empty if it is fine)."""
    name = info.filename
    problems = []
    if name.startswith("/") or _DRIVE.match(name):
        problems.append(f"member {name!r} has an absolute path; members must be relative.")
    if "\\" in name:
        problems.append(f"member {name!r} contains a backslash; use '/' as the separator.")
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        problems.append(f"member {name!r} contains '..'; members must stay inside the archive.")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        problems.append(f"member {name!r} is a symbolic link; store the file itself.")
    elif stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        problems.append(f"member {name!r} is a special file; only files and folders are allowed.")
    if info.flag_bits & 0x1:
        problems.append(f"member {name!r} is encrypted; submit an unencrypted archive.")
    return problems


def _limit_problems(n_files: int, n_bytes: int, max_files: int, max_bytes: int) -> list[str]:
    problems = []
    if n_files > max_files:
        problems.append(
            f"holds {n_files} files, more than the limit of {max_files} "
            "(landbench.leaderboard.archive.MAX_FILES); submit only the test-split masks."
        )
    if n_bytes > max_bytes:
        problems.append(
            f"holds {n_bytes} bytes uncompressed, more than the limit of {max_bytes} "
            "(landbench.leaderboard.archive.MAX_UNCOMPRESSED_BYTES); submit only the "
            "test-split masks, as compressed PNG."
        )
    return problems


def check_zip(
    archive: zipfile.ZipFile,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_UNCOMPRESSED_BYTES,
) -> list[str]:
    """Every reason not to unpack ``archive``, one line each (empty if it is safe).

    Args:
        archive: an open zip file.
        max_files: most file members allowed.
        max_bytes: most uncompressed bytes allowed, summed over members' headers.

    Returns:
        The problems found.
    """
    problems: list[str] = []
    seen: set[str] = set()
    n_files = n_bytes = 0
    for info in archive.infolist():
        problems += _member_problems(info)
        key = info.filename.rstrip("/")
        if key in seen:
            problems.append(f"member {info.filename!r} appears more than once.")
        seen.add(key)
        if not info.is_dir():
            n_files += 1
            n_bytes += info.file_size
    problems += _limit_problems(n_files, n_bytes, max_files, max_bytes)
    return problems


def check_folder(
    folder: Path,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_UNCOMPRESSED_BYTES,
) -> list[str]:
    """Every reason not to read the submission ``folder`` (symlinks, special files, limits)."""
    problems: list[str] = []
    n_files = n_bytes = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            rel = path.relative_to(folder).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                problems.append(f"{rel!r} is a symbolic link; copy the file itself.")
            elif stat.S_ISREG(mode):
                n_files += 1
                n_bytes += path.lstat().st_size
            elif not stat.S_ISDIR(mode):
                problems.append(f"{rel!r} is a special file; only files and folders are allowed.")
    problems += _limit_problems(n_files, n_bytes, max_files, max_bytes)
    return problems


def extract_zip(
    path: Path,
    dest: Path,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_UNCOMPRESSED_BYTES,
) -> None:
    """Check, then unpack the zip archive at ``path`` into the existing folder ``dest``.

    Raises:
        ArchiveError: listing every problem of the archive; nothing is unpacked then. Also
            raised mid-way if members inflate to more bytes than their headers declare (the
            caller removes ``dest``).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ArchiveError(path, [f"cannot be read as a zip archive ({err})."]) from None
    with archive:
        problems = check_zip(archive, max_files, max_bytes)
        if problems:
            raise ArchiveError(path, problems)
        written = 0
        for info in archive.infolist():
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy by hand rather than ZipFile.extract: it lets us count the bytes actually
            # inflated, which a forged header cannot lie about.
            try:
                with archive.open(info) as src, open(target, "xb") as out:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ArchiveError(
                                path, _limit_problems(0, written, max_files, max_bytes)
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as err:
                raise ArchiveError(
                    path, [f"member {info.filename!r} is corrupt ({err})."]
                ) from None


def _submission_root(folder: Path) -> Path:
    """The folder holding ``submission.json``: ``folder`` or its single sub-folder.

    Zipping a folder often wraps everything in one top-level folder; accept that layout.
    """
    if (folder / METADATA_FILE).exists():
        return folder
    entries = [p for p in folder.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / METADATA_FILE).exists():
        return entries[0]
    return folder


@contextlib.contextmanager
def open_submission(
    path: str | os.PathLike[str],
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_UNCOMPRESSED_BYTES,
) -> Iterator[Path]:
    """Open a submission folder or ``.zip`` archive as a folder to read.

    Usage::

        with open_submission("my-entry.zip") as folder:
            metadata = json.loads((folder / "submission.json").read_text())

    Args:
        path: a submission folder or zip archive.
        max_files: most files allowed.
        max_bytes: most uncompressed bytes allowed.

    Yields:
        The folder holding ``submission.json`` (a temporary copy for an archive, removed on
        exit).

    Raises:
        ArchiveError: if ``path`` is missing, neither a folder nor a zip archive, or unsafe.
    """
    path = Path(path)
    if not path.exists():
        raise ArchiveError(path, ["does not exist; give a submission folder or .zip archive."])
    if path.is_dir():
        problems = check_folder(path, max_files, max_bytes)
        if problems:
            raise ArchiveError(path, problems)
        yield _submission_root(path)
        return
    if not zipfile.is_zipfile(path):
        raise ArchiveError(
            path, ["is neither a folder nor a zip archive; give a submission folder or .zip."]
        )
    tmp = Path(tempfile.mkdtemp(prefix="landbench-submission-"))
    try:
        extract_zip(path, tmp, max_files, max_bytes)
        yield _submission_root(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
