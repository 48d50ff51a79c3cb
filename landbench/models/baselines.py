"""Baselines a reviewer asks for, and the two no-skill references every leaderboard needs.

* ``unet-rgb``: U-Net on RGB only (segmentation-models-pytorch); reads channels 0-2.
* ``unet-rgbdem``: the same U-Net on RGB + DEM stacked as four input channels (early fusion).
* ``resunet-rgbdem``: residual U-Net (Zhang, Liu & Wang 2018) on the stacked four channels.
* ``deeplabv3plus-rgbdem``: DeepLabV3+ (Chen et al. 2018, segmentation-models-pytorch).
* ``all-background``: predicts no landslide anywhere (its probability is the train prior).
* ``slope-threshold``: thresholds the DEM slope, the threshold fitted on the train split for the
  best pooled F1.

The segmentation-models-pytorch models are built with ``encoder_weights=None`` (nothing is
downloaded; ImageNet weights would not fit a 4-band input anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from landbench.core.errors import ConfigError, InvalidDataError
from landbench.models.base import INPUT_BANDS, RGB_BANDS, ZooModel, check_input, crop_to
from landbench.models.decoders import ResidualDecoder
from landbench.models.encoders import ResUNetEncoder
from landbench.models.fusion import FUSION_SIZES
from landbench.models.registry import register_model

#: Presets of the segmentation-models-pytorch U-Nets (``encoder_name``, depth, decoder widths).
UNET_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"encoder_name": "resnet18", "encoder_depth": 3, "decoder_channels": [32, 16, 8]},
    "small": {
        "encoder_name": "resnet18",
        "encoder_depth": 4,
        "decoder_channels": [128, 64, 32, 16],
    },
    "base": {
        "encoder_name": "resnet34",
        "encoder_depth": 5,
        "decoder_channels": [256, 128, 64, 32, 16],
    },
}
#: Presets of DeepLabV3+ (``encoder_name``, depth, ASPP/decoder width).
DEEPLAB_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"encoder_name": "resnet18", "encoder_depth": 3, "decoder_channels": 32},
    "small": {"encoder_name": "resnet18", "encoder_depth": 5, "decoder_channels": 128},
    "base": {"encoder_name": "resnet34", "encoder_depth": 5, "decoder_channels": 256},
}

UNET_REF = "Ronneberger, Fischer & Brox, MICCAI 2015 (segmentation-models-pytorch)"
RESUNET_REF = "Zhang, Liu & Wang, IEEE GRSL 2018 (Road extraction by deep residual U-Net)"
DEEPLAB_REF = "Chen et al., ECCV 2018 (segmentation-models-pytorch)"


def _prune_unused_stages(encoder: nn.Module, depth: int) -> None:
    """Drop the ResNet stages an smp encoder of ``depth`` < 5 keeps but never runs.

    smp's ResNet encoders keep ``layer3``/``layer4`` at depth 3 or 4; unused parameters would
    inflate the parameter count, get no gradient, and break DDP's unused-parameter check.
    """
    for stage in range(max(depth, 1), 5):
        if isinstance(getattr(encoder, f"layer{stage}", None), nn.Module):
            delattr(encoder, f"layer{stage}")


def _resolve(presets: dict[str, dict[str, Any]], size: str, **given: Any) -> dict[str, Any]:
    if size not in presets:
        raise ConfigError(f"Unknown size {size!r}; choose one of {sorted(presets)}.")
    return {k: (presets[size][k] if given.get(k) is None else given[k]) for k in presets[size]}


class _SmpModel(ZooModel):
    """Wraps a segmentation-models-pytorch model in the zoo contract (band selection, padding)."""

    def __init__(self, net: nn.Module, multiple: int) -> None:
        super().__init__()
        self.net = net
        self.multiple = multiple

    def encoders(self) -> list[nn.Module]:
        """``[net.encoder]``: the smp encoder, for transfer learning."""
        return [self.net.encoder]

    def forward(self, x: Tensor) -> Tensor:
        """``[N, 4, H, W]`` normalised R, G, B, DEM -> logits ``[N, 1, H, W]``."""
        x, size = self._prepare(x)
        return crop_to(self.net(x), size)


class _SmpUNet(_SmpModel):
    """U-Net of segmentation-models-pytorch on the bands in :attr:`bands_used`.

    Args:
        size: preset (``"tiny"``, ``"small"``, ``"base"``) of the options below.
        encoder_name: any smp encoder name, e.g. ``"resnet18"``, ``"resnet34"``.
        encoder_depth: number of encoder stages, 3 to 5; pads to a multiple of
            ``2**encoder_depth``.
        decoder_channels: one width per encoder stage, coarsest first.

    Shape:
        ``[N, 4, H, W] -> [N, 1, H, W]``.
    """

    bands_used = INPUT_BANDS

    def __init__(
        self,
        *,
        size: str = "base",
        encoder_name: str | None = None,
        encoder_depth: int | None = None,
        decoder_channels: Sequence[int] | None = None,
    ) -> None:
        import segmentation_models_pytorch as smp

        cfg = _resolve(
            UNET_SIZES,
            size,
            encoder_name=encoder_name,
            encoder_depth=encoder_depth,
            decoder_channels=decoder_channels,
        )
        cfg["decoder_channels"] = [int(c) for c in cfg["decoder_channels"]]
        if len(cfg["decoder_channels"]) != cfg["encoder_depth"]:
            raise ConfigError(
                f"decoder_channels needs encoder_depth={cfg['encoder_depth']} values, got "
                f"{cfg['decoder_channels']}."
            )
        try:
            net = smp.Unet(
                encoder_name=cfg["encoder_name"],
                encoder_depth=cfg["encoder_depth"],
                encoder_weights=None,
                decoder_channels=cfg["decoder_channels"],
                in_channels=len(self.bands_used),
                classes=1,
            )
        except (KeyError, ValueError) as err:
            raise ConfigError(f"Cannot build smp U-Net with {cfg}: {err}") from err
        _prune_unused_stages(net.encoder, cfg["encoder_depth"])
        super().__init__(net, multiple=2 ** cfg["encoder_depth"])
        self.config = {"size": size, **cfg}


@register_model(
    "unet-rgb",
    bands_used=RGB_BANDS,
    reference=UNET_REF,
    summary="U-Net (ResNet encoder, from scratch) on RGB only; the DEM is ignored.",
)
class UNetRGB(_SmpUNet):
    """U-Net on RGB only (reads channels 0-2 of the stacked input)."""

    bands_used = RGB_BANDS


@register_model(
    "unet-rgbdem",
    bands_used=INPUT_BANDS,
    reference=UNET_REF,
    summary="U-Net (ResNet encoder, from scratch) on RGB + DEM stacked (early fusion).",
)
class UNetRGBDEM(_SmpUNet):
    """U-Net on the four stacked channels R, G, B, DEM (early fusion)."""

    bands_used = INPUT_BANDS


@register_model(
    "deeplabv3plus-rgbdem",
    bands_used=INPUT_BANDS,
    reference=DEEPLAB_REF,
    summary="DeepLabV3+ (ResNet encoder, from scratch) on RGB + DEM stacked.",
)
class DeepLabV3PlusRGBDEM(_SmpModel):
    """DeepLabV3+ of segmentation-models-pytorch on R, G, B, DEM stacked.

    Args:
        size: preset (``"tiny"``, ``"small"``, ``"base"``) of the options below.
        encoder_name: any smp encoder name.
        encoder_depth: 3 to 5.
        decoder_channels: width of the ASPP module and decoder.

    Shape:
        ``[N, 4, H, W] -> [N, 1, H, W]``. Train with batches of at least 2 (the ASPP image
        pooling branch uses batch norm on a 1x1 map).
    """

    bands_used = INPUT_BANDS

    def __init__(
        self,
        *,
        size: str = "base",
        encoder_name: str | None = None,
        encoder_depth: int | None = None,
        decoder_channels: int | None = None,
    ) -> None:
        import segmentation_models_pytorch as smp

        cfg = _resolve(
            DEEPLAB_SIZES,
            size,
            encoder_name=encoder_name,
            encoder_depth=encoder_depth,
            decoder_channels=decoder_channels,
        )
        try:
            net = smp.DeepLabV3Plus(
                encoder_name=cfg["encoder_name"],
                encoder_depth=cfg["encoder_depth"],
                encoder_weights=None,
                decoder_channels=int(cfg["decoder_channels"]),
                in_channels=4,
                classes=1,
            )
        except (KeyError, ValueError) as err:
            raise ConfigError(f"Cannot build smp DeepLabV3+ with {cfg}: {err}") from err
        _prune_unused_stages(net.encoder, cfg["encoder_depth"])
        # The encoder downsamples by at most 16 (dilated last stage), the decoder works at 1/4.
        super().__init__(net, multiple=max(2 ** min(cfg["encoder_depth"], 4), 4))
        self.config = {"size": size, **cfg}


@register_model(
    "resunet-rgbdem",
    bands_used=INPUT_BANDS,
    reference=RESUNET_REF,
    summary="Residual U-Net (from scratch) on RGB + DEM stacked (early fusion).",
)
class ResUNetRGBDEM(ZooModel):
    """Residual U-Net on the stacked R, G, B, DEM channels (early fusion), no attention.

    The same residual encoder and decoder blocks as ``fusionnet-resunet``, with one encoder for
    all four bands: the ablation that isolates what separate encoders and attention bring.

    Args:
        size: preset (``"tiny"``, ``"small"``, ``"base"``), as for the fusion network.
        base_channels: width of the finest level; overrides the preset.
        depth: number of downsamplings; overrides the preset.

    Shape:
        ``[N, 4, H, W] -> [N, 1, H, W]``.
    """

    bands_used = INPUT_BANDS

    def __init__(
        self, *, size: str = "base", base_channels: int | None = None, depth: int | None = None
    ) -> None:
        super().__init__()
        cfg = _resolve(FUSION_SIZES, size, base_channels=base_channels, depth=depth)
        base, depth = int(cfg["base_channels"]), int(cfg["depth"])
        if base < 1 or not 1 <= depth <= 6:
            raise ConfigError(f"Need base_channels >= 1 and 1 <= depth <= 6, got {base}, {depth}.")
        widths = tuple(base * 2**i for i in range(depth + 1))
        self.encoder = ResUNetEncoder(4, widths)
        self.decoder = ResidualDecoder(widths, attention=False)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, 1)
        self.multiple = 2**depth
        self.config = {"size": size, "base_channels": base, "depth": depth}

    def encoders(self) -> list[nn.Module]:
        """``[encoder]``."""
        return [self.encoder]

    def forward(self, x: Tensor) -> Tensor:
        """``[N, 4, H, W]`` normalised R, G, B, DEM -> logits ``[N, 1, H, W]``."""
        x, size = self._prepare(x)
        features, _ = self.decoder(self.encoder(x))
        return crop_to(self.head(features), size)


def _iter_pixels(batches: Iterable[dict[str, Any]], name: str):
    """Yield ``(image [N,4,H,W], mask bool/float [N,H,W], valid bool [N,H,W])`` per batch."""
    seen = False
    for batch in batches:
        if not isinstance(batch, dict) or "image" not in batch or "mask" not in batch:
            raise ConfigError(f"{name}.fit expects batches as dicts with 'image' and 'mask'.")
        image = check_input(batch["image"], name)
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


class _FittedReference(ZooModel):
    """A no-skill reference: no gradient training; ``fit(batches)`` sets its buffers.

    ``batches`` are train batches: ``image`` normalised ``[N, 4, H, W]``, ``mask`` ``[N, H, W]``
    and optionally ``valid`` ``[N, H, W]`` (padding excluded from the statistics).
    """

    trainable = False


@register_model(
    "all-background",
    bands_used=(),
    reference="no-skill reference",
    summary="Predicts background everywhere (probability = train landslide-pixel fraction).",
    trainable=False,
    family="reference",
)
class AllBackground(_FittedReference):
    """No-skill reference that predicts no landslide anywhere.

    Its probability is the same for every pixel: the landslide-pixel fraction of the train
    batches seen by :meth:`fit` (capped below 0.5, so the thresholded map is all background). Its
    pooled F1 is 0 on any split with landslides: the floor every model must beat. Reads no band.

    Shape:
        ``[N, 4, H, W] -> [N, 1, H, W]`` constant logits.
    """

    bands_used = ()

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("positive_fraction", torch.tensor(0.0))
        self.config = {}

    def fit(self, batches: Iterable[dict[str, Any]]) -> None:
        """Record the landslide-pixel fraction of the train batches (``valid`` pixels only)."""
        positives = total = 0.0
        for _, mask, valid in _iter_pixels(batches, "all-background"):
            positives += float((mask * valid).sum())
            total += float(valid.sum())
        self.positive_fraction.fill_(positives / total if total else 0.0)

    def forward(self, x: Tensor) -> Tensor:
        """Constant logits ``logit(min(prior, 0.5 - 1e-6))``, shape ``[N, 1, H, W]``."""
        check_input(x, self.name or "all-background")
        p = self.positive_fraction.clamp(1e-6, 0.5 - 1e-6)
        logit = torch.log(p) - torch.log1p(-p)
        return logit.to(x.dtype).expand(x.shape[0], 1, *x.shape[2:]).contiguous()


@register_model(
    "slope-threshold",
    bands_used=("DEM",),
    reference="no-skill reference (DEM slope threshold fitted on train)",
    summary="Landslide where the DEM slope passes a threshold fitted for best pooled train F1.",
    trainable=False,
    family="reference",
)
class SlopeThreshold(_FittedReference):
    """Thresholds the DEM's slope; threshold and direction fitted for the best pooled train F1.

    Slope is the magnitude of the Sobel gradient (kornia) of the DEM channel in normalised units
    per pixel. Normalisation is a positive linear map of the DEM, so thresholding normalised
    slope selects the same pixels as thresholding slope in metres per pixel; the fitted
    threshold holds for the normalisation the weights are saved with.

    :meth:`fit` histograms slopes of landslide and background pixels on log-spaced bins
    (``bins`` edges from 1e-6 to 1e3; 0.5 % apart for 4096 bins) and picks the threshold and
    direction (steeper or flatter than the threshold) with the best pooled F1. Threshold and
    direction are buffers, so they save and load with the weights.

    Args:
        bins: number of histogram bin edges.

    Shape:
        ``[N, 4, H, W] -> [N, 1, H, W]`` logits ``4 * direction * (log(slope) - log(threshold))``
        (positive exactly where the rule says landslide).
    """

    bands_used = ("DEM",)
    #: Log-slope range of the histogram (normalised DEM units per pixel).
    log10_range: ClassVar[tuple[float, float]] = (-6.0, 3.0)

    def __init__(self, *, bins: int = 4096) -> None:
        super().__init__()
        if bins < 2:
            raise ConfigError(f"bins must be >= 2, got {bins}.")
        self.register_buffer("threshold", torch.tensor(float("nan")))
        self.register_buffer("direction", torch.tensor(1.0))
        self.register_buffer("train_f1", torch.tensor(float("nan")))
        self.bins = int(bins)
        self.config = {"bins": self.bins}

    @staticmethod
    def slope(x: Tensor) -> Tensor:
        """Slope magnitude ``[N, 1, H, W]`` of the DEM channel of ``x`` ``[N, 4, H, W]``."""
        import kornia

        grad = kornia.filters.spatial_gradient(x[:, 3:4].float(), mode="sobel", normalized=True)
        return grad.pow(2).sum(dim=2).sqrt()

    def fit(self, batches: Iterable[dict[str, Any]]) -> None:
        """Fit threshold and direction for the best pooled F1 over the train batches.

        Raises:
            ConfigError: if there are no batches or they are malformed.
            InvalidDataError: if the batches hold no landslide pixel (F1 is undefined).
        """
        edges = torch.logspace(*self.log10_range, self.bins, dtype=torch.float64)
        pos = torch.zeros(self.bins + 1, dtype=torch.float64)
        neg = torch.zeros(self.bins + 1, dtype=torch.float64)
        with torch.no_grad():
            for image, mask, valid in _iter_pixels(batches, "slope-threshold"):
                slope = self.slope(image)[:, 0][valid].double()
                target = mask[valid].double()
                # Bin b holds edges[b-1] <= slope < edges[b]; "steeper" predicts bins >= k.
                index = torch.bucketize(slope, edges, right=True)
                pos += torch.bincount(index, weights=target, minlength=self.bins + 1)
                neg += torch.bincount(index, weights=1 - target, minlength=self.bins + 1)
        total_pos = float(pos.sum())
        if total_pos <= 0:
            raise InvalidDataError(
                "slope-threshold.fit: the train batches hold no landslide pixel, so no threshold "
                "maximises F1; fit on a split with landslides."
            )
        # Candidate k = 1..bins: threshold edges[k-1]. Steeper: bins >= k; flatter: bins < k.
        tp_steep = pos.flip(0).cumsum(0).flip(0)[1:]
        fp_steep = neg.flip(0).cumsum(0).flip(0)[1:]
        tp_flat = pos.cumsum(0)[:-1]
        fp_flat = neg.cumsum(0)[:-1]
        f1_steep = 2 * tp_steep / (tp_steep + fp_steep + total_pos)
        f1_flat = 2 * tp_flat / (tp_flat + fp_flat + total_pos)
        best_steep, k_steep = f1_steep.max(0)
        best_flat, k_flat = f1_flat.max(0)
        steeper = bool(best_steep >= best_flat)
        k = int(k_steep if steeper else k_flat)
        self.threshold.fill_(float(edges[k]))
        self.direction.fill_(1.0 if steeper else -1.0)
        self.train_f1.fill_(float(best_steep if steeper else best_flat))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[N, 1, H, W]``: positive where the fitted rule predicts landslide."""
        check_input(x, self.name or "slope-threshold")
        if torch.isnan(self.threshold):
            raise ConfigError(
                "slope-threshold is not fitted: call model.fit(train_batches) or load fitted "
                "weights with landbench.models.load_weights."
            )
        log_slope = torch.log(self.slope(x).clamp_min(1e-12))
        return (4.0 * self.direction * (log_slope - torch.log(self.threshold))).to(x.dtype)
