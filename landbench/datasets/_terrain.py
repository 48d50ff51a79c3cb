"""Terrain and landslide geometry for :mod:`landbench.datasets.synthetic`.

Everything here works on whole rasters with numpy; the only Python loops run over landslides,
centreline steps or shadow-ray steps (tens of iterations), never over pixels.

Conventions: arrays are ``[H, W]`` with row 0 at the north edge; elevations are in metres;
``gsd`` is the ground sampling distance in metres per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


def fractal_noise(rng: np.random.Generator, shape: tuple[int, int], beta: float) -> np.ndarray:
    """Gaussian random field with power spectrum ``P(f) ~ f^-beta`` (spectral synthesis).

    Natural terrain has ``beta`` near 3-3.6 (Hurst exponent 0.5-0.8); textures use smaller values.
    The field is synthesised on a canvas twice the size and cropped, which removes the
    periodic wrap-around of FFT synthesis.

    Args:
        rng: the generator to draw from.
        shape: ``(H, W)`` of the output.
        beta: spectral exponent.

    Returns:
        float64 ``[H, W]`` with zero mean and unit standard deviation.
    """
    h, w = shape
    ch, cw = 2 * h, 2 * w
    fy = np.fft.fftfreq(ch)[:, None]
    fx = np.fft.rfftfreq(cw)[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = np.inf  # no DC component
    amplitude = f ** (-beta / 2.0)
    spec_shape = (ch, cw // 2 + 1)
    spectrum = (rng.standard_normal(spec_shape) + 1j * rng.standard_normal(spec_shape)) * amplitude
    z = np.fft.irfft2(spectrum, s=(ch, cw))[:h, :w]
    z -= z.mean()
    std = z.std()
    return z / std if std > 0 else z


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Cubic Hermite step from 0 (``x <= edge0``) to 1 (``x >= edge1``)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gradient(dem: np.ndarray, gsd: float) -> tuple[np.ndarray, np.ndarray]:
    """Elevation gradient ``(d/drow, d/dcol)`` in metres per metre (central differences)."""
    gy, gx = np.gradient(dem, gsd)
    return gy, gx


def slope_deg(dem: np.ndarray, gsd: float) -> np.ndarray:
    """Slope in degrees, ``[H, W]``."""
    gy, gx = gradient(dem, gsd)
    return np.degrees(np.arctan(np.hypot(gx, gy)))


def hillshade(dem: np.ndarray, gsd: float, azimuth: float, altitude: float) -> np.ndarray:
    """Lambertian illumination ``cos(incidence)`` in [0, 1] for a sun at azimuth/altitude (deg)."""
    gy, gx = gradient(dem, gsd)
    az, alt = np.radians(azimuth), np.radians(altitude)
    # Unit vector towards the sun in (east, north, up); the surface normal is (-dz/dx_east,
    # -dz/dy_north, 1) with dz/dy_north = -gy because rows grow southwards.
    sun = np.array([np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt)])
    nx, ny = -gx, gy
    norm = np.sqrt(nx * nx + ny * ny + 1.0)
    return np.clip((nx * sun[0] + ny * sun[1] + sun[2]) / norm, 0.0, 1.0)


def cast_shadows(
    dem: np.ndarray, gsd: float, azimuth: float, altitude: float, max_steps: int = 48
) -> np.ndarray:
    """Boolean ``[H, W]``: pixels whose ray towards the sun is blocked by higher terrain.

    A vectorised ray march: at each step ``s`` the whole raster is compared with the terrain ``s``
    pixels away towards the sun (nearest-neighbour look-up), so the loop runs over steps only.
    """
    h, w = dem.shape
    az, alt = np.radians(azimuth), np.radians(altitude)
    d_row, d_col = -np.cos(az), np.sin(az)  # towards the sun, in pixels
    rise = np.tan(alt) * gsd  # metres the ray climbs per pixel
    relief = float(dem.max() - dem.min())
    steps = int(min(max_steps, np.ceil(relief / max(rise, 1e-6)) + 1))
    rows, cols = np.mgrid[0:h, 0:w]
    shadow = np.zeros((h, w), dtype=bool)
    for s in range(1, steps + 1):
        r = np.rint(rows + s * d_row).astype(np.intp)
        c = np.rint(cols + s * d_col).astype(np.intp)
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        if not inside.any():
            break
        ahead = np.full((h, w), -np.inf)
        ahead[inside] = dem[r[inside], c[inside]]
        shadow |= ahead > dem + s * rise
    return shadow


@dataclass
class Terrain:
    """A tile of bare terrain before land use and landslides.

    Attributes:
        dem: elevation ``[H, W]`` in metres (relative; the base elevation is added later).
        flat: boolean ``[H, W]``, valley-floor plain or plateau top (where fields, settlements
            and riverbeds go).
        river_distance: distance ``[H, W]`` in pixels to the river centreline (inf if none).
    """

    dem: np.ndarray
    flat: np.ndarray
    river_distance: np.ndarray


def make_terrain(
    rng: np.random.Generator,
    shape: tuple[int, int],
    gsd: float,
    median_slope: tuple[float, float],
    beta: float,
    valley_probability: float,
    plateau_probability: float,
) -> Terrain:
    """Fractal hills with drainage: a regional tilt, a ridged term and an alluvial valley.

    The ridged term ``1 - |z|`` of a second fractal field draws sharp ridges and V-shaped
    valleys (a cheap stand-in for a drainage network). The surface is scaled so that its median
    slope matches a draw from ``median_slope``, which keeps slope statistics realistic at any
    tile size and resolution. With ``valley_probability`` a sinuous valley crosses the tile: its
    floor is a flat alluvial plain with a river, and its walls rise into the hills. With
    ``plateau_probability`` the hill tops are truncated into a gentle karst plateau. Both give
    the flat ground where fields and settlements sit.

    Args:
        rng: the generator to draw from.
        shape: ``(H, W)``.
        gsd: metres per pixel.
        median_slope: range of the tile's median hillslope, in degrees.
        beta: spectral exponent of the hills.
        valley_probability: chance that a valley floor crosses the tile.
        plateau_probability: chance of a flattened plateau top.

    Returns:
        The :class:`Terrain`.
    """
    h, w = shape
    hills = fractal_noise(rng, shape, beta)
    ridged = blur(1.0 - np.abs(fractal_noise(rng, shape, beta - 0.3)), 1.0)
    base = 0.7 * hills + 0.4 * (ridged - ridged.mean()) / max(ridged.std(), 1e-9)
    # Soil-mantled hillslopes are smooth below ~6 m: creep and wash fill small irregularities.
    base = blur(base, 6.0 / gsd)
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    # A regional tilt gives every tile a dominant downslope direction, as on a mountain flank.
    tilt_dir = rng.uniform(0, 2 * np.pi)
    tilt = rng.uniform(0.6, 1.5) * (np.cos(tilt_dir) * rows + np.sin(tilt_dir) * cols) / max(h, w)
    dem = 0.6 * base / max(np.ptp(base), 1e-9) + tilt
    gy, gx = gradient(dem, gsd)
    target = np.tan(np.radians(rng.uniform(*median_slope)))
    dem *= target / max(float(np.median(np.hypot(gx, gy))), 1e-12)
    dem -= dem.min()
    relief = float(np.ptp(dem))
    flat = np.zeros(shape, dtype=bool)
    river_distance = np.full(shape, np.inf)
    if rng.random() < valley_probability:
        theta = rng.uniform(0, np.pi)
        # Along-valley (a) and across-valley (b) coordinates, centred in the tile.
        a = (rows - h / 2) * np.cos(theta) + (cols - w / 2) * np.sin(theta)
        b = -(rows - h / 2) * np.sin(theta) + (cols - w / 2) * np.cos(theta)
        offset = rng.uniform(-0.3, 0.3) * min(h, w)
        wavelength = rng.uniform(0.8, 2.0) * max(h, w)
        amp = rng.uniform(0.03, 0.12) * min(h, w)
        centre = offset + amp * np.sin(2 * np.pi * a / wavelength + rng.uniform(0, 2 * np.pi))
        d = np.abs(b - centre)
        floor_half = rng.uniform(0.04, 0.16) * min(h, w)
        walls = smoothstep(floor_half, floor_half + rng.uniform(4, 12), d)
        # Valley walls rise out of the floor; the floor itself drains gently along the valley.
        wall_rise = relief * rng.uniform(0.2, 0.5) * np.clip(d - floor_half, 0, None) / min(h, w)
        floor_level = 0.004 * gsd * a
        dem = floor_level + walls * (dem + wall_rise)
        flat = d < floor_half
        river_distance = d
    if rng.random() < plateau_probability:
        cap = np.quantile(dem, rng.uniform(0.65, 0.85))
        above = dem > cap
        dem = np.where(above, cap + 0.08 * (dem - cap), dem)
        flat |= above & (slope_deg(dem, gsd) < 6.0)
    return Terrain(dem=dem, flat=flat, river_distance=river_distance)


@dataclass
class Footprint:
    """The raster footprint of one elongated, downslope feature (landslide or hollow).

    Attributes:
        inside: boolean ``[H, W]``, pixels inside the outline.
        u: ``[H, W]`` position along the feature, 0 at the head (crown) to 1 at the toe.
        t: ``[H, W]`` depth into the outline, 1 on the centreline to 0 on the boundary
            (0 outside).
        area_px: number of pixels inside the tile.
    """

    inside: np.ndarray
    u: np.ndarray
    t: np.ndarray
    area_px: int


def trace_downslope(
    gy: np.ndarray, gx: np.ndarray, start: tuple[float, float], length_px: float
) -> np.ndarray:
    """A centreline from ``start`` following the steepest descent, ``[K, 2]`` (row, col).

    Steps of one pixel with directional inertia (debris keeps its momentum), continuing straight
    once outside the tile. The loop runs over at most ``length_px`` steps, not over pixels.
    """
    h, w = gy.shape
    n = max(int(np.ceil(length_px)), 2)
    pts = np.empty((n + 1, 2))
    p = np.array(start, dtype=np.float64)
    d = np.array([0.0, 0.0])
    pts[0] = p
    for i in range(1, n + 1):
        r, c = int(round(p[0])), int(round(p[1]))
        if 0 <= r < h and 0 <= c < w:
            g = np.array([-gy[r, c], -gx[r, c]])
            norm = np.hypot(*g)
            if norm > 1e-9:
                g /= norm
                d = g if i == 1 else 0.75 * d + 0.25 * g
                d /= max(np.hypot(*d), 1e-9)
        if not d.any():
            d = np.array([1.0, 0.0])
        p = p + d
        pts[i] = p
    return pts


def footprint(
    centreline: np.ndarray,
    width_px: float,
    shape: tuple[int, int],
    roughness: np.ndarray,
    toe_spread: float = 0.25,
) -> Footprint:
    """Rasterise a teardrop outline around a centreline.

    The half-width along the centreline follows ``sqrt(sin)`` (a rounded crown widening into the
    body) and spreads by ``toe_spread`` at the toe where the deposit fans out. The outline is the
    union of discs along the centreline, made irregular by ``roughness`` (a smooth noise field,
    unit variance). Work is limited to the feature's bounding box.

    Args:
        centreline: ``[K, 2]`` (row, col) points from head to toe.
        width_px: maximum width, in pixels.
        shape: ``(H, W)`` of the tile.
        roughness: ``[H, W]`` noise that perturbs the boundary.
        toe_spread: relative widening of the toe.

    Returns:
        The :class:`Footprint` (full-tile arrays).
    """
    h, w = shape
    k = len(centreline)
    # At most 40 centreline nodes: enough for smooth outlines, bounded memory.
    idx = np.unique(np.linspace(0, k - 1, min(k, 40)).round().astype(int))
    pts = centreline[idx]
    s = np.linspace(0.0, 1.0, len(pts))
    half = 0.5 * width_px * np.sqrt(np.sin(np.pi * (0.06 + 0.88 * s)))
    half *= 1.0 + toe_spread * smoothstep(0.6, 1.0, s)
    half = np.maximum(half, 0.75)
    margin = half.max() * 1.4 + 2
    r0 = int(max(np.floor(pts[:, 0].min() - margin), 0))
    r1 = int(min(np.ceil(pts[:, 0].max() + margin) + 1, h))
    c0 = int(max(np.floor(pts[:, 1].min() - margin), 0))
    c1 = int(min(np.ceil(pts[:, 1].max() + margin) + 1, w))
    inside = np.zeros(shape, dtype=bool)
    u = np.zeros(shape)
    t = np.zeros(shape)
    if r0 >= r1 or c0 >= c1:
        return Footprint(inside, u, t, 0)
    rows, cols = np.mgrid[r0:r1, c0:c1].astype(np.float64)
    # Normalised distance to each node: [K, h', w']; the nearest node gives u.
    dist = np.hypot(rows[None] - pts[:, 0, None, None], cols[None] - pts[:, 1, None, None])
    nd = dist / half[:, None, None]
    nearest = nd.argmin(axis=0)
    f = np.take_along_axis(nd, nearest[None], axis=0)[0] + 0.18 * roughness[r0:r1, c0:c1]
    box_inside = f < 1.0
    inside[r0:r1, c0:c1] = box_inside
    u[r0:r1, c0:c1] = np.where(box_inside, s[nearest], 0.0)
    t[r0:r1, c0:c1] = np.clip(1.0 - f, 0.0, 1.0)
    return Footprint(inside, u, t, int(box_inside.sum()))


def scar_relief(fp: Footprint, depth_m: float) -> np.ndarray:
    """Elevation change ``[H, W]`` of a landslide: depletion with a head scarp, then a deposit.

    The upper part (``u < ~0.55``) is lowered by up to ``depth_m`` with steep flanks and a sharp
    crown scarp; the lower part is raised into a toe bulge holding most of the displaced volume
    (bulking of loosened debris makes up for material that ran out of the scar).
    """
    u, t = fp.u, fp.t
    depletion = smoothstep(0.0, 0.07, u) * (1.0 - smoothstep(0.45, 0.65, u))
    deposit = smoothstep(0.55, 0.75, u) * (1.0 - smoothstep(0.92, 1.0, u))
    dz = -depth_m * np.sqrt(t) * depletion + 0.9 * depth_m * t * deposit
    return np.where(fp.inside, dz, 0.0)


def hollow_relief(fp: Footprint, depth_m: float) -> np.ndarray:
    """Elevation change of a stable hollow (zero-order valley): a smooth trough, no scarp."""
    return -depth_m * fp.t**1.5 * np.sin(np.pi * np.clip(fp.u, 0, 1))


def truncated_pareto(
    rng: np.random.Generator, a_min: float, a_max: float, exponent: float, size: int
) -> np.ndarray:
    """Draw from a Pareto law ``p(A) ~ A^-(exponent + 1)`` truncated to ``[a_min, a_max]``.

    Landslide inventories follow such a power law above a rollover (exponent about 1.0-1.5).
    """
    q = rng.random(size)
    ratio = (a_max / a_min) ** (-exponent)
    return a_min * (1.0 - q * (1.0 - ratio)) ** (-1.0 / exponent)


def pick_cell(rng: np.random.Generator, weights: np.ndarray) -> tuple[int, int] | None:
    """Draw one cell with probability proportional to ``weights`` (None if all are zero)."""
    flat = weights.ravel()
    total = flat.sum()
    if not total > 0:
        return None
    i = int(np.searchsorted(np.cumsum(flat), rng.random() * total, side="right"))
    i = min(i, flat.size - 1)
    return divmod(i, weights.shape[1])


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (``sigma`` in pixels; 0 returns ``x``), edges by reflection."""
    return ndimage.gaussian_filter(x, sigma, mode="nearest") if sigma > 0 else x
