"""The optical + terrain fusion network of Lissak & Corpetti (IGARSS 2024, section 3, figure 1).

Three stages, as in the paper:

* **Encoding**: separate encoders for the image (the optical bands: RGB in the paper) and the
  DEM (the terrain bands: DEM, and slope where a dataset has it). The DEM encoder is a residual
  CNN; the image encoder's backbone is selectable as in the paper's Table 1: a residual U-Net
  encoder trained from scratch (``fusionnet-resunet``, the paper's best), a plain U-Net encoder
  trained from scratch (``fusionnet-unet``) or VGG16 (``fusionnet-vgg16``, torchvision; ImageNet
  weights from a local file only).
* **Fusion**: the deepest image and DEM features are concatenated and fused in the latent space by
  a 1x1 convolution and a residual block.
* **Decoding**: residual blocks with spatial attention layers (see
  :mod:`landbench.models.attention` for the choice of attention); the skip connection of each
  level is the *sum* of the corresponding image and DEM encodings.

The paper does not give widths or depth; they are configurable (``base_channels``, ``depth``)
with presets ``size="tiny" | "small" | "base"``. ``base`` (the default: widths 20 to 320, four
downsamplings, 6.9 M parameters with the residual U-Net backbone) was chosen so that a training
step costs at most 1.5x per image what segmentation-models-pytorch's U-Net with a ResNet-34
encoder costs: measured 1.17x to 1.33x CPU time per 128 px image (0.85x to 0.91x training FLOPs);
``base_channels=24`` measured 1.45x to 1.65x. See ``tests/benchmarks/test_bench_models.py``.
``tiny`` runs a 64 px tile in about 1.5 ms on one CPU thread.

With ``pretrained=True`` the VGG16 backbone gets ImageNet weights, which expect ImageNet-
normalised RGB; landbench feeds bands normalised with train-split statistics (zero mean, unit
variance), the same scale, so the weights apply as they are and are then fine-tuned.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from landbench.core.errors import ConfigError
from landbench.models.base import DEFAULT_BANDS, ZooModel, crop_to, resolve_preset
from landbench.models.blocks import ResidualBlock
from landbench.models.decoders import ResidualDecoder
from landbench.models.encoders import ResUNetEncoder, UNetEncoder, VGG16Encoder
from landbench.models.registry import register_model

PAPER = "Lissak & Corpetti, IGARSS 2024, doi:10.1109/IGARSS53475.2024.10641385"

#: Width/depth presets. ``tiny`` runs in a few ms per 64 px tile on a CPU (demos, tests).
FUSION_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"base_channels": 8, "depth": 3},
    "small": {"base_channels": 12, "depth": 4},
    "base": {"base_channels": 20, "depth": 4},
}


class LatentFusion(nn.Module):
    """Fuse image and DEM bottleneck features: concatenate, 1x1 conv + BN + ReLU, residual block.

    Shape:
        ``([N, C, h, w], [N, C, h, w]) -> [N, C, h, w]``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mix = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        self.block = ResidualBlock(channels, channels)

    def forward(self, image: Tensor, dem: Tensor) -> Tensor:
        """Fuse the two bottleneck maps."""
        return self.block(self.mix(torch.cat([image, dem], dim=1)))


