"""Transfer strategies of the paper's Table 2 (Bijie -> Hokkaido).

* ``scratch``: the configured model, randomly initialised, trained on the target data.
* ``pretrained``: weights trained elsewhere (e.g. on Bijie) applied to the target data as they
  are: no training, only validation (and later the evaluator's test).
* ``finetune``: the pretrained weights trained further on the target data, optionally with the
  encoders frozen for the first epochs and a lower learning rate.

Weights are read from safetensors files (never unpickled) and must describe exactly the
configured model (same registry name and options); anything else is refused before training.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from landbench.core.errors import ConfigError, LandbenchError
from landbench.training.config import TrainConfig


def canonical_options(config: Any) -> Any:
    """Model options compared as JSON would store them (tuples become lists)."""
    if isinstance(config, dict):
        return {str(k): canonical_options(v) for k, v in config.items()}
    if isinstance(config, list | tuple):
        return [canonical_options(v) for v in config]
    return config


def load_transfer_weights(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Load pretrained weights into ``model`` after checking that they describe it.

    Args:
        path: a ``.safetensors`` file written by :func:`landbench.models.save_weights`.
        model: the configured model (its ``name`` and ``config`` must match the file's).

    Returns:
        The file's metadata (model, dataset, split, normalisation, metrics, ...).

    Raises:
        ConfigError: if the file is missing, unreadable, or holds another model or config.
    """
    from landbench.models import load_weights

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"Pretrained weights {path} do not exist; train the source model first.")
    try:
        loaded, metadata = load_weights(path)
    except LandbenchError as err:
        raise ConfigError(f"Cannot use {path} as pretrained weights: {err}") from None
    want_name = getattr(model, "name", "")
    have_name = getattr(loaded, "name", "") or metadata.get("model", "")
    if have_name != want_name:
        raise ConfigError(
            f"{path} holds weights of model {have_name!r}, but the config trains {want_name!r}. "
            f"Set model.name: {have_name} (and its model.kwargs) or use weights of {want_name!r}."
        )
    want_cfg = canonical_options(getattr(model, "config", {}) or {})
    have_cfg = canonical_options(
        getattr(loaded, "config", None) or metadata.get("model_config") or {}
    )
    if have_cfg != want_cfg:
        diff = sorted(
            k for k in set(want_cfg) | set(have_cfg) if want_cfg.get(k) != have_cfg.get(k)
        )
        raise ConfigError(
            f"{path} holds {have_name!r} with options {have_cfg}, but the config builds it with "
            f"{want_cfg} (differences: {diff}). Make model.kwargs match the pretrained model."
        )
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if missing or unexpected:
        raise ConfigError(
            f"{path} does not fit {want_name!r}: missing {list(missing)[:5]}, unexpected "
            f"{list(unexpected)[:5]} parameters."
        )
    return dict(metadata)


def build_model(
    config: TrainConfig, bands: Sequence[str]
) -> tuple[nn.Module, dict[str, Any] | None]:
    """Build the configured model for ``bands`` and apply the transfer strategy's initial weights.

    Args:
        config: a validated training config.
        bands: the names of the input bands, in order, as the data module feeds them.

    Returns:
        ``(model, source_metadata)``: the metadata of the pretrained weights, or None for
        ``scratch``.

    Raises:
        ConfigError: for an unknown model or option, or incompatible pretrained weights.
    """
    from landbench.models import create_model

    model = create_model(config.model.name, bands=tuple(bands), **config.model.kwargs)
    if config.transfer.strategy == "scratch":
        return model, None
    assert config.transfer.weights is not None  # guaranteed by config validation
    metadata = load_transfer_weights(config.transfer.weights, model)
    check_dem_transform(metadata, config)
    return model, metadata


def source_metadata(config: TrainConfig) -> dict[str, Any] | None:
    """The metadata of the recipe's source weights (no model is built), or None for scratch.

    Raises:
        ConfigError: if the weights file cannot be read.
    """
    from landbench.models.weights import read_metadata

    if config.transfer.strategy == "scratch" or config.transfer.weights is None:
        return None
    try:
        return read_metadata(config.transfer.weights)
    except LandbenchError as err:
        raise ConfigError(f"transfer.weights: {err}") from None


def check_dem_transform(metadata: dict[str, Any], config: TrainConfig) -> None:
    """Refuse source weights whose DEM input was prepared differently from the target's.

    A model trained on relative elevation (``data.dem_relative``) reads absolute metres as
    nonsense and vice versa; two different DEM nodata values mean two different DEM encodings.
    (A source without nodata cells may meet a target with them: those cells become 0, the
    train mean, as they would in the source's own transform.)

    Raises:
        ConfigError: naming both settings and what to change.
    """
    from landbench.datasets.registry import dataset_class

    norm = metadata.get("normalization") or {}
    weights = config.transfer.weights
    source_relative = bool(norm.get("dem_relative", False))
    if source_relative != config.data.dem_relative:
        raise ConfigError(
            f"{weights} was trained with data.dem_relative: {str(source_relative).lower()}, but "
            f"this recipe sets data.dem_relative: {str(config.data.dem_relative).lower()}; the "
            "DEM would reach the model in another form. Set data.dem_relative: "
            f"{str(source_relative).lower()} (or retrain the source with the target's setting)."
        )
    source_nodata = norm.get("dem_nodata")
    target_nodata = getattr(dataset_class(config.data.dataset), "dem_nodata", None)
    if source_nodata is not None and target_nodata is not None and source_nodata != target_nodata:
        raise ConfigError(
            f"{weights} was trained on a DEM whose nodata value is {source_nodata}, but "
            f"{config.data.dataset}'s DEM uses {target_nodata}: the two DEMs are encoded "
            "differently. Convert one dataset's DEM to the other's encoding, or train from "
            "scratch."
        )


def effective_lr(config: TrainConfig) -> float:
    """The learning rate used: ``optim.lr``, times ``transfer.lr_scale`` for ``finetune``."""
    if config.transfer.strategy == "finetune":
        return config.optim.lr * config.transfer.lr_scale
    return config.optim.lr
