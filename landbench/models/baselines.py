"""Deep and no-skill baselines: the non-paper zoo models a reviewer asks for.

Deep baselines (gradient-trained; every one is created for a band set, default R, G, B, DEM):

* ``unet-rgb``: U-Net on the optical R, G, B bands only (segmentation-models-pytorch), picked by
  name from the band set; the terrain is ignored.
* ``unet-rgbdem``: the same U-Net on all bands stacked as input channels (early fusion).
* ``resunet-rgbdem``: residual U-Net (Zhang, Liu & Wang 2018) on all bands stacked.
* ``deeplabv3plus-rgbdem``: DeepLabV3+ (Chen et al. 2018, segmentation-models-pytorch) on all
  bands stacked.

No-skill baselines (fitted by ``fit`` on the train split): ``all-background`` predicts no
landslide anywhere; ``slope-threshold`` thresholds the DEM slope. The classical baseline
``hgb-pixel`` lives in :mod:`landbench.models.classical`.

The segmentation-models-pytorch models are built with ``encoder_weights=None`` (nothing is
downloaded; ImageNet weights would not fit a band set other than RGB anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from landbench.core.bands import RGB_BANDS
from landbench.core.errors import ConfigError, InvalidDataError
from landbench.models.base import (
    DEFAULT_BANDS,
    FittedBaseline,
    ZooModel,
    crop_to,
    resolve_preset,
)
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
NO_SKILL = "no-skill baseline"


def _prune_unused_stages(encoder: nn.Module, depth: int) -> None:
    """Drop the ResNet stages an smp encoder of ``depth`` < 5 keeps but never runs.

    smp's ResNet encoders keep ``layer3``/``layer4`` at depth 3 or 4; unused parameters would
    inflate the parameter count, get no gradient, and break DDP's unused-parameter check.
    """
    for stage in range(max(depth, 1), 5):
        if isinstance(getattr(encoder, f"layer{stage}", None), nn.Module):
            delattr(encoder, f"layer{stage}")


class _SmpModel(ZooModel):
    """A segmentation-models-pytorch model in the zoo contract (band selection, padding).

    Subclasses name the smp architecture (:attr:`arch`), its presets (:attr:`presets`) and the
    bands they read (:attr:`reads`, None for all).

    Args:
        bands: the band set, in channel order.
        size: preset (``"tiny"``, ``"small"``, ``"base"``) of the options below.
        encoder_name: any smp encoder name, e.g. ``"resnet18"``, ``"resnet34"``.
        encoder_depth: number of encoder stages, 3 to 5.
        decoder_channels: U-Net: one width per encoder stage, coarsest first; DeepLabV3+: the
            width of the ASPP module and decoder.

    Shape:
        ``[N, len(bands), H, W] -> [N, 1, H, W]``.
    """

    arch: ClassVar[str] = "Unet"
    presets: ClassVar[dict[str, dict[str, Any]]] = UNET_SIZES
    reads: ClassVar[tuple[str, ...] | None] = None
    config_bounds = {"encoder_depth": (3, 5), "decoder_channels": (1, 1024)}

    def __init__(
        self,
        *,
        bands: Sequence[str] = DEFAULT_BANDS,
        size: str = "base",
        encoder_name: str | None = None,
        encoder_depth: int | None = None,
        decoder_channels: Sequence[int] | int | None = None,
    ) -> None:
        import segmentation_models_pytorch as smp

        super().__init__(bands, reads=self.reads)
        cfg = resolve_preset(
            self.presets,
            size,
            encoder_name=encoder_name,
            encoder_depth=encoder_depth,
            decoder_channels=decoder_channels,
        )
        depth = int(cfg["encoder_depth"])
        if self.arch == "Unet":
            cfg["decoder_channels"] = [int(c) for c in cfg["decoder_channels"]]
            if len(cfg["decoder_channels"]) != depth:
                raise ConfigError(
                    f"decoder_channels needs encoder_depth={depth} values, got "
                    f"{cfg['decoder_channels']}."
                )
            # The encoder halves the size encoder_depth times.
            self.multiple = 2**depth
        else:
            cfg["decoder_channels"] = int(cfg["decoder_channels"])
            # The encoder downsamples by at most 16 (dilated last stage), the decoder works at 1/4.
            self.multiple = max(2 ** min(depth, 4), 4)
        try:
            self.net = getattr(smp, self.arch)(
                **cfg, encoder_weights=None, in_channels=len(self.bands_used), classes=1
            )
        except (KeyError, ValueError) as err:
            raise ConfigError(f"Cannot build smp {self.arch} with {cfg}: {err}") from err
        _prune_unused_stages(self.net.encoder, depth)
        self.config.update(size=size, **cfg)

    def encoders(self) -> list[nn.Module]:
        """``[net.encoder]``: the smp encoder, for transfer learning."""
        return [self.net.encoder]

    def forward(self, x: Tensor) -> Tensor:
        """``[N, len(bands), H, W]`` normalised bands -> logits ``[N, 1, H, W]``."""
        x, size = self._prepare(x)
        return crop_to(self.net(x), size)


@register_model(
    "unet-rgb",
    bands_used=RGB_BANDS,
    reference=UNET_REF,
    summary="U-Net (ResNet encoder, from scratch) on R, G, B only; terrain bands are ignored.",
)
class UNetRGB(_SmpModel):
    """U-Net on the R, G, B bands of its band set, picked by name (others are ignored)."""

    reads = RGB_BANDS


@register_model(
    "unet-rgbdem",
    reference=UNET_REF,
    summary="U-Net (ResNet encoder, from scratch) on all bands stacked (early fusion).",
)
class UNetRGBDEM(_SmpModel):
    """U-Net on all bands stacked as input channels (early fusion; R, G, B, DEM by default)."""


@register_model(
    "deeplabv3plus-rgbdem",
    reference=DEEPLAB_REF,
    summary="DeepLabV3+ (ResNet encoder, from scratch) on all bands stacked.",
)
class DeepLabV3PlusRGBDEM(_SmpModel):
    """DeepLabV3+ on all bands stacked.

    Train with batches of at least 2 (the ASPP image pooling branch uses batch norm on a 1x1 map).
    """

    arch = "DeepLabV3Plus"
    presets = DEEPLAB_SIZES


@register_model(
    "resunet-rgbdem",
    reference=RESUNET_REF,
    summary="Residual U-Net (from scratch) on all bands stacked (early fusion).",
)
class ResUNetRGBDEM(ZooModel):
    """Residual U-Net on all bands stacked (early fusion), no attention.

    The same residual encoder and decoder blocks as ``fusionnet-resunet``, with one encoder for
    all bands: the ablation that isolates what separate encoders and attention bring.

    Args:
        bands: the band set, in channel order.
        size: preset (``"tiny"``, ``"small"``, ``"base"``), as for the fusion network.
        base_channels: width of the finest level; overrides the preset.
        depth: number of downsamplings; overrides the preset.

    Shape:
        ``[N, len(bands), H, W] -> [N, 1, H, W]``.
    """

    config_bounds = {"base_channels": (1, 512), "depth": (1, 6)}

    def __init__(
        self,
        *,
        bands: Sequence[str] = DEFAULT_BANDS,
        size: str = "base",
        base_channels: int | None = None,
        depth: int | None = None,
    ) -> None:
        super().__init__(bands)
        cfg = resolve_preset(FUSION_SIZES, size, base_channels=base_channels, depth=depth)
        base, depth = int(cfg["base_channels"]), int(cfg["depth"])
        if base < 1 or not 1 <= depth <= 6:
            raise ConfigError(f"Need base_channels >= 1 and 1 <= depth <= 6, got {base}, {depth}.")
        widths = tuple(base * 2**i for i in range(depth + 1))
        self.encoder = ResUNetEncoder(self.in_channels, widths)
        self.decoder = ResidualDecoder(widths, attention=False)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, 1)
        self.multiple = 2**depth
        self.config.update(size=size, base_channels=base, depth=depth)

    def encoders(self) -> list[nn.Module]:
        """``[encoder]``."""
        return [self.encoder]

    def forward(self, x: Tensor) -> Tensor:
        """``[N, len(bands), H, W]`` normalised bands -> logits ``[N, 1, H, W]``."""
        x, size = self._prepare(x)
        features, _ = self.decoder(self.encoder(x))
        return crop_to(self.head(features), size)


@register_model(
    "all-background",
    bands_used=(),
    reference=NO_SKILL,
    summary="Predicts background everywhere (probability = train landslide-pixel fraction).",
    trainable=False,
    family="no-skill",
)
class AllBackground(FittedBaseline):
    """No-skill baseline that predicts no landslide anywhere.

    Its probability is the same for every pixel: the landslide-pixel fraction of the train
    batches seen by :meth:`fit` (capped below 0.5, so the thresholded map is all background). Its
    pooled F1 is 0 on any split with landslides: the floor every model must beat. Reads no band.

    Args:
        bands: the band set of the input (any; none is read).

    Shape:
        ``[N, len(bands), H, W] -> [N, 1, H, W]`` constant logits.
    """

    def __init__(self, *, bands: Sequence[str] = DEFAULT_BANDS) -> None:
        super().__init__(bands, reads=())
        self.register_buffer("positive_fraction", torch.tensor(0.0))

    def fit(self, batches: Iterable[dict[str, Any]]) -> None:
        """Record the landslide-pixel fraction of the train batches (``valid`` pixels only)."""
        positives = total = 0.0
        for _, mask, valid in self.iter_batches(batches):
            positives += float((mask * valid).sum())
            total += float(valid.sum())
        self.positive_fraction.fill_(positives / total if total else 0.0)

    def forward(self, x: Tensor) -> Tensor:
        """Constant logits ``logit(min(prior, 0.5 - 1e-6))``, shape ``[N, 1, H, W]``."""
        self.check_input(x)
        p = self.positive_fraction.clamp(1e-6, 0.5 - 1e-6)
        logit = torch.log(p) - torch.log1p(-p)
        return logit.to(x.dtype).expand(x.shape[0], 1, *x.shape[2:]).contiguous()


@register_model(
    "slope-threshold",
    bands_used=("DEM",),
    reference=f"{NO_SKILL} (DEM slope threshold fitted on train)",
    summary="Landslide where the DEM slope passes a threshold fitted for best pooled train F1.",
    trainable=False,
    family="no-skill",
)
class SlopeThreshold(FittedBaseline):
    """Thresholds the DEM's slope; threshold and direction fitted for the best pooled train F1.

    Slope is the magnitude of the Sobel gradient (kornia) of the DEM band in normalised units
    per pixel. Normalisation is a positive linear map of the DEM, so thresholding normalised
    slope selects the same pixels as thresholding slope in metres per pixel; the fitted
    threshold holds for the normalisation the weights are saved with.

    :meth:`fit` histograms slopes of landslide and background pixels on log-spaced bins
    (``bins`` edges from 1e-6 to 1e3; 0.5 % apart for 4096 bins) and picks the threshold and
    direction (steeper or flatter than the threshold) with the best pooled F1. Threshold and
    direction are buffers, so they save and load with the weights.

    Args:
        bands: the band set; must include the DEM (picked by name).
        bins: number of histogram bin edges.

    Shape:
        ``[N, len(bands), H, W] -> [N, 1, H, W]`` logits
        ``4 * direction * (log(slope) - log(threshold))`` (positive exactly where the rule says
        landslide).
    """

    config_bounds = {"bins": (2, 1 << 20)}
    #: Log-slope range of the histogram (normalised DEM units per pixel).
    log10_range: ClassVar[tuple[float, float]] = (-6.0, 3.0)

    def __init__(self, *, bands: Sequence[str] = DEFAULT_BANDS, bins: int = 4096) -> None:
        super().__init__(bands, reads=("DEM",))
        if bins < 2:
            raise ConfigError(f"bins must be >= 2, got {bins}.")
        self.register_buffer("threshold", torch.tensor(float("nan")))
        self.register_buffer("direction", torch.tensor(1.0))
        self.register_buffer("train_f1", torch.tensor(float("nan")))
        self.bins = int(bins)
        self.config.update(bins=self.bins)

    def slope(self, x: Tensor) -> Tensor:
        """Slope magnitude ``[N, 1, H, W]`` of the DEM band of ``x`` ``[N, len(bands), H, W]``."""
        import kornia

        dem = x[:, self.band_index].float()
        grad = kornia.filters.spatial_gradient(dem, mode="sobel", normalized=True)
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
            for image, mask, valid in self.iter_batches(batches):
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
        self.check_input(x)
        if torch.isnan(self.threshold):
            raise ConfigError(
                "slope-threshold is not fitted: call model.fit(train_batches) or load fitted "
                "weights with landbench.models.load_weights."
            )
        log_slope = torch.log(self.slope(x).clamp_min(1e-12))
        return (4.0 * self.direction * (log_slope - torch.log(self.threshold))).to(x.dtype)
