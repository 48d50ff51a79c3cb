"""Training recipes: the Lightning task, Mixup, losses, transfer strategies, configs, ``train``.

Example::

    from landbench.training import train

    run = train("baselines/configs/synth-bijie-fusionnet-resunet-mixup.yaml")
    # run/metrics.csv, run/model.safetensors, ...

The config module is light (the command line reads recipe keys from it for ``--help``); the
names that need torch and Lightning are resolved on first use (PEP 562), through plain import
statements so that the layer checker sees them.
"""

from __future__ import annotations

from typing import Any

from landbench.training.config import (  # noqa: F401 - re-exported
    TrainConfig,
    check_resources,
    config_differences,
    load_config,
)

_HEAVY = {
    "BCEDiceLoss": "losses",
    "soft_dice_loss": "losses",
    "MIXUP_MODES": "mixup",
    "Mixup": "mixup",
    "MixupResult": "mixup",
    "mixup_batch": "mixup",
    "METRICS_COLUMNS": "recording",
    "read_metrics": "recording",
    "train": "runner",
    "LandslideSegmentationTask": "task",
    "build_model": "transfer",
    "load_transfer_weights": "transfer",
}


def __getattr__(name: str) -> Any:
    module = _HEAVY.get(name)
    if module == "losses":
        from landbench.training import losses as found
    elif module == "mixup":
        from landbench.training import mixup as found
    elif module == "recording":
        from landbench.training import recording as found
    elif module == "runner":
        from landbench.training import runner as found
    elif module == "task":
        from landbench.training import task as found
    elif module == "transfer":
        from landbench.training import transfer as found
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(found, name)


__all__ = [  # noqa: PLE0604 - the heavy names resolve through __getattr__
    "TrainConfig",
    "check_resources",
    "config_differences",
    "load_config",
    *_HEAVY,
]
