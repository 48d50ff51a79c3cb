"""The base class shared by every landbench dataset.

It fixes the sample contract (docs/architecture.md) so each dataset module only reads its own files:

* ``image``: float32 tensor ``[C, H, W]``, the requested bands in the requested order. R, G, B are
  raw digital numbers (0-255 for 8-bit sources); DEM is in metres or the source's raw units.
  Nothing is normalised here: data modules and models normalise, with train-split statistics.
* ``mask``: int64 tensor ``[H, W]`` in {0, 1}, 1 = landslide; all zero for non-landslide tiles.
* ``id``: the sample's stem.

Facts about a dataset (name, bands, URLs, checksums, counts, citation) are class attributes.
:class:`LandslideDataset` is the base of every dataset; :class:`RealLandslideDataset` adds what
datasets read from downloaded files share: the root folder, TorchGeo's ``_verify`` (check the
files, extract or download if asked) and the public :meth:`~RealLandslideDataset.verify` report.
Subclasses set :attr:`~LandslideDataset.name`, build :attr:`~LandslideDataset.manifest` and
implement :meth:`~LandslideDataset._load`.
"""

from __future__ import annotations

import abc
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from matplotlib.figure import Figure
from torchgeo.datasets import NonGeoDataset

from landbench.core.bands import RGB_BANDS, band_indices
from landbench.core.errors import ConfigError, DatasetNotFoundError
from landbench.datasets import download as dl
from landbench.datasets.splits import SplitManifest, check_split

ALL_BANDS: tuple[str, ...] = ("R", "G", "B", "DEM")
"""The bands of Bijie, Hokkaido and the default synthetic presets, in file order."""


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
    split_version: str = "v1"

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
                f"  split {self.split_version}: "
                + ", ".join(f"{s} {n}" for s, n in self.split_counts.items())
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


