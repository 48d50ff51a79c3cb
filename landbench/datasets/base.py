"""The base class shared by every landbench dataset.

It fixes the sample contract of DESIGN.md so each dataset module only reads its own files:

* ``image``: float32 tensor ``[C, H, W]``, the requested bands in the requested order. R, G, B are
  raw digital numbers (0-255 for 8-bit sources); DEM is in metres or the source's raw units.
  Nothing is normalised here: data modules and models normalise, with train-split statistics.
* ``mask``: int64 tensor ``[H, W]`` in {0, 1}, 1 = landslide; all zero for non-landslide tiles.
* ``id``: the sample's stem.

Subclasses set :attr:`name`, build :attr:`manifest` and implement :meth:`_load`.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor
from torchgeo.datasets import NonGeoDataset

from landbench.core.errors import ConfigError
from landbench.datasets.splits import SplitManifest, check_split

ALL_BANDS: tuple[str, ...] = ("R", "G", "B", "DEM")
"""Every band a landbench dataset provides, in the order of the stacked model input."""

RGB_BANDS: tuple[str, ...] = ("R", "G", "B")


class DatasetCountWarning(UserWarning):
    """The files present differ from the official release; the dataset loads what is there."""


_WARNED: set[tuple[str, str]] = set()


def warn_once(key: tuple[str, str], message: str) -> None:
    """Issue a :class:`DatasetCountWarning` once per ``key`` (e.g. dataset and root) and process."""
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(message, DatasetCountWarning, stacklevel=3)


@dataclass
class VerificationReport:
    """What ``landbench datasets verify`` found in a dataset folder.

    Attributes:
        dataset: dataset name.
        root: the folder checked.
        counts: samples found per group (class or split).
        expected: the official count per group.
        problems: one line per missing, extra, unreadable or invalid file; empty when all is well.
        dem_dtypes: stored DEM dtype (e.g. ``"uint16"``) to number of files.
        dem_range: smallest and largest raw DEM value found, or None if no DEM was read.
        manifest_sha256: SHA-256 of the split manifest of the files present.
        split_counts: number of ids per split.
    """

    dataset: str
    root: Path
    counts: Mapping[str, int]
    expected: Mapping[str, int]
    problems: list[str] = field(default_factory=list)
    dem_dtypes: Mapping[str, int] = field(default_factory=dict)
    dem_range: tuple[float, float] | None = None
    manifest_sha256: str | None = None
    split_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the folder matches the official release and every file is valid."""
        return not self.problems

    def format(self) -> str:
        """A human-readable multi-line report."""
        lines = [f"{self.dataset} in {self.root}"]
        for group, n in self.counts.items():
            want = self.expected.get(group)
            note = "" if want is None or want == n else f"  (official: {want})"
            lines.append(f"  {group}: {n}{note}")
        if self.split_counts:
            lines.append(
                "  split v1: " + ", ".join(f"{s} {n}" for s, n in self.split_counts.items())
            )
        if self.manifest_sha256:
            lines.append(f"  manifest sha256: {self.manifest_sha256}")
        dtypes = ", ".join(f"{d} x{n}" for d, n in sorted(self.dem_dtypes.items())) or "none read"
        lines.append(f"  DEM dtype: {dtypes}")
        if self.dem_range is not None:
            lines.append(f"  DEM raw value range: {self.dem_range[0]:g} .. {self.dem_range[1]:g}")
        if self.problems:
            lines.append(f"  FAILED: {len(self.problems)} problem(s)")
            lines.extend(f"  - {p}" for p in self.problems)
        else:
            lines.append("  OK")
        return "\n".join(lines)


def check_bands(bands: Sequence[str], valid: Sequence[str] = ALL_BANDS) -> tuple[str, ...]:
    """Validate a band selection and return it as a tuple.

    Raises:
        ConfigError: on an empty selection, an unknown band or a repeated band.
    """
    bands = tuple(bands)
    if isinstance(bands, str) or not bands:
        raise ConfigError(f"bands must be a non-empty sequence of band names from {list(valid)}.")
    unknown = [b for b in bands if b not in valid]
    if unknown:
        raise ConfigError(f"Unknown band(s) {unknown}; valid bands are {list(valid)}.")
    if len(set(bands)) != len(bands):
        raise ConfigError(f"Band selection {list(bands)} repeats a band.")
    return bands


