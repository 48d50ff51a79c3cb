"""Per-band normalisation shared by the data modules (training) and ``Predictor`` (inference).

One function serves both so a model always sees its input prepared the same way. DEM cells that
hold the source's nodata value (e.g. -9999 in GSI DEMs) are filled with the train-split DEM mean
before normalising, so they become 0 instead of a huge outlier; the statistics themselves are
computed without them (:func:`landbench.datamodules.band_statistics`).

Normalisation is per band. Statistics that depend on the tile itself (the tile mean of
:func:`relative_dem`) are taken over its real pixels only: padding (``valid`` false, see
:mod:`landbench.core.padding`) and DEM nodata never enter them, so a tile is normalised the same
whether it is padded or not.
"""

from __future__ import annotations

import torch
from torch import Tensor


def dem_valid(dem: Tensor, dem_nodata: float | None) -> Tensor:
    """Boolean mask of DEM cells holding an elevation (not the nodata value)."""
    return torch.ones_like(dem, dtype=torch.bool) if dem_nodata is None else dem != dem_nodata


def relative_dem(
    dem: Tensor, dem_nodata: float | None = None, valid: Tensor | None = None
) -> Tensor:
    """Elevation relative to each tile's mean over its real cells, ``[..., H, W]``.

    Landslides are local relief; a tile's absolute altitude mostly tells where the tile is. With
    ``dem_relative`` the model sees relief only, which transfers across regions whose altitudes
    differ (Bijie's karst plateau against Hokkaido's hills). Nodata cells are set to 0.

    Args:
        dem: raw elevation ``[..., H, W]``.
        dem_nodata: the DEM's nodata value, or None.
        valid: bool mask broadcastable to ``dem`` (e.g. ``[N, H, W]``), false on padding; the
            mean leaves those cells out (they are still shifted by it, like real cells).
    """
    has_value = dem_valid(dem, dem_nodata)
    valid = has_value if valid is None else has_value & valid.to(dem.device)
    counts = valid.sum((-2, -1), keepdim=True).clamp_min(1)
    means = torch.where(valid, dem, 0).sum((-2, -1), keepdim=True) / counts
    return torch.where(has_value, dem - means, 0)


def normalize(
    image: Tensor,
    mean: Tensor,
    std: Tensor,
    dem_index: int | None = None,
    dem_nodata: float | None = None,
    dem_relative: bool = False,
    valid: Tensor | None = None,
) -> Tensor:
    """``(image - mean) / std`` per band, with DEM nodata cells mapped to 0.

    Args:
        image: raw values ``[N, C, H, W]``.
        mean: per-band means, broadcastable to ``image`` (e.g. ``[1, C, 1, 1]``).
        std: per-band standard deviations, likewise.
        dem_index: channel of the DEM, or None if the image has none.
        dem_nodata: the DEM's nodata value, or None if it has none.
        dem_relative: first make the DEM relative to each tile's mean (:func:`relative_dem`);
            ``mean``/``std`` must then be statistics of relative elevation.
        valid: bool ``[N, H, W]`` mask of real pixels (false on padding), or None if every
            pixel is real; the tile mean of ``dem_relative`` is taken over real pixels only.

    Returns:
        The normalised image (a new tensor).
    """
    mean, std = mean.to(image), std.to(image)
    raw_dem = None if dem_index is None else image[:, dem_index]
    if raw_dem is not None and dem_relative:
        image = image.clone()
        image[:, dem_index] = relative_dem(raw_dem, dem_nodata, valid)
    out = (image - mean) / std
    if raw_dem is not None and dem_nodata is not None:
        out[:, dem_index][raw_dem == dem_nodata] = 0.0  # the train mean, normalised
    return out
