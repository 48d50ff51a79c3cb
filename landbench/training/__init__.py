"""Training recipes: the Lightning task, Mixup, losses, transfer strategies, configs, ``train``.

Example::

    from landbench.training import train

    run = train("baselines/configs/synth-bijie-fusionnet-resunet-mixup.yaml")
    # run/metrics.csv, run/model.safetensors, ...

Heavy modules (torch, lightning) load on first use of their names, so that importing
``landbench.training`` for its config classes stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "TrainConfig": "landbench.training.config",
    "load_config": "landbench.training.config",
    "config_from_dict": "landbench.training.config",
    "check_resources": "landbench.training.config",
    "Mixup": "landbench.training.mixup",
    "MixupResult": "landbench.training.mixup",
    "mixup_batch": "landbench.training.mixup",
    "MIXUP_MODES": "landbench.training.mixup",
    "BCEDiceLoss": "landbench.training.losses",
    "soft_dice_loss": "landbench.training.losses",
    "LandslideSegmentationTask": "landbench.training.task",
    "build_model": "landbench.training.transfer",
    "load_transfer_weights": "landbench.training.transfer",
    "train": "landbench.training.runner",
    "read_metrics": "landbench.training.runner",
    "METRICS_COLUMNS": "landbench.training.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
