"""landbench: a reproducible benchmark for landslide segmentation from RGB imagery and a DEM.

Load a dataset in one line::

    import landbench
    ds = landbench.load("synth", split="train")
    sample = ds[0]  # {"image": float32 [4, H, W] (R, G, B, DEM), "mask": int64 [H, W], "id": str}
"""

from landbench._version import __version__
from landbench.datasets.registry import list_datasets, load

__all__ = ["__version__", "list_datasets", "load"]
