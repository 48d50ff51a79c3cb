"""The LandslideSynth generator: one tile from ``(preset, seed, index)``, nothing else.

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

6. **Bands.** The Bijie-like and Hokkaido-like presets give R, G, B (8-bit digital numbers) and
   the DEM (metres, 1 cm steps); the Landslide4Sense-like preset derives Sentinel-2 B1-B12
   (without B8A), slope and DEM from the same render (:func:`sentinel2_bands`).

Determinism: the generator uses only numpy's PCG64 streams and IEEE arithmetic; outputs are
quantised (integer RGB, centimetre DEM, binary mask) so results are byte-identical from run to run
and, in practice, across machines (a last-bit difference in a platform's ``sin``/``exp`` could in
principle move a value across a rounding boundary; the tests pin the bytes on this platform).
``GENERATOR_VERSION`` changes whenever the output of any tile changes.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from landbench.core.errors import ConfigError
from landbench.datasets import _terrain as terrain
from landbench.datasets._synth_render import LandUse, Scars, plan_land_use, render_rgb
from landbench.datasets.splits import check_fractions
from landbench.datasets.synth_presets import (
    L4S_BANDS,
    MAX_N,
    MAX_SEED,
    RGBD_BANDS,
    SynthPreset,
    check_int,
    check_size,
    get_preset,
)

GENERATOR_VERSION = "1.0"
"""Version of the generator's output; any change to any generated tile bumps it."""

_GOLDEN = 0.6180339887498949  # Weyl sequence step: evenly spread landslide tiles over indices
_SPLIT_STEP = 0.41421356237309503  # sqrt(2) - 1: with _GOLDEN, jointly equidistributed
_TAG_CLASSES, _TAG_TILE, _TAG_SPLITS = 0x5C1A55, 0x711E, 0x5B117


def _preset_key(name: str) -> int:
    """A stable 32-bit integer for a preset name (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


def _class_offset(p: SynthPreset, seed: int) -> float:
    ss = np.random.SeedSequence([_TAG_CLASSES, _preset_key(p.name), seed])
    return float(np.random.default_rng(ss).random())


def is_landslide_tile(preset: str | SynthPreset, seed: int, index: int) -> bool:
    """Whether tile ``index`` holds landslides, in O(1) (the same rule as :func:`tile_classes`)."""
    p = get_preset(preset)
    return bool((_class_offset(p, seed) + index * _GOLDEN) % 1.0 < p.landslide_fraction)


def tile_classes(preset: str | SynthPreset, seed: int, n: int) -> np.ndarray:
    """Which tiles hold landslides: boolean ``[n]``, a pure function of ``(preset, seed)``.

    A Weyl sequence with a seed-dependent start marks tile ``i`` as a landslide tile when
    ``frac(u0 + i * golden_ratio) < landslide_fraction``: every prefix of the dataset has the
    preset's share of landslide tiles to within one tile, and tile ``i``'s class does not depend
    on ``n``.
    """
    p = get_preset(preset)
    return (_class_offset(p, seed) + np.arange(n) * _GOLDEN) % 1.0 < p.landslide_fraction


def tile_splits(
    preset: str | SynthPreset, seed: int, n: int, fractions: Mapping[str, float]
) -> np.ndarray:
    """The split of each of ``n`` tiles: int ``[n]``, an index into :data:`~.splits.SPLITS`.

    Tile ``i`` goes to the split whose share of [0, 1) holds ``frac(u1 + i * (sqrt(2) - 1))``,
    ``u1`` drawn from ``(preset, seed)``: a function of the tile's own id, so a larger ``n`` never
    moves a tile. Because this Weyl sequence and the one of :func:`tile_classes` are jointly
    equidistributed with low discrepancy, every prefix of the dataset holds each split's share of
    each tile class to within a few tiles, where hashing each id would leave small datasets
    (``n=40``) with an empty validation split now and then.
    """
    p = get_preset(preset)
    ss = np.random.SeedSequence([_TAG_SPLITS, _preset_key(p.name), seed])
    u = (float(np.random.default_rng(ss).random()) + np.arange(n) * _SPLIT_STEP) % 1.0
    edges = np.cumsum([float(v) for v in check_fractions(fractions).values()])
    edges[-1] = np.inf  # the last split takes everything up to 1, whatever the rounding
    return np.searchsorted(edges, u, side="right")


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
        ``(image, mask)``: float32 ``[len(preset.bands), H, W]`` and uint8 ``[H, W]`` in {0, 1}.
        With :data:`~.synth_presets.RGBD_BANDS`: R, G, B digital numbers 0-255 and DEM in
        metres; with :data:`~.synth_presets.L4S_BANDS`: see :func:`sentinel2_bands`.
    """
    p = get_preset(preset)
    seed = check_int("seed", seed, 0, MAX_SEED)
    index = check_int("index", index, 0, MAX_N - 1)
    shape = check_size(p.size if size is None else size)
    key = (repr(p), seed, index, shape)
    cached = _TILES.get(key)
    if cached is None:
        cached = _TILES.put(key, _generate(p, seed, index, shape))
    return cached


