"""Mixup for segmentation (Zhang et al. 2018), as used by Lissak & Corpetti (IGARSS 2024).

Two samples of a batch, ``a`` and its partner ``b = batch[perm]``, are blended with a coefficient
``lam`` in [0, 1]: ``x = lam * x_a + (1 - lam) * x_b`` for the images and ``y = lam * y_a +
(1 - lam) * y_b`` for the masks, which turns binary masks into soft targets. The paper draws the
coefficient uniformly in [0, 1] (``mode="uniform"``); the original Mixup draws it from
``Beta(alpha, alpha)`` (``mode="beta"``). Everything runs on the batch's device with torch's RNG,
so a seed fixes the draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from landbench.core.errors import ConfigError

MIXUP_MODES: tuple[str, ...] = ("off", "uniform", "beta")
"""Valid values of ``mode``: no mixing, the paper's ``U[0, 1]`` draw, or ``Beta(alpha, alpha)``."""


@dataclass(frozen=True)
class MixupResult:
    """A mixed batch.

    Attributes:
        image: float ``[N, C, H, W]``, the blended images.
        target: float ``[N, H, W]`` in [0, 1], the blended (soft) masks.
        lam: float ``[N]``, the coefficient of each sample's own content (1 where unmixed).
        perm: int64 ``[N]``, the partner of each sample.
    """

    image: Tensor
    target: Tensor
    lam: Tensor
    perm: Tensor


class Mixup(torch.nn.Module):
    """Blend random pairs of a batch, images and masks alike.

    Args:
        mode: ``"off"`` (the batch is returned untouched), ``"uniform"`` (``lam ~ U[0, 1]``, the
            paper) or ``"beta"`` (``lam ~ Beta(alpha, alpha)``).
        alpha: concentration of the Beta distribution (``mode="beta"`` only); small values keep
            ``lam`` near 0 or 1, ``alpha=1`` equals ``"uniform"``.
        p: probability that a given batch is mixed at all (default 1.0: every batch, as the
            paper's text describes); a skipped batch trains on its own samples unchanged.
        per_sample: draw one coefficient per pair (the paper blends each new sample with its own
            random coefficient); if False, one coefficient for the whole batch (Zhang et al.).

    Example:
        >>> mixup = Mixup("uniform")
        >>> out = mixup(images, masks)  # images [N, 4, H, W], masks [N, H, W] in {0, 1}
        >>> out.target  # float [N, H, W] soft masks
    """

    def __init__(
        self, mode: str = "uniform", alpha: float = 0.4, p: float = 1.0, per_sample: bool = True
    ) -> None:
        super().__init__()
        if mode not in MIXUP_MODES:
            raise ConfigError(f"Unknown mixup mode {mode!r}; valid modes are {list(MIXUP_MODES)}.")
        if mode == "beta" and not alpha > 0:
            raise ConfigError(f"mixup alpha must be > 0 for mode='beta', got {alpha!r}.")
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"mixup p must be in [0, 1], got {p!r}.")
        self.mode = mode
        self.alpha = float(alpha)
        self.p = float(p)
        self.per_sample = per_sample

    def extra_repr(self) -> str:  # noqa: D102
        return f"mode={self.mode!r}, alpha={self.alpha}, p={self.p}, per_sample={self.per_sample}"

    def sample_lambda(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        """Draw mixing coefficients.

        Args:
            n: number of coefficients.
            device: where to draw them (torch's RNG of that device).

        Returns:
            float32 ``[n]`` in [0, 1] (all ones when ``mode="off"``).
        """
        if self.mode == "off":
            return torch.ones(n, device=device)
        count = n if self.per_sample else 1
        if self.mode == "uniform":
            lam = torch.rand(count, device=device)
        else:
            # torch's Beta samples through the device's generator, so seeds fix it too.
            conc = torch.full((count,), self.alpha, device=device)
            lam = torch.distributions.Beta(conc, conc).sample()
        return lam.expand(n).clone() if count == 1 else lam

    def forward(self, image: Tensor, mask: Tensor) -> MixupResult:
        """Mix a batch.

        Args:
            image: float ``[N, C, H, W]`` (normalised images).
            mask: ``[N, H, W]`` binary (int or float) or already soft masks.

        Returns:
            A :class:`MixupResult`; with ``mode="off"`` (or a batch that the ``p`` draw skips,
            or a single-sample batch) ``image`` is the input tensor itself and ``target`` is
            ``mask`` as float.
        """
        n = image.shape[0]
        target = mask.to(image.dtype if image.is_floating_point() else torch.float32)
        identity = torch.arange(n, device=image.device)
        ones = torch.ones(n, device=image.device)
        if self.mode == "off" or n < 2:
            return MixupResult(image, target, ones, identity)
        # p = 1 draws nothing here, so a seed gives the same pairs as before p existed.
        if self.p < 1.0 and float(torch.rand((), device=image.device)) >= self.p:
            return MixupResult(image, target, ones, identity)
        perm = torch.randperm(n, device=image.device)
        lam = self.sample_lambda(n, image.device)
        lam_img = lam.to(image.dtype).view(n, *([1] * (image.ndim - 1)))
        lam_tgt = lam.to(target.dtype).view(n, *([1] * (target.ndim - 1)))
        mixed_image = torch.lerp(image[perm], image, lam_img)
        mixed_target = torch.lerp(target[perm], target, lam_tgt)
        return MixupResult(mixed_image, mixed_target, lam, perm)


def mixup_batch(batch: dict[str, Any], mixup: Mixup) -> dict[str, Any]:
    """Apply ``mixup`` to a landbench batch dict.

    Args:
        batch: with ``image`` float ``[N, C, H, W]``, ``mask`` ``[N, H, W]`` and optionally
            ``valid`` bool ``[N, H, W]`` (false on padding).
        mixup: the mixer.

    Returns:
        A new dict with the mixed ``image``, a float ``mask`` of soft targets, ``mixup_lam`` /
        ``mixup_perm``, and ``valid`` true only where both partners hold real pixels (a blend
        with padding is not a real pixel); the input dict is not modified.
    """
    out = mixup(batch["image"], batch["mask"])
    mixed = dict(batch)
    mixed.update(image=out.image, mask=out.target, mixup_lam=out.lam, mixup_perm=out.perm)
    valid = batch.get("valid")
    if valid is not None:
        mixed["valid"] = valid & valid[out.perm]
    return mixed
