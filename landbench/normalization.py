"""Per-band normalisation shared by the data modules (training) and ``Predictor`` (inference).

One function serves both so a model always sees its input prepared the same way. DEM cells that
hold the source's nodata value (e.g. -9999 in GSI DEMs) are filled with the train-split DEM mean
before normalising, so they become 0 instead of a huge outlier; the statistics themselves are
computed without them (:func:`landbench.datamodules.band_statistics`).
"""

from __future__ import annotations

from torch import Tensor


def normalize(
    image: Tensor,
    mean: Tensor,
    std: Tensor,
    dem_index: int | None = None,
    dem_nodata: float | None = None,
) -> Tensor:
    """``(image - mean) / std`` per band, with DEM nodata cells mapped to 0.

    Args:
        image: raw values ``[N, C, H, W]``.
        mean: per-band means, broadcastable to ``image`` (e.g. ``[1, C, 1, 1]``).
        std: per-band standard deviations, likewise.
        dem_index: channel of the DEM, or None if the image has none.
        dem_nodata: the DEM's nodata value, or None if it has none.

    Returns:
        The normalised image (a new tensor).
    """
    mean, std = mean.to(image), std.to(image)
    out = (image - mean) / std
    if dem_index is not None and dem_nodata is not None:
        dem = out[:, dem_index]
        dem[image[:, dem_index] == dem_nodata] = 0.0  # the train mean, normalised
    return out
