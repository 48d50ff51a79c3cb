"""LandslideSynth: a procedural landslide dataset, landbench's embedded default.

The real datasets cannot be shipped, so landbench generates a dataset on which its questions
stay meaningful: the DEM carries information the RGB lacks, single cues do not solve the task,
and presets that differ enough for transfer learning to matter. Every tile is generated on
demand from ``(preset, seed, index)`` with its own numpy ``SeedSequence``
(:mod:`landbench.datasets.synth_generator`, which documents the physical model), so samples are
identical on every run and independent of each other, of ``n`` and of the order in which they are
read. Presets (:mod:`landbench.datasets.synth_presets`): ``bijie`` and ``hokkaido`` (R, G, B,
DEM like the real datasets) and ``landslide4sense`` (Landslide4Sense's 14 bands, 128 px).

Samples follow the landbench contract: ``image`` float32 ``[C, H, W]`` with the preset's bands
(R, G, B as 8-bit digital numbers 0-255 and DEM in metres for ``bijie`` and ``hokkaido``),
``mask`` int64 ``[H, W]`` in {0, 1}, ``id`` ``"synth-<preset>-s<seed>-<index:05d>"``.

Split ``v2``: each tile is placed by its own index against the preset's split fractions (70/10/20
by default) with a low-discrepancy sequence (:func:`~landbench.datasets.synth_generator.
tile_splits`), so a larger ``n`` only adds tiles and never moves the others, and every prefix
holds each split's share of each tile class to within a few tiles. Split ``v1`` ranked the ids'
hashes and cut exact counts, so changing ``n`` moved a few tiles between splits; that is why it
was replaced.

Ids are computed from the index (no list of ``n`` ids is built until the split manifest is
needed), and ``n``, ``size`` and ``seed`` are bounded (:mod:`~landbench.datasets.synth_presets`)
and checked before any work, so a hostile option fails at once.
"""

from __future__ import annotations

import io
import json
import reprlib
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from landbench._version import __version__
from landbench.core.errors import ConfigError, InvalidDataError, LandbenchError
from landbench.core.io import atomic_write_bytes, atomic_write_json
from landbench.datasets.base import LandslideDataset
from landbench.datasets.registry import register_dataset
from landbench.datasets.splits import SPLITS, SplitManifest, check_fractions
from landbench.datasets.synth_export import export_bijie_layout
from landbench.datasets.synth_generator import (
    GENERATOR_VERSION,
    generate_tile,
    parse_id,
    tile_classes,
    tile_id,
    tile_splits,
)
from landbench.datasets.synth_presets import (
    MAX_N,
    MAX_SEED,
    PRESETS,
    SynthPreset,
    check_int,
    check_size,
    get_preset,
)

__all__ = [
    "CACHE_MANIFEST",
    "PRESETS",
    "LandslideSynth",
    "SynthPreset",
    "export_bijie_layout",
    "generate_tile",
    "get_preset",
    "parse_id",
    "tile_classes",
]

CACHE_FORMAT = 1
"""Version of the on-disk cache layout."""

CACHE_MANIFEST = "landbench_synth_cache.json"
"""Name of the cache manifest file inside a ``root`` folder."""


