"""LandslideSynth: a procedural RGB + DEM landslide dataset, landbench's embedded default.

The real datasets cannot be shipped, so landbench generates a dataset on which its questions
stay meaningful: the DEM carries information the RGB lacks, single cues do not solve the task,
and a Bijie-like and a Hokkaido-like preset differ enough for transfer learning to matter.
Every tile is generated on demand from ``(preset, seed, index)`` with its own numpy
``SeedSequence``, so samples are identical on every run and independent of each other, of ``n``
and of the order in which they are read.

How a tile is made (``landbench/datasets/_terrain.py`` and ``_synth_render.py``):

1. **Terrain.** A fractal DEM in metres by spectral synthesis (power spectrum ``f^-beta`` with
   ``beta`` near 4, smooth below ~6 m as soil-mantled hillslopes are), plus a ridged term that
   draws ridges and V-shaped valleys (a stand-in for drainage) and a regional tilt (a mountain
   flank), scaled to a median slope drawn per tile; sometimes a sinuous valley with a flat
   alluvial floor and a river, sometimes a truncated karst plateau. Slope and aspect come from
   central differences at the preset's ground sampling distance.
2. **Land use (the confounders).** Fields cut into rotated parcels on gentle ground, some of them
   bare tilled soil (terraced into benches on slopes); *bare plots* (cleared land, earthworks,
   quarries) with the outline, size and soil/rock colour of fresh landslides but levelled flat on
   gentle ground; an unpaved or paved road with a small cut; gravel riverbeds on the valley
   floor; settlements with bright roofs on flat land. In RGB they look like scars; in the DEM
   they are flat.
3. **Stable hollows.** Smooth, vegetated troughs elongated downslope: landslide-like relief with
   no scar, so relief alone does not identify a landslide either.
4. **Landslides** (only in landslide tiles). Areas follow a truncated power law (the heavy tail
   of inventories); each slide is initiated on a steep cell (probability grows with the excess
   over an initiation slope), its centreline traced down the steepest descent with inertia, its
   outline a rough teardrop with length/width ratio 1.5-4. The DEM carries the morphology: a
   depletion zone lowered by a maximum depth growing as ``area^0.33`` (volume-area scaling), with
   a crown scarp, and a toe deposit. Half of the Bijie-like slides are *old*: relief degraded
   (smoothed, shallower) and surface 80-98% revegetated, so their colour is close to the
   surroundings. Fresh slides show bare soil and rock (rockier near the crown).
5. **Rendering.** Forest/shrub mosaic with canopy texture, land-use and scar surfaces, Lambertian
   illumination and cast shadows from a random sun over the final DEM, haze, scene gain, the
   sensor's blur and noise, and 8-bit quantisation. The DEM is observed with its own blur (DEM
   resolution is coarser than the imagery) and noise, at the tile's base elevation.

Samples follow the landbench contract: ``image`` float32 ``[4, H, W]`` (R, G, B as 8-bit digital
numbers 0-255; DEM in metres, quantised to 1 cm), ``mask`` int64 ``[H, W]`` in {0, 1}, ``id``
``"synth-<preset>-s<seed>-<index:05d>"``. The split is :func:`~landbench.datasets.splits.
assign_splits` over the ids, stratified by tile class, 70/10/20.

Determinism: the generator uses only numpy's PCG64 streams and IEEE arithmetic; outputs are
quantised (integer RGB, centimetre DEM, binary mask) so results are byte-identical from run to run
and, in practice, across machines (a last-bit difference in a platform's ``sin``/``exp`` could in
principle move a value across a rounding boundary; the tests pin the bytes on this platform).
``GENERATOR_VERSION`` changes whenever the output of any tile changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch

from landbench._version import __version__
from landbench.core.errors import ConfigError, InvalidDataError, LandbenchError
from landbench.core.io import atomic_directory, atomic_write_bytes, atomic_write_json
from landbench.datasets import _terrain as terrain
from landbench.datasets._synth_render import Scars, plan_land_use, render_rgb
from landbench.datasets.base import ALL_BANDS, LandslideDataset
from landbench.datasets.splits import SplitManifest, assign_splits

GENERATOR_VERSION = "1.0"
"""Version of the generator's output; any change to any generated tile bumps it."""

