"""Spatial attention for the fusion network's decoder.

Choice and why. The paper cites Zagoruyko & Komodakis' attention transfer ("Paying more
attention to attention", 2017) and shows one attention map per image superimposed on the RGB
tile (its figure 2). Their activation-based spatial attention map is ``sum_c |F_c|**p`` over the
channels of a feature map: one value per pixel saying where the network "looks". We therefore
use *spatial attention maps* rather than attention gates (Oktay et al. 2018): a map per decoder
level is directly the paper's figure-2 illustration, works on every decoder level (gates only
weight skip connections and need a separate gating signal), and costs a few dozen parameters
instead of three convolutions per level. The map is made learnable, as a layer must be: the
channel statistics (Zagoruyko & Komodakis' ``mean_c F_c**2``, p = 2, and ``max_c |F_c|``) go
through batch norm and a 7x7 convolution and a sigmoid (as in CBAM's spatial branch, Woo et al.
2018). Features are reweighted residually, ``F * (1 + a)`` (Wang et al. 2017's residual
attention), so a map near zero never erases features: the paper credits attention with
stabilising training, and the residual form keeps early training identical to a plain decoder.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SpatialAttention(nn.Module):
    """Learned spatial attention map from activation statistics, applied residually.

    Args:
        kernel_size: size of the convolution that turns the statistics into the map (odd).

    Shape:
        ``[N, C, H, W] -> ([N, C, H, W], [N, 1, H, W])``: the reweighted features and the
        attention map, with values in ``(0, 1)``.
    """

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(2)
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(x * (1 + a), a)`` where ``a`` is the attention map."""
        stats = (x.pow(2).mean(dim=1, keepdim=True), x.abs().amax(dim=1, keepdim=True))
        attention = self.conv(self.norm(torch.cat(stats, dim=1))).sigmoid()
        return x * (1 + attention), attention
