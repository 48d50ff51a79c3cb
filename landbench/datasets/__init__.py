"""landbench datasets: one module per dataset, plus splits and the shared base class."""

from landbench.datasets.base import ALL_BANDS, LandslideDataset
from landbench.datasets.registry import dataset_class, list_datasets, load
from landbench.datasets.splits import SPLITS, SplitManifest

__all__ = [
    "ALL_BANDS",
    "SPLITS",
    "LandslideDataset",
    "SplitManifest",
    "dataset_class",
    "list_datasets",
    "load",
]
