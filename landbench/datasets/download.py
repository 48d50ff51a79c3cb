"""Fetch, verify and extract dataset archives, TorchGeo's way, without touching user files.

A dataset class declares ``url``, ``md5`` and ``filename`` (the archive) and ``directory`` (the
folder the archive extracts to under ``root``). :func:`prepare` then does what TorchGeo's
``_verify`` does:

1. the extracted folder exists: nothing to do;
2. the archive exists in ``root``: verify its md5 (when ``checksum``) and extract it;
3. ``download=True`` and a URL is known: download to a temporary file, verify the md5, rename it
   into place, extract it;
4. otherwise: raise :class:`~landbench.core.errors.DatasetNotFoundError` saying exactly where to
   get the files and where to put them.

Extraction writes into a temporary sibling of the destination and renames the result into place,
so an interrupted run leaves nothing half-written; an existing file or folder is never replaced
and a file the user placed is never deleted, even when its checksum is wrong.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from landbench.core.errors import DatasetNotFoundError, IntegrityError, InvalidDataError
from landbench.core.io import atomic_directory


def md5sum(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """The md5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def check_md5(path: str | os.PathLike[str], md5: str | None) -> None:
    """Raise if the file's md5 differs from ``md5`` (None skips the check).

    Raises:
        IntegrityError: naming the file, the expected and the actual checksum.
    """
    if md5 is None:
        return
    actual = md5sum(path)
    if actual != md5:
        raise IntegrityError(
            f"{path} has md5 {actual}, expected {md5}: the file is corrupt, truncated or a "
            "different release. Delete it and download it again."
        )


def transfer(url: str, path: Path) -> None:
    """Download ``url`` to ``path`` (a temporary file chosen by :func:`download`).

    Uses TorchGeo's (torchvision's) ``download_url``, which follows redirects and Google Drive
    links. Tests replace this function to copy a committed fake archive instead.
    """
    from torchgeo.datasets.utils import download_url

    download_url(url, str(path.parent), filename=path.name)


def download(url: str, root: Path, filename: str, md5: str | None) -> Path:
    """Download ``url`` to ``root/filename`` through a temporary file, verifying the md5 first.

    Returns:
        The archive's path.

    Raises:
        LandbenchError: if ``root/filename`` already exists (it is never overwritten).
        IntegrityError: if the download's md5 differs (the temporary file is removed).
    """
    dest = root / filename
    if dest.exists():
        raise InvalidDataError(f"{dest} already exists; it is used as is, never overwritten.")
    root.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(dir=root, prefix=f".{filename}.", suffix=".download"))
    try:
        tmp = tmp_dir / filename
        try:
            transfer(url, tmp)
        except (OSError, RuntimeError) as err:  # URLError and HTTP errors are OSErrors
            raise DatasetNotFoundError(
                f"Downloading {url} failed ({err}); check the connection, or download it by hand "
                f"and save it as {dest}."
            ) from None
        if not tmp.is_file():
            raise DatasetNotFoundError(f"Downloading {url} produced no file.")
        check_md5(tmp, md5)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return dest


def _safe_members(names: list[str], archive: Path) -> None:
    # Refuse absolute paths and ".." so an archive cannot write outside its extraction folder.
    for name in names:
        parts = Path(name).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise InvalidDataError(f"{archive} holds an unsafe path {name!r}; not extracting it.")


def extract_archive(archive: Path, dest: Path) -> None:
    """Extract a ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` or ``.tar.bz2`` archive into ``dest``.

    Written here rather than taken from torchvision because its tar path extracts members
    without a path filter; this one refuses members that would land outside ``dest``.

    Raises:
        InvalidDataError: if the archive is corrupt, of an unknown type or unsafe.
    """
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                _safe_members(zf.namelist(), archive)
                bad = zf.testzip()
                if bad is not None:
                    raise InvalidDataError(
                        f"{archive} is corrupt (member {bad!r}); download again."
                    )
                zf.extractall(dest)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                _safe_members(tf.getnames(), archive)
                tf.extractall(dest, filter="data")
        else:
            raise InvalidDataError(
                f"{archive} is not a zip or tar archive (corrupt or truncated?); download again."
            )
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise DatasetNotFoundError(f"{archive} does not exist.") from None
        raise InvalidDataError(
            f"{archive} is corrupt or truncated ({err}); download again."
        ) from None


def extract(
    archive: Path,
    root: Path,
    directory: str,
    place: Callable[[Path, Path], None] | None = None,
) -> Path:
    """Extract ``archive`` and move its ``directory`` to ``root/directory`` atomically.

    The archive is extracted into a temporary folder under ``root``; the folder named
    ``directory`` is looked for at its top or one level down (archives often wrap it once).

    Args:
        archive: the archive file.
        root: the dataset root.
        directory: the folder name the dataset reads under ``root``.
        place: instead of looking for ``directory`` in the archive, call
            ``place(extracted, staging)`` to arrange the extracted files into ``staging`` (used
            by datasets whose archives need an import step).

    Returns:
        ``root/directory``.

    Raises:
        LandbenchError: if ``root/directory`` exists, the archive is bad, or it lacks
            ``directory``.
    """
    final = root / directory
    if final.exists():
        raise InvalidDataError(f"{final} already exists; not replacing it with {archive}.")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{directory}.", suffix=".extract"))
    try:
        extract_archive(archive, tmp)
        if place is not None:
            with atomic_directory(final) as staging:
                place(tmp, staging)
            return final
        candidates = [tmp / directory, *tmp.glob(f"*/{directory}")]
        found = next((c for c in candidates if c.is_dir()), None)
        if found is None:
            raise InvalidDataError(
                f"{archive} does not contain a {directory!r} folder; is it the right archive?"
            )
        os.replace(found, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def prepare(
    root: Path,
    directory: str,
    filename: str,
    url: str | None,
    md5: str | None,
    download_allowed: bool,
    checksum: bool,
    how_to_get: str,
    place: Callable[[Path, Path], None] | None = None,
) -> Path:
    """Make sure ``root/directory`` exists, extracting or downloading its archive if needed.

    Args:
        root: the dataset root.
        directory: the extracted folder under ``root``.
        filename: the archive's file name under ``root``.
        url: where to download the archive, or None when no direct URL is known.
        md5: the archive's md5, or None when unknown.
        download_allowed: the dataset's ``download`` flag.
        checksum: verify the md5 of an archive found in ``root`` before extracting it.
        how_to_get: instructions printed when the files are missing and cannot be downloaded.
        place: see :func:`extract`.

    Returns:
        ``root/directory``.

    Raises:
        DatasetNotFoundError: when the files are absent and cannot be downloaded.
        IntegrityError: on an md5 mismatch.
    """
    root = Path(root)
    final = root / directory
    if final.is_dir():
        return final
    archive = root / filename
    if archive.is_file():
        if checksum:
            check_md5(archive, md5)
        return extract(archive, root, directory, place)
    if not download_allowed:
        raise DatasetNotFoundError(
            f"Dataset not found: {final} does not exist (download=False). {how_to_get}"
        )
    if url is None:
        raise DatasetNotFoundError(
            f"Dataset not found in {root}, and it cannot be downloaded automatically: there is no "
            f"direct URL with a known checksum, and landbench does not re-host data whose licence "
            f"is unknown. {how_to_get}"
        )
    archive = download(url, root, filename, md5)
    return extract(archive, root, directory, place)