class LandslideDataset(NonGeoDataset, abc.ABC):
    """A landslide segmentation dataset of RGB + DEM tiles with a fixed, versioned split.

    Args:
        split: one of ``"train"``, ``"val"``, ``"test"``.
        bands: bands to return, in order, from ``("R", "G", "B", "DEM")``.
        transforms: a function applied to each sample dict, or None.
    """

    name: ClassVar[str]
    """Registry name of the dataset (``landbench.load(name)``)."""

    all_bands: ClassVar[tuple[str, ...]] = ALL_BANDS
    split_version: ClassVar[str] = "v1"
    dem_nodata: ClassVar[float | None] = None
    """Raw DEM value marking cells without elevation (kept as stored), or None."""

    def __init__(
        self,
        split: str = "train",
        bands: Sequence[str] = ALL_BANDS,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.split = check_split(split)
        self.bands = check_bands(bands, self.all_bands)
        self.band_indices = [self.all_bands.index(b) for b in self.bands]
        self.transforms = transforms

    @property
    @abc.abstractmethod
    def manifest(self) -> SplitManifest:
        """The split manifest (sorted ids per split) of the files present."""

    @property
    def ids(self) -> tuple[str, ...]:
        """The sorted sample ids of this split."""
        return self.manifest.ids(self.split)

    @abc.abstractmethod
    def _load(self, sample_id: str) -> dict[str, Any]:
        """Read one sample with all bands.

        Returns:
            A dict with ``image`` float32 ``[len(all_bands), H, W]`` and ``mask`` int64
            ``[H, W]``; it may hold extra metadata (e.g. ``crs``, ``transform``).
        """

    def __len__(self) -> int:
        """Number of samples in the split."""
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return sample ``index`` of the split.

        Args:
            index: position in the sorted ids of the split.

        Returns:
            ``{"image": float32 [C, H, W], "mask": int64 [H, W], "id": str, ...}``.
        """
        sample_id = self.ids[index]
        sample = self._load(sample_id)
        if self.band_indices != list(range(len(self.all_bands))):
            sample["image"] = sample["image"][self.band_indices]
        sample["id"] = sample_id
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    def index_of(self, sample_id: str) -> int:
        """Position of ``sample_id`` in this split."""
        try:
            return self.ids.index(sample_id)
        except ValueError:
            raise KeyError(
                f"{sample_id!r} is not in the {self.split} split of {self.name}."
            ) from None

    def plot(
        self,
        sample: dict[str, Any],
        show_titles: bool = True,
        suptitle: str | None = None,
    ) -> Figure:
        """Plot a sample: RGB, the DEM as hillshade, the mask and, if present, a prediction.

        Args:
            sample: a sample from :meth:`__getitem__`, optionally with a ``prediction`` ``[H, W]``
                (binary or probabilities).
            show_titles: whether to title each panel.
            suptitle: an optional figure title.

        Returns:
            The matplotlib figure.
        """
        from landbench.datasets.plotting import plot_sample

        return plot_sample(sample, self.bands, show_titles=show_titles, suptitle=suptitle)


def stack_bands(rgb: np.ndarray, dem: np.ndarray) -> Tensor:
    """Stack an RGB array ``[H, W, 3]`` or ``[3, H, W]`` and a DEM ``[H, W]`` into ``[4, H, W]``.

    Both keep their raw values, as float32.
    """
    if rgb.ndim == 3 and rgb.shape[-1] == 3 and rgb.shape[0] != 3:
        rgb = np.moveaxis(rgb, -1, 0)
    out = np.empty((4, *dem.shape), dtype=np.float32)
    out[:3] = rgb
    out[3] = dem
    return torch.from_numpy(out)
