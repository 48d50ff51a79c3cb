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
non-landslide samples. No segmentation split was published, so landbench defines split ``v1``:
each class is split 70/10/20 into train/val/test by :func:`landbench.datasets.splits.assign_splits`
(a pure function of the stems, exact counts per class).

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

from landbench.core.errors import DatasetNotFoundError, InvalidDataError, LandbenchError
from landbench.datasets import download as dl
from landbench.datasets.base import (
    ALL_BANDS,
    LandslideDataset,
    VerificationReport,
    warn_once,
)
from landbench.datasets.io import (
    list_files,
    mask_to_binary,
    png_header,
    read_png,
    resample_to,
)
from landbench.datasets.splits import SplitManifest, assign_splits

LANDSLIDE = "landslide"
NON_LANDSLIDE = "non-landslide"
CLASSES: tuple[str, ...] = (LANDSLIDE, NON_LANDSLIDE)

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


class Bijie(LandslideDataset):
    """Bijie landslide dataset (Ji et al. 2020): RGB + DEM tiles with landslide masks.

    Each sample is ``{"image": float32 [C, H, W], "mask": int64 [H, W], "id": str}`` with the
    requested bands (R, G, B as 0-255 digital numbers, DEM as the raw values of its PNG), tiles
    at their native, variable size. With ``polygons=True`` landslide samples also hold
    ``"polygon"``: int64 ``[K, 2]`` ``(x, y)`` boundary vertices (an empty ``[0, 2]`` tensor for
    non-landslide samples).

    Args:
        root: folder holding ``Bijie-landslide-dataset/`` (or the archive ``filename``).
        split: ``"train"``, ``"val"`` or ``"test"`` of split ``v1``.
        bands: bands to return, in order, from ``("R", "G", "B", "DEM")``.
        transforms: a function applied to each sample dict.
        download: fetch the archive if absent (only when :attr:`url` is known; otherwise the
            error says where to get it).
        checksum: verify the archive's md5 before extracting it.
        polygons: add each landslide's boundary as ``sample["polygon"]``.

    Raises:
        DatasetNotFoundError: if the files are absent (the message says where to get them).
        InvalidDataError: if an image lacks its DEM or mask, or two classes share a stem.

    Example:
        >>> ds = Bijie(root="data", split="test")
        >>> ds.manifest.sha256  # cite it with your results
    """

    name = "bijie"
    url: ClassVar[str | None] = None
    """Direct archive URL; None because upstream offers none with a stable checksum."""
    md5: ClassVar[str | None] = None
    filename: ClassVar[str] = "Bijie-landslide-dataset.zip"
    directory: ClassVar[str] = "Bijie-landslide-dataset"
    homepage: ClassVar[str] = "http://gpcv.whu.edu.cn/data/Bijie_pages.html"
    official_counts: ClassVar[dict[str, int]] = {LANDSLIDE: 770, NON_LANDSLIDE: 2003}
    fractions: ClassVar[dict[str, float]] = {"train": 0.7, "val": 0.1, "test": 0.2}

    def __init__(
        self,
        root: str | os.PathLike[str] = "data",
        split: str = "train",
        bands: Sequence[str] = ALL_BANDS,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        download: bool = False,
        checksum: bool = False,
        polygons: bool = False,
    ) -> None:
        super().__init__(split=split, bands=bands, transforms=transforms)
        self.root = Path(root)
        self.download = download
        self.checksum = checksum
        self.polygons = polygons
        self._verify()
        self.files = self.scan(self.root, strict=True)
        self._manifest = self._build_manifest(self.files)
        counts = self.class_counts(self.files)
        if counts != self.official_counts:
            warn_once(
                (self.name, str(self.root.resolve())),
                f"Bijie in {self.root / self.directory} has {counts[LANDSLIDE]} landslide and "
                f"{counts[NON_LANDSLIDE]} non-landslide samples; the official release has "
                f"{self.official_counts[LANDSLIDE]} and {self.official_counts[NON_LANDSLIDE]}. "
                "Loading what is there; its split manifest differs from the official one. Run "
                f"`landbench datasets verify bijie --root {self.root}` for details.",
            )

    @classmethod
    def how_to_get(cls, root: str | os.PathLike[str]) -> str:
        """Instructions for obtaining the files and placing them under ``root``."""
        return (
            f"Download the Bijie landslide dataset from {cls.homepage} (Ji et al. 2020), then "
            f"extract it so that {Path(root) / cls.directory / 'landslide' / 'image'} exists, or "
            f"save the archive as {Path(root) / cls.filename} and load again to extract it."
        )

    def _verify(self) -> None:
        dl.prepare(
            self.root,
            self.directory,
            self.filename,
            self.url,
            self.md5,
            download_allowed=self.download,
            checksum=self.checksum,
            how_to_get=self.how_to_get(self.root),
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
    def _build_manifest(cls, files: dict[str, BijieFiles]) -> SplitManifest:
        by_class = {c: [s for s, f in files.items() if f.label == c] for c in CLASSES}
        splits = assign_splits(cls.name, cls.split_version, by_class, cls.fractions)
        return SplitManifest(cls.name, cls.split_version, splits)

    @property
    def manifest(self) -> SplitManifest:
        """Split ``v1`` of the files present: sorted stems per split, with its ``sha256``."""
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
    def verify(cls, root: str | os.PathLike[str]) -> VerificationReport:
        """Check a Bijie folder against the official release, reading every file.

        Reports per-class counts against 770 + 2003, images without DEM or mask, DEMs, masks and
        polygons without an image, unreadable files, size mismatches, mask values outside
        {0, 255}, malformed polygons, and the stored DEM dtype and raw value range.

        Raises:
            DatasetNotFoundError: if the folder is absent.
        """
        root = Path(root)
        if not (root / cls.directory).is_dir():
            raise DatasetNotFoundError(
                f"{root / cls.directory} does not exist. " + cls.how_to_get(root)
            )
        problems: list[str] = []
        files = cls.scan(root, strict=False, problems=problems)
        counts = cls.class_counts(files)
        count_problems = []
        for label in CLASSES:
            diff = counts[label] - cls.official_counts[label]
            if diff:
                word = "more" if diff > 0 else "fewer"
                count_problems.append(
                    f"{label}: {counts[label]} samples, {abs(diff)} {word} than the official "
                    f"{cls.official_counts[label]}"
                )
        problems[:0] = count_problems
        dtypes: dict[str, int] = {}
        lo, hi = float("inf"), float("-inf")
        for f in files.values():
            try:
                rgb = read_png(f.image, "rgb")
                shape = tuple(rgb.shape[1:])
                dtype = png_header(f.dem).dtype
                dem = read_png(f.dem, "gray")
                dtypes[dtype] = dtypes.get(dtype, 0) + 1
                lo, hi = min(lo, float(dem.min())), max(hi, float(dem.max()))
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
        manifest = cls._build_manifest(files)
        return VerificationReport(
            dataset=cls.name,
            root=root,
            counts=counts,
            expected=dict(cls.official_counts),
            problems=problems,
            dem_dtypes=dtypes,
            dem_range=None if lo > hi else (lo, hi),
            manifest_sha256=manifest.sha256,
            split_counts=manifest.counts(),
        )
