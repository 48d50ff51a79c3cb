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

from pathlib import Path
from typing import Any

from torch import nn

from landbench.core.errors import ConfigError, LandbenchError
from landbench.training.config import TrainConfig


def _canonical(config: Any) -> Any:
    """Model options compared as JSON would store them (tuples become lists)."""
    if isinstance(config, dict):
        return {str(k): _canonical(v) for k, v in config.items()}
    if isinstance(config, list | tuple):
        return [_canonical(v) for v in config]
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
    want_cfg = _canonical(getattr(model, "config", {}) or {})
    have_cfg = _canonical(getattr(loaded, "config", None) or metadata.get("model_config") or {})
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


def build_model(config: TrainConfig) -> tuple[nn.Module, dict[str, Any] | None]:
    """Build the configured model and apply the transfer strategy's initial weights.

    Args:
        config: a validated training config.

    Returns:
        ``(model, source_metadata)``: the metadata of the pretrained weights, or None for
        ``scratch``.

    Raises:
        ConfigError: for an unknown model or option, or incompatible pretrained weights.
    """
    from landbench.models import create_model

    model = create_model(config.model.name, **config.model.kwargs)
    if config.transfer.strategy == "scratch":
        return model, None
    assert config.transfer.weights is not None  # guaranteed by config validation
    return model, load_transfer_weights(config.transfer.weights, model)


def effective_lr(config: TrainConfig) -> float:
    """The learning rate used: ``optim.lr``, times ``transfer.lr_scale`` for ``finetune``."""
    if config.transfer.strategy == "finetune":
        return config.optim.lr * config.transfer.lr_scale
    return config.optim.lr


def frozen_parameter_names(model: nn.Module) -> list[str]:
    """Names of the parameters of ``model`` that do not require gradients (for reports/tests)."""
    return [name for name, p in model.named_parameters() if not p.requires_grad]
