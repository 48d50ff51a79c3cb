"""The landbench model zoo: the RGB + DEM fusion network and baselines, behind one registry.

Example::

    import torch
    from landbench.models import create_model, list_models, save_weights, load_weights

    model = create_model("fusionnet-resunet", size="tiny")
    logits = model(torch.randn(2, 4, 97, 131))  # [2, 1, 97, 131]
    out = model(torch.randn(1, 4, 64, 64), return_attention=True)  # dict: logits, attention, ...

Names are imported lazily (PEP 562) so that the command line can import this package without
loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "create_model": "landbench.models.registry",
    "list_models": "landbench.models.registry",
    "model_info": "landbench.models.registry",
    "register_model": "landbench.models.registry",
    "ModelInfo": "landbench.models.registry",
    "ZooModel": "landbench.models.base",
    "FusionNet": "landbench.models.fusion",
    "save_weights": "landbench.models.weights",
    "load_weights": "landbench.models.weights",
    "read_metadata": "landbench.models.weights",
    "Weights": "landbench.models.weights",
    "WeightsEnum": "landbench.models.weights",
    "list_published_weights": "landbench.models.weights",
    "get_published_weights": "landbench.models.weights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'landbench.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
