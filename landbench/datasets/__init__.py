"""landbench datasets: one module per dataset, plus splits and the shared base class."""

from landbench.datasets.base import ALL_BANDS, LandslideDataset
from landbench.datasets.bijie import Bijie
from landbench.datasets.hokkaido import Hokkaido
from landbench.datasets.registry import dataset_class, list_datasets, load
from landbench.datasets.splits import SPLITS, SplitManifest
from landbench.datasets.synthetic import LandslideSynth, export_bijie_layout

__all__ = [
    "ALL_BANDS",
    "SPLITS",
    "Bijie",
    "Hokkaido",
    "LandslideDataset",
    "LandslideSynth",
    "SplitManifest",
    "dataset_class",
    "export_bijie_layout",
    "list_datasets",
    "load",
]
