"""Import the Hokkaido landslide dataset's upstream files into landbench's canonical layout.

The Google Drive archives of https://github.com/karstCand/HokkaidoLandslide_dataset have no
documented inner layout; :class:`landbench.datasets.hokkaido.Hokkaido` reads one documented
layout (see that module). ``landbench datasets import hokkaido`` writes it.

:func:`import_hokkaido` walks an extracted upstream folder and places every raster by split
(from ``train``/``training``, ``val``/``valid``/``validation``, ``test``/``testing`` in its path),
role (from words in its name, then its folders, e.g. ``image``/``rgb``/``s2``, ``dem``/
``elevation``, ``mask``/``label``/``gt``; failing those, from its content: 3 bands is an image,
one band holding only {0, 1, 255} is a mask, any other single band is a DEM) and id. It fails,
naming the file, on anything it cannot place, on duplicates and on incomplete samples, and it
writes nothing until every file has been read and validated; the folder appears atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from landbench.core.errors import DatasetNotFoundError, InvalidDataError
from landbench.core.io import atomic_directory
from landbench.datasets import download as dl
from landbench.datasets.io import (
    GEOTIFF_SUFFIXES,
    RASTER_SUFFIXES,
    mask_to_binary,
    png_header,
    read_raster,
)
from landbench.datasets.splits import SPLITS

DIRECTORY = "Hokkaido"
ROLES: tuple[str, ...] = ("image", "dem", "mask")

_SPLIT_WORDS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
_ROLE_WORDS = {
    "image": {"image", "images", "img", "imgs", "rgb", "optical", "s2", "sentinel", "sentinel2"},
    "dem": {"dem", "dems", "elevation", "elev", "dtm", "dsm", "gsi", "height", "altitude"},
    "mask": {"mask", "masks", "label", "labels", "gt", "groundtruth", "annotation", "annotations"},
}
# Files that travel with rasters and carry nothing landbench reads; listed in import.json.
_SIDECAR_SUFFIXES = (
    ".aux.xml", ".xml", ".tfw", ".pgw", ".wld", ".prj", ".ovr", ".txt", ".md", ".pdf", ".json",
    ".csv", ".qml", ".cpg", ".ipynb", ".py",
)  # fmt: skip


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", text.lower()) if w]


@dataclass(frozen=True)
class Placement:
    """Where one upstream file goes in the canonical layout.

    Attributes:
        source: the upstream file.
        split: ``"train"``, ``"val"`` or ``"test"``.
        role: ``"image"``, ``"dem"`` or ``"mask"``.
        sample_id: the snippet id.
        suffix: ``".png"`` or ``".tif"``.
    """

    source: Path
    split: str
    role: str
    sample_id: str
    suffix: str

    @property
    def destination(self) -> str:
        """Path relative to ``root/Hokkaido``."""
        return f"{self.split}/{self.role}/{self.sample_id}{self.suffix}"


def _role_from_content(path: Path) -> str | None:
    """Image, DEM or mask judged from bands, dtype and values; None if undecidable."""
    if path.suffix.lower() == ".png":
        header = png_header(path)
        if header.color_type in (2, 3, 6):
            return "image"
        if header.bit_depth == 16:
            return "dem"
    tensor, _ = read_raster(path)
    if tensor.shape[0] >= 3:
        return "image"
    if tensor.shape[0] != 1:
        return None
    values = np.unique(tensor).tolist()
    return "mask" if set(values) <= {0.0, 1.0, 255.0} else "dem"


def _place(path: Path, source: Path) -> Placement:
    rel = path.relative_to(source)
    folder_words = [_words(part) for part in rel.parts[:-1]]
    name = path.name[: -len(path.suffix)] if path.suffix else path.name
    name_words = _words(name)
    splits = {
        _SPLIT_WORDS[w] for ws in [*folder_words, name_words] for w in ws if w in _SPLIT_WORDS
    }
    if len(splits) != 1:
        found = f"both {' and '.join(sorted(splits))}" if splits else "no split"
        raise InvalidDataError(
            f"Cannot place {path}: its path names {found}; put each file under a train, val or "
            "test folder (the authors' partition)."
        )
    split = splits.pop()
    role = None
    # The file name decides first, then the nearest folder, then the content.
    for words in [name_words, *reversed(folder_words)]:
        roles = {r for r, vocab in _ROLE_WORDS.items() if vocab.intersection(words)}
        if len(roles) == 1:
            role = roles.pop()
            break
        if len(roles) > 1:
            break
    if role is None:
        role = _role_from_content(path)
    if role is None:
        raise InvalidDataError(
            f"Cannot place {path}: neither its name, its folders nor its content say whether it "
            "is an image, a DEM or a mask; rename it (e.g. <id>_dem.tif) and import again."
        )
    all_role_words = set().union(*_ROLE_WORDS.values())
    kept = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    kept = [w for w in kept if w.lower() not in all_role_words and w.lower() not in _SPLIT_WORDS]
    if not kept:
        raise InvalidDataError(
            f"Cannot place {path}: its name {path.name!r} holds no snippet id once role and split "
            "words are removed; rename it to <id>_<role>.<ext>."
        )
    suffix = ".tif" if path.suffix.lower() in GEOTIFF_SUFFIXES else ".png"
    return Placement(path, split, role, "_".join(kept), suffix)


def plan_import(source: str | os.PathLike[str]) -> tuple[list[Placement], list[Path]]:
    """Decide where every file of an extracted upstream folder goes, reading and checking each.

    Args:
        source: the extracted upstream folder.

    Returns:
        ``(placements, skipped)``: one placement per raster, and the side files that are not
        rasters (world files, ``.aux.xml``, READMEs), which are not copied.

    Raises:
        DatasetNotFoundError: if ``source`` is not a folder.
        InvalidDataError: naming the file, on anything that cannot be placed or is unreadable,
            on duplicates, on an id in two splits and on an id without image, DEM or mask.
    """
    source = Path(source)
    if not source.is_dir():
        raise DatasetNotFoundError(f"{source} is not a folder; extract the upstream archive first.")
    placements: list[Placement] = []
    skipped: list[Path] = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue
        lower = path.name.lower()
        if lower.endswith(RASTER_SUFFIXES):
            placements.append(_place(path, source))
        elif lower.endswith(_SIDECAR_SUFFIXES):
            skipped.append(path)
        elif lower.endswith((".zip", ".tar", ".gz", ".tgz", ".bz2", ".7z", ".rar")):
            raise InvalidDataError(
                f"Cannot place {path}: it is an archive; extract it in place and import again."
            )
        else:
            raise InvalidDataError(
                f"Cannot place {path}: not a PNG or GeoTIFF raster nor a known side file; "
                "remove it from the folder and import again."
            )
    if not placements:
        raise DatasetNotFoundError(f"{source} holds no PNG or GeoTIFF files to import.")
    _check_plan(placements)
    return placements, skipped


def _check_plan(placements: list[Placement]) -> None:
    seen: dict[str, Placement] = {}
    split_of: dict[str, Placement] = {}
    roles: dict[str, set[str]] = {}
    for p in placements:
        if p.destination in seen:
            raise InvalidDataError(
                f"{seen[p.destination].source} and {p.source} both map to {p.destination}; "
                "remove one."
            )
        seen[p.destination] = p
        first = split_of.setdefault(p.sample_id, p)
        if first.split != p.split:
            raise InvalidDataError(
                f"Snippet {p.sample_id!r} is in two splits: {first.source} ({first.split}) and "
                f"{p.source} ({p.split})."
            )
        roles.setdefault(p.sample_id, set()).add(p.role)
    for sample_id, have in sorted(roles.items()):
        missing = [r for r in ROLES if r not in have]
        if missing:
            files = ", ".join(str(p.source) for p in placements if p.sample_id == sample_id)
            raise InvalidDataError(
                f"Snippet {sample_id!r} has no {' and no '.join(missing)} (found: {files}); add "
                "the missing file(s) or remove the snippet."
            )
    # Read every raster now, so a corrupt file fails the import before anything is written.
    for p in placements:
        tensor, _ = read_raster(p.source, "rgb" if p.role == "image" else "gray")
        if p.role == "mask":
            mask_to_binary(tensor[0], p.source, values="0/1|0/255")


def write_import(placements: list[Placement], skipped: list[Path], dest: Path) -> None:
    """Copy planned files into ``dest`` (a canonical ``Hokkaido`` folder) with ``import.json``."""
    records = []
    for p in placements:
        target = dest / p.destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p.source, target)
        records.append({"source": str(p.source), "destination": p.destination,
                        "md5": dl.md5sum(target)})  # fmt: skip
    for split in SPLITS:
        for role in ROLES:
            (dest / split / role).mkdir(parents=True, exist_ok=True)
    provenance = {"layout": "landbench hokkaido canonical v1", "files": records,
                  "skipped": [str(s) for s in skipped]}  # fmt: skip
    (dest / "import.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")


def import_hokkaido(source: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
    """Place the files of an extracted upstream Hokkaido folder in the canonical layout.

    Args:
        source: the folder the upstream archive(s) were extracted to.
        root: the landbench data root; ``root/Hokkaido`` is created.

    Returns:
        ``root/Hokkaido``.

    Raises:
        LandbenchError: if ``root/Hokkaido`` exists (it is never overwritten) or any source file
            cannot be placed; nothing is written then.
    """
    dest = Path(root) / DIRECTORY
    if dest.exists():
        raise InvalidDataError(f"{dest} already exists; remove it or import into another --root.")
    placements, skipped = plan_import(source)
    with atomic_directory(dest) as tmp:
        write_import(placements, skipped, tmp)
    return dest
