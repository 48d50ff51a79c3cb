"""Multi-scale encoders: residual U-Net, plain U-Net and VGG16 (the paper's Table 1 backbones).

Every encoder maps ``[N, C_in, H, W]`` (``H`` and ``W`` divisible by ``2**depth``) to a list of
``depth + 1`` feature maps, finest first: ``features[i]`` is ``[N, out_channels[i], H / 2**i,
W / 2**i]``. The fusion network sums RGB and DEM features level by level, so an encoder's
``out_channels`` is all a partner encoder needs to match.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor, nn

from landbench.core.errors import ConfigError, InvalidDataError
from landbench.models.blocks import DoubleConv, ResidualBlock


def _check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if len(widths) < 2 or any(w < 1 for w in widths):
        raise ConfigError(f"Encoder widths must be >= 2 positive integers, got {list(widths)}.")
    return widths


class _StemStagesEncoder(nn.Module, abc.ABC):
    """A stem at full resolution, then one stage per halving; subclasses say how to build both.

    Args:
        in_channels: input channels (e.g. 3 for an optical group, 1 for the DEM).
        widths: channels per level, finest first; ``depth = len(widths) - 1``.

    Shape:
        ``[N, in_channels, H, W] -> [[N, widths[i], H / 2**i, W / 2**i] for i in 0..depth]``.
    """

    def __init__(self, in_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        widths = _check_widths(widths)
        self.out_channels = widths
        self.depth = len(widths) - 1
        self.stem = self.make_stem(in_channels, widths[0])
        self.stages = nn.ModuleList(
            self.make_stage(widths[i - 1], widths[i]) for i in range(1, len(widths))
        )

    @abc.abstractmethod
    def make_stem(self, in_channels: int, out_channels: int) -> nn.Module:
        """The full-resolution block."""

    @abc.abstractmethod
    def make_stage(self, in_channels: int, out_channels: int) -> nn.Module:
        """One stage that halves ``H`` and ``W``."""

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the ``depth + 1`` feature maps, finest first."""
        features = [self.stem(x)]
        for stage in self.stages:
            features.append(stage(features[-1]))
        return features


class ResUNetEncoder(_StemStagesEncoder):
    """Residual U-Net encoder (Zhang, Liu & Wang 2018): residual blocks, strided downsampling.

    Args and shape as :class:`_StemStagesEncoder`.
    """

    def make_stem(self, in_channels: int, out_channels: int) -> nn.Module:
        """A residual block at full resolution."""
        return ResidualBlock(in_channels, out_channels)

    def make_stage(self, in_channels: int, out_channels: int) -> nn.Module:
        """A residual block whose first convolution has stride 2."""
        return ResidualBlock(in_channels, out_channels, stride=2)


class UNetEncoder(_StemStagesEncoder):
    """Plain U-Net encoder (Ronneberger, Fischer & Brox 2015): double convs and max pooling.

    Args and shape as :class:`_StemStagesEncoder`.
    """

    def make_stem(self, in_channels: int, out_channels: int) -> nn.Module:
        """A double convolution at full resolution."""
        return DoubleConv(in_channels, out_channels)

    def make_stage(self, in_channels: int, out_channels: int) -> nn.Module:
        """2x2 max pooling, then a double convolution."""
        return nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))


