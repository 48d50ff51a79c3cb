"""Band names: the canonical vocabulary that lets datasets, models and the Predictor meet.

A dataset declares its bands by name (``all_bands``, e.g. ``("R", "G", "B", "DEM")`` for Bijie
and Hokkaido, ``("B1", ..., "B12", "slope", "DEM")`` for Landslide4Sense). Names have aliases:
Sentinel-2 ``B4``, ``B3``, ``B2`` are the visible red, green and blue (``R``, ``G``, ``B``),
``elevation`` is ``DEM``. Two names denote the same band when their :func:`canonical_band`
agrees, so ``bands=("R", "G", "B", "DEM")`` selects ``B4, B3, B2, DEM`` from a Sentinel-2
dataset and a model trained on one dataset can be fed from another over the bands they share.

Bands are *optical* (reflectance-like: R, G, B and the other Sentinel-2 bands) or *terrain*
(:data:`TERRAIN_BANDS`: elevation and slope). The fusion network feeds the optical group to its
image encoder and the terrain group to its DEM encoder (:func:`split_groups`).
"""

from __future__ import annotations

from collections.abc import Sequence

from landbench.core.errors import ConfigError

RGB_BANDS: tuple[str, ...] = ("R", "G", "B")
"""The visible bands, in display order."""

TERRAIN_BANDS: tuple[str, ...] = ("DEM", "slope")
"""Canonical names of terrain bands: elevation and slope (degrees or an upstream scaling)."""

SENTINEL2_BANDS: tuple[str, ...] = (
    "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12",
)  # fmt: skip
"""Sentinel-2 MSI band names as ESA writes them (B2, B3, B4 are blue, green, red)."""

ALIASES: dict[str, str] = {
    # Sentinel-2 visible bands are R, G, B (10 m, 665 / 560 / 490 nm).
    "B4": "R",
    "B04": "R",
    "B3": "G",
    "B03": "G",
    "B2": "B",
    "B02": "B",
    "RED": "R",
    "GREEN": "G",
    "BLUE": "B",
    # Sentinel-2 names with a leading zero are the same bands.
    "B01": "B1",
    "B05": "B5",
    "B06": "B6",
    "B07": "B7",
    "B08": "B8",
    "B09": "B9",
    "NIR": "B8",
    # Terrain.
    "DEM": "DEM",
    "ELEVATION": "DEM",
    "DTM": "DEM",
    "HEIGHT": "DEM",
    "SLOPE": "slope",
}
"""Upper-cased alias to canonical name; names absent here are canonical as written."""


def canonical_band(name: str) -> str:
    """The canonical name of a band (``"B4"`` -> ``"R"``, ``"elevation"`` -> ``"DEM"``).

    Matching of aliases ignores case; a name that is neither canonical nor an alias (a band of a
    user's own folder dataset, say) is returned unchanged, so it still matches itself.

    Args:
        name: a band name.

    Returns:
        The canonical name.

    Raises:
        ConfigError: if ``name`` is not a non-empty string.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"A band name must be a non-empty string, got {name!r}.")
    key = name.strip().upper()
    if key in ALIASES:
        return ALIASES[key]
    if key in (b.upper() for b in (*RGB_BANDS, *SENTINEL2_BANDS)):
        return key
    return name.strip()


def dem_index(bands: Sequence[str]) -> int | None:
    """Channel of the DEM in ``bands`` (aliases such as ``"elevation"`` allowed), or None."""
    names = [canonical_band(b) for b in bands]
    return names.index("DEM") if "DEM" in names else None


def is_terrain(name: str) -> bool:
    """Whether ``name`` is a terrain band (elevation or slope)."""
    return canonical_band(name) in TERRAIN_BANDS


def split_groups(bands: Sequence[str]) -> tuple[list[int], list[int]]:
    """Indices of the optical and of the terrain bands of a band list.

    Args:
        bands: band names in the order of the image's channels.

    Returns:
        ``(optical_indices, terrain_indices)``, each in channel order; together they cover every
        channel once.

    Example:
        >>> split_groups(("R", "G", "B", "DEM"))
        ([0, 1, 2], [3])
    """
    optical = [i for i, b in enumerate(bands) if not is_terrain(b)]
    terrain = [i for i, b in enumerate(bands) if is_terrain(b)]
    return optical, terrain


def band_indices(requested: Sequence[str], available: Sequence[str]) -> list[int]:
    """Positions in ``available`` of the ``requested`` bands, matching names through aliases.

    Args:
        requested: the bands wanted, in the order wanted (aliases accepted).
        available: the bands a dataset provides, in file order.

    Returns:
        One index into ``available`` per requested band.

    Raises:
        ConfigError: on an empty selection, a band the dataset lacks, or a band asked twice
            (also through two aliases); the message lists the valid names.
    """
    if isinstance(requested, str) or not len(requested):
        raise ConfigError(
            f"bands must be a non-empty sequence of band names from {list(available)}."
        )
    lookup = {canonical_band(b): i for i, b in enumerate(available)}
    missing = [b for b in requested if canonical_band(b) not in lookup]
    if missing:
        raise ConfigError(
            f"Unknown band(s) {missing}; valid bands are {list(available)} (aliases: B4/B3/B2 "
            "for R/G/B, elevation for DEM)."
        )
    out = [lookup[canonical_band(b)] for b in requested]
    if len(set(out)) != len(out):
        raise ConfigError(f"Band selection {list(requested)} repeats a band.")
    return out


def same_bands(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two band lists name the same bands in the same order (aliases resolved)."""
    return [canonical_band(x) for x in a] == [canonical_band(x) for x in b]
