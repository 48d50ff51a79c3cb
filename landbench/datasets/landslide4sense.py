"""The Landslide4Sense 2022 dataset (Ghorbanzadeh et al., IEEE TGRS 2022), read as released.

128 x 128 patches of 14 bands at about 10 m from four landslide events: Iburi (Hokkaido, Japan)
2018, Kodagu (Karnataka, India) 2018, Gorkha (Nepal) 2015 and Taiwan 2009. The release with
every label (Zenodo record 10463239, January 2024; mirrored on the Hugging Face Hub as
``ibm-nasa-geospatial/Landslide4sense``) extracts to::

    root/
        TrainData/img/image_<n>.h5    key "img":  float64 (128, 128, 14), H x W x bands
        TrainData/mask/mask_<n>.h5    key "mask": uint8 (128, 128), 1 = landslide, 0 = not
        ValidData/img/image_<n>.h5    (and ValidData/mask/mask_<n>.h5)
        TestData/img/image_<n>.h5     (and TestData/mask/mask_<n>.h5)

Bands, in file order: Sentinel-2 B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12 (no B8A),
then ALOS PALSAR slope and DEM. Upstream already divided each band by a per-band constant;
landbench keeps those values (cast to float32, nothing rescaled), so the terrain bands are not in
degrees or metres. About 2% of the pixels are landslide; some patches have none.

Split ``v1`` is the official competition split, entry for entry: the lists
``dataset/{train,valid,test}.txt`` of the competition repository (iarai/Landslide4Sense-2022)
with 3799 / 245 / 800 patches, shipped as package data (``landslide4sense_v1.json``). Sample ids
are the upstream stem prefixed by the landbench split (``train_image_1``, ``val_image_1``,
``test_image_1``), because every split folder numbers its patches from 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from landbench.core.errors import DatasetNotFoundError, InvalidDataError
from landbench.datasets import download as dl
from landbench.datasets.base import DemStats, RealLandslideDataset, warn_once
from landbench.datasets.io import list_files
from landbench.datasets.registry import register_dataset
from landbench.datasets.splits import SPLITS, SplitManifest

GHORBANZADEH_2022 = """@article{ghorbanzadeh2022landslide4sense,
  author    = {Ghorbanzadeh, Omid and Xu, Yonghao and Ghamisi, Pedram and Kopp, Michael and
               Kreil, David},
  title     = {{Landslide4Sense}: Reference Benchmark Data and Deep Learning Models for Landslide
               Detection},
  journal   = {IEEE Transactions on Geoscience and Remote Sensing},
  volume    = {60},
  pages     = {1--17},
  articleno = {5633017},
  year      = {2022},
  doi       = {10.1109/TGRS.2022.3215209}
}"""


@dataclass(frozen=True)
class PatchFiles:
    """The two files of one Landslide4Sense patch.

    Attributes:
        image: ``<Split>Data/img/image_<n>.h5``.
        mask: ``<Split>Data/mask/mask_<n>.h5``.
    """

    image: Path
    mask: Path


@cache
def official_files() -> dict[str, tuple[str, ...]]:
    """The official split v1: split name to the upstream list entries (``TrainData/img/...``)."""
    text = (
        resources.files("landbench.datasets")
        .joinpath("landslide4sense_v1.json")
        .read_text(encoding="utf-8")
    )
    return {s: tuple(v) for s, v in json.loads(text)["files"].items()}


def sample_id(split: str, entry: str) -> str:
    """The landbench id of an upstream entry: ``TrainData/img/image_7.h5`` is ``train_image_7``."""
    return f"{split}_{Path(entry).stem}"


def read_h5(path: Path, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Read dataset ``key`` of an HDF5 file and check its shape.

    Args:
        path: the ``.h5`` file.
        key: ``"img"`` or ``"mask"``.
        shape: the shape the release uses.

    Returns:
        The array, in the file's dtype.

    Raises:
        InvalidDataError: naming the file, if it is not readable HDF5, lacks ``key`` or has
            another shape.
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if key not in f:
                raise InvalidDataError(
                    f"{path} has no dataset {key!r} (it holds {sorted(f.keys())}); is it a "
                    "Landslide4Sense file?"
                )
            array = f[key][()]
    except OSError as err:  # h5py reports truncated or non-HDF5 files as OSError
        raise InvalidDataError(
            f"{path} is not a readable HDF5 file ({err}); re-extract or re-download it."
        ) from None
    if array.shape != shape:
        raise InvalidDataError(
            f"{path}: {key!r} has shape {array.shape}, expected {shape}; not a Landslide4Sense "
            "patch."
        )
    return array


@register_dataset
class Landslide4Sense(RealLandslideDataset):
    """Landslide4Sense 2022: 14-band Sentinel-2 + ALOS PALSAR patches with landslide masks.

    Each sample is ``{"image": float32 [C, 128, 128], "mask": int64 [128, 128], "id": str}``
    with the requested bands in the requested order, values as the files hold them (upstream
    scaled, cast from float64). ``bands`` names bands as :attr:`all_bands` does, or by alias
    (``"R", "G", "B"`` are ``B4, B3, B2``; ``"elevation"`` is ``DEM``).

    Args:
        root: folder holding ``TrainData/``, ``ValidData/`` and ``TestData/`` (or their archives
            ``TrainData.zip`` ...).
        split: ``"train"``, ``"val"`` or ``"test"`` of split ``v1`` (the competition's split).
        bands: bands to return, in order (aliases accepted); None means all 14.
        transforms: a function applied to each sample dict.
        download: fetch missing split archives (only where a checksum is known: see :attr:`md5s`).
        checksum: verify an archive found in ``root`` against :attr:`md5s` before extracting it.

    Raises:
        DatasetNotFoundError: if the requested split's folder is absent (the message says where to
            get it).
        InvalidDataError: when a sample's file is corrupt or of the wrong shape (naming the file).

    Example:
        >>> ds = Landslide4Sense(root="data/l4s", split="val", bands=("R", "G", "B", "DEM"))
        >>> ds[0]["image"].shape
        torch.Size([4, 128, 128])
    """

    name = "landslide4sense"
    all_bands: ClassVar[tuple[str, ...]] = (
        "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12", "slope", "DEM",
    )  # fmt: skip
    """File band order: Sentinel-2 B1-B12 without B8A, then ALOS PALSAR slope and DEM."""
    rgb_bands: ClassVar[tuple[str, ...]] = ("B4", "B3", "B2")
    """Sentinel-2 red, green, blue."""
    terrain_bands: ClassVar[tuple[str, ...]] = ("slope", "DEM")
    """ALOS PALSAR terrain bands, in the upstream scaling (not degrees, not metres)."""
    patch_size: ClassVar[int] = 128
    split_folders: ClassVar[dict[str, str]] = {
        "train": "TrainData",
        "val": "ValidData",
        "test": "TestData",
    }
    official_counts: ClassVar[dict[str, int]] = {"train": 3799, "val": 245, "test": 800}
    regions: ClassVar[tuple[str, ...]] = (
        "Iburi (Hokkaido, Japan), 2018 earthquake",
        "Kodagu (Karnataka, India), 2018 monsoon rainfall",
        "Gorkha (Nepal), 2015 earthquake",
        "Taiwan, 2009 typhoon Morakot",
    )
    title = "Landslide4Sense"
    count_unit: ClassVar[str] = "patches"
    directory: ClassVar[str] = "."
    """The split folders (TrainData/, ValidData/, TestData/) lie directly under ``root``."""
    filename: ClassVar[str] = "TrainData.zip"
    """The first split's archive; each split folder has its own (see :attr:`urls`)."""
    dem_units: ClassVar[str] = (
        "upstream-scaled ALOS PALSAR elevation (divided by a per-band constant, not metres); "
        "dem_relative subtracts each tile's mean of these values"
    )
    homepage: ClassVar[str] = "https://github.com/iarai/Landslide4Sense-2022"
    zenodo: ClassVar[str] = "https://zenodo.org/records/10463239"
    """The release with every label (test masks included), January 2024."""
    hf_mirror: ClassVar[str] = "https://huggingface.co/datasets/ibm-nasa-geospatial/Landslide4sense"
    urls: ClassVar[dict[str, str]] = {
        s: f"https://zenodo.org/records/10463239/files/{f}.zip?download=1"
        for s, f in split_folders.items()
    }
    """One archive per split folder on Zenodo (the names a download would fetch)."""
    md5s: ClassVar[dict[str, str | None]] = {"train": None, "val": None, "test": None}
    """Archive md5s. None: landbench has no checksum it could verify offline, so it refuses to
    download and says where to get the files (fill these in from the Zenodo record to enable
    ``download=True``)."""
    license: ClassVar[str] = (
        "MIT (stated by the competition repository iarai/Landslide4Sense-2022 and the Hugging "
        "Face mirror); check the Zenodo record's terms before redistributing."
    )
    citation: ClassVar[str] = GHORBANZADEH_2022
    events: ClassVar[tuple[str, ...]] = ("iburi-2018", "kodagu-2018", "gorkha-2015", "taiwan-2009")
    """Landslide events the masks map, as :attr:`regions` (Iburi is Hokkaido's event too)."""

    def __init__(
        self,
        root: str | os.PathLike[str] = "data",
        split: str = "train",
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        download: bool = False,
        checksum: bool = False,
    ) -> None:
        super().__init__(root, split, bands, transforms, download, checksum)
        by_split, missing, extra = self.scan(self.root)
        self.files: dict[str, PatchFiles] = {i: f for v in by_split.values() for i, f in v.items()}
        """Sample id (of every split) to its two files."""
        self._manifest = SplitManifest(
            self.name, self.split_version, {s: list(f) for s, f in by_split.items()}
        )
        if any(missing.values()) or extra:
            lost = ", ".join(f"{s} {n}" for s, n in missing.items() if n)
            warn_once(
                (self.name, str(self.root.resolve())),
                f"Landslide4Sense in {self.root} lacks {sum(missing.values())} of the "
                f"{sum(self.official_counts.values())} official patches ({lost or 'none'}); "
                f"{len(extra)} file(s) outside the official lists are ignored. Loading what is "
                "there; its split manifest differs from the official one. Run `landbench "
                f"datasets verify {self.name} --root {self.root}` for details.",
            )

    @classmethod
    def how_to_get(cls, root: str | os.PathLike[str]) -> str:
        """Instructions for obtaining the files and placing them under ``root``."""
        return (
            f"Download TrainData, ValidData and TestData of Landslide4Sense from {cls.zenodo} "
            f"(or the mirror {cls.hf_mirror}) and extract them so that "
            f"{Path(root) / 'TrainData' / 'img'} exists, or save the archives as "
            f"{Path(root) / 'TrainData.zip'} (ValidData.zip, TestData.zip) and load again."
        )

    def _verify(self) -> None:
        """Extract or download each split folder that is absent; the requested one must exist."""
        for split, folder in self.split_folders.items():
            if (self.root / folder).is_dir():
                continue
            archive = self.root / f"{folder}.zip"
            md5 = self.md5s[split]
            if not archive.is_file() and (not self.download or md5 is None):
                if split != self.split:
                    continue  # a partial copy: that split's patches count as missing
                if self.download:
                    raise DatasetNotFoundError(
                        f"{self.root / folder} does not exist and cannot be downloaded: landbench "
                        f"knows no published checksum of {folder}.zip to verify a download "
                        f"against. {self.how_to_get(self.root)}"
                    )
                raise DatasetNotFoundError(
                    f"Dataset not found: {self.root / folder} does not exist (the {split} split "
                    f"of Landslide4Sense). {self.how_to_get(self.root)}"
                )
            dl.prepare(
                self.root,
                folder,
                f"{folder}.zip",
                self.urls[split],
                md5,
                download_allowed=self.download,
                checksum=self.checksum,
                how_to_get=self.how_to_get(self.root),
            )

    @classmethod
    def scan(
        cls, root: str | os.PathLike[str], problems: list[str] | None = None
    ) -> tuple[dict[str, dict[str, PatchFiles]], dict[str, int], list[Path]]:
        """Index the patches under ``root`` against the official lists, without reading them.

        Args:
            root: the dataset root.
            problems: collects one line per missing image or mask and per extra file.

        Returns:
            ``(files, missing, extra)``: split to id to :class:`PatchFiles` (official patches
            with both files present, in manifest order), split to number of official patches
            absent, and the files outside the official lists.
        """
        root = Path(root)
        problems = [] if problems is None else problems
        files: dict[str, dict[str, PatchFiles]] = {}
        missing: dict[str, int] = {}
        extra: list[Path] = []
        for split, entries in official_files().items():
            folder = root / cls.split_folders[split]
            images = list_files(folder / "img", (".h5",))
            masks = list_files(folder / "mask", (".h5",))
            found: dict[str, PatchFiles] = {}
            wanted: set[str] = set()
            for entry in entries:
                stem = Path(entry).stem
                wanted.add(stem)
                mask_stem = "mask_" + stem.removeprefix("image_")
                if stem not in images:
                    problems.append(f"missing image: {root / entry}")
                elif mask_stem not in masks:
                    problems.append(
                        f"missing mask: {folder / 'mask' / (mask_stem + '.h5')} (masks of every "
                        f"split are in the release {cls.zenodo})"
                    )
                else:
                    found[sample_id(split, entry)] = PatchFiles(images[stem], masks[mask_stem])
            wanted_masks = {"mask_" + s.removeprefix("image_") for s in wanted}
            for stem in sorted(set(images) - wanted):
                extra.append(images[stem])
            for stem in sorted(set(masks) - wanted_masks):
                extra.append(masks[stem])
            files[split] = dict(sorted(found.items()))
            missing[split] = len(entries) - len(found)
        problems.extend(f"extra file outside the official lists: {p}" for p in extra)
        return files, missing, extra

    @property
    def manifest(self) -> SplitManifest:
        """Split ``v1`` of the patches present (the official one for a complete copy)."""
        return self._manifest

    @staticmethod
    def _read_mask(path: Path) -> np.ndarray:
        mask = read_h5(path, "mask", (Landslide4Sense.patch_size,) * 2)
        if mask.size and (mask.max() > 1 or mask.min() < 0):
            values = np.unique(mask)[:10].tolist()
            raise InvalidDataError(
                f"{path}: mask values must be 0 or 1 (1 = landslide), found {values}."
            )
        return mask.astype(np.int64)

    def _load(self, sample_id: str) -> dict[str, Any]:
        return self._read(sample_id, list(range(len(self.all_bands))))

    def _read(self, sample_id: str, indices: list[int]) -> dict[str, Any]:
        files = self.files[sample_id]
        size = self.patch_size
        image = read_h5(files.image, "img", (size, size, len(self.all_bands)))
        if image.dtype.kind != "f":
            raise InvalidDataError(f"{files.image}: 'img' is {image.dtype}, expected float.")
        # One strided copy moves the bands first and casts to float32 (a band subset costs one
        # more copy, of the selected bands only).
        picked = image if indices == list(range(image.shape[-1])) else image[..., indices]
        out = np.empty((len(indices), size, size), dtype=np.float32)
        out[...] = np.moveaxis(picked, -1, 0)
        return {
            "image": torch.from_numpy(out),
            "mask": torch.from_numpy(self._read_mask(files.mask)),
        }

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return sample ``index`` of the split (reading only the requested bands' values).

        Returns:
            ``{"image": float32 [C, 128, 128], "mask": int64 [128, 128], "id": str}``.
        """
        sample_id = self.ids[index]
        sample = self._read(sample_id, self.band_indices)
        sample["id"] = sample_id
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    @classmethod
    def _inspect(
        cls, root: Path, problems: list[str]
    ) -> tuple[dict[str, int], SplitManifest, DemStats]:
        """Read every patch under ``root``, listing missing, extra, unreadable and invalid files.

        Returns:
            ``(counts, manifest, dem)``: patches per split, the split manifest of the valid
            patches and the DEM band's dtype and value range.
        """
        files, _, _ = cls.scan(root, problems)
        dem = DemStats()
        shape = (cls.patch_size, cls.patch_size, len(cls.all_bands))
        valid: dict[str, list[str]] = {s: [] for s in SPLITS}
        for split, patches in files.items():
            for sid, patch in patches.items():
                try:
                    image = read_h5(patch.image, "img", shape)
                    cls._read_mask(patch.mask)
                except InvalidDataError as err:
                    problems.append(str(err))
                    continue
                band = image[..., cls.all_bands.index("DEM")]
                dem.add(str(image.dtype), float(band.min()), float(band.max()))
                valid[split].append(sid)
        manifest = SplitManifest(cls.name, cls.split_version, valid)
        return manifest.counts(), manifest, dem
