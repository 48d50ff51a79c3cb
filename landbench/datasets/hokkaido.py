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

The import step that writes this layout from the upstream download is
:mod:`landbench.datasets.hokkaido_import`.
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
from landbench.datasets.hokkaido_import import (
    DIRECTORY,
    ROLES,
    import_hokkaido,
    plan_import,
    write_import,
)
from landbench.datasets.io import (
    GEOTIFF_SUFFIXES,
    RASTER_SUFFIXES,
    list_files,
    mask_to_binary,
    read_raster,
    resample_to,
)
from landbench.datasets.registry import register_dataset
from landbench.datasets.splits import SPLITS, SplitManifest

FORMATS: tuple[str, ...] = ("auto", "tif", "png")
_ROLE_NAMES = {"image": "an image", "dem": "a DEM", "mask": "a mask"}

LISSAK_CORPETTI_2024 = """@inproceedings{lissak2024hokkaido,
  author    = {Lissak, Candide and Corpetti, Thomas},
  title     = {Fusion Network and Open Access Dataset for Landslide Detection: a Comparative
               Analysis on {Bijie} and {Hokkaido} Datasets},
  booktitle = {IGARSS 2024 - 2024 IEEE International Geoscience and Remote Sensing Symposium},
  address   = {Athens, Greece},
  pages     = {4578--4580},
  year      = {2024},
  doi       = {10.1109/IGARSS53475.2024.10641385}
}"""


@dataclass(frozen=True)
class HokkaidoFiles:
    """The files of one Hokkaido snippet in the canonical layout (chosen formats)."""

    split: str
    image: Path
    dem: Path
    mask: Path


@register_dataset
class Hokkaido(RealLandslideDataset):
    """Hokkaido landslide dataset (Lissak & Corpetti 2024): Sentinel-2 RGB + GSI DEM snippets.

    Each sample is ``{"image": float32 [C, H, W], "mask": int64 [H, W], "id": str}``, values
    raw (8-bit PNG 0-255 or the GeoTIFF's digital numbers; DEM in metres), plus ``crs`` and
    ``transform`` when read from a GeoTIFF. Split ``v1`` is the authors' partition: each
    snippet's split is the folder it is in, whatever other files are present.

    Args:
        root: folder holding ``Hokkaido/`` in the canonical layout (see the module docstring).
        split: ``"train"``, ``"val"`` or ``"test"``.
        bands: bands to return, in order, from ``("R", "G", "B", "DEM")`` (aliases accepted:
            Sentinel-2 ``B4``, ``B3``, ``B2``).
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
    title = "Hokkaido"
    filename: ClassVar[str] = "HokkaidoLandslide_dataset.zip"
    directory: ClassVar[str] = DIRECTORY
    homepage: ClassVar[str] = "https://github.com/karstCand/HokkaidoLandslide_dataset"
    official_counts: ClassVar[dict[str, int]] = {"train": 39, "val": 14, "test": 15}
    """The authors' partition (the paper says 40 / 15 / 20)."""
    count_unit: ClassVar[str] = "snippets"
    dem_nodata: ClassVar[float | None] = -9999.0
    """Nodata value of the GSI 10 m DEM: kept raw in samples, masked by data modules and models."""
    dem_units: ClassVar[str] = (
        "metres above sea level (GSI 10 m DEM, -9999 = nodata); dem_relative subtracts each "
        "tile's mean elevation over valid cells"
    )
    citation: ClassVar[str] = LISSAK_CORPETTI_2024
    events: ClassVar[tuple[str, ...]] = ("iburi-2018",)
    """Landslide events the masks map (datasets sharing one are not independent)."""

    def __init__(
        self,
        root: str | os.PathLike[str] = "data",
        split: str = "train",
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        download: bool = False,
        checksum: bool = False,
        image_format: str = "png",
        dem_format: str = "auto",
        mask_format: str = "auto",
    ) -> None:
        formats = {"image": image_format, "dem": dem_format, "mask": mask_format}
        for role, fmt in formats.items():
            if fmt not in FORMATS:
                raise ConfigError(f"Unknown {role}_format {fmt!r}; valid: {', '.join(FORMATS)}.")
        super().__init__(root, split, bands, transforms, download, checksum)
        self.files = self.scan(self.root, formats)
        self._manifest = self._build_manifest(self.files)
        self._warn_if_partial(self._manifest.counts())

    def _importer(self) -> Callable[[Path, Path], None]:
        """The upstream archive has its own layout: place its files by role, split and id."""
        return lambda extracted, staging: write_import(*plan_import(extracted), staging)

    @classmethod
    def import_files(cls, source: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
        """Import an extracted upstream folder: :func:`~.hokkaido_import.import_hokkaido`."""
        return import_hokkaido(source, root)

    @classmethod
    def _build_manifest(cls, files: dict[str, HokkaidoFiles]) -> SplitManifest:
        return SplitManifest(
            cls.name,
            cls.split_version,
            {s: [i for i, f in files.items() if f.split == s] for s in SPLITS},
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
    def _inspect(
        cls, root: Path, problems: list[str]
    ) -> tuple[dict[str, int], SplitManifest, DemStats]:
        """Read every raster present, in both formats, not only the ones loaded by default.

        Reports incomplete snippets, unreadable files, size mismatches and invalid masks, and
        records the DEM dtype and raw value range (nodata cells left out).
        """
        files = cls.scan(root, problems=problems)
        manifest = cls._build_manifest(files)
        dem_stats = DemStats()
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
                        values = array.astype(np.float64)
                        valid = np.isfinite(values)
                        if meta.get("nodata") is not None:
                            valid &= values != meta["nodata"]  # real elevations only
                        if valid.any():
                            low, high = values[valid].min(), values[valid].max()
                            dem_stats.add(array.dtype.name, float(low), float(high))
                        else:
                            dem_stats.add(array.dtype.name, float("inf"), float("-inf"))
        return manifest.counts(), manifest, dem_stats