CACHE_FORMAT = 1
"""Version of the on-disk cache layout."""

CACHE_MANIFEST = "landbench_synth_cache.json"
"""Name of the cache manifest file inside a ``root`` folder."""

SPLIT_FRACTIONS: Mapping[str, float] = MappingProxyType({"train": 0.7, "val": 0.1, "test": 0.2})

_GOLDEN = 0.6180339887498949  # Weyl sequence step: evenly spread landslide tiles over indices
_TAG_CLASSES, _TAG_TILE = 0x5C1A55, 0x711E


@dataclass(frozen=True, eq=False)
class SynthPreset:
    """Every knob of one LandslideSynth preset.

    Lengths are in metres unless the name says ``_px``; slopes in degrees.

    Attributes:
        name: preset name.
        description: one line for listings.
        gsd_m: ground sampling distance (metres per pixel).
        size: default tile side in pixels.
        n: default number of tiles (all splits).
        landslide_fraction: share of tiles that hold landslides.
        base_elevation_m: range of a tile's lowest elevation.
        median_slope: range of a tile's median hillslope (degrees).
        terrain_beta: spectral exponent of the fractal terrain.
        valley_probability: chance of a valley floor with a river.
        plateau_probability: chance of a flattened plateau top.
        landslides_per_tile: inclusive range of slides in a landslide tile.
        area_m2: range of the truncated power law of slide areas.
        area_exponent: exponent of the power law ``p(A) ~ A^-(exponent+1)``.
        aspect_ratio: range of length / width of a slide.
        depth_coefficient: maximum depletion depth = coefficient * area^0.33 (metres; the
            exponent of volume-area scaling of mixed soil/bedrock slides, Larsen et al. 2010).
        initiation_slope: slope above which slides start.
        min_landslide_px: a slide smaller than this within the tile is redrawn.
        old_fraction: share of old, revegetated slides.
        revegetation: range of the vegetation cover of old slides.
        hollows_per_tile: inclusive range of stable hollows per tile.
        dem_blur_px: Gaussian blur of the observed DEM (coarser DEM resolution).
        dem_noise_m: noise of the observed DEM.
        land_use: knobs of :func:`~landbench.datasets._synth_render.plan_land_use`.
        render: knobs of :func:`~landbench.datasets._synth_render.render_rgb`.
        palette: surface colours (RGB, 0-255 scale).
    """

    name: str
    description: str
    gsd_m: float
    size: int
    n: int
    landslide_fraction: float
    base_elevation_m: tuple[float, float]
    median_slope: tuple[float, float]
    terrain_beta: float
    valley_probability: float
    plateau_probability: float
    landslides_per_tile: tuple[int, int]
    area_m2: tuple[float, float]
    area_exponent: float
    aspect_ratio: tuple[float, float]
    depth_coefficient: float
    initiation_slope: float
    min_landslide_px: int
    old_fraction: float
    revegetation: tuple[float, float]
    hollows_per_tile: tuple[int, int]
    dem_blur_px: float
    dem_noise_m: float
    land_use: Mapping[str, Any] = field(default_factory=dict)
    render: Mapping[str, Any] = field(default_factory=dict)
    palette: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)


