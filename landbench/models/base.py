"""The contract every zoo model keeps, as a small base class.

A zoo model is created for a band set (``bands``, default R, G, B, DEM): it takes the stacked,
normalised ``[N, len(bands), H, W]`` tensor and returns landslide logits ``[N, 1, H, W]`` for any
``H`` and ``W``. Models that read a subset of the bands (``unet-rgb``: R, G, B; ``slope-threshold``:
DEM) pick them by name from the band set. Architectures that need sizes divisible by some ``2**k``
pad the input internally by the one rule of :mod:`landbench.core.padding` (edge replication,
bottom and right) and crop the output back, so native-size Bijie tiles go through unchanged.
"""

from __future__ import annotations

import abc
import reprlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from landbench.core.bands import band_indices, canonical_band, split_groups
from landbench.core.errors import ConfigError
from landbench.core.padding import pad_to_multiple

#: The band set a model is created for when none is given (Bijie, Hokkaido, synth).
DEFAULT_BANDS: tuple[str, ...] = ("R", "G", "B", "DEM")
#: At most this many input bands (Landslide4Sense has 14); a bound on user-given band lists.
MAX_BANDS = 64
#: At most this many characters in a band name.
MAX_BAND_NAME = 64


def check_bands(bands: Sequence[str]) -> tuple[str, ...]:
    """A model's band set, checked; names are kept as given (the data's own names).

    Args:
        bands: band names in channel order (aliases such as ``"B4"`` or ``"elevation"`` allowed;
            two names of one band, such as ``"R"`` and ``"B4"``, are a repeat).

    Returns:
        The names as a tuple, e.g. ``("R", "G", "B", "DEM")``.

    Raises:
        ConfigError: for a non-sequence, an empty or too long list, or a repeated band.
    """
    if isinstance(bands, str) or not isinstance(bands, Sequence) or not 1 <= len(bands):
        raise ConfigError(
            f"bands must be a non-empty list of band names such as {list(DEFAULT_BANDS)}, got "
            f"{reprlib.repr(bands)}."
        )
    if len(bands) > MAX_BANDS:
        raise ConfigError(f"A model takes at most {MAX_BANDS} bands, got {len(bands)}.")
    too_long = [b for b in bands if isinstance(b, str) and len(b) > MAX_BAND_NAME]
    if too_long:
        raise ConfigError(
            f"Band names have at most {MAX_BAND_NAME} characters; got {reprlib.repr(too_long[0])}."
        )
    canonical = [canonical_band(b) for b in bands]
    if len(set(canonical)) != len(canonical):
        raise ConfigError(f"bands {reprlib.repr(list(bands))} name a band twice.")
    return tuple(str(b) for b in bands)


def check_input(x: Any, name: str, bands: Sequence[str]) -> Tensor:
    """Check that ``x`` is a float ``[N, len(bands), H, W]`` tensor.

    Args:
        x: the model input.
        name: the model's registry name, quoted in error messages.
        bands: the band set the model was created for.

    Returns:
        ``x`` unchanged.

    Raises:
        ConfigError: if ``x`` is not a non-empty floating-point tensor of that shape.
    """
    channels = len(bands)
    if not isinstance(x, Tensor):
        raise ConfigError(
            f"{name} expects a torch.Tensor [N, {channels}, H, W], got {type(x).__name__}."
        )
    if x.ndim != 4 or x.shape[1] != channels:
        raise ConfigError(
            f"{name} was created for bands {list(bands)} and expects input [N, {channels}, H, W], "
            f"got shape {list(x.shape)}. Create the model for the data's bands "
            "(create_model(name, bands=dataset.bands)) or load the data with those bands."
        )
    if not x.is_floating_point():
        raise ConfigError(f"{name} expects a floating-point input, got dtype {x.dtype}.")
    if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ConfigError(f"{name} got an empty input of shape {list(x.shape)}.")
    return x