class _TileCache:
    """A process-wide LRU cache of generated tiles, bounded in bytes.

    Every training run of a study (the demo trains dozens) builds its own dataset objects over
    the same tiles; generating a tile costs tens of milliseconds, reading it from here nothing.
    Arrays are returned read-only, so no caller can change what another one gets.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple, tile: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        for array in tile:
            array.flags.writeable = False
        size = sum(a.nbytes for a in tile)
        with self._lock:
            if key not in self._items:
                self._items[key] = tile
                self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= sum(a.nbytes for a in old)
        return tile


_TILES = _TileCache(max_bytes=1024 * 2**20)
"""Generated tiles of this process (1 GiB: the demo's synthetic presets fit whole, 0.4 GiB)."""


def _generate(
    p: SynthPreset, seed: int, index: int, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The tile of :func:`generate_tile`, computed (arguments already checked)."""
    is_landslide = is_landslide_tile(p, seed, index)
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
    dem_obs = np.rint(observed * 100.0) / 100.0
    if p.bands == RGBD_BANDS:
        image = np.empty((4, *shape), dtype=np.float32)
        image[:3] = rgb
        image[3] = dem_obs
    else:
        image = sentinel2_bands(rng, rgb, dem_obs, p.gsd_m, land_use, scars)
    return image, scars.inside.astype(np.uint8)


def sentinel2_bands(
    rng: np.random.Generator,
    rgb: np.ndarray,
    dem: np.ndarray,
    gsd_m: float,
    land_use: LandUse,
    scars: Scars,
) -> np.ndarray:
    """Landslide4Sense's 14 bands from a rendered tile: Sentinel-2 B1-B12 (no B8A), slope, DEM.

    B4, B3, B2 are the rendered R, G, B as top-of-atmosphere reflectance (digital number / 255 x
    0.3, so illumination, shadows and haze carry over). The other bands follow the land cover:
    vegetated pixels are bright in the near infrared and dark in the short-wave infrared, bare
    soil and rock (fresh scars, fields, roads) the reverse, each scaled by the pixel's red
    reflectance (its illumination). B5-B7 (red edge) lie between red and NIR; B1 (coastal
    aerosol) follows blue; B9 (water vapour) follows NIR; B10 (cirrus) is near zero. Bands of
    20 m and 60 m are blurred to that resolution. Reflectances are quantised to 1e-4 (the
    Sentinel-2 digital-number step); slope (degrees) comes from the observed DEM (metres).

    Args:
        rng: the tile's generator (draws the cirrus noise).
        rgb: ``[3, H, W]`` rendered digital numbers 0-255.
        dem: ``[H, W]`` observed DEM in metres.
        gsd_m: pixel size in metres.
        land_use: the tile's land-use surfaces.
        scars: the tile's landslide surfaces.

    Returns:
        float32 ``[14, H, W]`` in the order of :data:`~.synth_presets.L4S_BANDS`.
    """
    red, green, blue = rgb * (0.3 / 255.0)
    bare = np.maximum(land_use.alpha * land_use.bare, scars.inside * scars.bareness)
    veg = 1.0 - np.clip(bare, 0.0, 1.0)
    nir = red * (1.3 + 4.0 * veg)
    sigma_20m, sigma_60m = 10.0 / gsd_m, 30.0 / gsd_m  # blur to 20 m and 60 m pixels
    bands = {
        "B1": terrain.blur(0.8 * blue + 0.02, sigma_60m),
        "B2": blue,
        "B3": green,
        "B4": red,
        "B5": terrain.blur(red + 0.25 * (nir - red), sigma_20m),
        "B6": terrain.blur(red + 0.7 * (nir - red), sigma_20m),
        "B7": terrain.blur(red + 0.85 * (nir - red), sigma_20m),
        "B8": nir,
        "B9": terrain.blur(0.35 * nir, sigma_60m),
        "B10": terrain.blur(0.003 + 0.001 * rng.standard_normal(red.shape), sigma_60m),
        "B11": terrain.blur(red * (1.5 + 2.5 * veg), sigma_20m),
        "B12": terrain.blur(red * (1.2 + 1.0 * veg), sigma_20m),
    }
    out = np.empty((len(L4S_BANDS), *dem.shape), dtype=np.float32)
    for i, name in enumerate(L4S_BANDS[:12]):
        out[i] = np.rint(np.clip(bands[name], 0.0, None) * 1e4) / 1e4
    out[12] = np.rint(terrain.slope_deg(dem, gsd_m) * 100.0) / 100.0
    out[13] = dem
    return out


_ID_PATTERN = re.compile(r"^synth-(?P<preset>[a-z0-9_]+)-s(?P<seed>\d+)-(?P<index>\d+)$")


def tile_id(preset: str | SynthPreset, seed: int, index: int) -> str:
    """The id of a tile: ``synth-<preset>-s<seed>-<index:05d>``."""
    return f"synth-{get_preset(preset).name}-s{seed}-{index:05d}"


def parse_id(sample_id: str) -> tuple[str, int, int]:
    """Split a LandslideSynth id into ``(preset, seed, index)``.

    Raises:
        ConfigError: if ``sample_id`` is not a LandslideSynth id.
    """
    m = _ID_PATTERN.match(sample_id) if isinstance(sample_id, str) else None
    if m is None:
        raise ConfigError(
            f"{sample_id!r} is not a LandslideSynth id (expected synth-<preset>-s<seed>-<index>)."
        )
    return m["preset"], int(m["seed"]), int(m["index"])