BIJIE = SynthPreset(
    name="bijie",
    description="Bijie-like: 3 m pixels, karst hills with terraced farmland, 28% landslide tiles",
    gsd_m=3.0,
    size=64,
    n=400,
    landslide_fraction=0.28,
    base_elevation_m=(1480.0, 1520.0),
    median_slope=(14.0, 28.0),
    terrain_beta=4.0,
    valley_probability=0.45,
    plateau_probability=0.35,
    landslides_per_tile=(1, 3),
    area_m2=(1500.0, 25000.0),
    area_exponent=1.0,
    aspect_ratio=(1.5, 3.5),
    depth_coefficient=0.6,
    initiation_slope=20.0,
    min_landslide_px=30,
    old_fraction=0.5,
    revegetation=(0.8, 0.98),
    hollows_per_tile=(0, 2),
    dem_blur_px=1.0,
    dem_noise_m=0.25,
    land_use=MappingProxyType(
        {
            "field_probability": 0.75,
            "field_max_slope": 18.0,
            "bare_field_fraction": 0.35,
            "parcel_m": (15.0, 40.0),
            "road_probability": 0.5,
            "settlement_probability": 0.4,
            "terrace_step_m": 2.0,
            "riverbed_px": 3.0,
            "bare_plots": (0, 3),
            "bare_plot_m2": (1000.0, 10000.0),
            "bare_plot_max_slope": 12.0,
        }
    ),
    render=MappingProxyType(
        {
            "sun_azimuth": (100.0, 160.0),
            "sun_altitude": (45.0, 70.0),
            "ambient": 0.6,
            "haze": 0.08,
            "psf_px": 0.6,
            "noise_dn": 2.5,
            "texture": 0.12,
        }
    ),
    palette=MappingProxyType(
        {
            "forest": (58, 82, 48),
            "shrub": (104, 124, 72),
            "young_vegetation": (112, 130, 80),
            "crop_green": (118, 146, 82),
            "crop_yellow": (176, 164, 108),
            "bare_field": (164, 128, 96),
            "soil": (172, 128, 94),
            "rock": (176, 170, 158),
            "road_dirt": (158, 136, 112),
            "road_paved": (150, 150, 146),
            "riverbed": (178, 170, 150),
            "water": (58, 78, 80),
            "roof_grey": (176, 176, 172),
            "roof_blue": (112, 128, 156),
            "roof_red": (158, 92, 72),
            "haze": (150, 160, 175),
        }
    ),
)

HOKKAIDO = SynthPreset(
    name="hokkaido",
    description="Hokkaido-like: 10 m pixels, many small co-seismic slides, darker palette",
    gsd_m=10.0,
    size=64,
    n=80,
    landslide_fraction=0.9,
    base_elevation_m=(100.0, 160.0),
    median_slope=(10.0, 22.0),
    terrain_beta=3.8,
    valley_probability=0.6,
    plateau_probability=0.2,
    landslides_per_tile=(8, 30),
    area_m2=(400.0, 15000.0),
    area_exponent=1.4,
    aspect_ratio=(1.5, 4.0),
    depth_coefficient=0.4,
    initiation_slope=18.0,
    min_landslide_px=4,
    old_fraction=0.1,
    revegetation=(0.5, 0.85),
    hollows_per_tile=(0, 3),
    dem_blur_px=0.5,
    dem_noise_m=0.5,
    land_use=MappingProxyType(
        {
            "field_probability": 0.35,
            "field_max_slope": 6.0,
            "bare_field_fraction": 0.3,
            "parcel_m": (60.0, 150.0),
            "road_probability": 0.4,
            "settlement_probability": 0.2,
            "terrace_step_m": 0.0,
            "riverbed_px": 1.5,
            "bare_plots": (0, 2),
            "bare_plot_m2": (1000.0, 20000.0),
            "bare_plot_max_slope": 8.0,
        }
    ),
    render=MappingProxyType(
        {
            "sun_azimuth": (140.0, 170.0),
            "sun_altitude": (35.0, 50.0),
            "ambient": 0.5,
            "haze": 0.15,
            "psf_px": 0.8,
            "noise_dn": 2.0,
            "texture": 0.08,
        }
    ),
    palette=MappingProxyType(
        {
            "forest": (34, 58, 40),
            "shrub": (70, 92, 52),
            "young_vegetation": (82, 100, 60),
            "crop_green": (96, 128, 70),
            "crop_yellow": (150, 146, 98),
            "bare_field": (140, 118, 90),
            "soil": (196, 168, 122),
            "rock": (160, 150, 130),
            "road_dirt": (140, 130, 115),
            "road_paved": (128, 128, 128),
            "riverbed": (150, 148, 138),
            "water": (40, 56, 70),
            "roof_grey": (150, 150, 150),
            "roof_blue": (100, 115, 140),
            "roof_red": (140, 85, 70),
            "haze": (120, 135, 160),
        }
    ),
)

