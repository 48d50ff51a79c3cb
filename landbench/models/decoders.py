"""U-Net-style decoders of residual blocks, with optional spatial attention per level."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from landbench.models.attention import SpatialAttention
from landbench.models.blocks import ResidualBlock


class ResidualDecoder(nn.Module):
    """Decoder of residual blocks: upsample, concatenate the skip, residual block, attention.

    Level ``i`` (from ``depth - 1`` down to 0) projects the coarser map to the level's width
    (1x1 conv + BN + ReLU, at the coarse resolution), upsamples it by 2 (bilinear), concatenates
    the skip connection of scale ``1 / 2**i``, applies a :class:`ResidualBlock` and, if
    ``attention``, a :class:`~landbench.models.attention.SpatialAttention` layer. Projecting
    before upsampling (as in LinkNet/FPN) makes each level's block see ``2 C`` instead of
    ``3 C`` channels at the fine resolution, which cuts the decoder's cost by about a quarter.

    Args:
        skip_channels: channels of the encoder maps, finest first (``depth + 1`` values; the last
            one is the bottleneck).
        decoder_channels: output channels of each decoder level, finest first (``depth``
            values); defaults to ``skip_channels[:-1]``.
        attention: add a spatial attention layer after each level's residual block.

    Shape:
        Input: ``features`` as returned by the encoders, ``features[i]`` of shape
        ``[N, skip_channels[i], H / 2**i, W / 2**i]``.
        Output: ``(y, maps)``: ``y`` is ``[N, decoder_channels[0], H, W]``; ``maps`` holds one
        attention map per level, coarsest first: ``maps[k]`` is ``[N, 1, H / 2**j, W / 2**j]``
        with ``j = depth - 1 - k`` (so ``maps[-1]`` is full resolution); empty without attention.
    """

    def __init__(
        self,
        skip_channels: Sequence[int],
        decoder_channels: Sequence[int] | None = None,
        attention: bool = True,
    ) -> None:
        super().__init__()
        skip_channels = tuple(skip_channels)
        depth = len(skip_channels) - 1
        decoder_channels = tuple(decoder_channels or skip_channels[:-1])
        if len(decoder_channels) != depth:
            raise ValueError(f"need {depth} decoder widths, got {list(decoder_channels)}")
        self.out_channels = decoder_channels[0]
        # blocks[i] produces level i; built coarsest-last so indices match scales.
        projections, blocks, attentions = [], [], []
        for i in range(depth):
            coarser = skip_channels[-1] if i == depth - 1 else decoder_channels[i + 1]
            projections.append(
                nn.Sequential(
                    nn.Conv2d(coarser, decoder_channels[i], 1, bias=False),
                    nn.BatchNorm2d(decoder_channels[i]),
                    nn.ReLU(inplace=True),
                )
            )
            blocks.append(
                ResidualBlock(decoder_channels[i] + skip_channels[i], decoder_channels[i])
            )
            attentions.append(SpatialAttention(decoder_channels[i]) if attention else nn.Identity())
        self.projections = nn.ModuleList(projections)
        self.blocks = nn.ModuleList(blocks)
        self.attentions = nn.ModuleList(attentions)
        self.attention = attention

    def forward(self, features: Sequence[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """Decode ``features`` (finest first); returns the full-resolution map and attentions."""
        x = features[-1]
        maps: list[Tensor] = []
        for i in reversed(range(len(self.blocks))):
            skip = features[i]
            x = self.projections[i](x)
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = self.blocks[i](torch.cat([x, skip], dim=1))
            if self.attention:
                x, a = self.attentions[i](x)
                maps.append(a)
        return x, maps
