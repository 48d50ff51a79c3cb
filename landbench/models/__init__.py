"""The landbench model zoo: the optical + terrain fusion network and baselines, one registry.

Every model is created for a band set (default R, G, B, DEM) and takes ``len(bands)`` channels.

Example::

    import torch
    from landbench.models import create_model, list_models, save_weights, load_weights

    model = create_model("fusionnet-resunet", size="tiny")
    logits = model(torch.randn(2, 4, 97, 131))  # [2, 1, 97, 131]
    out = model(torch.randn(1, 4, 64, 64), return_attention=True)  # dict: logits, attention, ...
    bands = [f"B{i}" for i in range(1, 13)] + ["slope", "DEM"]  # Landslide4Sense
    l4s = create_model("fusionnet-resunet", bands=bands)  # optical 12, terrain 2 channels
"""

from __future__ import annotations

# Importing a model module registers its models (``@register_model``).
from landbench.models import baselines  # noqa: F401
from landbench.models.base import DEFAULT_BANDS, FittedBaseline, ZooModel
from landbench.models.classical import HGBPixel
from landbench.models.fusion import FusionNet
from landbench.models.registry import (
    MAX_PARAMETERS,
    ModelInfo,
    count_parameters,
    create_model,
    list_models,
    model_info,
    register_model,
)
from landbench.models.weights import (
    Weights,
    WeightsEnum,
    get_published_weights,
    list_published_weights,
    load_weights,
    read_metadata,
    save_weights,
)

__all__ = [
    "DEFAULT_BANDS",
    "FittedBaseline",
    "FusionNet",
    "HGBPixel",
    "MAX_PARAMETERS",
    "ModelInfo",
    "Weights",
    "WeightsEnum",
    "ZooModel",
    "count_parameters",
    "create_model",
    "get_published_weights",
    "list_models",
    "list_published_weights",
    "load_weights",
    "model_info",
    "read_metadata",
    "register_model",
    "save_weights",
]
