"""Dataset names and the one-line loader ``landbench.load``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from landbench.core.errors import ConfigError

if TYPE_CHECKING:
    from landbench.datasets.base import LandslideDataset

# Registry name -> "module:Class". Imported lazily so ``landbench --help`` stays fast.
_DATASETS: dict[str, str] = {
    "bijie": "landbench.datasets.bijie:Bijie",
    "hokkaido": "landbench.datasets.hokkaido:Hokkaido",
    "synth": "landbench.datasets.synthetic:LandslideSynth",
}

SOURCES: tuple[str, ...] = ("raw", "hub")


def list_datasets() -> list[str]:
    """Names accepted by :func:`load`, sorted."""
    return sorted(_DATASETS)


def dataset_class(name: str) -> type[LandslideDataset]:
    """The dataset class registered under ``name``.

    Raises:
        ConfigError: if ``name`` is unknown (the message lists valid names).
    """
    try:
        target = _DATASETS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown dataset {name!r}; available datasets: {', '.join(list_datasets())}."
        ) from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def load(
    name: str,
    split: str = "train",
    root: str | None = None,
    source: str = "raw",
    **kwargs: Any,
) -> LandslideDataset:
    """Load a landbench dataset in one line.

    Args:
        name: a name from :func:`list_datasets` (``"bijie"``, ``"hokkaido"``, ``"synth"``).
        split: ``"train"``, ``"val"`` or ``"test"``.
        root: folder of the raw files (for ``source="raw"``) or of a local Hub snapshot (for
            ``source="hub"``). None means the dataset's default (``"data"`` for real datasets,
            generation in memory for ``synth``).
        source: ``"raw"`` reads the upstream files; ``"hub"`` reads a Parquet build from the
            Hugging Face Hub format (pass ``revision=`` to pin one).
        **kwargs: passed to the dataset class (e.g. ``bands``, ``transforms``, ``preset``).

    Returns:
        A TorchGeo ``NonGeoDataset`` whose samples follow the landbench sample contract.

    Example:
        >>> ds = landbench.load("synth", split="test")
        >>> ds[0]["image"].shape  # (4, H, W)
    """
    if source not in SOURCES:
        raise ConfigError(f"Unknown source {source!r}; valid sources are {', '.join(SOURCES)}.")
    cls = dataset_class(name)
    if source == "hub":
        from landbench.datasets.hub_reader import load_hub_dataset

        return load_hub_dataset(name, split=split, root=root, **kwargs)
    if root is not None:
        kwargs["root"] = root
    return cls(split=split, **kwargs)
