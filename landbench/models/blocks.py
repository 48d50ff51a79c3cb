"""Convolution blocks shared by the encoders and decoders of the zoo."""

from __future__ import annotations

from torch import Tensor, nn


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution, batch normalisation, ReLU (bias-free: the norm has one)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """Residual block of two 3x3 convolutions (He et al. 2016, basic block).

    ``y = relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``, where the shortcut is the identity
    when shapes match and a strided 1x1 convolution with batch norm otherwise. Downsampling with
    a strided first convolution follows the residual U-Net of Zhang et al. (2018).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: 1, or 2 to halve ``H`` and ``W``.

    Shape:
        ``[N, in_channels, H, W] -> [N, out_channels, H / stride, W / stride]``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(in_channels, out_channels, stride)
        self.conv2 = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        if stride == 1 and in_channels == out_channels:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block."""
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


class DoubleConv(nn.Sequential):
    """The plain U-Net block (Ronneberger et al. 2015): two 3x3 conv + BN + ReLU.

    Shape:
        ``[N, in_channels, H, W] -> [N, out_channels, H, W]``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            conv_bn_relu(in_channels, out_channels), conv_bn_relu(out_channels, out_channels)
        )
