"""Bring your own data: a folder layout that ``landbench.load("folder", root=...)`` reads.

The layout (``landbench check-data ROOT`` says exactly what is wrong with a folder)::

    ROOT/
        bands.txt            one band name per line, in the order of the image's channels
                             (e.g. R, G, B or B2, B3, B4, B8); '#' starts a comment
        landbench.yaml       optional instead of bands.txt: ``bands: [R, G, B]``, and optionally
                             ``name: my-region`` (part of the split manifest) and
                             ``dem_nodata: -9999``
        images/<id>.tif      a GeoTIFF with every band (any dtype), or
        images/<id>.png      a PNG (grey, RGB or RGBA; 8 or 16 bit)
        dem/<id>.tif|png     optional: one single-band elevation raster per image, appended as
                             the band ``DEM`` (for RGB PNGs, which cannot hold the DEM)
        masks/<id>.png|tif   one per image, the image's size, 1 or 255 = landslide, 0 = not
                             (write an all-zero mask for a tile without landslides)
        splits.json          optional: ``{"train": [ids], "val": [ids], "test": [ids]}``

``<id>`` is the file name without its suffix; the same id names one sample across the folders.
Band names use landbench's vocabulary (:mod:`landbench.core.bands`: ``B4``/``B3``/``B2`` are
``R``/``G``/``B``, ``elevation`` is ``DEM``) so models trained on Bijie, Hokkaido or
Landslide4Sense meet your bands by name. Values stay as stored (cast to float32).

Without ``splits.json`` each id's split is drawn from the SHA-256 of ``"<name>/v1/<id>"``: the
first 64 bits as a fraction below 0.7 is train, below 0.8 val, else test
(:func:`landbench.datasets.splits.split_of_id`). The split of an id
therefore never depends on which other files are present.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from landbench.core.bands import band_indices
from landbench.core.errors import ConfigError, DatasetNotFoundError, InvalidDataError
from landbench.datasets.base import LandslideDataset
from landbench.datasets.io import RASTER_SUFFIXES, list_files, mask_to_binary, read_raster
from landbench.datasets.registry import register_dataset
from landbench.datasets.splits import SPLITS, SplitManifest, check_split, split_of_id

BANDS_FILE = "bands.txt"
CONFIG_FILE = "landbench.yaml"
SPLITS_FILE = "splits.json"
IMAGES, MASKS, DEM = "images", "masks", "dem"
FRACTIONS: dict[str, float] = {"train": 0.7, "val": 0.1, "test": 0.2}
"""Split fractions of the per-id hash assignment used when there is no ``splits.json``."""


@dataclass
class FolderLayout:
    """What the file names of a folder say, before any raster is decoded.

    Attributes:
        root: the folder.
        name: dataset name (from ``landbench.yaml``, default ``"folder"``).
        bands: band names of the images' channels, plus ``DEM`` when ``dem/`` exists.
        image_bands: how many of :attr:`bands` the image files hold.
        dem_nodata: the DEM's nodata value, if declared.
        images: id to image file.
        masks: id to mask file.
        dems: id to DEM file (empty without ``dem/``).
        splits: split to ids of samples that have an image and a mask.
        problems: every problem found in names, band file and split file.
    """

    root: Path
    name: str = "folder"
    bands: tuple[str, ...] = ()
    image_bands: int = 0
    dem_nodata: float | None = None
    images: dict[str, Path] = field(default_factory=dict)
    masks: dict[str, Path] = field(default_factory=dict)
    dems: dict[str, Path] = field(default_factory=dict)
    splits: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _read_config(root: Path, layout: FolderLayout) -> None:
    """Fill bands, name and DEM nodata from ``bands.txt`` or ``landbench.yaml``."""
    bands: list[str] | None = None
    config_path, bands_path = root / CONFIG_FILE, root / BANDS_FILE
    if config_path.is_file():
        import yaml

        try:
            config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            layout.problems.append(f"{config_path}: invalid YAML ({err}).")
            config = {}
        if not isinstance(config, Mapping):
            layout.problems.append(f"{config_path}: expected a mapping with a 'bands' list.")
            config = {}
        unknown = sorted(set(config) - {"bands", "name", "dem_nodata"})
        if unknown:
            layout.problems.append(
                f"{config_path}: unknown key(s) {unknown}; valid: bands, name, dem_nodata."
            )
        if "bands" in config:
            value = config["bands"]
            if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
                layout.problems.append(f"{config_path}: 'bands' must be a list of band names.")
            else:
                bands = value
        layout.name = str(config.get("name", layout.name))
        if config.get("dem_nodata") is not None:
            try:
                layout.dem_nodata = float(config["dem_nodata"])
            except (TypeError, ValueError):
                layout.problems.append(f"{config_path}: 'dem_nodata' must be a number.")
    if bands_path.is_file():
        lines = bands_path.read_text(encoding="utf-8").splitlines()
        names = [ln.split("#", 1)[0].strip() for ln in lines]
        if bands is not None:
            layout.problems.append(
                f"{bands_path} and the 'bands' of {config_path} both name the bands; keep one."
            )
        bands = [n for n in names if n]
    if bands is None:
        layout.problems.append(
            f"No band names: write {bands_path} (one name per line, in channel order, e.g. R, G, "
            f"B) or 'bands: [...]' in {config_path}."
        )
        return
    if not bands:
        layout.problems.append(f"{bands_path}: no band names in it.")
        return
    layout.image_bands = len(bands)
    if (root / DEM).is_dir():
        bands = [*bands, "DEM"]
    try:
        band_indices(bands, bands)  # refuses names repeated, also through aliases
    except ConfigError as err:
        layout.problems.append(f"{root}: {err}")
        return
    layout.bands = tuple(bands)


def _read_split_file(path: Path, layout: FolderLayout, ids: set[str]) -> None:
    """Fill ``layout.splits`` from ``splits.json``, listing every disagreement with the files."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        layout.problems.append(f"{path}: not valid JSON ({err}).")
        return
    if not isinstance(data, Mapping) or not all(
        isinstance(v, list) and all(isinstance(i, str) for i in v) for v in data.values()
    ):
        layout.problems.append(f'{path}: expected {{"train": [ids], "val": [...], ...}}.')
        return
    unknown = sorted(set(data) - set(SPLITS))
    if unknown:
        layout.problems.append(f"{path}: unknown split(s) {unknown}; valid: {list(SPLITS)}.")
    seen: dict[str, str] = {}
    for split in SPLITS:
        for sample_id in data.get(split, []):
            if sample_id in seen:
                layout.problems.append(
                    f"{path}: id {sample_id!r} is in both {seen[sample_id]} and {split}."
                )
                continue
            seen[sample_id] = split
            if sample_id not in ids:
                layout.problems.append(
                    f"{path}: id {sample_id!r} ({split}) has no file "
                    f"{layout.root / IMAGES / (sample_id + '.tif')} or .png."
                )
            else:
                layout.splits[split].append(sample_id)
    for sample_id in sorted(ids - set(seen)):
        layout.problems.append(
            f"{layout.images[sample_id]} is in no split of {path}; add {sample_id!r} to one."
        )


