"""Lightning data modules for every landbench dataset (TorchGeo ``NonGeoDataModule``).

Training draws fixed-size patches from the variable-size tiles (padding tiles that are smaller
than a patch); validation and test run at each tile's native size, padded up to the batch's
largest size rounded to a multiple of ``pad_multiple`` so that encoders with a fixed stride accept
them. Every tile is padded alone by the one rule of :mod:`landbench.core.padding` (edge
replication, bottom and right) and the padding is recorded in the batch as ``valid`` so losses,
metrics and the :class:`~landbench.inference.Predictor` leave it out. Band statistics for
normalisation are computed on the train split only, over real pixels, and applied on the device
after transfer, as TorchGeo does; a tile's own statistics (the relative-DEM mean) use its real
pixels only.

Batches are what TorchGeo's own trainers consume: ``image`` float32 ``[N, C, H, W]``,
``mask`` int64 ``[N, H, W]``, plus ``id`` (list of str) and ``valid`` (bool ``[N, H, W]``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset
from torchgeo.datamodules import NonGeoDataModule

from landbench.core.bands import dem_index
from landbench.core.errors import ConfigError
from landbench.core.normalization import dem_valid, normalize, relative_dem
from landbench.core.padding import pad_to_size, padded_length
from landbench.datasets.base import LandslideDataset
from landbench.datasets.registry import dataset_class


def band_statistics(
    dataset: LandslideDataset, dem_nodata: float | None = None, dem_relative: bool = False
) -> tuple[Tensor, Tensor]:
    """Per-band mean and standard deviation over every pixel of a dataset.

    Accumulated in float64 (sums of values and of squares) so one pass suffices.

    Args:
        dataset: usually the train split.
        dem_nodata: DEM cells holding this value are left out of the DEM's statistics.
        dem_relative: DEM statistics of elevation relative to each tile's mean
            (:func:`landbench.core.normalization.relative_dem`).

    Returns:
        ``(mean, std)``, each float32 ``[C]``; a constant band gets std 1.
    """
    dem = dem_index(dataset.bands)
    s1 = s2 = total = None
    for i in range(len(dataset)):
        image = dataset[i]["image"].double()
        valid = torch.ones_like(image, dtype=torch.bool)
        if dem is not None:
            valid[dem] = dem_valid(image[dem], dem_nodata)
            if dem_relative:
                image[dem] = relative_dem(image[dem], dem_nodata)
        image, valid = torch.where(valid, image, 0.0).flatten(1), valid.flatten(1)
        if s1 is None:
            s1 = torch.zeros(image.shape[0], dtype=torch.float64)
            s2 = torch.zeros_like(s1)
            total = torch.zeros_like(s1)
        s1 += image.sum(1)
        s2 += (image * image).sum(1)
        total += valid.sum(1)
    if s1 is None or not bool((total > 0).all()):
        raise ConfigError(f"Cannot compute band statistics: the {dataset.split} split is empty.")
    mean = s1 / total
    std = (s2 / total - mean * mean).clamp_min(0).sqrt()
    std[std < 1e-6] = 1.0
    return mean.float(), std.float()


class RandomPatches(Dataset[dict[str, Any]]):
    """Draws one random ``patch_size`` crop of a tile per access.

    A tile smaller than a patch is padded by the core rule (:func:`landbench.core.padding.
    pad_to_size`: edge replication, bottom and right; mask padding is background) and the
    sample's ``valid`` mask is false on the padding, so the loss can leave it out.

    Args:
        dataset: the tiles.
        patch_size: side of the square patch, in pixels.
        patches_per_tile: how many patches one epoch draws from each tile.
    """

    def __init__(self, dataset: LandslideDataset, patch_size: int, patches_per_tile: int = 1):
        self.dataset = dataset
        self.patch_size = patch_size
        self.patches_per_tile = patches_per_tile

    def __len__(self) -> int:
        return len(self.dataset) * self.patches_per_tile

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.dataset[index // self.patches_per_tile]
        image, mask = sample["image"], sample["mask"]
        p = self.patch_size
        h, w = mask.shape
        image, mask, valid = _pad_sample(image, mask, (max(h, p), max(w, p)))
        h, w = mask.shape
        # torch's RNG: Lightning seeds it per worker, so crops are reproducible under a seed.
        top = int(torch.randint(0, h - p + 1, ()))
        left = int(torch.randint(0, w - p + 1, ()))
        window = (slice(top, top + p), slice(left, left + p))
        return {
            "image": image[(slice(None), *window)].contiguous(),
            "mask": mask[window].contiguous(),
            "valid": valid[window].contiguous(),
            "id": sample["id"],
        }


def _pad_sample(
    image: Tensor, mask: Tensor, size: tuple[int, int], valid: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Pad one sample to ``size``: image by the core rule, mask with background, and ``valid``.

    Args:
        image: raw ``[C, H, W]``.
        mask: ``[H, W]``.
        size: target ``(H', W')``.
        valid: bool ``[H, W]`` of real pixels already known (e.g. from a padded patch).

    Returns:
        ``(image [C, H', W'], mask [H', W'], valid [H', W'])``.
    """
    image, new_valid = pad_to_size(image, size)
    h, w = mask.shape
    mask = F.pad(mask, (0, size[1] - w, 0, size[0] - h))
    if valid is not None:
        new_valid[:h, :w] &= valid
    return image, mask, new_valid