@register_dataset
class LandslideSynth(LandslideDataset):
    """Procedural landslide tiles (see :mod:`landbench.datasets.synth_generator` for the model).

    Tiles are generated lazily, one at a time, kept in memory when the dataset is small, and
    cached on disk under ``root`` when one is given. The cache folder holds a manifest
    (generator version, preset, seed, size, n); a folder made with other settings is refused,
    never mixed.

    Defaults suit a 2-core CPU: ``bijie`` makes 400 tiles of 64 x 64 px at 3 m per pixel,
    ``hokkaido`` 80 tiles of 64 x 64 px at 10 m per pixel, ``landslide4sense`` 200 tiles of
    128 x 128 px with 14 bands; each split takes about 70 / 10 / 20% of them.

    Args:
        root: optional cache folder (created if missing; must be empty or a LandslideSynth
            cache of the same settings).
        split: ``"train"``, ``"val"`` or ``"test"``.
        preset: ``"bijie"``, ``"hokkaido"`` or ``"landslide4sense"`` (see :data:`PRESETS`).
        size: tile side in pixels, or ``(H, W)``, from 16 to
            :data:`~landbench.datasets.synth_presets.MAX_SIZE`; None for the preset default.
        n: number of tiles over all splits, from 1 to
            :data:`~landbench.datasets.synth_presets.MAX_N`; None for the preset default.
        seed: integer from 0 to 2**32 - 1; a different seed gives a different dataset.
        bands: bands to return, in order, from the preset's bands (aliases accepted); None for
            all of them.
        transforms: a function applied to each sample dict, or None.
        split_fractions: share of each tile class in ``train``, ``val`` and ``test`` (summing to
            1); None for the preset's. A larger ``test`` share with a larger ``n`` grows the test
            split and keeps the train split (e.g. ``n=1000`` with ``{"train": 0.28, "val": 0.12,
            "test": 0.6}``, or the list ``[0.28, 0.12, 0.6]``, gives about 280 / 120 / 600 tiles).

    Raises:
        ConfigError: for an unknown preset, split or band, or an option outside its bounds (the
            message names the option and its bounds).
        LandbenchError: if ``root`` holds a cache of other settings or unrelated files.

    Example:
        >>> ds = LandslideSynth(split="train")
        >>> sample = ds[0]
        >>> sample["image"].shape, sample["mask"].dtype
        (torch.Size([4, 64, 64]), torch.int64)
    """

    name: ClassVar[str] = "synth"
    title: ClassVar[str] = "synth"
    synthetic: ClassVar[bool] = True
    creates_root: ClassVar[bool] = True
    split_version: ClassVar[str] = "v2"
    presets: ClassVar[Mapping[str, SynthPreset]] = PRESETS
    generator_version: ClassVar[str] = GENERATOR_VERSION
    memory_cache_bytes: ClassVar[int] = 256 * 2**20
    """Tiles are kept in memory when the whole dataset would take at most this many bytes."""

    def __init__(
        self,
        root: str | Path | None = None,
        split: str = "train",
        preset: str = "bijie",
        size: int | Sequence[int] | None = None,
        n: int | None = None,
        seed: int = 0,
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        split_fractions: Mapping[str, float] | None = None,
    ) -> None:
        # Every option is checked before any work: ids, tiles and the manifest are lazy.
        self.preset = get_preset(preset)
        self.size = check_size(self.preset.size if size is None else size)
        self.n = check_int("n", self.preset.n if n is None else n, 1, MAX_N)
        self.seed = check_int("seed", seed, 0, MAX_SEED)
        fractions = self.preset.split_fractions if split_fractions is None else split_fractions
        if isinstance(fractions, Sequence) and not isinstance(fractions, str):
            # [train, val, test]: the form a recipe or a submission's dataset options records.
            if len(fractions) != len(SPLITS):
                raise ConfigError(
                    f"split_fractions as a list needs {len(SPLITS)} numbers ({', '.join(SPLITS)}), "
                    f"got {reprlib.repr(fractions)}."
                )
            fractions = dict(zip(SPLITS, fractions, strict=True))
        if not isinstance(fractions, Mapping):
            raise ConfigError(
                "split_fractions must be a mapping or a [train, val, test] list, got "
                f"{reprlib.repr(fractions)}."
            )
        check_fractions(fractions)
        self.split_fractions = dict(fractions)
        self.all_bands = self.preset.bands
        self.dem_units = self.preset.dem_units
        super().__init__(split=split, bands=bands, transforms=transforms)
        self.root = None if root is None else Path(root)
        per_tile = (4 * len(self.all_bands) + 1) * self.size[0] * self.size[1]
        self._memory: dict[str, tuple[np.ndarray, np.ndarray]] | None = (
            {} if per_tile * self.n <= self.memory_cache_bytes else None
        )
        if self.root is not None:
            self._open_cache()

    # ------------------------------------------------------------------ ids and splits
    def sample_id(self, index: int) -> str:
        """The id of tile ``index``: ``synth-<preset>-s<seed>-<index:05d>``."""
        return tile_id(self.preset, self.seed, index)

    @cached_property
    def all_ids(self) -> tuple[str, ...]:
        """Ids of all ``n`` tiles, in index order (built on first use)."""
        return tuple(self.sample_id(i) for i in range(self.n))

    @cached_property
    def landslide_tiles(self) -> np.ndarray:
        """Boolean ``[n]``: which tiles hold landslides."""
        return tile_classes(self.preset, self.seed, self.n)

    @cached_property
    def manifest(self) -> SplitManifest:
        """Split ``v2``: each tile by its own index (:func:`~.synth_generator.tile_splits`)."""
        where = tile_splits(self.preset, self.seed, self.n, self.split_fractions)
        ids = np.asarray(self.all_ids)
        splits = {s: ids[where == k].tolist() for k, s in enumerate(SPLITS)}
        return SplitManifest(self.name, self.split_version, splits)

    def is_landslide(self, sample_id: str) -> bool:
        """Whether tile ``sample_id`` holds landslides."""
        return bool(self.landslide_tiles[self._index_of_id(sample_id)])

    def _index_of_id(self, sample_id: str) -> int:
        try:
            preset, seed, index = parse_id(sample_id)
        except ConfigError:
            preset, seed, index = "", -1, -1
        if preset != self.preset.name or seed != self.seed or not 0 <= index < self.n:
            raise KeyError(f"{sample_id!r} is not a tile of this LandslideSynth.")
        return index

    # ------------------------------------------------------------------ generation and caches
    @property
    def config(self) -> dict[str, Any]:
        """The settings that determine every tile (recorded in caches and exports)."""
        return {
            "cache_format": CACHE_FORMAT,
            "generator_version": self.generator_version,
            "preset": self.preset.name,
            "seed": self.seed,
            "size": list(self.size),
            "n": self.n,
        }

    def _open_cache(self) -> None:
        """Check ``root`` against this dataset's settings; create its manifest if new."""
        assert self.root is not None
        root = self.root
        manifest = root / CACHE_MANIFEST
        if root.exists() and not root.is_dir():
            raise LandbenchError(f"LandslideSynth root {root} is a file; pass a folder.")
        if manifest.is_file():
            try:
                found = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise InvalidDataError(
                    f"{manifest} is unreadable ({e}); delete the folder {root} to regenerate it."
                ) from e
            found = {k: found.get(k) for k in self.config}
            if found != self.config:
                diff = ", ".join(
                    f"{k}={found[k]!r} (requested {v!r})"
                    for k, v in self.config.items()
                    if found[k] != v
                )
                raise LandbenchError(
                    f"{root} holds a LandslideSynth cache made with other settings: {diff}. "
                    "Pass another root folder for these settings, or delete "
                    f"{root} to regenerate it."
                )
            return
        if root.is_dir() and any(root.iterdir()):
            raise LandbenchError(
                f"{root} is not empty and is not a LandslideSynth cache (no {CACHE_MANIFEST}); "
                "pass an empty or new folder as root so no other files are mixed in."
            )
        record = dict(self.config, landbench_version=__version__, dataset="LandslideSynth")
        atomic_write_json(manifest, record)

    def _cache_path(self, sample_id: str) -> Path:
        assert self.root is not None
        return self.root / "tiles" / f"{sample_id}.npz"

    def _read_cached(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                image, mask = data["image"], data["mask"]
        except (OSError, ValueError, KeyError) as e:
            raise InvalidDataError(
                f"Cached tile {path} is unreadable ({e}); delete it to regenerate it."
            ) from e
        want = (len(self.all_bands), *self.size)
        if image.shape != want or image.dtype != np.float32 or mask.shape != self.size:
            raise InvalidDataError(
                f"Cached tile {path} has shape {image.shape}, expected {want}; "
                f"delete {self.root} to regenerate the cache."
            )
        return image, mask.astype(np.uint8)

    def tile(self, sample_id: str) -> tuple[np.ndarray, np.ndarray]:
        """All bands and the mask of one tile as numpy arrays (from a cache if possible).

        Returns:
            ``(image, mask)``: float32 ``[len(all_bands), H, W]`` and uint8 ``[H, W]``.
        """
        if self._memory is not None and sample_id in self._memory:
            return self._memory[sample_id]
        index = self._index_of_id(sample_id)
        found = None
        if self.root is not None:
            path = self._cache_path(sample_id)
            found = self._read_cached(path)
        if found is None:
            found = generate_tile(self.preset, self.seed, index, self.size)
            if self.root is not None:
                buffer = io.BytesIO()
                np.savez(buffer, image=found[0], mask=found[1])
                atomic_write_bytes(self._cache_path(sample_id), buffer.getvalue())
        if self._memory is not None:
            self._memory[sample_id] = found
        return found

    def _load(self, sample_id: str) -> dict[str, Any]:
        image, mask = self.tile(sample_id)
        return {
            "image": torch.from_numpy(image.copy()),
            "mask": torch.from_numpy(mask.astype(np.int64)),
        }

    def __repr__(self) -> str:
        return (
            f"LandslideSynth(split={self.split!r}, preset={self.preset.name!r}, "
            f"size={self.size}, n={self.n}, seed={self.seed}, tiles={len(self)})"
        )