class VGG16Encoder(nn.Module):
    """VGG16 convolutional features (Simonyan & Zisserman 2015), via torchvision, split by scale.

    The five VGG16 stages (2, 2, 3, 3, 3 convolutions) give the features at scales 1 to 1/16;
    ``depth < 4`` keeps only the first ``depth + 1`` stages. ``base_channels=64`` is VGG16 itself
    (widths 64, 128, 256, 512, 512) and is the only width that can load ImageNet weights;
    smaller widths scale every stage (for CPU demos and tests).

    ImageNet weights are never downloaded: ``pretrained=True`` reads ``weights_path`` or, when
    that is None, torchvision's file in the torch hub cache (:attr:`cache_file`), loaded with
    ``torch.load(..., weights_only=True)`` (no arbitrary unpickling).

    Args:
        in_channels: input channels (the optical group); must be 3 when ``pretrained``.
        base_channels: width of the first stage (64 = VGG16).
        depth: number of downsamplings, 1 to 4.
        pretrained: load torchvision's ImageNet VGG16 weights from a local file.
        weights_path: the local ``.pth`` file; defaults to :attr:`cache_file`.

    Shape:
        ``[N, in_channels, H, W] -> [[N, out_channels[i], H / 2**i, W / 2**i] for i in 0..depth]``.

    Raises:
        ConfigError: for an invalid width/depth, or ``pretrained`` with a non-VGG16 width.
        LandbenchError: if the weights file is absent (the message says how to provide it).
        InvalidDataError: if the weights file cannot be read or does not fit VGG16.
    """

    #: torchvision's ImageNet VGG16 weights (``VGG16_Weights.IMAGENET1K_V1``).
    url: ClassVar[str] = "https://download.pytorch.org/models/vgg16-397923af.pth"
    #: Conv widths of VGG16's five stages relative to the first one.
    stage_multipliers: ClassVar[tuple[int, ...]] = (1, 2, 4, 8, 8)
    #: Number of 3x3 convolutions per stage (VGG16 = configuration "D").
    stage_convs: ClassVar[tuple[int, ...]] = (2, 2, 3, 3, 3)

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        depth: int = 4,
        pretrained: bool = False,
        weights_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        from torchvision.models.vgg import make_layers

        if not 1 <= depth <= 4:
            raise ConfigError(
                f"VGG16 encoder depth must be 1 to 4 (VGG16 has 4 pools), got {depth}."
            )
        if base_channels < 1:
            raise ConfigError(f"base_channels must be positive, got {base_channels}.")
        widths = tuple(base_channels * m for m in self.stage_multipliers[: depth + 1])
        self.out_channels = widths
        self.depth = depth
        cfg: list[str | int] = []
        for stage, (width, n_convs) in enumerate(zip(widths, self.stage_convs)):
            if stage > 0:
                cfg.append("M")
            cfg.extend([width] * n_convs)
        # torchvision's builder keeps the layer indices of its VGG16, so the ImageNet file's
        # ``features.<i>.*`` keys load into this module unchanged.
        self.features = make_layers(cfg, batch_norm=False)
        if in_channels != 3:
            self.features[0] = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        # Index of each max-pool: features before it are the previous stage's output.
        self._pools = [i for i, m in enumerate(self.features) if isinstance(m, nn.MaxPool2d)]
        if pretrained:
            if base_channels != 64 or in_channels != 3:
                raise ConfigError(
                    "ImageNet VGG16 weights need base_channels=64 and in_channels=3, got "
                    f"base_channels={base_channels}, in_channels={in_channels}; use size='base' "
                    "or pretrained=False."
                )
            self.load_imagenet(weights_path)

    @classmethod
    def cache_file(cls) -> Path:
        """Where torchvision caches the ImageNet VGG16 file (honours ``TORCH_HOME``)."""
        return Path(torch.hub.get_dir()) / "checkpoints" / cls.url.rsplit("/", 1)[-1]

    def load_imagenet(self, weights_path: str | os.PathLike[str] | None = None) -> None:
        """Load torchvision's ImageNet VGG16 convolution weights from a local file.

        Args:
            weights_path: the ``vgg16-397923af.pth`` file; defaults to :meth:`cache_file`.
        """
        from landbench.core.errors import LandbenchError

        path = Path(weights_path) if weights_path is not None else self.cache_file()
        if not path.is_file():
            raise LandbenchError(
                f"VGG16 ImageNet weights not found at {path}. landbench never downloads them: "
                f"download {self.url} on a machine with network access (or run `python -c "
                "\"import torchvision; torchvision.models.vgg16(weights='IMAGENET1K_V1')\"` "
                f"there) and copy the file to {self.cache_file()} or pass "
                "weights_path=/path/to/vgg16-397923af.pth; or use pretrained=False."
            )
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any failure here means an unusable file
            raise InvalidDataError(f"Cannot read VGG16 weights from {path}: {err}") from err
        if not isinstance(state, dict):
            raise InvalidDataError(f"{path} does not hold a state dict of VGG16 weights.")
        own = self.features.state_dict()
        wanted = {k: state.get(f"features.{k}") for k in own}
        missing = [k for k, v in wanted.items() if v is None]
        wrong = [k for k, v in wanted.items() if v is not None and v.shape != own[k].shape]
        if missing or wrong:
            raise InvalidDataError(
                f"{path} is not torchvision's VGG16 file: missing {missing[:4]}, "
                f"wrong shapes {wrong[:4]}."
            )
        self.features.load_state_dict(wanted)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the ``depth + 1`` feature maps, finest first."""
        features = []
        for i, layer in enumerate(self.features):
            if i in self._pools:
                features.append(x)
            x = layer(x)
        features.append(x)
        return features
