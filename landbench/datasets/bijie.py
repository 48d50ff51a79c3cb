"""The Bijie landslide dataset (Ji et al. 2020), read exactly as its archive lays it out.

TripleSat imagery (0.8 m, May-August 2018) of Bijie, Guizhou, China, with a DEM per tile. The
archive extracts to::

    root/Bijie-landslide-dataset/
        landslide/
            image/<stem>.png               RGB, 8-bit, variable non-square size
            dem/<stem>.png                 single band, 8- or 16-bit, raw values kept
            mask/<stem>.png                landslide = 255, background = 0, the image's size
            polygon_coordinate/<stem>.txt  the landslide's boundary in pixel coordinates
        non-landslide/
            image/<stem>.png
            dem/<stem>.png                 (no mask: the sample's mask is all zero)

Stems are a letter prefix and a number with gaps (``df003``, ``hz001``, ``ddfgf10157``); the same
stem names one sample across folders. The official release has 770 landslide and 2003
non-landslide samples. No segmentation split was published, so landbench defines one. Split
``v2`` (the default) places each stem by its own SHA-256 against 70/10/20 thresholds, per class
(:func:`landbench.datasets.splits.assign_by_hash`): a sample's split never depends on which other
files are present. Split ``v1`` (exact 70/10/20 counts per class by ranking the hashes,
:func:`~landbench.datasets.splits.assign_splits`) moved samples when files were added or removed;
it stays loadable with ``split_version="v1"`` to reproduce older results.

Known leakage risk: tiles are cut from a few regions and neighbouring tiles of one region fall in
different splits, so test scores are optimistic about a new region.

No licence is stated upstream; landbench does not re-host the data. Get it from
http://gpcv.whu.edu.cn/data/Bijie_pages.html.
"""

from __future__ import annotations

import os
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
from landbench.datasets.base import DemStats, RealLandslideDataset
from landbench.datasets.io import (
    list_files,
    mask_to_binary,
    png_header,
    read_png,
    resample_to,
)
from landbench.datasets.registry import register_dataset
from landbench.datasets.splits import SplitManifest, assign_by_hash, assign_splits

LANDSLIDE = "landslide"
NON_LANDSLIDE = "non-landslide"
CLASSES: tuple[str, ...] = (LANDSLIDE, NON_LANDSLIDE)

JI_2020 = """@article{ji2020bijie,
  author    = {Ji, Shunping and Yu, Dawen and Shen, Chaoyong and Li, Weile and Xu, Qiang},
  title     = {Landslide detection from an open satellite imagery and digital elevation model
               dataset using attention boosted convolutional neural networks},
  journal   = {Landslides},
  volume    = {17},
  number    = {6},
  pages     = {1337--1352},
  year      = {2020},
  doi       = {10.1007/s10346-020-01353-2}
}"""

SPLIT_RULES: dict[str, str] = {
    "v1": "ranked hash, exact 70/10/20 counts per class (moves samples when files change)",
    "v2": "per-id hash against 70/10/20 thresholds per class (a sample never moves)",
}
"""Bijie split versions and their rules (see :mod:`landbench.datasets.splits`)."""

_POLYGON_HEADER = ("landslide instance name:", "landslide instance polygon boundary coordinates")


@dataclass(frozen=True)
class BijieFiles:
    """The files of one Bijie sample.

    Attributes:
        label: ``"landslide"`` or ``"non-landslide"``.
        image: RGB PNG.
        dem: DEM PNG.
        mask: mask PNG (None for non-landslide samples).
        polygon: boundary text file (None when absent or for non-landslide samples).
    """

    label: str
    image: Path
    dem: Path
    mask: Path | None
    polygon: Path | None


