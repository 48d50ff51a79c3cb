"""LandslideSynth presets: every knob of the generator, and the bounds on user options.

A preset fixes the physical setting (pixel size, relief, slide sizes, land use, palette), the
bands a tile has, the default tile size and count, and the split fractions. ``bijie`` and
``hokkaido`` give R, G, B (8-bit digital numbers) and DEM (metres) like the real datasets;
``landslide4sense`` gives Landslide4Sense's 14 bands (Sentinel-2 B1-B12 without B8A, slope, DEM)
on 128 px tiles with about 2% landslide pixels.

Every user-controlled number has an upper bound checked before any work
(:data:`MAX_N`, :data:`MAX_SIZE`, :data:`MAX_SEED`), so a hostile ``n`` or ``size`` in a
submission's dataset options fails at once with the bound in the message.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from landbench.core.errors import ConfigError
from landbench.datasets.splits import check_fractions

RGBD_BANDS: tuple[str, ...] = ("R", "G", "B", "DEM")
"""Bands of the Bijie-like and Hokkaido-like presets (as the real datasets)."""

L4S_BANDS: tuple[str, ...] = (
    "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12", "slope", "DEM",
)  # fmt: skip
"""Bands of the Landslide4Sense-like preset: the names and order of Landslide4Sense."""

MAX_N = 100_000
"""Largest number of tiles of one dataset (ids and the split manifest are O(n))."""
MAX_SIZE = 2048
"""Largest tile side in pixels (a 2048 px, 14-band tile needs about 1 GB while generated)."""
MIN_SIZE = 16
"""Smallest tile side in pixels (the terrain needs room for a slide)."""
MAX_SEED = 2**32 - 1
"""Largest dataset seed."""

SPLIT_FRACTIONS: Mapping[str, float] = MappingProxyType({"train": 0.7, "val": 0.1, "test": 0.2})
"""Default share of each tile class in train, val and test."""


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
        bands: the bands of a tile, in order (:data:`RGBD_BANDS` or :data:`L4S_BANDS`).
        split_fractions: share of each tile class in train, val and test; raise ``test`` (and
            ``n``) for a larger test split without a larger train split.
        dem_units: what the DEM band holds (recorded as the dataset's ``dem_units``).
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
    bands: tuple[str, ...] = RGBD_BANDS
    split_fractions: Mapping[str, float] = field(default_factory=lambda: SPLIT_FRACTIONS)
    dem_units: str = "metres (1 cm steps); dem_relative subtracts each tile's mean elevation"

    def __post_init__(self) -> None:
        check_fractions(self.split_fractions)


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

LANDSLIDE4SENSE = replace(
    HOKKAIDO,
    name="landslide4sense",
    description=(
        "Landslide4Sense-like: 14 bands (Sentinel-2 B1-B12 without B8A, slope, DEM), 128 px at "
        "10 m, about 2% landslide pixels"
    ),
    size=128,
    n=200,
    landslide_fraction=0.6,
    landslides_per_tile=(3, 10),
    area_m2=(2000.0, 60000.0),
    area_exponent=1.0,
    min_landslide_px=20,
    old_fraction=0.2,
    bands=L4S_BANDS,
    dem_units=(
        "metres (1 cm steps); slope in degrees from the observed DEM; dem_relative subtracts "
        "each tile's mean elevation"
    ),
)

PRESETS: Mapping[str, SynthPreset] = MappingProxyType(
    {p.name: p for p in (BIJIE, HOKKAIDO, LANDSLIDE4SENSE)}
)
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
            f"Unknown LandslideSynth preset {reprlib.repr(preset)}; valid presets are "
            f"{', '.join(PRESETS)}."
        ) from None


def check_int(name: str, value: Any, minimum: int, maximum: int) -> int:
    """Validate a bounded integer option before any work is done.

    Raises:
        ConfigError: naming the option and both bounds when ``value`` is not an integer in
            ``[minimum, maximum]``.
    """
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or not minimum <= value <= maximum:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ConfigError(f"{name} must be an integer from {minimum} to {maximum}, got {shown}.")
    return int(value)


def check_size(size: int | Sequence[int]) -> tuple[int, int]:
    """Validate a tile size (an int for square tiles, or ``(H, W)``) and return ``(H, W)``.

    Raises:
        ConfigError: unless each side is an integer from :data:`MIN_SIZE` to :data:`MAX_SIZE`.
    """
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if not isinstance(size, Sequence) or isinstance(size, str) or len(size) != 2:
        raise ConfigError(
            f"size must be an integer or a pair (height, width), got {reprlib.repr(size)}."
        )
    h = check_int("size (height)", size[0], MIN_SIZE, MAX_SIZE)
    w = check_int("size (width)", size[1], MIN_SIZE, MAX_SIZE)
    return h, w
