"""Plots of samples shared by every dataset: RGB, DEM hillshade, mask and prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; a user's interactive backend wins
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from landbench.core.bands import RGB_BANDS, canonical_band


def hillshade(
    dem: np.ndarray,
    azimuth: float = 315.0,
    altitude: float = 45.0,
    cell_size: float | None = None,
) -> np.ndarray:
    """Hillshade of a DEM, in [0, 1], with the sun at ``azimuth`` and ``altitude`` (degrees).

    The same Lambertian illumination that renders LandslideSynth's imagery
    (:func:`landbench.datasets._terrain.hillshade`).

    Args:
        dem: elevation ``[H, W]``, same unit as ``cell_size``.
        azimuth: sun azimuth, clockwise from north.
        altitude: sun elevation above the horizon.
        cell_size: ground size of a pixel. None (samples carry no ground resolution) scales the
            relief so that the 95th-percentile gradient draws as a 45-degree slope, which keeps
            both gentle and steep tiles readable instead of saturating.
    """
    from landbench.datasets._terrain import hillshade as lambertian

    dem = np.asarray(dem, dtype=np.float64)
    if dem.shape[0] < 2 or dem.shape[1] < 2:
        return np.zeros_like(dem)
    if cell_size is None:
        cell_size = float(np.percentile(np.hypot(*np.gradient(dem)), 95)) or 1.0
    return lambertian(dem, cell_size, azimuth, altitude)


def rgb_for_display(image: np.ndarray) -> np.ndarray:
    """``[3, H, W]`` raw RGB to ``[H, W, 3]`` in [0, 1] with a 2-98 percentile stretch."""
    rgb = np.moveaxis(np.asarray(image, dtype=np.float64), 0, -1)
    lo, hi = np.percentile(rgb, 2), np.percentile(rgb, 98)
    return np.clip((rgb - lo) / max(hi - lo, 1e-6), 0, 1)


def plot_sample(
    sample: dict[str, Any],
    bands: Sequence[str],
    show_titles: bool = True,
    suptitle: str | None = None,
) -> Figure:
    """Draw RGB, DEM hillshade, mask and (if ``sample["prediction"]`` exists) the prediction.

    Args:
        sample: a landbench sample; ``image`` ``[C, H, W]`` with channels named by ``bands``.
        bands: names of the image channels; aliases count (Sentinel-2 ``B4``, ``B3``, ``B2`` are
            shown as RGB, ``elevation`` as the DEM).
        show_titles: whether to title each panel.
        suptitle: an optional figure title.

    Returns:
        The figure (one row of panels).
    """
    image = np.asarray(sample["image"])
    names = [canonical_band(b) for b in bands]
    panels: list[tuple[str, np.ndarray, dict[str, Any]]] = []
    if all(b in names for b in RGB_BANDS):
        rgb = image[[names.index(b) for b in RGB_BANDS]]
        panels.append(("RGB", rgb_for_display(rgb), {}))
    if "DEM" in names:
        panels.append(("DEM (hillshade)", hillshade(image[names.index("DEM")]), {"cmap": "gray"}))
    if "mask" in sample:
        mask = np.asarray(sample["mask"])
        panels.append(("Mask", mask, {"cmap": "gray", "vmin": 0, "vmax": 1}))
    if "prediction" in sample:
        pred = np.asarray(sample["prediction"]).squeeze()
        panels.append(("Prediction", pred, {"cmap": "gray", "vmin": 0, "vmax": 1}))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (title, data, kwargs) in zip(axes[0], panels):
        ax.imshow(data, interpolation="nearest", **kwargs)
        ax.axis("off")
        if show_titles:
            ax.set_title(title)
    if suptitle is not None:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