class LandslideDataset(NonGeoDataset, abc.ABC):
    """A landslide segmentation dataset of named bands with a fixed, versioned split.

    Args:
        split: one of ``"train"``, ``"val"``, ``"test"``.
        bands: bands to return, in order, by name from :attr:`all_bands`; aliases are accepted
            (``"B4"`` for ``"R"``, ``"elevation"`` for ``"DEM"``: :mod:`landbench.core.bands`).
            None means :attr:`default_bands`.
        transforms: a function applied to each sample dict, or None.

    Raises:
        ConfigError: on an unknown split, an unknown or repeated band.
    """

    name: ClassVar[str]
    """Registry name of the dataset (``landbench.load(name)``)."""
    title: ClassVar[str] = ""
    """Display name (leaderboard headings); empty means :attr:`name`."""

    all_bands: ClassVar[tuple[str, ...]] = ALL_BANDS
    """Every band the files hold, in file order."""
    rgb_bands: ClassVar[tuple[str, ...]] = RGB_BANDS
    """The bands shown as red, green, blue in plots."""
    default_bands: ClassVar[tuple[str, ...] | None] = None
    """Bands returned when ``bands`` is not given; None means :attr:`all_bands`."""
    split_version: ClassVar[str] = "v1"
    """Version of the split this class builds (see :mod:`landbench.datasets.splits`)."""
    dem_nodata: ClassVar[float | None] = None
    """Raw DEM value marking cells without elevation (kept as stored), or None."""
    dem_units: ClassVar[str] = "metres"
    """What the DEM band holds. ``dem_relative`` (data modules and the Predictor) subtracts each
    tile's mean of exactly these values, so relief comes out in the same units."""

    synthetic: ClassVar[bool] = False
    """Generated by landbench rather than observed: results are marked synthetic and kept apart
    from results on real data."""
    creates_root: ClassVar[bool] = False
    """``root`` is a folder the dataset creates (a cache), not one that must already exist."""
    citation: ClassVar[str] = ""
    """BibTeX of the paper that introduced the dataset (empty for landbench's own)."""

    def __init__(
        self,
        split: str = "train",
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.split = check_split(split)
        if bands is None:
            bands = self.default_bands or self.all_bands
        self.band_indices = band_indices(bands, self.all_bands)
        self.bands: tuple[str, ...] = tuple(bands)
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


class RealLandslideDataset(LandslideDataset):
    """A dataset read from files its users download: root folder, archive, checks, citation.

    The loader checks the files with :meth:`_verify` (TorchGeo's convention: use the extracted
    folder, else extract the archive found in ``root``, else download it when asked and possible,
    else raise saying where to get it); :meth:`verify` is the public check that reads every file
    and returns a :class:`VerificationReport` (``landbench datasets verify``).

    Args:
        root: folder holding :attr:`directory` (or the archive :attr:`filename`).
        split: ``"train"``, ``"val"`` or ``"test"``.
        bands: bands to return, in order (see :class:`LandslideDataset`).
        transforms: a function applied to each sample dict.
        download: fetch the archive if absent (only when :attr:`url` is known).
        checksum: verify the archive's md5 before extracting it.
    """

    directory: ClassVar[str]
    """The folder the dataset reads under ``root``."""
    filename: ClassVar[str]
    """The archive's file name under ``root``."""
    url: ClassVar[str | None] = None
    """Direct archive URL, or None when upstream offers none with a stable checksum."""
    md5: ClassVar[str | None] = None
    """md5 of the archive at :attr:`url`, or None when unknown."""
    homepage: ClassVar[str] = ""
    """Where people get the data."""
    license: ClassVar[str] = "none stated upstream; landbench does not re-host the files"
    official_counts: ClassVar[Mapping[str, int]] = {}
    """Samples per group (class or split) in the official release."""
    count_unit: ClassVar[str] = "samples"
    """What a sample is called in messages (``"samples"``, ``"snippets"``, ``"patches"``)."""

    def __init__(
        self,
        root: str | os.PathLike[str] = "data",
        split: str = "train",
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        download: bool = False,
        checksum: bool = False,
    ) -> None:
        super().__init__(split=split, bands=bands, transforms=transforms)
        self.root = Path(root)
        self.download = download
        self.checksum = checksum
        self._verify()

    @classmethod
    @abc.abstractmethod
    def how_to_get(cls, root: str | os.PathLike[str]) -> str:
        """Instructions for obtaining the files and placing them under ``root``."""

    def _importer(self) -> Callable[[Path, Path], None] | None:
        """How to arrange an extracted archive into :attr:`directory`, when its layout differs.

        Returns:
            ``place(extracted, staging)``, or None when the archive holds :attr:`directory` as
            is (the default).
        """
        return None

    @classmethod
    def import_files(cls, source: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
        """Place an extracted upstream download in the layout this class reads.

        Only datasets whose archives need an import step (see :meth:`_importer`) implement it.

        Returns:
            ``root/directory``.

        Raises:
            ConfigError: for a dataset read as extracted.
        """
        raise ConfigError(
            f"{cls.name} needs no import: extract its archive so that "
            f"{Path(root) / cls.directory} exists."
        )

    def _verify(self) -> None:
        """Make sure the files are there, extracting or downloading the archive if allowed.

        Raises:
            DatasetNotFoundError: when the files are absent and cannot be downloaded (the message
                says where to get them).
            IntegrityError: when ``checksum`` is set and the archive's md5 differs.
        """
        dl.prepare(
            self.root,
            self.directory,
            self.filename,
            self.url,
            self.md5,
            download_allowed=self.download,
            checksum=self.checksum,
            how_to_get=self.how_to_get(self.root),
            place=self._importer(),
        )

    def _warn_if_partial(self, counts: Mapping[str, int]) -> None:
        """Warn once per root when the counts differ from :attr:`official_counts`."""
        if dict(counts) == dict(self.official_counts):
            return
        found = ", ".join(f"{n} {g}" for g, n in counts.items())
        official = ", ".join(f"{n} {g}" for g, n in self.official_counts.items())
        warn_once(
            (self.name, str(self.root.resolve())),
            f"{type(self).__name__} in {self.root / self.directory} has {found} "
            f"{self.count_unit}; the official release has {official}. Loading what is there; its "
            f"split manifest differs from the official one. Run `landbench datasets verify "
            f"{self.name} --root {self.root}` for details.",
        )

    @classmethod
    def count_problems(cls, counts: Mapping[str, int]) -> list[str]:
        """One line per group whose count differs from :attr:`official_counts`."""
        out = []
        for group, want in cls.official_counts.items():
            diff = counts.get(group, 0) - want
            if diff:
                word = "more" if diff > 0 else "fewer"
                out.append(
                    f"{group}: {counts.get(group, 0)} {cls.count_unit}, {abs(diff)} {word} than "
                    f"the official {want}"
                )
        return out

    @classmethod
    def verify(cls, root: str | os.PathLike[str]) -> VerificationReport:
        """Check a folder against the official release, reading every file.

        Reports counts per group against :attr:`official_counts`, missing, extra, unreadable and
        invalid files, and the stored DEM dtype and raw value range.

        Raises:
            DatasetNotFoundError: if ``root/directory`` is absent (the message says where to get
                the files).
        """
        root = Path(root)
        if not (root / cls.directory).is_dir():
            raise DatasetNotFoundError(
                f"{root / cls.directory} does not exist. " + cls.how_to_get(root)
            )
        problems: list[str] = []
        counts, manifest, dem = cls._inspect(root, problems)
        problems[:0] = cls.count_problems(counts)
        return VerificationReport(
            dataset=cls.name,
            root=root,
            counts=counts,
            expected=dict(cls.official_counts),
            problems=problems,
            dem_dtypes=dem.dtypes,
            dem_range=dem.range,
            manifest_sha256=manifest.sha256,
            split_counts=manifest.counts(),
            split_version=manifest.version,
        )

    @classmethod
    @abc.abstractmethod
    def _inspect(
        cls, root: Path, problems: list[str]
    ) -> tuple[dict[str, int], SplitManifest, DemStats]:
        """Read every file under ``root``; append one line per problem to ``problems``.

        Returns:
            ``(counts, manifest, dem)``: samples per group, the split manifest of the valid
            samples, and the DEM dtypes and value range found.
        """


@dataclass
class DemStats:
    """Stored DEM dtypes and raw value range seen while verifying a folder."""

    dtypes: dict[str, int] = field(default_factory=dict)
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, dtype: str, low: float, high: float) -> None:
        """Record one DEM file's dtype and the smallest and largest valid value."""
        self.dtypes[dtype] = self.dtypes.get(dtype, 0) + 1
        self.low, self.high = min(self.low, low), max(self.high, high)

    @property
    def range(self) -> tuple[float, float] | None:
        """``(low, high)``, or None when no value was read."""
        return None if self.low > self.high else (self.low, self.high)