def scan_folder(root: str | os.PathLike[str]) -> FolderLayout:
    """Index a folder by file names (nothing decoded), collecting every naming problem.

    Args:
        root: the folder (see the module docstring for its layout).

    Returns:
        The :class:`FolderLayout`; its ``problems`` is empty when the names are consistent.

    Raises:
        DatasetNotFoundError: if ``root`` or ``root/images`` does not exist.
    """
    root = Path(root)
    if not (root / IMAGES).is_dir():
        raise DatasetNotFoundError(
            f"{root / IMAGES} does not exist: a folder dataset holds images/<id>.tif or .png, "
            f"masks/<id>.png and {BANDS_FILE} (see `python -m pydoc landbench.datasets.folder`)."
        )
    layout = FolderLayout(root)
    _read_config(root, layout)
    listed = {}
    for role in (IMAGES, MASKS, DEM):
        try:
            listed[role] = list_files(root / role, RASTER_SUFFIXES)
        except InvalidDataError as err:  # a.png and a.tif: two files, one id
            layout.problems.append(str(err))
            listed[role] = {}
    layout.images, layout.masks, layout.dems = listed[IMAGES], listed[MASKS], listed[DEM]
    if not layout.images:
        layout.problems.append(f"{root / IMAGES} holds no .tif, .tiff or .png file.")
    complete = set()
    for sample_id, image in sorted(layout.images.items()):
        if sample_id not in layout.masks:
            layout.problems.append(
                f"{image} has no mask: expected {root / MASKS / (sample_id + '.png')} (or .tif); "
                "write an all-zero mask for a tile without landslides."
            )
        elif (root / DEM).is_dir() and sample_id not in layout.dems:
            layout.problems.append(
                f"{image} has no DEM: expected {root / DEM / (sample_id + '.tif')} (or .png)."
            )
        else:
            complete.add(sample_id)
    for found in (layout.masks, layout.dems):
        for sample_id in sorted(set(found) - set(layout.images)):
            layout.problems.append(f"{found[sample_id]} has no image in {root / IMAGES}.")
    layout.splits = {s: [] for s in SPLITS}
    if (root / SPLITS_FILE).is_file():
        _read_split_file(root / SPLITS_FILE, layout, set(layout.images))
        layout.splits = {s: [i for i in v if i in complete] for s, v in layout.splits.items()}
    else:
        for sample_id in sorted(complete):
            split = split_of_id(layout.name, FolderDataset.split_version, sample_id, FRACTIONS)
            layout.splits[split].append(sample_id)
    return layout