def pad_collate(samples: Sequence[dict[str, Any]], multiple: int = 32) -> dict[str, Any]:
    """Collate native-size tiles: pad each to the batch's largest size rounded up to ``multiple``.

    Each tile is padded alone by the core rule (:mod:`landbench.core.padding`: edge replication
    of its own raw pixels, bottom and right), mask padding is background, and ``valid`` marks the
    real pixels so losses, metrics, statistics and the Predictor leave the padding out.

    Returns:
        ``{"image": float [N, C, H, W], "mask": int64 [N, H, W], "valid": bool [N, H, W],
        "id": [str]}``.
    """
    height = padded_length(max(s["mask"].shape[0] for s in samples), multiple)
    width = padded_length(max(s["mask"].shape[1] for s in samples), multiple)
    images, masks, valids = [], [], []
    for s in samples:
        image, mask, valid = _pad_sample(s["image"], s["mask"], (height, width), s.get("valid"))
        images.append(image)
        masks.append(mask)
        valids.append(valid)
    return {
        "image": torch.stack(images),
        "mask": torch.stack(masks),
        "valid": torch.stack(valids),
        "id": [s["id"] for s in samples],
    }


def _train_collate(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return pad_collate(samples, multiple=1)


class _Normalize(torch.nn.Module):
    """Normalises ``batch["image"]`` per band (DEM nodata to 0); other keys are untouched.

    A tile's own statistics (the relative-DEM mean) leave out pixels the batch's ``valid``
    marks as padding.
    """

    def __init__(
        self,
        mean: Tensor,
        std: Tensor,
        dem_index: int | None,
        dem_nodata: float | None,
        dem_relative: bool,
    ):
        super().__init__()
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))
        self.dem_index = dem_index
        self.dem_nodata = dem_nodata
        self.dem_relative = dem_relative

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        batch = dict(batch)
        batch["image"] = normalize(
            batch["image"],
            self.mean,
            self.std,
            self.dem_index,
            self.dem_nodata,
            self.dem_relative,
            batch.get("valid"),
        )
        return batch


