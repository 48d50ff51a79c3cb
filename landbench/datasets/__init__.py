"""landbench datasets: one module per dataset, plus splits and the shared base class.

Names are imported on first use (PEP 562), so ``import landbench`` and ``landbench --help`` do
not pay for importing torch and torchgeo.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from landbench.datasets.registry import dataset_class, list_datasets, load
from landbench.datasets.splits import SPLITS, SplitManifest

if TYPE_CHECKING:
    from landbench.datasets.base import ALL_BANDS, LandslideDataset
    from landbench.datasets.bijie import Bijie
    from landbench.datasets.hokkaido import Hokkaido

_LAZY = {
    "ALL_BANDS": "landbench.datasets.base",
    "LandslideDataset": "landbench.datasets.base",
    "Bijie": "landbench.datasets.bijie",
    "Hokkaido": "landbench.datasets.hokkaido",
}

__all__ = [
    "ALL_BANDS",
    "SPLITS",
    "Bijie",
    "Hokkaido",
    "LandslideDataset",
    "SplitManifest",
    "dataset_class",
    "list_datasets",
    "load",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