def read_polygon(path: str | os.PathLike[str]) -> np.ndarray:
    """Parse a ``polygon_coordinate/<stem>.txt`` file.

    The file holds ``landslide instance name: <stem>``, then
    ``landslide instance polygon boundary coordinates(x,y):``, then one ``x y`` integer pixel
    pair per line (x = column, y = row). The ring must be closed (last point = first) and have
    at least three distinct vertices.

    Args:
        path: the text file.

    Returns:
        int64 array ``[K, 2]`` of ``(x, y)`` pixel coordinates, the closing point included.

    Raises:
        InvalidDataError: naming the file and line on any malformed content.
    """
    path = Path(path)
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines()]
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{path} does not exist.") from None
    except UnicodeDecodeError:
        raise InvalidDataError(
            f"{path} is not a text file; expected polygon coordinates."
        ) from None
    lines = [ln for ln in lines if ln]
    for i, start in enumerate(_POLYGON_HEADER):
        if len(lines) <= i or not lines[i].lower().startswith(start):
            raise InvalidDataError(
                f"{path}: line {i + 1} should start with {start!r}; not a Bijie polygon file."
            )
    points = []
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.replace(",", " ").split()
        try:
            if len(parts) != 2:
                raise ValueError
            points.append((int(float(parts[0])), int(float(parts[1]))))
        except ValueError:
            raise InvalidDataError(
                f"{path}: line {lineno} is {line!r}, expected two integers 'x y'."
            ) from None
    ring = np.asarray(points, dtype=np.int64).reshape(-1, 2)
    if len(ring) < 4 or len({tuple(p) for p in ring.tolist()}) < 3:
        raise InvalidDataError(
            f"{path}: a polygon needs at least 3 distinct vertices and a closing point, "
            f"found {len(ring)} point(s)."
        )
    if not (ring[0] == ring[-1]).all():
        raise InvalidDataError(
            f"{path}: the ring is not closed (first point {ring[0].tolist()}, last "
            f"{ring[-1].tolist()})."
        )
    return ring