def read_sample(layout: FolderLayout, sample_id: str) -> dict[str, Any]:
    """Read and check one sample: every band, its mask, and the georeference of a GeoTIFF.

    Returns:
        ``{"image": float32 [len(bands), H, W], "mask": int64 [H, W]}`` plus ``crs`` and
        ``transform`` when the image is a georeferenced GeoTIFF.

    Raises:
        InvalidDataError: naming the file, if it is unreadable, has another band count than the
            band file names, differs in size from its image, or holds mask values other than
            0 and 1 (or 0 and 255).
    """
    image_path = layout.images[sample_id]
    array, meta = read_raster(image_path)
    if array.shape[0] != layout.image_bands:
        raise InvalidDataError(
            f"{image_path} has {array.shape[0]} band(s) but {layout.root / BANDS_FILE} names "
            f"{layout.image_bands} ({', '.join(layout.bands[: layout.image_bands])})."
        )
    height, width = array.shape[1:]
    image = np.empty((len(layout.bands), height, width), dtype=np.float32)
    image[: layout.image_bands] = array
    if layout.dems:
        dem, _ = read_raster(layout.dems[sample_id], "gray")
        _check_size(layout.dems[sample_id], dem.shape[1:], image_path, (height, width))
        image[-1] = dem[0]
    mask_path = layout.masks[sample_id]
    stored, _ = read_raster(mask_path, "gray")
    _check_size(mask_path, stored.shape[1:], image_path, (height, width))
    mask = mask_to_binary(stored[0], mask_path, values="0/1|0/255")
    sample: dict[str, Any] = {"image": torch.from_numpy(image), "mask": torch.from_numpy(mask)}
    if meta.get("crs") is not None:
        sample["crs"], sample["transform"] = meta["crs"], meta["transform"]
    return sample


def _check_size(path: Path, shape: tuple[int, ...], image: Path, want: tuple[int, int]) -> None:
    if tuple(shape) != want:
        raise InvalidDataError(
            f"{path} is {tuple(shape)} (H, W) but its image {image} is {want}; they must cover "
            "the same pixels."
        )


def check_folder(root: str | os.PathLike[str]) -> tuple[FolderLayout, list[str]]:
    """Every problem of a folder dataset, each naming its file (reads every raster).

    Returns:
        ``(layout, problems)``; no problems means ``landbench.load("folder", root=root)`` reads
        every sample.

    Raises:
        DatasetNotFoundError: if ``root/images`` does not exist.
    """
    layout = scan_folder(root)
    problems = list(layout.problems)
    if layout.bands:
        for split in SPLITS:
            for sample_id in layout.splits[split]:
                try:
                    read_sample(layout, sample_id)
                except InvalidDataError as err:
                    problems.append(str(err))
    return layout, problems


@register_dataset
class FolderDataset(LandslideDataset):
    """A user's own landslide dataset in the landbench folder layout.

    The layout, in short (details in :mod:`landbench.datasets.folder`)::

        ROOT/bands.txt           band names, one per line, in channel order (or landbench.yaml)
        ROOT/images/<id>.tif     GeoTIFF with those bands (or images/<id>.png)
        ROOT/dem/<id>.tif        optional single-band elevation, appended as band "DEM"
        ROOT/masks/<id>.png      1 or 255 = landslide, 0 = background, the image's size
        ROOT/splits.json         optional {"train": [...], "val": [...], "test": [...]}

    Without ``splits.json``, each id goes to train/val/test (70/10/20 in expectation) by the
    hash of its name, whatever other files exist. Samples are ``{"image": float32 [C, H, W],
    "mask": int64 [H, W], "id": str}`` (plus ``crs`` and ``transform`` for GeoTIFFs), values as
    stored. Run ``landbench check-data ROOT`` to list every problem of a folder.

    Args:
        root: the folder.
        split: ``"train"``, ``"val"`` or ``"test"``.
        bands: bands to return, in order, by name (aliases accepted); None means all.
        transforms: a function applied to each sample dict.

    Raises:
        DatasetNotFoundError: if ``root/images`` does not exist.
        InvalidDataError: if the band file, the file names or the split file have problems (the
            message lists them; ``landbench check-data`` lists all), or when a sample's file is
            unreadable, of another band count or size, or its mask holds other values.

    Example:
        >>> ds = landbench.load("folder", root="my_region", split="test", bands=("R", "G", "B"))
    """

    name = "folder"
    title = "Folder dataset"
    split_version: ClassVar[str] = "v1"

    def __init__(
        self,
        root: str | os.PathLike[str] = "data",
        split: str = "train",
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        check_split(split)
        self.root = Path(root)
        self.layout = scan_folder(self.root)
        if self.layout.problems:
            shown = "\n  - ".join(self.layout.problems[:5])
            more = len(self.layout.problems) - 5
            raise InvalidDataError(
                f"{self.root} is not a valid landbench folder dataset:\n  - {shown}"
                + (f"\n  and {more} more" if more > 0 else "")
                + f"\nRun `landbench check-data {self.root}` to list every problem."
            )
        self.all_bands = self.layout.bands
        self.dem_nodata = self.layout.dem_nodata
        super().__init__(split=split, bands=bands, transforms=transforms)
        self._manifest = SplitManifest(self.layout.name, self.split_version, self.layout.splits)

    @property
    def manifest(self) -> SplitManifest:
        """The split manifest (from ``splits.json`` or the per-id hash), with its ``sha256``."""
        return self._manifest

    def _load(self, sample_id: str) -> dict[str, Any]:
        return read_sample(self.layout, sample_id)
