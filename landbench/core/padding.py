"""The one rule for padding a tile: edge replication on the bottom and right, with a validity mask.

Every place that pads a tile (inference to a model's size multiple, validation and test
collation of variable-size tiles, small training tiles) uses these functions, so a model sees
padding of one kind only and every loss, metric and statistic can leave it out through ``valid``.

Edge replication rather than zeros: a zero border in raw units (or in normalised units) is a
spurious edge, a cliff in the DEM, that convolutions near the border respond to. Replication is
also invariant to per-pixel normalisation: normalising then padding equals padding then
normalising, as long as the statistics are taken over the real pixels only.

Example::

    padded, valid = pad_to_multiple(image, 32)  # image [4, 50, 70] -> [4, 64, 96], valid [64, 96]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from landbench.core.errors import ConfigError


def _replicate(image: Tensor, pad_h: int, pad_w: int) -> Tensor:
    """``image`` ``[..., H, W]`` padded by ``pad_h`` rows (bottom) and ``pad_w`` columns (right)."""
    if not (pad_h or pad_w):
        return image
    shape = image.shape
    # F.pad's replicate mode wants [N, C, H, W]; fold any leading dimensions into one.
    flat = image.reshape(-1, 1, *shape[-2:])
    dtype = flat.dtype
    if not flat.is_floating_point():  # replicate is implemented for floating types only
        flat = flat.double()
    out = F.pad(flat, (0, pad_w, 0, pad_h), mode="replicate").to(dtype)
    return out.reshape(*shape[:-2], *out.shape[-2:])


def pad_to_size(image: Tensor, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Pad ``image`` on the bottom and right to ``size`` by edge replication.

    Args:
        image: ``[H, W]``, ``[C, H, W]`` or ``[N, C, H, W]`` tensor of any dtype.
        size: the target ``(H', W')``, each at least the image's size.

    Returns:
        ``(padded, valid)``: ``padded`` is ``[..., H', W']`` (same dtype and device), ``valid``
        a bool ``[H', W']`` mask, true on the ``H x W`` real pixels (top-left).

    Raises:
        ConfigError: if ``image`` has fewer than 2 dimensions or is larger than ``size``.
    """
    if image.ndim < 2:
        raise ConfigError(f"Cannot pad a tensor of shape {list(image.shape)}: need [..., H, W].")
    height, width = image.shape[-2:]
    target_h, target_w = int(size[0]), int(size[1])
    if target_h < height or target_w < width:
        raise ConfigError(
            f"Cannot pad a {height}x{width} tile to {target_h}x{target_w}: the target is smaller."
        )
    valid = torch.zeros(target_h, target_w, dtype=torch.bool, device=image.device)
    valid[:height, :width] = True
    return _replicate(image, target_h - height, target_w - width), valid


def pad_to_multiple(image: Tensor, multiple: int = 32) -> tuple[Tensor, Tensor]:
    """Pad ``image`` on the bottom and right to the next multiple of ``multiple`` (replication).

    Args:
        image: ``[H, W]``, ``[C, H, W]`` or ``[N, C, H, W]`` tensor of any dtype.
        multiple: both sides of the result are divisible by this (1 leaves the size alone).

    Returns:
        ``(padded, valid)`` as for :func:`pad_to_size`, with ``H' = ceil(H / multiple) *
        multiple`` and likewise ``W'``.

    Raises:
        ConfigError: if ``multiple`` is not a positive integer.
    """
    if int(multiple) < 1:
        raise ConfigError(f"The padding multiple must be a positive integer, got {multiple!r}.")
    height, width = image.shape[-2:]
    return pad_to_size(image, (padded_length(height, multiple), padded_length(width, multiple)))


def padded_length(length: int, multiple: int) -> int:
    """``length`` rounded up to a multiple of ``multiple`` (pixels)."""
    return -(-int(length) // int(multiple)) * int(multiple)


def valid_extent(valid: Tensor) -> tuple[int, int]:
    """``(H, W)`` of the real region of a bool ``[H', W']`` mask made by this module's rule.

    The real pixels are the top-left ``H x W`` block; padding lies at the bottom and right.

    Raises:
        ConfigError: if the mask holds no real pixel.
    """
    rows = valid.any(dim=-1).nonzero()
    cols = valid.any(dim=-2).nonzero()
    if len(rows) == 0:
        raise ConfigError("A tile's validity mask holds no real pixel.")
    return int(rows[-1]) + 1, int(cols[-1]) + 1
