"""Inference on raw tiles: normalise with the train statistics, run the model, get probabilities.

:class:`Predictor` is what evaluation, the leaderboard and the demo use: it takes tiles in raw
units (RGB 0-255, DEM in metres), as datasets return them, so the normalisation that travels
with the weights is applied in exactly one place.

Example::

    predictor = Predictor.from_weights("runs/fusionnet.safetensors")
    proba = predictor.predict_proba(sample["image"])  # float32 [H, W] in [0, 1]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from landbench.core.errors import ConfigError, InvalidDataError
from landbench.core.normalization import normalize
from landbench.models.base import INPUT_BANDS


class Predictor:
    """Landslide probabilities from raw (unnormalised) R, G, B, DEM tiles.

    Args:
        model: a zoo model (``[N, 4, H, W]`` normalised -> logits ``[N, 1, H, W]``).
        mean: per-band mean of the train split, one value per input band (R, G, B, DEM).
        std: per-band standard deviation of the train split.
        device: where to run the model.
        batch_size: how many tiles of a batch go through the model at once.
        dem_nodata: raw DEM value of cells without elevation (normalised to 0, as in training),
            or None; :meth:`from_weights` reads it from the weights' metadata.
        dem_relative: feed the DEM relative to each tile's mean, as the data module did in
            training (also read from the metadata).

    Raises:
        ConfigError: if ``mean``/``std`` do not have one value per band or ``std`` is not positive.
    """

    def __init__(
        self,
        model: nn.Module,
        mean: Sequence[float] | Tensor,
        std: Sequence[float] | Tensor,
        device: str | torch.device = "cpu",
        batch_size: int = 8,
        dem_nodata: float | None = None,
        dem_relative: bool = False,
    ) -> None:
        self.device = torch.device(device)
        self.dem_nodata = dem_nodata
        self.dem_relative = dem_relative
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean_t.numel() != len(INPUT_BANDS) or std_t.numel() != len(INPUT_BANDS):
            raise ConfigError(
                f"mean and std need one value per band {list(INPUT_BANDS)}, got "
                f"{mean_t.numel()} and {std_t.numel()}."
            )
        if not bool((std_t > 0).all()) or not bool(torch.isfinite(mean_t).all()):
            raise ConfigError(
                "std must be positive and mean finite, got "
                f"mean={mean_t.tolist()}, std={std_t.tolist()}."
            )
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
        self.model = model.to(self.device).eval()
        self.mean = mean_t.view(1, -1, 1, 1).to(self.device)
        self.std = std_t.view(1, -1, 1, 1).to(self.device)
        self.batch_size = batch_size
        self.metadata: dict[str, Any] = {}

    @classmethod
    def from_weights(
        cls, path: str | os.PathLike[str], device: str | torch.device = "cpu", **kwargs: Any
    ) -> Predictor:
        """Build a predictor from a weights file, with the normalisation stored in its metadata.

        Args:
            path: a ``.safetensors`` file written by :func:`landbench.models.save_weights`.
            device: where to run the model.
            **kwargs: passed to the constructor (``batch_size``).

        Raises:
            InvalidDataError: if the file is not usable or lacks ``normalization`` metadata.
        """
        from landbench.models.weights import load_weights

        model, metadata = load_weights(path)
        norm = metadata.get("normalization")
        if not isinstance(norm, dict) or "mean" not in norm or "std" not in norm:
            raise InvalidDataError(
                f"{path} has no 'normalization' metadata ({{'bands', 'mean', 'std'}}); build "
                "Predictor(model, mean, std) with the train-split statistics instead."
            )
        bands = norm.get("bands", list(INPUT_BANDS))
        if list(bands) != list(INPUT_BANDS):
            raise InvalidDataError(
                f"{path}: normalization bands {bands} differ from the model input "
                f"{list(INPUT_BANDS)}."
            )
        kwargs.setdefault("dem_nodata", norm.get("dem_nodata"))
        kwargs.setdefault("dem_relative", bool(norm.get("dem_relative", False)))
        predictor = cls(model, norm["mean"], norm["std"], device=device, **kwargs)
        predictor.metadata = metadata
        return predictor

    @torch.inference_mode()
    def predict_logits(self, image: Tensor | np.ndarray) -> Tensor:
        """Logits ``[N, 1, H, W]`` (float32, on CPU) for raw ``[N, 4, H, W]`` or ``[4, H, W]``."""
        x = torch.as_tensor(np.asarray(image) if not isinstance(image, Tensor) else image)
        if x.ndim == 3:
            x = x.unsqueeze(0)
        if x.ndim != 4 or x.shape[1] != len(INPUT_BANDS):
            raise ConfigError(
                f"predict expects a raw image [4, H, W] or [N, 4, H, W] (R, G, B, DEM), got shape "
                f"{list(x.shape)}."
            )
        x = x.to(self.device, torch.float32)
        outputs = []
        for start in range(0, x.shape[0], self.batch_size):
            chunk = normalize(
                x[start : start + self.batch_size],
                self.mean,
                self.std,
                INPUT_BANDS.index("DEM"),
                self.dem_nodata,
                self.dem_relative,
            )
            out = self.model(chunk)
            outputs.append(out["logits"] if isinstance(out, dict) else out)
        return torch.cat(outputs).float().cpu()

    def predict_proba(self, image: Tensor | np.ndarray) -> Tensor | np.ndarray:
        """Landslide probability per pixel.

        Args:
            image: raw float32 ``[4, H, W]`` or ``[N, 4, H, W]`` (RGB 0-255, DEM in metres), a
                tensor or a NumPy array.

        Returns:
            float32 probabilities ``[H, W]`` or ``[N, H, W]`` in ``[0, 1]``, of the same kind
            (tensor or NumPy array) as ``image``.

        Raises:
            ConfigError: if the image does not have 4 bands.
        """
        single = getattr(image, "ndim", 0) == 3
        proba = torch.sigmoid(self.predict_logits(image))[:, 0]
        if single:
            proba = proba[0]
        return proba if isinstance(image, Tensor) else proba.numpy()
