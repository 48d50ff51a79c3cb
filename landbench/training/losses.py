"""Segmentation losses that accept soft targets (Mixup) and cope with class imbalance.

Landslides cover a few percent of the pixels, so plain binary cross-entropy is dominated by the
background; a soft Dice term, computed over the whole batch, weighs the landslide class by its
overlap instead. Both terms take targets anywhere in [0, 1], as Mixup produces.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from landbench.core.errors import ConfigError


def soft_dice_loss(
    logits: Tensor, target: Tensor, weight: Tensor | None = None, eps: float = 1.0
) -> Tensor:
    """Soft Dice loss of the positive class, pooled over every pixel of the batch.

    Args:
        logits: ``[N, 1, H, W]`` or ``[N, H, W]`` raw scores.
        target: same number of elements, values in [0, 1] (soft targets allowed).
        weight: optional per-pixel weights in [0, 1] of the same shape (0 excludes a pixel).
        eps: additive smoothing (in pixels), keeps the loss defined on empty batches.

    Returns:
        Scalar ``1 - (2 * sum(p * t) + eps) / (sum(p) + sum(t) + eps)``.
    """
    prob = torch.sigmoid(logits.float()).reshape(-1)
    target = target.float().reshape(-1)
    if weight is not None:
        w = weight.float().reshape(-1)
        prob, target = prob * w, target * w
    inter = (prob * target).sum()
    return 1.0 - (2.0 * inter + eps) / (prob.sum() + target.sum() + eps)


class BCEDiceLoss(torch.nn.Module):
    """``bce_weight * BCE + dice_weight * soft Dice`` for binary segmentation logits.

    Args:
        bce_weight: weight of the binary cross-entropy term (0 disables it).
        dice_weight: weight of the soft Dice term (0 disables it).
        pos_weight: weight of positive pixels inside BCE (> 1 counters class imbalance); None for 1.
        smooth: Dice smoothing, in pixels.
    """

    def __init__(
        self,
        bce_weight: float = 1.0,
        dice_weight: float = 1.0,
        pos_weight: float | None = None,
        smooth: float = 1.0,
    ) -> None:
        super().__init__()
        if bce_weight < 0 or dice_weight < 0 or bce_weight + dice_weight == 0:
            raise ConfigError(
                f"loss weights must be >= 0 and not both 0, got bce_weight={bce_weight}, "
                f"dice_weight={dice_weight}."
            )
        if pos_weight is not None and not pos_weight > 0:
            raise ConfigError(f"loss pos_weight must be > 0 or null, got {pos_weight!r}.")
        self.bce_weight = float(bce_weight)
        self.dice_weight = float(dice_weight)
        self.smooth = float(smooth)
        self.register_buffer(
            "pos_weight", None if pos_weight is None else torch.tensor([float(pos_weight)])
        )

    def forward(self, logits: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
        """Compute the loss.

        Args:
            logits: ``[N, 1, H, W]`` raw scores.
            target: ``[N, H, W]`` (or ``[N, 1, H, W]``) in [0, 1]; soft targets allowed.
            weight: optional ``[N, H, W]`` per-pixel weights (e.g. the ``valid`` mask).

        Returns:
            Scalar loss (float32, also under mixed precision).
        """
        logits = logits.float().reshape(target.shape[0], -1)
        target = target.float().reshape(target.shape[0], -1)
        w = None if weight is None else weight.float().reshape(target.shape[0], -1)
        loss = logits.new_zeros(())
        if self.bce_weight:
            bce = F.binary_cross_entropy_with_logits(
                logits, target, weight=w, pos_weight=self.pos_weight, reduction="sum"
            )
            denom = w.sum().clamp_min(1.0) if w is not None else target.numel()
            loss = loss + self.bce_weight * bce / denom
        if self.dice_weight:
            loss = loss + self.dice_weight * soft_dice_loss(logits, target, w, self.smooth)
        return loss