PRESETS: Mapping[str, SynthPreset] = MappingProxyType({p.name: p for p in (BIJIE, HOKKAIDO)})
"""Preset name to :class:`SynthPreset`."""


def get_preset(preset: str | SynthPreset) -> SynthPreset:
    """Return the preset called ``preset`` (or ``preset`` itself if it is a :class:`SynthPreset`).

    Raises:
        ConfigError: for an unknown name (the message lists the valid names).
    """
    if isinstance(preset, SynthPreset):
        return preset
    try:
        return PRESETS[preset]
    except (KeyError, TypeError):
        raise ConfigError(
            f"Unknown LandslideSynth preset {preset!r}; valid presets are {', '.join(PRESETS)}."
        ) from None


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_size(size: int | Sequence[int]) -> tuple[int, int]:
    """Validate a tile size (an int for square tiles, or ``(H, W)``) and return ``(H, W)``."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if not isinstance(size, Sequence) or isinstance(size, str) or len(size) != 2:
        raise ConfigError(f"size must be an integer or a pair (height, width), got {size!r}.")
    h = _positive_int("size (height)", size[0], minimum=16)
    w = _positive_int("size (width)", size[1], minimum=16)
    return h, w


def _preset_key(name: str) -> int:
    """A stable 32-bit integer for a preset name (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


def tile_classes(preset: str | SynthPreset, seed: int, n: int) -> np.ndarray:
    """Which tiles hold landslides: boolean ``[n]``, a pure function of ``(preset, seed)``.

    A Weyl sequence with a seed-dependent start marks tile ``i`` as a landslide tile when
    ``frac(u0 + i * golden_ratio) < landslide_fraction``: every prefix of the dataset has the
    preset's share of landslide tiles to within one tile, and tile ``i``'s class does not depend
    on ``n``.
    """
    p = get_preset(preset)
    ss = np.random.SeedSequence([_TAG_CLASSES, _preset_key(p.name), seed])
    u0 = np.random.default_rng(ss).random()
    return (u0 + np.arange(n) * _GOLDEN) % 1.0 < p.landslide_fraction


def _tile_rng(preset: SynthPreset, seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([_TAG_TILE, _preset_key(preset.name), seed, index])
    )


def _place_landslides(
    rng: np.random.Generator,
    p: SynthPreset,
    dem: np.ndarray,
    slope: np.ndarray,
    blocked: np.ndarray,
    roughness: np.ndarray,
) -> tuple[np.ndarray, Scars]:
    """Landslides on a terrain: their DEM change ``[H, W]`` (metres) and their surfaces."""
    shape = dem.shape
    gy, gx = terrain.gradient(terrain.blur(dem, 2.0), p.gsd_m)
    excess = np.clip(slope - p.initiation_slope, 0.0, None) ** 1.5 * ~blocked
    fallback = slope**2 * ~blocked
    dz = np.zeros(shape)
    inside = np.zeros(shape, dtype=bool)
    bareness = np.zeros(shape)
    u = np.zeros(shape)
    lo, hi = p.landslides_per_tile
    count = int(rng.integers(lo, hi + 1))
    areas = np.sort(terrain.truncated_pareto(rng, *p.area_m2, p.area_exponent, count))[::-1]
    placed, attempts = 0, 0
    # Redraw slides that fall mostly outside the tile; the tile must end up with at least one.
    while (placed < count or inside.sum() < p.min_landslide_px) and attempts < 4 * count + 8:
        area = areas[placed] if placed < count else areas[-1]
        attempts += 1
        weights = excess * ~inside
        cell = terrain.pick_cell(rng, weights if weights.any() else fallback * ~inside)
        if cell is None:
            break
        ratio = rng.uniform(*p.aspect_ratio)
        width_m = math.sqrt(4.0 * area / (math.pi * ratio))
        centreline = terrain.trace_downslope(gy, gx, cell, ratio * width_m / p.gsd_m)
        fp = terrain.footprint(centreline, width_m / p.gsd_m, shape, roughness)
        if fp.area_px < p.min_landslide_px:
            continue
        depth = p.depth_coefficient * area**0.33 * rng.uniform(0.7, 1.3)
        relief = terrain.scar_relief(fp, depth)
        if rng.random() < p.old_fraction:
            # Old slide: relief degraded by creep and infill, surface mostly revegetated.
            relief = terrain.blur(relief, 1.0) * rng.uniform(0.6, 0.9)
            bare = 1.0 - rng.uniform(*p.revegetation)
        else:
            bare = rng.uniform(0.85, 1.0)
        dz += relief
        bareness = np.where(fp.inside, bare, bareness)
        u = np.where(fp.inside, fp.u, u)
        inside |= fp.inside
        placed += 1
    return dz, Scars(inside=inside, bareness=bareness, u=u)


def _hollows(
    rng: np.random.Generator, p: SynthPreset, dem: np.ndarray, slope: np.ndarray, flat: np.ndarray
) -> np.ndarray:
    """Relief ``[H, W]`` of stable hollows: smooth downslope troughs with no scar."""
    shape = dem.shape
    lo, hi = p.hollows_per_tile
    dz = np.zeros(shape)
    count = int(rng.integers(lo, hi + 1))
    if not count:
        return dz
    gy, gx = terrain.gradient(terrain.blur(dem, 2.0), p.gsd_m)
    smooth = np.zeros(shape)  # hollows have smooth outlines
    for _ in range(count):
        cell = terrain.pick_cell(rng, slope**2 * ~flat)
        if cell is None:
            break
        area = terrain.truncated_pareto(rng, *p.area_m2, p.area_exponent, 1)[0]
        ratio = rng.uniform(*p.aspect_ratio)
        width_m = math.sqrt(4.0 * area / (math.pi * ratio))
        centreline = terrain.trace_downslope(gy, gx, cell, ratio * width_m / p.gsd_m)
        fp = terrain.footprint(centreline, width_m / p.gsd_m, shape, smooth, toe_spread=0.0)
        depth = p.depth_coefficient * area**0.33 * rng.uniform(0.5, 1.0)
        dz += terrain.hollow_relief(fp, depth)
    return dz


def generate_tile(
    preset: str | SynthPreset, seed: int, index: int, size: int | Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Generate one tile.

    Args:
        preset: preset name or :class:`SynthPreset`.
        seed: dataset seed (non-negative integer).
        index: tile index (non-negative integer).
        size: tile side in pixels or ``(H, W)``; None for the preset's default.

    Returns:
        ``(image, mask)``: float32 ``[4, H, W]`` (R, G, B digital numbers 0-255, DEM metres) and
        uint8 ``[H, W]`` in {0, 1}.
    """
    p = get_preset(preset)
    seed = _positive_int("seed", seed, minimum=0)
    index = _positive_int("index", index, minimum=0)
    shape = check_size(p.size if size is None else size)
    is_landslide = bool(tile_classes(p, seed, index + 1)[index])
    rng = _tile_rng(p, seed, index)

    ground = terrain.make_terrain(
        rng,
        shape,
        p.gsd_m,
        p.median_slope,
        p.terrain_beta,
        p.valley_probability,
        p.plateau_probability,
    )
    slope = terrain.slope_deg(ground.dem, p.gsd_m)
    land_use = plan_land_use(
        rng, ground.dem, slope, ground.flat, ground.river_distance, p.gsd_m, p.palette, p.land_use
    )
    dem = ground.dem + land_use.dem_change
    dem = dem + _hollows(rng, p, dem, slope, ground.flat)
    roughness = terrain.fractal_noise(rng, shape, 2.6)
    if is_landslide:
        blocked = ground.flat | (land_use.alpha > 0.5)
        slope_now = terrain.slope_deg(dem, p.gsd_m)
        dz, scars = _place_landslides(rng, p, dem, slope_now, blocked, roughness)
        dem = dem + dz
    else:
        empty = np.zeros(shape)
        scars = Scars(inside=np.zeros(shape, dtype=bool), bareness=empty, u=empty)
    rgb = render_rgb(rng, dem, p.gsd_m, land_use, scars, p.palette, p.render)

    # The DEM as observed: coarser (blurred), noisy, at the tile's base elevation, 1 cm steps.
    observed = terrain.blur(dem, p.dem_blur_px)
    observed += p.dem_noise_m * (
        0.6 * terrain.fractal_noise(rng, shape, 2.0) + 0.4 * rng.standard_normal(shape)
    )
    observed += rng.uniform(*p.base_elevation_m) - observed.min()
    image = np.empty((4, *shape), dtype=np.float32)
    image[:3] = rgb
    image[3] = np.rint(observed * 100.0) / 100.0
    return image, scars.inside.astype(np.uint8)


class LandslideSynth(LandslideDataset):
    """Procedural RGB + DEM landslide tiles (see the module docstring for the physical model).

    Tiles are generated lazily, one at a time, kept in memory when the dataset is small, and
    cached on disk under ``root`` when one is given. The cache folder holds a manifest
    (generator version, preset, seed, size, n); a folder made with other settings is refused,
    never mixed.

    Defaults suit a 2-core CPU: ``bijie`` makes 400 tiles of 64 x 64 px (281 train / 40 val /
    79 test) at 3 m per pixel; ``hokkaido`` 80 tiles (57 / 8 / 15) of 64 x 64 px at 10 m per
    pixel.

    Args:
        root: optional cache folder (created if missing; must be empty or a LandslideSynth
            cache of the same settings).
        split: ``"train"``, ``"val"`` or ``"test"``.
        preset: ``"bijie"`` or ``"hokkaido"`` (see :data:`PRESETS`).
        size: tile side in pixels, or ``(H, W)``; None for the preset default (64).
        n: number of tiles over all splits; None for the preset default.
        seed: non-negative integer; a different seed gives a different dataset.
        bands: bands to return, in order, from ``("R", "G", "B", "DEM")``.
        transforms: a function applied to each sample dict, or None.

    Raises:
        ConfigError: for an unknown preset, split or band, a non-positive size or count, or a
            negative seed.
        LandbenchError: if ``root`` holds a cache of other settings or unrelated files.

    Example:
        >>> ds = LandslideSynth(split="train")
        >>> sample = ds[0]
        >>> sample["image"].shape, sample["mask"].dtype
        (torch.Size([4, 64, 64]), torch.int64)
    """

    name: ClassVar[str] = "synth"
    presets: ClassVar[Mapping[str, SynthPreset]] = PRESETS
    generator_version: ClassVar[str] = GENERATOR_VERSION
    split_fractions: ClassVar[Mapping[str, float]] = SPLIT_FRACTIONS
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
        bands: Sequence[str] = ALL_BANDS,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(split=split, bands=bands, transforms=transforms)
        self.preset = get_preset(preset)
        self.size = check_size(self.preset.size if size is None else size)
        self.n = _positive_int("n", self.preset.n if n is None else n)
        self.seed = _positive_int("seed", seed, minimum=0)
        self.root = None if root is None else Path(root)
        self._index = {sample_id: i for i, sample_id in enumerate(self.all_ids)}
        per_tile = (4 * 4 + 1) * self.size[0] * self.size[1]
        self._memory: dict[str, tuple[np.ndarray, np.ndarray]] | None = (
            {} if per_tile * self.n <= self.memory_cache_bytes else None
        )
        if self.root is not None:
            self._open_cache()

    # ------------------------------------------------------------------ ids and splits
    def sample_id(self, index: int) -> str:
        """The id of tile ``index``: ``synth-<preset>-s<seed>-<index:05d>``."""
        return f"synth-{self.preset.name}-s{self.seed}-{index:05d}"

    @cached_property
    def all_ids(self) -> tuple[str, ...]:
        """Ids of all ``n`` tiles, in index order."""
        return tuple(self.sample_id(i) for i in range(self.n))

    @cached_property
    def landslide_tiles(self) -> np.ndarray:
        """Boolean ``[n]``: which tiles hold landslides."""
        return tile_classes(self.preset, self.seed, self.n)

    @cached_property
    def manifest(self) -> SplitManifest:
        """Split manifest: ids assigned 70/10/20, stratified by tile class."""
        ids = np.asarray(self.all_ids)
        by_class = {
            "landslide": ids[self.landslide_tiles].tolist(),
            "non-landslide": ids[~self.landslide_tiles].tolist(),
        }
        splits = assign_splits(self.name, self.split_version, by_class, self.split_fractions)
        return SplitManifest(self.name, self.split_version, splits)

    def is_landslide(self, sample_id: str) -> bool:
        """Whether tile ``sample_id`` holds landslides."""
        return bool(self.landslide_tiles[self._index_of_id(sample_id)])

    def _index_of_id(self, sample_id: str) -> int:
        try:
            return self._index[sample_id]
        except KeyError:
            raise KeyError(f"{sample_id!r} is not a tile of this LandslideSynth.") from None

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
        if image.shape != (4, *self.size) or image.dtype != np.float32 or mask.shape != self.size:
            raise InvalidDataError(
                f"Cached tile {path} has shape {image.shape}, expected {(4, *self.size)}; "
                f"delete {self.root} to regenerate the cache."
            )
        return image, mask.astype(np.uint8)

    def tile(self, sample_id: str) -> tuple[np.ndarray, np.ndarray]:
        """All bands and the mask of one tile as numpy arrays (from a cache if possible).

        Returns:
            ``(image, mask)``: float32 ``[4, H, W]`` and uint8 ``[H, W]``.
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


# ---------------------------------------------------------------------- export
_DEM_ENCODING = "uint16 PNG, elevation in metres rounded to the nearest metre"


def _polygon(mask: np.ndarray) -> list[tuple[int, int]]:
    """Outline of the largest landslide in ``mask`` as a closed ring of ``(x, y)`` pixels."""
    from rasterio import features

    best: list[tuple[float, float]] = []
    best_area = -1.0
    for geom, _ in features.shapes(mask.astype(np.uint8), mask=mask.astype(bool), connectivity=4):
        ring = geom["coordinates"][0]
        xs, ys = np.asarray(ring).T
        area = 0.5 * abs(float(np.dot(xs[:-1], ys[1:]) - np.dot(xs[1:], ys[:-1])))
        if area > best_area:
            best, best_area = ring, area
    h, w = mask.shape
    # Corner coordinates run from 0 to W; clip so every point is a valid pixel.
    pts = [(min(int(x), w - 1), min(int(y), h - 1)) for x, y in best]
    out = [pts[0]]
    for p in pts[1:]:
        if p != out[-1]:
            out.append(p)
    if out[-1] != out[0]:
        out.append(out[0])
    return out


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def export_bijie_layout(
    to: str | Path,
    preset: str = "bijie",
    seed: int = 0,
    n: int | None = None,
    size: int | Sequence[int] | None = None,
) -> Path:
    """Write a LandslideSynth dataset in the exact layout of the Bijie archive.

    ``Bijie(root=to)`` then loads it, which exercises the real loader end to end. Layout::

        to/Bijie-landslide-dataset/
            landslide/image/<id>.png               RGB, 8-bit
            landslide/dem/<id>.png                 DEM, 16-bit: metres rounded to 1 m
            landslide/mask/<id>.png                8-bit, landslide 255, background 0
            landslide/polygon_coordinate/<id>.txt  outline of the largest slide
            non-landslide/image/<id>.png
            non-landslide/dem/<id>.png
            synth_export.json                      the generator settings (provenance)

    Stems are the LandslideSynth ids. The folder is built aside and moved into place only when
    complete.

    Args:
        to: the folder that will hold ``Bijie-landslide-dataset`` (created if missing).
        preset: LandslideSynth preset.
        seed: dataset seed.
        n: number of tiles; None for the preset default.
        size: tile side or ``(H, W)``; None for the preset default.

    Returns:
        ``Path(to)``, the ``root`` to pass to ``Bijie``.

    Raises:
        ConfigError: for invalid settings.
        LandbenchError: if ``to/Bijie-landslide-dataset`` already exists.
    """
    ds = LandslideSynth(preset=preset, seed=seed, n=n, size=size)  # validates every setting
    to = Path(to)
    if to.exists() and not to.is_dir():
        raise LandbenchError(f"{to} is a file; pass a folder to export into.")
    target = to / "Bijie-landslide-dataset"
    if target.exists():
        raise LandbenchError(
            f"{target} already exists; remove it or export to another folder (nothing was written)."
        )
    with atomic_directory(target) as tmp:
        for sub in ("image", "dem", "mask", "polygon_coordinate"):
            (tmp / "landslide" / sub).mkdir(parents=True)
        for sub in ("image", "dem"):
            (tmp / "non-landslide" / sub).mkdir(parents=True)
        for index, sample_id in enumerate(ds.all_ids):
            image, mask = generate_tile(ds.preset, ds.seed, index, ds.size)
            cls = "landslide" if ds.landslide_tiles[index] else "non-landslide"
            rgb = np.moveaxis(image[:3], 0, -1).astype(np.uint8)
            dem = np.clip(np.rint(image[3]), 0, 65535).astype(np.uint16)
            (tmp / cls / "image" / f"{sample_id}.png").write_bytes(_png(rgb))
            (tmp / cls / "dem" / f"{sample_id}.png").write_bytes(_png(dem))
            if cls == "landslide":
                (tmp / cls / "mask" / f"{sample_id}.png").write_bytes(_png(mask * 255))
                lines = [
                    f"landslide instance name: {sample_id}",
                    "landslide instance polygon boundary coordinates(x,y):",
                    *(f"{x} {y}" for x, y in _polygon(mask)),
                ]
                text = "\n".join(lines) + "\n"
                (tmp / cls / "polygon_coordinate" / f"{sample_id}.txt").write_text(text)
        provenance = dict(ds.config, landbench_version=__version__, dem_encoding=_DEM_ENCODING)
        (tmp / "synth_export.json").write_text(json.dumps(provenance, indent=2, sort_keys=True))
    return to


_ID_PATTERN = re.compile(r"^synth-(?P<preset>[a-z0-9_]+)-s(?P<seed>\d+)-(?P<index>\d+)$")


def parse_id(sample_id: str) -> tuple[str, int, int]:
    """Split a LandslideSynth id into ``(preset, seed, index)``.

    Raises:
        ConfigError: if ``sample_id`` is not a LandslideSynth id.
    """
    m = _ID_PATTERN.match(sample_id)
    if m is None:
        raise ConfigError(
            f"{sample_id!r} is not a LandslideSynth id (expected synth-<preset>-s<seed>-<index>)."
        )
    return m["preset"], int(m["seed"]), int(m["index"])
