"""landbench datasets: one module per dataset, plus splits, the registry and the shared bases.

Importing this package imports every dataset module (and so torch and torchgeo), which registers
each dataset class under its name. ``import landbench`` does not import this package until
``landbench.load`` or ``landbench.list_datasets`` is first used.
"""

from __future__ import annotations

from landbench.datasets.registry import (
    DATASETS,
    dataset_class,
    list_datasets,
    load,
    register_dataset,
)
from landbench.datasets.splits import SPLITS, SplitManifest

from landbench.datasets.base import ALL_BANDS, LandslideDataset  # isort: skip
from landbench.datasets.bijie import Bijie  # isort: skip
from landbench.datasets.hokkaido import Hokkaido  # isort: skip
from landbench.datasets.landslide4sense import Landslide4Sense  # isort: skip
from landbench.datasets.folder import FolderDataset  # isort: skip
from landbench.datasets.synthetic import LandslideSynth  # isort: skip

__all__ = [
    "ALL_BANDS",
    "DATASETS",
    "FolderDataset",
    "SPLITS",
    "Bijie",
    "Hokkaido",
    "Landslide4Sense",
    "LandslideDataset",
    "LandslideSynth",
    "SplitManifest",
    "dataset_class",
    "list_datasets",
    "load",
    "register_dataset",
]
