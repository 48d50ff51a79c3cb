"""The Hokkaido landslide dataset (Lissak & Corpetti 2024), through a documented canonical layout.

Sentinel-2 snippets (bands B04, B03, B02 as R, G, B) of south-western Hokkaido after the 2018
Mw 6.6 Iburi earthquake, with the GSI 10 m DEM and landslide masks: 68 snippets that the authors
partition 39 / 14 / 15 into train / validation / test. The files are distributed on Google Drive
through https://github.com/karstCand/HokkaidoLandslide_dataset, as 8-bit PNG and as GeoTIFF
snippets, in archives whose inner layout is not documented.

Canonical layout
----------------
landbench reads one documented layout, written by ``landbench datasets import hokkaido``::

    root/Hokkaido/
        train/ val/ test/             the authors' partition (split v1)
            image/<id>.png            R, G, B, 8-bit            } either or both
            image/<id>.tif            R, G, B GeoTIFF (raw DNs) }
            dem/<id>.tif | <id>.png   elevation, one band, raw values (metres for the GSI DEM)
            mask/<id>.png | <id>.tif  one band, landslide = 255 or 1, background = 0
        import.json                   provenance: each source file, its md5, where it went

``<id>`` is the snippet name with role and split words removed (``train/img/hk_03_rgb.png`` and
``train/labels/hk_03_mask.png`` both give ``hk_03``). Images are read from the 8-bit PNGs by
default (the value range of Bijie, so Bijie-pretrained models transfer); ``image_format="tif"``
reads the GeoTIFFs' raw digital numbers instead. DEM and mask use the GeoTIFF when every snippet
has one, else the PNG. Samples read from a GeoTIFF carry ``crs`` (:class:`rasterio.crs.CRS`) and
``transform`` (:class:`affine.Affine`) of the grid, from the image GeoTIFF or else the DEM's.
DEM values are raw, nodata cells included (the GSI DEM's nodata value is kept as stored).

Import
------
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from landbench.core.errors import (
    ConfigError,
    DatasetNotFoundError,
    InvalidDataError,
    LandbenchError,
)
from landbench.core.io import atomic_directory
from landbench.datasets import download as dl
from landbench.datasets.base import ALL_BANDS, LandslideDataset, VerificationReport, warn_once
from landbench.datasets.io import (
    GEOTIFF_SUFFIXES,
    RASTER_SUFFIXES,
    list_files,
    mask_to_binary,
    png_header,
    read_raster,
    resample_to,
)
from landbench.datasets.splits import SPLITS, SplitManifest

DIRECTORY = "Hokkaido"
ROLES: tuple[str, ...] = ("image", "dem", "mask")
FORMATS: tuple[str, ...] = ("auto", "tif", "png")
_ROLE_NAMES = {"image": "an image", "dem": "a DEM", "mask": "a mask"}

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


@dataclass(frozen=True)
class HokkaidoFiles:
    """The files of one Hokkaido snippet in the canonical layout (chosen formats)."""

    split: str
    image: Path
    dem: Path
    mask: Path


class Hokkaido(LandslideDataset):
    """Hokkaido landslide dataset (Lissak & Corpetti 2024): Sentinel-2 RGB + GSI DEM snippets.

    Each sample is ``{"image": float32 [C, H, W], "mask": int64 [H, W], "id": str}``, values
    raw (8-bit PNG 0-255 or the GeoTIFF's digital numbers; DEM in metres), plus ``crs`` and
    ``transform`` when read from a GeoTIFF. Split ``v1`` is the authors' partition.

    Args:
        root: folder holding ``Hokkaido/`` in the canonical layout (see the module docstring).
        split: ``"train"``, ``"val"`` or ``"test"``.
        bands: bands to return, in order, from ``("R", "G", "B", "DEM")``.
        transforms: a function applied to each sample dict.
        download: fetch the archive if absent (only when :attr:`url` is known; otherwise the
            error says where to get it and how to import it).
        checksum: verify the archive's md5 before extracting it.
        image_format: ``"png"`` (default: 8-bit RGB, the value range of Bijie, so models
            pretrained there transfer), ``"tif"`` (the GeoTIFF's raw digital numbers) or
            ``"auto"`` (GeoTIFF where every snippet has one, else PNG).
        dem_format: ``"auto"`` (default), ``"tif"`` or ``"png"``, for the DEM.
        mask_format: likewise for the mask.

    Raises:
        DatasetNotFoundError: if the files are absent (the message says where to get them).
        InvalidDataError: if a snippet lacks a file in the chosen format.
    """

    name = "hokkaido"
    url: ClassVar[str | None] = None
    """Direct archive URL; None: the files sit on Google Drive without a stable checksum."""
    md5: ClassVar[str | None] = None
    filename: ClassVar[str] = "HokkaidoLandslide_dataset.zip"
    directory: ClassVar[str] = DIRECTORY
    homepage: ClassVar[str] = "https://github.com/karstCand/HokkaidoLandslide_dataset"
    official_counts: ClassVar[dict[str, int]] = {"train": 39, "val": 14, "test": 15}
    dem_nodata: ClassVar[float | None] = -9999.0
    """Nodata value of the GSI 10 m DEM: kept raw in samples, masked by data modules and models."""

    def __init__(
        self,
        root: str | os.PathLike[str] = "data",
        split: str = "train",
        bands: Sequence[str] = ALL_BANDS,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        download: bool = False,
        checksum: bool = False,
        image_format: str = "png",
        dem_format: str = "auto",
        mask_format: str = "auto",
    ) -> None:
        super().__init__(split=split, bands=bands, transforms=transforms)
        formats = {"image": image_format, "dem": dem_format, "mask": mask_format}
        for role, fmt in formats.items():
            if fmt not in FORMATS:
                raise ConfigError(f"Unknown {role}_format {fmt!r}; valid: {', '.join(FORMATS)}.")
        self.root = Path(root)
        self.download = download
        self.checksum = checksum
        dl.prepare(
            self.root,
            self.directory,
            self.filename,
            self.url,
            self.md5,
            download_allowed=download,
            checksum=checksum,
            how_to_get=self.how_to_get(self.root),
            place=lambda extracted, staging: write_import(*plan_import(extracted), staging),
        )
        self.files = self.scan(self.root, formats)
        self._manifest = SplitManifest(
            self.name,
            self.split_version,
            {s: [i for i, f in self.files.items() if f.split == s] for s in SPLITS},
        )
        counts = self._manifest.counts()
        if counts != self.official_counts:
            warn_once(
                (self.name, str(self.root.resolve())),
                f"Hokkaido in {self.root / self.directory} has "
                + ", ".join(f"{n} {s}" for s, n in counts.items())
                + " snippets; the authors' partition has "
                + ", ".join(f"{n} {s}" for s, n in self.official_counts.items())
                + ". Loading what is there; run "
                f"`landbench datasets verify hokkaido --root {self.root}` for details.",
            )

    @classmethod
    def how_to_get(cls, root: str | os.PathLike[str]) -> str:
        """Instructions for obtaining the files and placing them under ``root``."""
        return (
            f"Download the Hokkaido landslide dataset from the Google Drive links at "
            f"{cls.homepage} (Lissak & Corpetti 2024), extract it into a folder, then run "
            f"`landbench datasets import hokkaido --from THAT_FOLDER --root {root}`, which "
            f"writes {Path(root) / cls.directory}/{{train,val,test}}/{{image,dem,mask}}/; or "
            f"save a zip of that folder as {Path(root) / cls.filename} and load again."
        )

    @classmethod
    def scan(
        cls,
        root: str | os.PathLike[str],
        formats: dict[str, str] | None = None,
        problems: list[str] | None = None,
    ) -> dict[str, HokkaidoFiles]:
        """Index the canonical layout by id, choosing one format per role.

        Args:
            root: folder holding ``Hokkaido/``.
            formats: role to ``"auto"``, ``"tif"`` or ``"png"`` (default all ``"auto"``).
            problems: if given, incomplete snippets are skipped and described here instead of
                raising.

        Raises:
            DatasetNotFoundError: if ``root/Hokkaido`` has no split folders.
            InvalidDataError: on an id in two splits or a snippet lacking a file.
        """
        base = Path(root) / cls.directory
        formats = formats or dict.fromkeys(ROLES, "auto")
        if not any((base / s).is_dir() for s in SPLITS):
            raise DatasetNotFoundError(
                f"{base} has no train, val or test folder. " + cls.how_to_get(root)
            )
        found: dict[str, dict[str, dict[str, Path]]] = {}  # role -> id -> suffix -> path
        split_of: dict[str, str] = {}
        for split in SPLITS:
            for role in ROLES:
                for suffix, suffixes in ((".png", (".png",)), (".tif", GEOTIFF_SUFFIXES)):
                    for stem, path in list_files(base / split / role, suffixes).items():
                        other = split_of.setdefault(stem, split)
                        if other != split:
                            raise InvalidDataError(
                                f"{path}: snippet {stem!r} is also in {base / other}; an id "
                                "belongs to one split."
                            )
                        found.setdefault(role, {}).setdefault(stem, {})[suffix] = path
        ids = sorted(split_of)
        chosen: dict[str, dict[str, Path]] = {}
        for role in ROLES:
            by_id = found.get(role, {})
            fmt = formats[role]
            if fmt == "auto":
                # GeoTIFF unless PNG covers more snippets; the missing ones are then reported.
                n_tif = sum(".tif" in by_id.get(i, {}) for i in ids)
                n_png = sum(".png" in by_id.get(i, {}) for i in ids)
                fmt = "tif" if n_tif >= n_png else "png"
            suffix = f".{fmt}"
            chosen[role] = {}
            for i in ids:
                path = by_id.get(i, {}).get(suffix)
                if path is None:
                    others = sorted(by_id.get(i, {}))
                    message = (
                        f"{base / split_of[i] / role / (i + suffix)} does not exist"
                        + (f" (found {', '.join(others)} instead; pass {role}_format)" if others
                           else "")
                        + f": snippet {i!r} needs {_ROLE_NAMES[role]} file."
                    )  # fmt: skip
                    if problems is None:
                        raise InvalidDataError(message)
                    problems.append(message)
                    continue
                chosen[role][i] = path
        return {
            i: HokkaidoFiles(split_of[i], chosen["image"][i], chosen["dem"][i], chosen["mask"][i])
            for i in ids
            if all(i in chosen[r] for r in ROLES)
        }

    @property
    def manifest(self) -> SplitManifest:
        """Split ``v1`` (the authors' partition) of the files present, with its ``sha256``."""
        return self._manifest

    def _load(self, sample_id: str) -> dict[str, Any]:
        files = self.files[sample_id]
        rgb, meta = read_raster(files.image, "rgb")
        height, width = rgb.shape[1:]
        dem, dem_meta = read_raster(files.dem, "gray")
        dem = dem[0]
        dem_on_grid = dem.shape == (height, width)
        if not dem_on_grid:
            dem = resample_to(dem, (height, width), files.dem)
        stored, _ = read_raster(files.mask, "gray")
        stored = stored[0]
        if stored.shape != (height, width):
            raise InvalidDataError(
                f"{files.mask} is {tuple(stored.shape)} (H, W) but its image {files.image} is "
                f"{(height, width)}; the mask must cover the image exactly."
            )
        # Assembled in numpy, then handed to torch once (see landbench.datasets.io on why).
        image = np.empty((4, height, width), dtype=np.float32)
        image[:3] = rgb
        image[3] = dem
        mask = mask_to_binary(stored, files.mask, values="0/1|0/255")
        sample: dict[str, Any] = {"image": torch.from_numpy(image), "mask": torch.from_numpy(mask)}
        geo = meta or (dem_meta if dem_on_grid else {})
        if geo:
            sample["crs"] = geo["crs"]
            sample["transform"] = geo["transform"]
        return sample

    @classmethod
    def verify(cls, root: str | os.PathLike[str]) -> VerificationReport:
        """Check a canonical Hokkaido folder against the authors' 39/14/15 partition.

        Reads every file; reports per-split counts, incomplete snippets, unreadable files, size
        mismatches, invalid masks and the DEM dtype and raw value range.
        """
        root = Path(root)
        if not (root / cls.directory).is_dir():
            raise DatasetNotFoundError(
                f"{root / cls.directory} does not exist. " + cls.how_to_get(root)
            )
        problems: list[str] = []
        files = cls.scan(root, problems=problems)
        manifest = SplitManifest(
            cls.name,
            cls.split_version,
            {s: [i for i, f in files.items() if f.split == s] for s in SPLITS},
        )
        counts = manifest.counts()
        count_problems = [
            f"{s}: {counts[s]} snippets, the authors' partition has {n}"
            for s, n in cls.official_counts.items()
            if counts[s] != n
        ]
        problems[:0] = count_problems
        dtypes: dict[str, int] = {}
        lo, hi = float("inf"), float("-inf")
        base = root / cls.directory
        for split in SPLITS:
            # Every raster present is read, in both formats, not only the ones loaded by default.
            by_id: dict[str, dict[str, list[Path]]] = {}
            for role in ROLES:
                folder = base / split / role
                for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                    if path.name.startswith("."):
                        continue
                    if not path.name.lower().endswith(RASTER_SUFFIXES):
                        problems.append(f"extra file (not a PNG or GeoTIFF): {path}")
                        continue
                    by_id.setdefault(path.stem, {}).setdefault(role, []).append(path)
            for roles in by_id.values():
                shape = None
                for role in ROLES:
                    for path in roles.get(role, []):
                        try:
                            array, meta = read_raster(path, "rgb" if role == "image" else "gray")
                        except LandbenchError as err:
                            problems.append(str(err))
                            continue
                        size = tuple(array.shape[1:])
                        if role == "image":
                            if shape is not None and size != shape:
                                problems.append(f"{path} is {size} but the other image is {shape}")
                            shape = shape or size
                            continue
                        if shape is not None and size != shape:
                            note = " (resampled when loading)" if role == "dem" else ""
                            problems.append(f"{path} is {size} but its image is {shape}{note}")
                        if role == "mask":
                            try:
                                mask_to_binary(array[0], path, values="0/1|0/255")
                            except LandbenchError as err:
                                problems.append(str(err))
                            continue
                        dtypes[array.dtype.name] = dtypes.get(array.dtype.name, 0) + 1
                        values = array.astype(np.float64)
                        valid = np.isfinite(values)
                        if meta.get("nodata") is not None:
                            valid &= values != meta["nodata"]  # real elevations only
                        if valid.any():
                            lo = min(lo, float(values[valid].min()))
                            hi = max(hi, float(values[valid].max()))
        return VerificationReport(
            dataset=cls.name,
            root=root,
            counts=counts,
            expected=dict(cls.official_counts),
            problems=problems,
            dem_dtypes=dtypes,
            dem_range=None if lo > hi else (lo, hi),
            manifest_sha256=manifest.sha256,
            split_counts=counts,
        )
