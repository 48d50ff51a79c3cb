"""landbench: a reproducible benchmark for landslide segmentation from RGB imagery and a DEM.

Load a dataset in one line::

    import landbench
    ds = landbench.load("synth", split="train")
    sample = ds[0]  # {"image": float32 [4, H, W] (R, G, B, DEM), "mask": int64 [H, W], "id": str}

``load`` and ``list_datasets`` are imported on first use (PEP 562), so ``import landbench`` and
``landbench --help`` do not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from landbench._version import __version__

if TYPE_CHECKING:
    from landbench.datasets.registry import list_datasets, load

__all__ = ["__version__", "list_datasets", "load"]


def __getattr__(name: str) -> Any:
    if name == "load":
        from landbench.datasets.registry import load

        return load
    if name == "list_datasets":
        from landbench.datasets.registry import list_datasets

        return list_datasets
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