def resolve_preset(
    presets: Mapping[str, Mapping[str, Any]], size: str, **given: Any
) -> dict[str, Any]:
    """The options of preset ``size``, each overridden by a ``given`` value that is not None.

    Raises:
        ConfigError: if ``size`` is not a preset.
    """
    if size not in presets:
        raise ConfigError(f"Unknown size {size!r}; choose one of {sorted(presets)}.")
    return {k: (v if given.get(k) is None else given[k]) for k, v in presets[size].items()}


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

    Args:
        bands: the band set the model is created for, in channel order.
        reads: the bands it reads, by name, or None for all of ``bands``.

    Attributes:
        name: the registry name (set by :func:`landbench.models.create_model`).
        bands: the canonical band set of the input, in channel order; ``len(bands)`` channels.
        bands_used: the bands the model reads (all of ``bands``, or a subset picked by name).
        config: JSON-serialisable keyword arguments that rebuild the same architecture, ``bands``
            included (presets resolved; no file paths, no pretrained-weight flags).
        config_bounds: inclusive ``(low, high)`` bound of each integer option, checked by
            :func:`landbench.models.create_model` before anything is built (a list option is
            bounded element by element).
        trainable: True for gradient-trained models; False for models fitted by ``fit``.
        multiple: the model pads ``H`` and ``W`` to a multiple of this internally.
    """

    name: str = ""
    trainable: ClassVar[bool] = True
    config_bounds: ClassVar[Mapping[str, tuple[int, int]]] = {}
    multiple: int = 1

    def __init__(
        self, bands: Sequence[str] = DEFAULT_BANDS, reads: Sequence[str] | None = None
    ) -> None:
        super().__init__()
        self.bands = check_bands(bands)
        if reads is None:
            index = list(range(len(self.bands)))
        else:
            try:
                index = band_indices(reads, self.bands) if reads else []
            except ConfigError:
                have = {canonical_band(b) for b in self.bands}
                missing = [b for b in reads if canonical_band(b) not in have]
                raise ConfigError(
                    f"{self.name or type(self).__name__} reads band(s) {missing}, which the band "
                    f"set {list(self.bands)} lacks; create it for bands that include "
                    f"{list(reads)}."
                ) from None
        #: Channel of each band read, in the order read.
        self.band_index: list[int] = index
        self.bands_used = tuple(self.bands[i] for i in index)
        self.config: dict[str, Any] = {"bands": list(self.bands)}

    @property
    def in_channels(self) -> int:
        """Channels of the input: ``len(bands)``."""
        return len(self.bands)

    def band_groups(self) -> tuple[list[int], list[int]]:
        """``(optical, terrain)`` channel indices of :attr:`bands` (see ``core.bands``)."""
        return split_groups(self.bands)

    def encoders(self) -> list[nn.Module]:
        """The encoder modules (what transfer learning freezes); empty for encoder-less models."""
        return []

    def extra_repr(self) -> str:
        """Shown by ``print(model)``."""
        return f"name={self.name!r}, bands={self.bands}, bands_used={self.bands_used}"

    def check_input(self, x: Any) -> Tensor:
        """:func:`check_input` against this model's band set."""
        return check_input(x, self.name or type(self).__name__, self.bands)

    def _prepare(self, x: Tensor) -> tuple[Tensor, tuple[int, int]]:
        """Check the input, select the bands used and pad to :attr:`multiple`.

        Returns:
            The padded ``[N, len(bands_used), H', W']`` tensor and the input's ``(H, W)``.
        """
        self.check_input(x)
        if self.bands_used != self.bands:
            x = x[:, self.band_index]
        size = (int(x.shape[-2]), int(x.shape[-1]))
        padded, _ = pad_to_multiple(x, self.multiple)
        return padded, size

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of parameters (optionally only those with ``requires_grad``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)


class FittedBaseline(ZooModel, abc.ABC):
    """A baseline fitted by ``fit(batches)`` on the train split instead of gradient descent.

    ``batches`` are normalised train batches as the data module yields them: ``image``
    ``[N, len(bands), H, W]``, ``mask`` ``[N, H, W]`` and optionally ``valid`` ``[N, H, W]`` (false
    on padding, which every statistic leaves out). What ``fit`` learns lives in buffers, so it
    saves and loads with the weights like any other zoo model.
    """

    trainable = False

    @abc.abstractmethod
    def fit(self, batches: Iterable[dict[str, Any]]) -> None:
        """Fit on the train batches."""

    def iter_batches(
        self, batches: Iterable[dict[str, Any]]
    ) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        """Yield ``(image [N, C, H, W] float, mask [N, H, W] float, valid [N, H, W] bool)``.

        Raises:
            ConfigError: for a batch without ``image`` and ``mask``, mismatched shapes, or no
                batch at all.
        """
        name = self.name or type(self).__name__
        seen = False
        for batch in batches:
            if not isinstance(batch, dict) or "image" not in batch or "mask" not in batch:
                raise ConfigError(f"{name}.fit expects batches as dicts with 'image' and 'mask'.")
            image = self.check_input(batch["image"])
            mask = torch.as_tensor(batch["mask"])
            if mask.shape != (image.shape[0], *image.shape[2:]):
                raise ConfigError(
                    f"{name}.fit: mask shape {list(mask.shape)} does not match image "
                    f"{list(image.shape)}; expected [N, H, W]."
                )
            valid = batch.get("valid")
            valid = torch.ones_like(mask, dtype=torch.bool) if valid is None else valid.bool()
            seen = True
            yield image.float(), mask.float(), valid
        if not seen:
            raise ConfigError(f"{name}.fit got no batches; pass the train data loader.")
