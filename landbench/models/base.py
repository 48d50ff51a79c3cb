"""The contract every zoo model keeps, as a small base class.

A zoo model takes the stacked, normalised ``[N, 4, H, W]`` tensor (R, G, B, DEM) and returns
landslide logits ``[N, 1, H, W]`` for any ``H`` and ``W``. Architectures that need sizes divisible
by some ``2**k`` pad the input internally (edge replication, bottom and right) and crop the output
back, so native-size Bijie tiles (non-square, variable size) go through unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from landbench.core.errors import ConfigError

#: The stacked input every zoo model receives, in channel order.
INPUT_BANDS: tuple[str, ...] = ("R", "G", "B", "DEM")
#: The bands an RGB-only model reads (channels 0-2 of the stacked input).
RGB_BANDS: tuple[str, ...] = ("R", "G", "B")


def check_input(x: Any, name: str = "model") -> Tensor:
    """Check that ``x`` is a float ``[N, 4, H, W]`` tensor, as every zoo model expects.

    Args:
        x: the model input.
        name: the model's registry name, quoted in error messages.

    Returns:
        ``x`` unchanged.

    Raises:
        ConfigError: if ``x`` is not a floating-point tensor of shape ``[N, 4, H, W]``.
    """
    if not isinstance(x, Tensor):
        raise ConfigError(f"{name} expects a torch.Tensor [N, 4, H, W], got {type(x).__name__}.")
    if x.ndim != 4 or x.shape[1] != len(INPUT_BANDS):
        raise ConfigError(
            f"{name} expects a stacked input of shape [N, 4, H, W] (normalised R, G, B, DEM), got "
            f"shape {list(x.shape)}. Load the dataset with bands=('R', 'G', 'B', 'DEM'); RGB-only "
            "models ignore the DEM channel themselves."
        )
    if not x.is_floating_point():
        raise ConfigError(f"{name} expects a floating-point input, got dtype {x.dtype}.")
    if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ConfigError(f"{name} got an empty input of shape {list(x.shape)}.")
    return x


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int]]:
    """Pad ``x`` at the bottom and right so that ``H`` and ``W`` are multiples of ``multiple``.

    Edge replication is used rather than zeros because a zero border in normalised units is a
    spurious edge (a cliff in the DEM) that convolutions near the border would respond to.

    Args:
        x: ``[N, C, H, W]``.
        multiple: the size both sides must be divisible by.

    Returns:
        The padded tensor and the original ``(H, W)`` to crop back to.
    """
    height, width = x.shape[-2:]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return x, (height, width)


def crop_to(x: Tensor, size: tuple[int, int], scale: int = 1) -> Tensor:
    """Crop a (possibly downsampled) map back to the region of an unpadded input.

    Args:
        x: ``[N, C, h, w]`` computed from a padded input.
        size: the unpadded input's ``(H, W)``.
        scale: how many input pixels one pixel of ``x`` covers (``2**level``).

    Returns:
        ``x[..., :ceil(H / scale), :ceil(W / scale)]``.
    """
    height = -(-size[0] // scale)
    width = -(-size[1] // scale)
    return x[..., :height, :width]


class ZooModel(nn.Module):
    """Base class of landbench's zoo models.

    Attributes:
        name: the registry name (set by :func:`landbench.models.create_model`).
        config: JSON-serialisable keyword arguments that rebuild the same architecture
            (presets resolved; no file paths, no pretrained-weight flags).
        bands_used: the input bands the model reads; RGB-only models read channels 0-2.
        trainable: True for gradient-trained models; False for models fitted by :meth:`fit`.
        multiple: the model pads ``H`` and ``W`` to a multiple of this internally.
    """

    name: str = ""
    bands_used: tuple[str, ...] = INPUT_BANDS
    trainable: ClassVar[bool] = True
    multiple: int = 1

    def __init__(self) -> None:
        super().__init__()
        self.config: dict[str, Any] = {}

    def encoders(self) -> list[nn.Module]:
        """The encoder modules (what transfer learning freezes); empty for encoder-less models."""
        return []

    def extra_repr(self) -> str:
        """Shown by ``print(model)``."""
        return f"name={self.name!r}, bands_used={self.bands_used}"

    def _prepare(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        """Check the input, select the bands used and pad to :attr:`multiple`."""
        check_input(x, self.name or type(self).__name__)
        if self.bands_used == RGB_BANDS:
            x = x[:, :3]
        return pad_to_multiple(x, self.multiple)

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of parameters (optionally only those with ``requires_grad``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)