class _FlipRotate(torch.nn.Module):
    """Random flips and 90-degree rotations of ``image``, ``mask`` and ``valid`` alike (kornia).

    kornia geometrically transforms keys named ``mask`` or ``mask_*``; ``valid`` is renamed for
    the call so the padding marker stays aligned with the pixels it describes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.aug = K.AugmentationSequential(
            K.RandomHorizontalFlip(),
            K.RandomVerticalFlip(),
            K.RandomRotation90(times=(0, 3)),
            data_keys=None,
            keepdim=True,
        )

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        batch = dict(batch)
        if "valid" in batch:
            batch["mask_valid"] = batch.pop("valid")
        batch = self.aug(batch)
        if "mask_valid" in batch:
            batch["valid"] = batch.pop("mask_valid").bool()
        return batch


class _Chain(torch.nn.Module):
    def __init__(self, *steps: torch.nn.Module):
        super().__init__()
        self.steps = torch.nn.ModuleList(steps)

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        for step in self.steps:
            batch = step(batch)
        return batch


class LandslideDataModule(NonGeoDataModule):
    """Data module for any registered landbench dataset.

    Args:
        dataset: registry name (``"bijie"``, ``"hokkaido"``, ``"synth"``).
        batch_size: training batch size.
        patch_size: side of the square training patches, in pixels.
        num_workers: data loader worker processes.
        eval_batch_size: batch size of validation and test (native-size tiles).
        pad_multiple: validation/test tiles are padded up to a multiple of this.
        patches_per_tile: random patches drawn per training tile and epoch.
        augment: random flips and 90-degree rotations of training batches (on the device).
        dem_relative: feed the DEM relative to each tile's mean elevation (local relief only;
            see :func:`landbench.core.normalization.relative_dem`) instead of absolute elevation.
        mean: per-band means to use instead of train-split statistics.
        std: per-band standard deviations, likewise.
        **kwargs: passed to the dataset class (``root``, ``bands``, ``preset``, ...).
    """

    dataset_name: str = ""

    def __init__(
        self,
        dataset: str | None = None,
        batch_size: int = 8,
        patch_size: int = 128,
        num_workers: int = 0,
        eval_batch_size: int = 1,
        pad_multiple: int = 32,
        patches_per_tile: int = 1,
        augment: bool = True,
        dem_relative: bool = False,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        **kwargs: Any,
    ) -> None:
        name = dataset or self.dataset_name
        if not name:
            raise ConfigError("LandslideDataModule needs a dataset name, e.g. dataset='synth'.")
        for key, value in (
            ("batch_size", batch_size),
            ("patch_size", patch_size),
            ("eval_batch_size", eval_batch_size),
            ("pad_multiple", pad_multiple),
            ("patches_per_tile", patches_per_tile),
        ):
            if int(value) < 1:
                raise ConfigError(f"{key} must be a positive integer, got {value!r}.")
        super().__init__(dataset_class(name), batch_size, num_workers, **kwargs)
        self.dataset_name = name
        self.patch_size = patch_size
        self.eval_batch_size = eval_batch_size
        self.pad_multiple = pad_multiple
        self.patches_per_tile = patches_per_tile
        self.augment = augment
        self.dem_relative = dem_relative
        self._bands: tuple[str, ...] | None = (
            tuple(kwargs["bands"]) if kwargs.get("bands") is not None else None
        )
        self.dem_nodata: float | None = getattr(self.dataset_class, "dem_nodata", None)
        """The dataset's DEM nodata value: excluded from statistics, normalised to 0."""
        if (mean is None) != (std is None):
            raise ConfigError(
                "Give both mean and std, or neither (then train statistics are used)."
            )
        self._given_stats = None if mean is None else (torch.tensor(mean), torch.tensor(std))
        self._stats: tuple[Tensor, Tensor] | None = None
        self.collate_fn = _train_collate

    @property
    def bands(self) -> tuple[str, ...]:
        """Names of the input bands, in channel order: the ``bands`` option, else the dataset's.

        A dataset's default band set may depend on its options (a synthetic preset shaped like
        Landslide4Sense has 14 bands), so it is read from the train split itself.
        """
        if self._bands is None:
            self._bands = tuple(self.dataset_class(split="train", **self.kwargs).bands)
        return self._bands

    @property
    def stats(self) -> tuple[Tensor, Tensor]:
        """``(mean, std)`` per band used for normalisation, from the train split only."""
        if self._stats is None:
            if self._given_stats is not None:
                self._stats = self._given_stats
            else:
                self._stats = band_statistics(
                    self.dataset_class(split="train", **self.kwargs),
                    self.dem_nodata,
                    self.dem_relative,
                )
            mean, std = self._stats
            if mean.numel() != len(self.bands) or std.numel() != len(self.bands):
                raise ConfigError(
                    f"mean/std have {mean.numel()}/{std.numel()} values but {len(self.bands)} "
                    f"bands are selected ({', '.join(self.bands)})."
                )
        return self._stats

    def setup(self, stage: str) -> None:
        """Create the split datasets and the device-side transforms."""
        make = self.dataset_class
        if stage == "fit":
            self.train_dataset = RandomPatches(
                make(split="train", **self.kwargs), self.patch_size, self.patches_per_tile
            )
        if stage in ("fit", "validate"):
            self.val_dataset = make(split="val", **self.kwargs)
        if stage == "test":
            self.test_dataset = make(split="test", **self.kwargs)
        if stage == "predict":
            self.predict_dataset = make(split="test", **self.kwargs)
        mean, std = self.stats
        normalize = _Normalize(mean, std, dem_index(self.bands), self.dem_nodata, self.dem_relative)
        self.aug = normalize
        if self.augment:
            self.train_aug = _Chain(normalize, _FlipRotate())
        else:
            self.train_aug = normalize

    def _dataloader_factory(self, split: str) -> Any:
        loader = super()._dataloader_factory(split)
        if split == "train":
            return loader
        # Native-size tiles: a padding collate and the evaluation batch size.
        return torch.utils.data.DataLoader(
            loader.dataset,
            batch_size=self.eval_batch_size,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=functools.partial(pad_collate, multiple=self.pad_multiple),
            persistent_workers=self.num_workers > 0,
        )


class BijieDataModule(LandslideDataModule):
    """:class:`LandslideDataModule` for :class:`landbench.datasets.Bijie`."""

    dataset_name = "bijie"


class HokkaidoDataModule(LandslideDataModule):
    """:class:`LandslideDataModule` for :class:`landbench.datasets.Hokkaido`."""

    dataset_name = "hokkaido"


class SynthDataModule(LandslideDataModule):
    """:class:`LandslideDataModule` for :class:`landbench.datasets.LandslideSynth`."""

    dataset_name = "synth"


class Landslide4SenseDataModule(LandslideDataModule):
    """:class:`LandslideDataModule` for :class:`landbench.datasets.Landslide4Sense`.

    Patches are 128 x 128, so a training patch is a whole patch; all 14 bands are used unless
    ``bands=`` selects some (e.g. ``("R", "G", "B", "DEM")`` to meet Bijie and Hokkaido).
    """

    dataset_name = "landslide4sense"

    def __init__(self, patch_size: int = 128, **kwargs: Any) -> None:
        kwargs.setdefault("bands", dataset_class(self.dataset_name).all_bands)
        super().__init__(patch_size=patch_size, **kwargs)