@register_dataset
class Bijie(RealLandslideDataset):
    """Bijie landslide dataset (Ji et al. 2020): RGB + DEM tiles with landslide masks.

    Each sample is ``{"image": float32 [C, H, W], "mask": int64 [H, W], "id": str}`` with the
    requested bands (R, G, B as 0-255 digital numbers, DEM as the raw values of its PNG), tiles
    at their native, variable size. With ``polygons=True`` landslide samples also hold
    ``"polygon"``: int64 ``[K, 2]`` ``(x, y)`` boundary vertices (an empty ``[0, 2]`` tensor for
    non-landslide samples).

    Args:
        root: folder holding ``Bijie-landslide-dataset/`` (or the archive ``filename``).
        split: ``"train"``, ``"val"`` or ``"test"``.
        bands: bands to return, in order, from ``("R", "G", "B", "DEM")`` (aliases accepted).
        transforms: a function applied to each sample dict.
        download: fetch the archive if absent (only when :attr:`url` is known; otherwise the
            error says where to get it).
        checksum: verify the archive's md5 before extracting it.
        polygons: add each landslide's boundary as ``sample["polygon"]``.
        split_version: ``"v2"`` (default, per-id hash) or ``"v1"`` (ranked hash, for older
            results); see :data:`SPLIT_RULES`.

    Raises:
        DatasetNotFoundError: if the files are absent (the message says where to get them).
        InvalidDataError: if an image lacks its DEM or mask, or two classes share a stem.

    Example:
        >>> ds = Bijie(root="data", split="test")
        >>> ds.manifest.sha256  # cite it with your results
    """

    name = "bijie"
    title = "Bijie"
    split_version: ClassVar[str] = "v2"
    split_versions: ClassVar[tuple[str, ...]] = tuple(SPLIT_RULES)
    filename: ClassVar[str] = "Bijie-landslide-dataset.zip"
    directory: ClassVar[str] = "Bijie-landslide-dataset"
    homepage: ClassVar[str] = "http://gpcv.whu.edu.cn/data/Bijie_pages.html"
    official_counts: ClassVar[dict[str, int]] = {LANDSLIDE: 770, NON_LANDSLIDE: 2003}
    fractions: ClassVar[dict[str, float]] = {"train": 0.7, "val": 0.1, "test": 0.2}
    """Share of each class in train, val and test."""
    dem_units: ClassVar[str] = (
        "raw PNG values (8- or 16-bit; units and offset undocumented upstream); dem_relative "
        "subtracts each tile's mean raw value"
    )
    citation: ClassVar[str] = JI_2020
    events: ClassVar[tuple[str, ...]] = ("bijie-2018",)
    """Landslide events the masks map: an inventory of Bijie imaged in 2018 (many triggers)."""

    def __init__(
        self,
        root: str | os.PathLike[str] = "data",
        split: str = "train",
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        download: bool = False,
        checksum: bool = False,
        polygons: bool = False,
        split_version: str | None = None,
    ) -> None:
        version = self.split_version if split_version is None else split_version
        if version not in self.split_versions:
            raise ConfigError(
                f"Unknown Bijie split_version {version!r}; valid: {', '.join(self.split_versions)}."
            )
        super().__init__(root, split, bands, transforms, download, checksum)
        self.split_version = version
        self.polygons = polygons
        self.files = self.scan(self.root, strict=True)
        self._manifest = self._build_manifest(self.files, version)
        self._warn_if_partial(self.class_counts(self.files))

    @classmethod
    def how_to_get(cls, root: str | os.PathLike[str]) -> str:
        """Instructions for obtaining the files and placing them under ``root``."""
        return (
            f"Download the Bijie landslide dataset from {cls.homepage} (Ji et al. 2020), then "
            f"extract it so that {Path(root) / cls.directory / 'landslide' / 'image'} exists, or "
            f"save the archive as {Path(root) / cls.filename} and load again to extract it."
        )

    @classmethod
    def scan(
        cls, root: str | os.PathLike[str], strict: bool = True, problems: list[str] | None = None
    ) -> dict[str, BijieFiles]:
        """Index the sample files under ``root`` by stem, without decoding anything.

        Args:
            root: folder holding ``Bijie-landslide-dataset/``.
            strict: raise on the first image without its DEM or mask; otherwise skip that
                sample and append a line to ``problems``.
            problems: collects the issues found (orphan DEMs, masks and polygons too).

        Returns:
            Stem to :class:`BijieFiles`, sorted by stem.

        Raises:
            DatasetNotFoundError: if an image folder is absent.
            InvalidDataError: in strict mode, on a missing DEM or mask or a stem in both classes.
        """
        base = Path(root) / cls.directory
        problems = [] if problems is None else problems

        def fail(message: str) -> None:
            if strict:
                raise InvalidDataError(message)
            problems.append(message)

        out: dict[str, BijieFiles] = {}
        for label in CLASSES:
            folder = base / label
            image_dir = folder / "image"
            if not image_dir.is_dir():
                raise DatasetNotFoundError(
                    f"{image_dir} does not exist: {base} is not a complete Bijie folder. "
                    + cls.how_to_get(root)
                )
            images = list_files(image_dir)
            dems = list_files(folder / "dem")
            masks = list_files(folder / "mask") if label == LANDSLIDE else {}
            polys = (
                list_files(folder / "polygon_coordinate", (".txt",)) if label == LANDSLIDE else {}
            )
            for stem in sorted(images):
                if stem not in dems:
                    fail(
                        f"{images[stem]} has no DEM: expected {folder / 'dem' / (stem + '.png')}. "
                        "Re-extract the archive or remove the image."
                    )
                    continue
                if label == LANDSLIDE and stem not in masks:
                    fail(
                        f"{images[stem]} has no mask: expected "
                        f"{folder / 'mask' / (stem + '.png')}. Re-extract the archive or remove "
                        "the image."
                    )
                    continue
                if stem in out:
                    fail(
                        f"{out[stem].image} and {images[stem]} share the stem {stem!r} in both "
                        "classes; remove one."
                    )
                    continue
                out[stem] = BijieFiles(
                    label, images[stem], dems[stem], masks.get(stem), polys.get(stem)
                )
            for kind, found in (("DEM", dems), ("mask", masks), ("polygon", polys)):
                for stem in sorted(set(found) - set(images)):
                    problems.append(f"extra {kind} without an image: {found[stem]}")
            if label == LANDSLIDE:
                for stem in sorted(set(images) - set(polys)):
                    problems.append(
                        f"missing polygon: {folder / 'polygon_coordinate' / (stem + '.txt')}"
                    )
        return dict(sorted(out.items()))

    @staticmethod
    def class_counts(files: dict[str, BijieFiles]) -> dict[str, int]:
        """Number of samples per class."""
        counts = dict.fromkeys(CLASSES, 0)
        for f in files.values():
            counts[f.label] += 1
        return counts

    @classmethod
    def _build_manifest(
        cls, files: dict[str, BijieFiles], version: str | None = None
    ) -> SplitManifest:
        version = cls.split_version if version is None else version
        by_class = {c: [s for s, f in files.items() if f.label == c] for c in CLASSES}
        assign = assign_splits if version == "v1" else assign_by_hash
        return SplitManifest(cls.name, version, assign(cls.name, version, by_class, cls.fractions))

    @property
    def manifest(self) -> SplitManifest:
        """The split of the files present: sorted stems per split, with its ``sha256``."""
        return self._manifest

    def is_landslide(self, sample_id: str) -> bool:
        """Whether ``sample_id`` comes from the ``landslide`` folder."""
        return self.files[sample_id].label == LANDSLIDE

    def polygon(self, sample_id: str) -> np.ndarray:
        """The boundary ``[K, 2]`` (x, y) of a landslide sample; ``[0, 2]`` for a negative one.

        Raises:
            DatasetNotFoundError: if a landslide sample has no polygon file.
        """
        files = self.files[sample_id]
        if files.label != LANDSLIDE:
            return np.zeros((0, 2), dtype=np.int64)
        if files.polygon is None:
            expected = self.root / self.directory / LANDSLIDE / "polygon_coordinate"
            raise DatasetNotFoundError(f"{expected / (sample_id + '.txt')} does not exist.")
        return read_polygon(files.polygon)

    def _load(self, sample_id: str) -> dict[str, Any]:
        files = self.files[sample_id]
        rgb = read_png(files.image, "rgb")
        height, width = rgb.shape[1:]
        dem = read_png(files.dem, "gray")[0]
        if dem.shape != (height, width):
            dem = resample_to(dem, (height, width), files.dem)
        if files.mask is None:
            mask = np.zeros((height, width), dtype=np.int64)
        else:
            stored = read_png(files.mask, "gray")[0]
            if stored.shape != (height, width):
                raise InvalidDataError(
                    f"{files.mask} is {tuple(stored.shape)} (H, W) but its image {files.image} is "
                    f"{(height, width)}; the mask must cover the image exactly."
                )
            mask = mask_to_binary(stored, files.mask)
        # One float32 buffer filled band by band, in numpy (see landbench.datasets.io on why).
        image = np.empty((4, height, width), dtype=np.float32)
        image[:3] = rgb
        image[3] = dem
        sample: dict[str, Any] = {"image": torch.from_numpy(image), "mask": torch.from_numpy(mask)}
        if self.polygons:
            sample["polygon"] = torch.from_numpy(self.polygon(sample_id))
        return sample

    @classmethod
    def _inspect(
        cls, root: Path, problems: list[str]
    ) -> tuple[dict[str, int], SplitManifest, DemStats]:
        """Read every Bijie file and report what is wrong.

        Finds images without DEM or mask, orphans, unreadable files, size mismatches, mask values
        outside {0, 255} and malformed polygons; records the DEM dtype and raw value range.
        """
        files = cls.scan(root, strict=False, problems=problems)
        dem_stats = DemStats()
        for f in files.values():
            try:
                rgb = read_png(f.image, "rgb")
                shape = tuple(rgb.shape[1:])
                dtype = png_header(f.dem).dtype
                dem = read_png(f.dem, "gray")
                dem_stats.add(dtype, float(dem.min()), float(dem.max()))
                if tuple(dem.shape[1:]) != shape:
                    problems.append(
                        f"{f.dem} is {tuple(dem.shape[1:])} but its image is {shape} "
                        "(resampled when loading)"
                    )
                if f.mask is not None:
                    mask = read_png(f.mask, "gray")[0]
                    if tuple(mask.shape) != shape:
                        problems.append(f"{f.mask} is {tuple(mask.shape)} but its image is {shape}")
                    else:
                        mask_to_binary(mask, f.mask)
                if f.polygon is not None:
                    read_polygon(f.polygon)
            except LandbenchError as err:
                problems.append(str(err))
        return cls.class_counts(files), cls._build_manifest(files), dem_stats
