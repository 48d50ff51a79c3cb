"""Land use and RGB rendering for :mod:`landbench.datasets.synthetic`.

Land use adds the *confounders*: surfaces that look like fresh landslide scars in RGB (bare
tilled fields, bare plots levelled for construction, unpaved roads, gravel riverbeds,
settlements) but lie on flat or gentle ground, plus their DEM footprints (terrace steps, road
cuts, levelled pads). Rendering turns surface colours into an 8-bit RGB image: vegetation
texture, illumination and cast shadows from a sun over the DEM, haze, the sensor's blur and
noise.

Everything is vectorised over pixels; loops run over houses or shadow steps only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from landbench.datasets._terrain import (
    blur,
    cast_shadows,
    footprint,
    fractal_noise,
    hillshade,
    pick_cell,
    smoothstep,
    truncated_pareto,
)

Colour = tuple[float, float, float]


@dataclass
class LandUse:
    """Land-use surfaces of one tile.

    Attributes:
        colour: ``[H, W, 3]`` surface reflectance (0-255 scale) where ``alpha > 0``.
        alpha: ``[H, W]`` in [0, 1], cover of land-use surfaces over natural vegetation.
        bare: boolean ``[H, W]``, land-use pixels that look bare (soil, gravel, roofs, roads):
            the RGB confounders.
        dem_change: ``[H, W]`` metres added to the DEM (terrace steps, road cuts).
    """

    colour: np.ndarray
    alpha: np.ndarray
    bare: np.ndarray
    dem_change: np.ndarray


def _jitter(rng: np.random.Generator, colour: Colour, amount: float) -> np.ndarray:
    return np.asarray(colour, dtype=np.float64) * (1.0 + amount * rng.standard_normal(3))


def _sinuous_line(
    rng: np.random.Generator, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (pixels) to a random sinuous line crossing the tile, and the along-line coord."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    theta = rng.uniform(0, np.pi)
    a = (rows - h / 2) * np.cos(theta) + (cols - w / 2) * np.sin(theta)
    b = -(rows - h / 2) * np.sin(theta) + (cols - w / 2) * np.cos(theta)
    offset = rng.uniform(-0.4, 0.4) * min(h, w)
    amp = rng.uniform(0.02, 0.15) * min(h, w)
    wavelength = rng.uniform(0.6, 1.8) * max(h, w)
    centre = offset + amp * np.sin(2 * np.pi * a / wavelength + rng.uniform(0, 2 * np.pi))
    return np.abs(b - centre), a


def plan_land_use(
    rng: np.random.Generator,
    dem: np.ndarray,
    slope: np.ndarray,
    flat: np.ndarray,
    river_distance: np.ndarray,
    gsd: float,
    palette: Mapping[str, Colour],
    knobs: Mapping[str, float],
) -> LandUse:
    """Place fields (terraced on slopes), bare plots, a road, a settlement and the riverbed.

    Bare plots (cleared land, earthworks, construction pads, quarries) have the outline, size
    and soil/rock colour of fresh landslides but lie on gentle ground levelled flat: the
    hardest RGB confounder, which only the DEM resolves.

    Args:
        rng: the generator to draw from.
        dem: terrain ``[H, W]`` in metres.
        slope: slope ``[H, W]`` in degrees.
        flat: valley floor / plateau mask ``[H, W]``.
        river_distance: distance to the river centreline in pixels (inf if none).
        gsd: metres per pixel.
        palette: surface colours by name.
        knobs: preset knobs (``field_probability``, ``field_max_slope``, ``bare_field_fraction``,
            ``parcel_m``, ``road_probability``, ``settlement_probability``, ``terrace_step_m``,
            ``riverbed_px``, ``bare_plots``, ``bare_plot_m2``, ``bare_plot_max_slope``).

    Returns:
        The :class:`LandUse`.
    """
    shape = dem.shape
    h, w = shape
    colour = np.zeros((h, w, 3))
    alpha = np.zeros(shape)
    bare = np.zeros(shape, dtype=bool)
    dem_change = np.zeros(shape)

    # Fields: a farmed zone over gentle ground (flat land first), cut into rotated parcels.
    if rng.random() < knobs["field_probability"]:
        zone = fractal_noise(rng, shape, 3.2) + 1.2 * flat - 0.06 * slope
        zone_level = np.quantile(zone, rng.uniform(0.35, 0.75))
        farmed = (zone > zone_level) & (slope < knobs["field_max_slope"])
        rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
        theta = rng.uniform(0, np.pi)
        a = rows * np.cos(theta) + cols * np.sin(theta)
        b = -rows * np.sin(theta) + cols * np.cos(theta)
        pa, pb = rng.uniform(*knobs["parcel_m"], size=2) / gsd
        ia, ib = np.floor(a / pa).astype(np.int64), np.floor(b / pb).astype(np.int64)
        table = rng.random((4, 1024))  # per-parcel random draws, indexed by a parcel hash
        key = ((ia * 73856093) ^ (ib * 19349663)) % 1024
        kind = table[0][key]
        p_bare = knobs["bare_field_fraction"]
        crops = [palette["crop_green"], palette["crop_yellow"], palette["bare_field"]]
        choice = np.where(kind < p_bare, 2, np.where(kind < p_bare + (1 - p_bare) / 2, 1, 0))
        parcel = np.stack([np.asarray(c, dtype=np.float64) for c in crops])[choice]
        parcel *= (0.9 + 0.2 * table[1][key])[..., None]
        # Field boundaries (earth banks, paths) are a darker line one pixel wide.
        edge = ((a / pa) % 1.0 < 1.0 / pa) | ((b / pb) % 1.0 < 1.0 / pb)
        parcel = np.where(edge[..., None], parcel * 0.8, parcel)
        colour = np.where(farmed[..., None], parcel, colour)
        alpha = np.where(farmed, 1.0, alpha)
        bare |= farmed & (choice == 2)
        # Fields on slopes are terraced: the DEM becomes a staircase of flat benches.
        if knobs["terrace_step_m"] > 0:
            step = knobs["terrace_step_m"] * rng.uniform(0.7, 1.3)
            terraced = farmed & ~flat & (slope > 2.0)
            stairs = step * np.floor(dem / step) + 0.2 * (dem % step)
            dem_change += np.where(terraced, stairs - dem, 0.0)

    # Bare plots: scar-like outlines and colours on gentle ground, levelled into flat pads.
    lo, hi = knobs["bare_plots"]
    plots = int(rng.integers(lo, hi + 1))
    if plots:
        roughness = fractal_noise(rng, shape, 2.6)
        grain = fractal_noise(rng, shape, 2.0)
        soil = np.asarray(palette["soil"], dtype=np.float64)
        rock = np.asarray(palette["rock"], dtype=np.float64)
        mix = np.clip(0.5 + 0.35 * grain, 0.0, 1.0)[..., None]
        texture = 1.0 + 0.06 * fractal_noise(rng, shape, 1.0)[..., None]
        bare_colour = (soil + (rock - soil) * mix) * texture
        gentle = (slope < knobs["bare_plot_max_slope"]) & (alpha < 0.5)
        for _ in range(plots):  # a few plots per tile, each rasterised at once
            cell = pick_cell(rng, gentle.astype(np.float64))
            if cell is None:
                break
            area = truncated_pareto(rng, *knobs["bare_plot_m2"], 1.0, 1)[0]
            ratio = rng.uniform(1.2, 3.0)
            width_px = np.sqrt(4.0 * area / (np.pi * ratio)) / gsd
            angle = rng.uniform(0, 2 * np.pi)
            steps = np.arange(int(np.ceil(ratio * width_px)) + 1)[:, None]
            centreline = np.asarray(cell, dtype=np.float64) + steps * [np.cos(angle), np.sin(angle)]
            fp = footprint(centreline, width_px, shape, roughness)
            if not fp.area_px:
                continue
            colour = np.where(fp.inside[..., None], bare_colour * rng.uniform(0.9, 1.1), colour)
            alpha = np.where(fp.inside, 1.0, alpha)
            bare |= fp.inside
            level = float(dem[fp.inside].mean())
            dem_change = np.where(fp.inside, level - dem, dem_change)

    # A road: unpaved (soil-coloured) or paved, with a small cut into the hillside.
    if rng.random() < knobs["road_probability"]:
        d, _ = _sinuous_line(rng, shape)
        width_px = max(rng.uniform(4.0, 8.0) / gsd, 0.6)
        road = smoothstep(width_px + 0.8, width_px - 0.2, d)
        paved = rng.random() < 0.4
        road_colour = _jitter(rng, palette["road_paved" if paved else "road_dirt"], 0.05)
        colour = colour * (1 - road[..., None]) + road_colour * road[..., None]
        alpha = np.maximum(alpha, road)
        bare |= road > 0.5
        dem_change -= rng.uniform(0.5, 2.0) * np.exp(-((d / (width_px + 1.0)) ** 2))

    # The riverbed: gravel bars on the valley floor and a narrow water channel.
    if np.isfinite(river_distance).any():
        bed_px = knobs["riverbed_px"] * rng.uniform(0.6, 1.4)
        bed = smoothstep(bed_px + 0.8, bed_px - 0.2, river_distance) * flat
        water = smoothstep(0.45 * bed_px + 0.5, 0.45 * bed_px - 0.5, river_distance) * flat
        gravel = _jitter(rng, palette["riverbed"], 0.04)
        colour = colour * (1 - bed[..., None]) + gravel * bed[..., None]
        colour = colour * (1 - water[..., None]) + np.asarray(palette["water"]) * water[..., None]
        alpha = np.maximum(alpha, bed)
        bare |= (bed > 0.5) & (water < 0.5)

    # A settlement: houses (bright roofs) clustered on flat ground.
    flat_cells = np.argwhere(flat)
    if len(flat_cells) and rng.random() < knobs["settlement_probability"]:
        cr, cc = flat_cells[rng.integers(len(flat_cells))]
        n_houses = int(rng.integers(4, 14))
        roofs = [palette[k] for k in ("roof_grey", "roof_blue", "roof_red")]
        size_px = max(8.0 / gsd, 1.0)
        spread = max(25.0 / gsd, 2.0)
        for _ in range(n_houses):  # a handful of houses, each a vectorised slice
            r = int(round(cr + spread * rng.standard_normal()))
            c = int(round(cc + spread * rng.standard_normal()))
            hh = max(int(round(size_px * rng.uniform(0.7, 1.5))), 1)
            ww = max(int(round(size_px * rng.uniform(0.7, 1.5))), 1)
            r0, r1 = max(r, 0), min(r + hh, h)
            c0, c1 = max(c, 0), min(c + ww, w)
            if r0 >= r1 or c0 >= c1:
                continue
            colour[r0:r1, c0:c1] = _jitter(rng, roofs[int(rng.integers(3))], 0.06)
            alpha[r0:r1, c0:c1] = 1.0
            bare[r0:r1, c0:c1] = True
    return LandUse(colour=colour, alpha=alpha, bare=bare, dem_change=dem_change)


@dataclass
class Scars:
    """Landslide surfaces of one tile.

    Attributes:
        inside: boolean ``[H, W]``, the landslide mask.
        bareness: ``[H, W]`` in [0, 1]: 1 = fresh bare soil/rock, near 0 = revegetated old scar.
        u: ``[H, W]`` along-slide position (0 crown, 1 toe) inside the mask.
    """

    inside: np.ndarray
    bareness: np.ndarray
    u: np.ndarray


def render_rgb(
    rng: np.random.Generator,
    dem: np.ndarray,
    gsd: float,
    land_use: LandUse,
    scars: Scars,
    palette: Mapping[str, Colour],
    knobs: Mapping[str, float],
) -> np.ndarray:
    """Render the 8-bit RGB image of a tile.

    Args:
        rng: the generator to draw from.
        dem: final terrain ``[H, W]`` in metres (with land-use and landslide relief).
        gsd: metres per pixel.
        land_use: fields, roads, riverbed, settlements.
        scars: landslide surfaces.
        palette: surface colours by name.
        knobs: preset knobs (``sun_azimuth``, ``sun_altitude``, ``ambient``, ``haze``,
            ``psf_px``, ``noise_dn``, ``texture``).

    Returns:
        float64 ``[3, H, W]`` with integer values in [0, 255].
    """
    shape = dem.shape
    # Natural vegetation: forest/shrub mosaic (low frequencies) with canopy texture (high).
    mosaic = 1.0 / (1.0 + np.exp(-1.8 * fractal_noise(rng, shape, 3.0)))
    canopy = fractal_noise(rng, shape, 1.4)
    forest = np.asarray(palette["forest"], dtype=np.float64)
    shrub = np.asarray(palette["shrub"], dtype=np.float64)
    surface = forest + (shrub - forest) * mosaic[..., None]
    surface *= 1.0 + knobs["texture"] * canopy[..., None]
    surface = (
        surface * (1 - land_use.alpha[..., None]) + land_use.colour * land_use.alpha[..., None]
    )

    if scars.inside.any():
        # Scar floor: a soil/rock mosaic, rockier in the depletion zone, debris-rich at the toe.
        grain = fractal_noise(rng, shape, 2.0)
        rockiness = np.clip(0.5 + 0.35 * grain - 0.5 * scars.u + 0.2, 0.0, 1.0)
        soil = np.asarray(palette["soil"], dtype=np.float64)
        rock = np.asarray(palette["rock"], dtype=np.float64)
        bare = soil + (rock - soil) * rockiness[..., None]
        bare *= 1.0 + 0.5 * knobs["texture"] * fractal_noise(rng, shape, 1.0)[..., None]
        regrowth = np.asarray(palette["young_vegetation"], dtype=np.float64)
        regrowth = regrowth * (1.0 + knobs["texture"] * canopy[..., None])
        scar = regrowth + (bare - regrowth) * scars.bareness[..., None]
        surface = np.where(scars.inside[..., None], scar, surface)

    # Illumination: ambient sky light + direct sun (Lambert), with cast shadows.
    azimuth = rng.uniform(*knobs["sun_azimuth"])
    altitude = rng.uniform(*knobs["sun_altitude"])
    direct = hillshade(dem, gsd, azimuth, altitude) / np.sin(np.radians(altitude))
    direct *= 1.0 - 0.8 * cast_shadows(dem, gsd, azimuth, altitude)
    ambient = knobs["ambient"]
    light = ambient + (1.0 - ambient) * direct
    gain = rng.uniform(0.85, 1.15)  # scene-to-scene radiometric variation
    radiance = surface * (light * gain)[..., None]
    haze = knobs["haze"] * rng.uniform(0.5, 1.5)
    radiance = radiance * (1.0 - haze) + haze * np.asarray(palette["haze"], dtype=np.float64)

    # Sensor: optical blur, noise, 8-bit quantisation.
    image = np.moveaxis(radiance, -1, 0)
    image = np.stack([blur(band, knobs["psf_px"]) for band in image])
    image += knobs["noise_dn"] * rng.standard_normal(image.shape)
    return np.clip(np.rint(image), 0, 255)