class FusionNet(ZooModel):
    """Optical + terrain fusion network with attention (Lissak & Corpetti 2024).

    The optical bands of ``bands`` (R, G, B for Bijie and Hokkaido; the twelve Sentinel-2 bands
    of Landslide4Sense) go to the image encoder, the terrain bands (DEM, slope) to the DEM
    encoder; :func:`landbench.core.bands.split_groups` says which is which.

    Args:
        bands: the band set, in channel order; needs at least one optical and one terrain band.
        size: preset of ``base_channels`` and ``depth``: ``"tiny"``, ``"small"`` or ``"base"``.
        base_channels: width of the finest level (doubles at each level); overrides the preset.
            For VGG16, 64 is the original network (the default when ``pretrained``).
        depth: number of downsamplings (the input is padded to a multiple of ``2**depth``);
            overrides the preset.
        attention: use spatial attention layers in the decoder (False for an ablation).
        pretrained: VGG16 backbone only: load torchvision's ImageNet weights from a local file
            (needs exactly three optical bands).
        weights_path: VGG16 backbone only: that file (default: the torch hub cache).

    Attributes:
        image_encoder: encoder of the optical group.
        dem_encoder: residual encoder of the terrain group.
        fusion: the latent-space fusion of the two bottlenecks.
        decoder: residual decoder with attention.
        head: 1x1 convolution to the landslide logit.

    Shape:
        ``forward(x)``: ``[N, len(bands), H, W] -> [N, 1, H, W]`` logits, any ``H``, ``W``.

        ``forward(x, return_attention=True)`` (or ``return_features=True``) returns a dict:

        * ``"logits"``: ``[N, 1, H, W]``;
        * ``"attention"``: ``depth`` maps in ``(0, 1)``, coarsest first: ``attention[k]`` is
          ``[N, 1, ceil(H / 2**j), ceil(W / 2**j)]`` with ``j = depth - 1 - k``, so
          ``attention[-1]`` is ``[N, 1, H, W]`` (empty list if ``attention=False``);
        * ``"features"``: the last decoder feature map before the head, ``[N, C0, H, W]`` with
          ``C0 = base_channels`` (the paper's figure 2 shows one channel of such a map);
        * ``"latent"``: the fused bottleneck, ``[N, C_d, ceil(H / 2**depth), ceil(W / 2**depth)]``.
    """

    #: The image encoder's backbone, fixed by each registered subclass.
    backbone: ClassVar[str] = "resunet"
    config_bounds = {"base_channels": (1, 512), "depth": (1, 6)}

    def __init__(
        self,
        *,
        bands: Sequence[str] = DEFAULT_BANDS,
        size: str = "base",
        base_channels: int | None = None,
        depth: int | None = None,
        attention: bool = True,
        pretrained: bool = False,
        weights_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(bands)
        optical, terrain = self.band_groups()
        if not optical or not terrain:
            raise ConfigError(
                f"The fusion network needs at least one optical and one terrain band (DEM or "
                f"slope); got bands {list(self.bands)}. Use a single-encoder model such as "
                "unet-rgbdem for this band set."
            )
        if pretrained and base_channels is None and self.backbone == "vgg16":
            base_channels = 64  # ImageNet VGG16 exists at its original width only
        cfg = resolve_preset(FUSION_SIZES, size, base_channels=base_channels, depth=depth)
        base_channels, depth = int(cfg["base_channels"]), int(cfg["depth"])
        if base_channels < 1 or not 1 <= depth <= 6:
            raise ConfigError(
                f"Need base_channels >= 1 and 1 <= depth <= 6, got {base_channels} and {depth}."
            )
        if (pretrained or weights_path is not None) and self.backbone != "vgg16":
            raise ConfigError(
                "pretrained/weights_path only apply to fusionnet-vgg16; the residual and plain "
                "U-Net backbones are trained from scratch (load landbench weights with "
                "landbench.models.load_weights)."
            )
        self.optical_index, self.terrain_index = optical, terrain
        if self.backbone == "vgg16":
            self.image_encoder: nn.Module = VGG16Encoder(
                len(optical), base_channels, depth, pretrained=pretrained, weights_path=weights_path
            )
            widths = self.image_encoder.out_channels
        else:
            widths = tuple(base_channels * 2**i for i in range(depth + 1))
            encoder_cls = ResUNetEncoder if self.backbone == "resunet" else UNetEncoder
            self.image_encoder = encoder_cls(len(optical), widths)
        # Same widths as the image encoder so that skips can be summed level by level.
        self.dem_encoder = ResUNetEncoder(len(terrain), widths)
        self.fusion = LatentFusion(widths[-1])
        self.decoder = ResidualDecoder(widths, attention=attention)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, 1)
        self.multiple = 2**depth
        self.depth = depth
        self.config.update(
            size=size, base_channels=base_channels, depth=depth, attention=bool(attention)
        )

    def encoders(self) -> list[nn.Module]:
        """``[image_encoder, dem_encoder]``: the modules transfer learning may freeze."""
        return [self.image_encoder, self.dem_encoder]

    def forward(
        self, x: Tensor, return_attention: bool = False, return_features: bool = False
    ) -> Tensor | dict[str, Any]:
        """Segment landslides.

        Args:
            x: ``[N, len(bands), H, W]`` normalised bands.
            return_attention: also return the attention maps (returns a dict).
            return_features: also return intermediate feature maps (returns a dict).

        Returns:
            Logits ``[N, 1, H, W]``, or a dict described in the class docstring.
        """
        x, size = self._prepare(x)
        image = self.image_encoder(x[:, self.optical_index])
        dem = self.dem_encoder(x[:, self.terrain_index])
        latent = self.fusion(image[-1], dem[-1])
        skips = [r + d for r, d in zip(image[:-1], dem[:-1])]
        features, maps = self.decoder([*skips, latent])
        logits = crop_to(self.head(features), size)
        if not (return_attention or return_features):
            return logits
        n_maps = len(maps)
        return {
            "logits": logits,
            "attention": [crop_to(a, size, 2 ** (n_maps - 1 - k)) for k, a in enumerate(maps)],
            "features": crop_to(features, size),
            "latent": crop_to(latent, size, 2**self.depth),
        }


#: The registered fusion networks, one per image-encoder backbone of the paper's Table 1:
#: backbone -> (class name, Table 1 label, summary).
BACKBONES: dict[str, tuple[str, str, str]] = {
    "resunet": (
        "FusionNetResUNet",
        "the paper's best",
        "Fusion network, residual U-Net image encoder (from scratch), attention decoder.",
    ),
    "unet": (
        "FusionNetUNet",
        '"Unet"',
        "Fusion network, plain U-Net image encoder (from scratch), attention decoder.",
    ),
    "vgg16": (
        "FusionNetVGG16",
        '"VGG"',
        "Fusion network, VGG16 image encoder (torchvision; ImageNet weights optional).",
    ),
}


def _register(backbone: str) -> type[FusionNet]:
    class_name, label, summary = BACKBONES[backbone]
    cls = type(
        class_name,
        (FusionNet,),
        {
            "backbone": backbone,
            "__module__": __name__,
            "__qualname__": class_name,
            "__doc__": f"Fusion network with a {backbone} image encoder (Table 1, {label}).",
        },
    )
    return register_model(
        f"fusionnet-{backbone}",
        reference=PAPER,
        summary=summary,
        band_groups="optical -> image encoder, terrain -> DEM encoder",
        family="fusion",
    )(cls)


FusionNetResUNet = _register("resunet")
FusionNetUNet = _register("unet")
FusionNetVGG16 = _register("vgg16")
