"""The inference layer: every forward pass of a model over data goes through :class:`Predictor`.

A :class:`Predictor` takes tiles in raw units (RGB 0-255, DEM in metres), as datasets return
them, and returns landslide probabilities for each tile at its own size. Each tile is cropped to
its real pixels, padded alone to the model's size multiple by the one rule of
:mod:`landbench.core.padding`, and normalised with the train statistics stored with the weights
over its real pixels only, so a tile's prediction never depends on its batch neighbours.
Tiles whose padded sizes agree share one forward pass: batch norm runs in eval mode, so sharing
changes no output beyond the convolution backend's rounding for another batch size (oneDNN on
CPU: about 1e-5 in probability; run with ``batch_size=1`` for bit-identical outputs).
Validation in training, ``landbench evaluate``, ``landbench predict``, the leaderboard and the
demo all use it.

Example::

    predictor = Predictor.from_run("runs/fusionnet")
    proba = predictor.predict(sample["image"])  # float32 [H, W] in [0, 1]
    for sample_id, proba in predictor.predict_dataset(landbench.load("synth", split="test")):
        ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from landbench.core.bands import dem_index
from landbench.core.errors import ConfigError, InvalidDataError
from landbench.core.layout import channels_last
from landbench.core.normalization import normalize
from landbench.core.padding import pad_to_size, padded_length, valid_extent

DEFAULT_BANDS: tuple[str, ...] = ("R", "G", "B", "DEM")
"""The input bands of a model whose weights do not record ``bands`` (every model before v0.2)."""

DEFAULT_THRESHOLD = 0.5
"""A pixel is landslide when its probability is greater than this (fixed; see docs/protocol.md)."""

WEIGHTS_FILE = "model.safetensors"
"""The weights file a training run writes into its folder."""


def find_weights(path: str | os.PathLike[str]) -> Path:
    """The ``.safetensors`` file of a training run folder, or ``path`` itself if it is one.

    Args:
        path: a run folder (holding :data:`WEIGHTS_FILE`, or exactly one ``.safetensors``
            file) or a ``.safetensors`` file.

    Raises:
        ConfigError: if the path does not exist, is not safetensors, or the folder holds no
            (or several candidate) weights files.
    """
    path = Path(path)
    if path.is_dir():
        weights = path / WEIGHTS_FILE
        if weights.is_file():
            return weights
        candidates = sorted(path.glob("*.safetensors"))
        if len(candidates) == 1:
            return candidates[0]
        found = ", ".join(c.name for c in candidates) or "none"
        raise ConfigError(
            f"Run folder {path} has no {WEIGHTS_FILE} (safetensors files found: {found}); give "
            "a finished run folder or a .safetensors weights file."
        )
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; give a run folder or a .safetensors file.")
    if path.suffix != ".safetensors":
        raise ConfigError(
            f"{path} is not a .safetensors file; landbench only loads safetensors weights "
            "(nothing is unpickled)."
        )
    return path


def _as_tensor(image: Any) -> Tensor:
    return image if isinstance(image, Tensor) else torch.as_tensor(np.asarray(image))


class Predictor:
    """Landslide probabilities from raw (unnormalised) tiles, each at its own size.

    Args:
        model: a model mapping normalised ``[N, C, H, W]`` to logits ``[N, 1, H, W]`` (or a dict
            with ``"logits"``), with ``C = len(bands)``.
        mean: per-band mean of the train split, one value per band.
        std: per-band standard deviation of the train split.
        bands: the model's input bands, in channel order; default the model's ``bands``
            attribute, else R, G, B, DEM.
        device: where to run the model.
        batch_size: at most this many tiles go through the model in one forward pass.
        dem_nodata: raw DEM value of cells without elevation (normalised to 0, as in training),
            or None; :meth:`from_weights` reads it from the weights' metadata.
        dem_relative: feed the DEM relative to each tile's mean, as the data module did in
            training (also read from the metadata).
        multiple: tiles are padded to a multiple of this; default the model's ``multiple``
            attribute (zoo models), else 32.
        threshold: probability above which :meth:`predict_masks` calls a pixel landslide.

    Attributes:
        metadata: the weights' metadata (empty for a predictor built from a module).
        source: what the predictions come from, for result files (``kind``, ``weights``, and
            the training dataset and manifest when the weights record them).

    Raises:
        ConfigError: if ``mean``/``std`` do not have one value per band, ``std`` is not
            positive, or ``batch_size``/``multiple``/``threshold`` are out of range.
    """

    def __init__(
        self,
        model: nn.Module,
        mean: Sequence[float] | Tensor,
        std: Sequence[float] | Tensor,
        bands: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 8,
        dem_nodata: float | None = None,
        dem_relative: bool = False,
        multiple: int | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        if bands is None:
            bands = getattr(model, "bands", None) or DEFAULT_BANDS
        self.bands = tuple(bands)
        self.device = torch.device(device)
        self.dem_nodata = dem_nodata
        self.dem_relative = dem_relative
        self.dem_index = dem_index(self.bands)
        mean_t = torch.as_tensor(mean, dtype=torch.float32).flatten()
        std_t = torch.as_tensor(std, dtype=torch.float32).flatten()
        if mean_t.numel() != len(self.bands) or std_t.numel() != len(self.bands):
            raise ConfigError(
                f"mean and std need one value per band {list(self.bands)}, got "
                f"{mean_t.numel()} and {std_t.numel()}."
            )
        if not bool((std_t > 0).all()) or not bool(torch.isfinite(mean_t).all()):
            raise ConfigError(
                "std must be positive and mean finite, got "
                f"mean={mean_t.tolist()}, std={std_t.tolist()}."
            )
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
        self.multiple = int(multiple if multiple is not None else getattr(model, "multiple", 32))
        if self.multiple < 1:
            raise ConfigError(f"multiple must be >= 1, got {self.multiple}.")
        check_threshold(threshold)
        self.threshold = float(threshold)
        self.model = channels_last(model.to(self.device)).eval()
        self.mean = mean_t.view(1, -1, 1, 1).to(self.device)
        self.std = std_t.view(1, -1, 1, 1).to(self.device)
        self.batch_size = batch_size
        self.metadata: dict[str, Any] = {}
        self.source: dict[str, Any] = {"kind": "model", "weights": None}
        if getattr(model, "name", ""):
            self.source["model"] = model.name

    @classmethod
    def from_weights(
        cls, path: str | os.PathLike[str], device: str | torch.device = "cpu", **kwargs: Any
    ) -> Predictor:
        """Build a predictor from a weights file, with the normalisation stored in its metadata.

        Args:
            path: a ``.safetensors`` file written by :func:`landbench.models.save_weights`.
            device: where to run the model.
            **kwargs: passed to the constructor (``batch_size``, ``threshold``, ...).

        Raises:
            ConfigError: if the path is not a safetensors file.
            InvalidDataError: if the file is not usable or lacks ``normalization`` metadata, or
                its normalisation bands differ from the model's bands.
        """
        from landbench.models.weights import load_weights

        path = find_weights(path) if Path(path).is_dir() else Path(path)
        model, metadata = load_weights(path)
        norm = metadata.get("normalization")
        if not isinstance(norm, dict) or "mean" not in norm or "std" not in norm:
            raise InvalidDataError(
                f"{path} has no 'normalization' metadata ({{'bands', 'mean', 'std'}}); build "
                "Predictor(model, mean, std) with the train-split statistics instead."
            )
        bands = list(metadata.get("bands") or norm.get("bands") or DEFAULT_BANDS)
        if list(norm.get("bands", bands)) != bands:
            raise InvalidDataError(
                f"{path}: normalization bands {norm['bands']} differ from the model's input "
                f"bands {bands}."
            )
        kwargs.setdefault("bands", bands)
        kwargs.setdefault("dem_nodata", norm.get("dem_nodata"))
        kwargs.setdefault("dem_relative", bool(norm.get("dem_relative", False)))
        predictor = cls(model, norm["mean"], norm["std"], device=device, **kwargs)
        predictor.metadata = metadata
        predictor.source = {"kind": "model", "weights": str(path)}
        for key in ("model", "dataset", "split_version", "manifest_sha256"):
            if key in metadata:
                predictor.source[f"trained_{key}"] = metadata[key]
        return predictor

    @classmethod
    def from_run(
        cls, run_dir: str | os.PathLike[str], device: str | torch.device = "cpu", **kwargs: Any
    ) -> Predictor:
        """Build a predictor from a training run folder (its :data:`WEIGHTS_FILE`).

        Raises:
            ConfigError: if the folder holds no weights file (see :func:`find_weights`).
        """
        return cls.from_weights(find_weights(run_dir), device=device, **kwargs)

    # -- the one forward path ------------------------------------------------------------------

    def _tiles(self, batch: Any) -> tuple[list[Tensor], bool]:
        """Split ``batch`` into raw tiles ``[C, h, w]`` cropped to their real pixels."""
        if isinstance(batch, Mapping):
            images = _as_tensor(batch["image"])
            if images.ndim != 4:
                raise ConfigError(
                    f"A batch's 'image' must be [N, C, H, W], got shape {list(images.shape)}."
                )
            valid = batch.get("valid")
            tiles = []
            for i, image in enumerate(images):
                if valid is not None:
                    h, w = valid_extent(_as_tensor(valid[i]))
                    image = image[:, :h, :w]
                tiles.append(image)
            return tiles, False
        if isinstance(batch, (list, tuple)):
            return [_as_tensor(t) for t in batch], False
        image = _as_tensor(batch)
        if image.ndim == 4:
            return list(image), False
        return [image], True

    def _check(self, tile: Tensor) -> None:
        if tile.ndim != 3 or tile.shape[0] != len(self.bands):
            raise ConfigError(
                f"predict expects raw tiles [{len(self.bands)}, H, W] ({', '.join(self.bands)}), "
                f"got shape {list(tile.shape)}."
            )
        if tile.shape[1] == 0 or tile.shape[2] == 0:
            raise ConfigError(f"predict got an empty tile of shape {list(tile.shape)}.")

    @torch.inference_mode()
    def logits(self, tiles: Sequence[Tensor], normalized: bool = False) -> list[Tensor]:
        """Logits ``[h, w]`` (float32, CPU) of each raw tile ``[C, h, w]``, at its own size.

        Args:
            tiles: raw tiles (every pixel real), any sizes.
            normalized: the tiles are already normalised with this predictor's statistics over
                their real pixels (as the data module's validation batches are); skip that step.
        """
        for tile in tiles:
            self._check(tile)
        m = self.multiple
        groups: dict[tuple[int, int], list[int]] = {}
        for i, tile in enumerate(tiles):
            size = (padded_length(tile.shape[1], m), padded_length(tile.shape[2], m))
            groups.setdefault(size, []).append(i)
        out: list[Tensor | None] = [None] * len(tiles)
        for size, members in groups.items():
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                padded = [pad_to_size(tiles[i].to(self.device, torch.float32), size) for i in chunk]
                x = torch.stack([p for p, _ in padded])
                if not normalized:
                    valid = torch.stack([v for _, v in padded])
                    x = normalize(
                        x,
                        self.mean,
                        self.std,
                        self.dem_index,
                        self.dem_nodata,
                        self.dem_relative,
                        valid,
                    )
                y = self.model(x)
                y = (y["logits"] if isinstance(y, dict) else y)[:, 0].float().cpu()
                for j, i in enumerate(chunk):
                    out[i] = y[j, : tiles[i].shape[1], : tiles[i].shape[2]]
        return out  # type: ignore[return-value]

    @torch.inference_mode()
    def forward_tile(self, image: Any, **model_kwargs: Any) -> tuple[Any, tuple[int, int]]:
        """The model's raw output for one raw tile ``[C, H, W]``, prepared as :meth:`predict` does.

        For figures that need more than probabilities (e.g. a fusion network's attention maps
        with ``return_attention=True``): the tile is padded by the core rule and normalised over
        its real pixels; the caller crops the output's maps to the real ``H x W`` region.

        Returns:
            ``(output, (H', W'))``: whatever the model returns for the ``[1, C, H', W']`` input,
            and the padded size (the real pixels are the top-left ``H x W``).
        """
        tile = _as_tensor(image)
        self._check(tile)
        size = (
            padded_length(tile.shape[1], self.multiple),
            padded_length(tile.shape[2], self.multiple),
        )
        x, valid = pad_to_size(tile.to(self.device, torch.float32), size)
        x = normalize(
            x[None], self.mean, self.std, self.dem_index, self.dem_nodata, self.dem_relative,
            valid[None],
        )  # fmt: skip
        return self.model(x, **model_kwargs), size

    def predict(self, batch: Any, normalized: bool = False) -> Tensor | list[Tensor]:
        """Landslide probability per pixel of each tile, at the tile's own size.

        Args:
            batch: a raw tile ``[C, H, W]``; a list of raw tiles (any sizes); a stacked
                ``[N, C, H, W]`` tensor; or a collated dict with ``image`` ``[N, C, H, W]`` and
                optional bool ``valid`` ``[N, H, W]`` (true on real pixels, top-left, as
                :mod:`landbench.core.padding` makes them). Tensors or NumPy arrays, raw units.
            normalized: the images are already normalised with this predictor's statistics
                over real pixels (e.g. a data module's validation batch).

        Returns:
            For a single tile, float32 ``[H, W]`` in ``[0, 1]`` (CPU tensor); otherwise a list
            with one such tensor per tile, each cropped to the tile's real ``[h_i, w_i]``.

        Raises:
            ConfigError: if a tile does not have one channel per band of the model.
        """
        tiles, single = self._tiles(batch)
        probs = [torch.sigmoid(t) for t in self.logits(tiles, normalized)]
        return probs[0] if single else probs

    def predict_masks(
        self, batch: Any, threshold: float | None = None, normalized: bool = False
    ) -> Tensor | list[Tensor]:
        """Binary masks (uint8 {0, 1}): probability greater than ``threshold``.

        Args:
            batch: as for :meth:`predict`.
            threshold: default :attr:`threshold` (0.5 unless set).
            normalized: as for :meth:`predict`.
        """
        threshold = self.threshold if threshold is None else check_threshold(threshold)
        probs = self.predict(batch, normalized)
        if isinstance(probs, Tensor):
            return (probs > threshold).to(torch.uint8)
        return [(p > threshold).to(torch.uint8) for p in probs]

    def predict_samples(self, dataset: Any) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
        """Yield ``(sample, probability [H, W] float32 NumPy)`` over a dataset, in order.

        Samples are read once and predicted :attr:`batch_size` at a time (same-size tiles share
        a forward pass); the sample dict is passed on so callers can score against its mask.
        """
        pending: list[dict[str, Any]] = []
        for index in range(len(dataset)):
            pending.append(dataset[index])
            if len(pending) == self.batch_size or index == len(dataset) - 1:
                probs = self.predict([s["image"] for s in pending])
                yield from ((s, p.numpy()) for s, p in zip(pending, probs))
                pending = []

    def predict_dataset(self, dataset: Any) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(id, probability [H, W])`` per sample of a dataset (float32 NumPy, in order)."""
        for sample, probs in self.predict_samples(dataset):
            yield sample["id"], probs

    def predict_proba(self, image: Tensor | np.ndarray) -> Tensor | np.ndarray:
        """Probabilities of a raw ``[C, H, W]`` or stacked ``[N, C, H, W]`` image.

        Returns:
            float32 ``[H, W]`` or ``[N, H, W]`` in ``[0, 1]``, of the same kind (tensor or NumPy
            array) as ``image``.
        """
        probs = self.predict(image)
        out = probs if isinstance(probs, Tensor) else torch.stack(probs)
        return out if isinstance(image, Tensor) else out.numpy()


def check_threshold(threshold: float) -> float:
    """``threshold`` as a float, checked to lie in ``[0, 1)``.

    Raises:
        ConfigError: if it does not.
    """
    if not 0.0 <= float(threshold) < 1.0:
        raise ConfigError(f"threshold must be in [0, 1), got {threshold}.")
    return float(threshold)


def make_predictor(
    model_or_path: Any,
    *,
    device: str | torch.device = "cpu",
    normalization: tuple[Sequence[float], Sequence[float]] | None = None,
    **kwargs: Any,
) -> Any:
    """A predictor from whatever a user hands to ``evaluate``/``predict``.

    Args:
        model_or_path: a run folder, a ``.safetensors`` file, a :class:`Predictor` (or any
            object with ``predict_proba``), or a ``torch.nn.Module`` (then ``normalization``).
        device: torch device for inference.
        normalization: ``(mean, std)`` per band for a bare module.
        **kwargs: passed to :class:`Predictor` (``batch_size``, ``bands``, ``threshold``).

    Returns:
        The predictor; a :class:`Predictor`'s :attr:`~Predictor.source` describes its weights.

    Raises:
        ConfigError: for a bare module without ``normalization`` or an unusable argument.
    """
    if isinstance(model_or_path, (str, os.PathLike)):
        return Predictor.from_weights(find_weights(model_or_path), device=device, **kwargs)
    if hasattr(model_or_path, "predict_proba"):
        return model_or_path
    if isinstance(model_or_path, nn.Module):
        if normalization is None:
            raise ConfigError(
                "A bare model needs normalization=(mean, std), the per-band statistics of its "
                "training split; or pass its run folder / .safetensors file, which record them."
            )
        mean, std = normalization
        return Predictor(model_or_path, mean, std, device=device, **kwargs)
    raise ConfigError(
        "Expected a run folder, a .safetensors file, a Predictor or a torch model, got "
        f"{type(model_or_path).__name__}."
    )


def native_size(probs: Any, shape: tuple[int, int]) -> np.ndarray:
    """Probabilities ``[h, w]`` mapped to a tile's native ``shape`` (bilinear if resized).

    For predictors of other frameworks that run on a resized tile: scores are always computed
    at the tile's own size, so their map is interpolated back before thresholding. A
    :class:`Predictor` already returns each tile at its own size.
    """
    import torch.nn.functional as F

    tensor = _as_tensor(probs).detach().float().squeeze()
    if tensor.ndim != 2:
        raise InvalidDataError(
            f"Predicted probabilities must be [H, W], got {tuple(tensor.shape)}."
        )
    if tuple(tensor.shape) != tuple(shape):
        tensor = F.interpolate(
            tensor[None, None], size=tuple(shape), mode="bilinear", align_corners=False
        )[0, 0]
    return tensor.cpu().numpy()


def iter_probabilities(predictor: Any, dataset: Any) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
    """Yield ``(sample, probability [H, W] at the tile's native size)`` over a dataset.

    A :class:`Predictor` batches (:meth:`Predictor.predict_samples`); any other object with
    ``predict_proba(image [C, H, W])`` gets one tile at a time, mapped back to native size.
    """
    if isinstance(predictor, Predictor):
        yield from predictor.predict_samples(dataset)
        return
    for index in range(len(dataset)):
        sample = dataset[index]
        yield sample, native_size(predictor.predict_proba(sample["image"]), sample["mask"].shape)
