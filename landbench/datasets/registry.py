"""Dataset names and the one-line loader ``landbench.load``.

Each dataset module registers its class with :func:`register_dataset`; importing
:mod:`landbench.datasets` imports every dataset module, so the registry is complete whenever this
module is usable. ``import landbench`` stays light because ``landbench/__init__.py`` reaches this
module only when :func:`landbench.load` or :func:`landbench.list_datasets` is first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from landbench.core.errors import ConfigError

if TYPE_CHECKING:
    from landbench.datasets.base import LandslideDataset

    T = TypeVar("T", bound=type[LandslideDataset])

DATASETS: dict[str, type[LandslideDataset]] = {}
"""Registry name to dataset class; filled by :func:`register_dataset`."""

SOURCES: tuple[str, ...] = ("raw", "hub")


def register_dataset(cls: T) -> T:
    """Class decorator: make ``cls`` loadable as ``landbench.load(cls.name)``.

    Raises:
        ConfigError: if another class already holds the name.
    """
    name = cls.name
    if DATASETS.get(name, cls) is not cls:
        raise ConfigError(f"Dataset name {name!r} is already registered by {DATASETS[name]}.")
    DATASETS[name] = cls
    return cls


def list_datasets() -> list[str]:
    """Names accepted by :func:`load`, sorted."""
    return sorted(DATASETS)


def dataset_class(name: str) -> type[LandslideDataset]:
    """The dataset class registered under ``name``.

    Raises:
        ConfigError: if ``name`` is unknown (the message lists valid names).
    """
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"Unknown dataset {name!r}; available datasets: {', '.join(list_datasets())}."
        ) from None


def class_path(name: str) -> str:
    """``"module:Class"`` of the dataset registered under ``name`` (recorded in builds)."""
    cls = dataset_class(name)
    return f"{cls.__module__}:{cls.__qualname__}"


def load(
    name: str,
    split: str = "train",
    root: str | None = None,
    source: str = "raw",
    **kwargs: Any,
) -> LandslideDataset:
    """Load a landbench dataset in one line.

    Args:
        name: a name from :func:`list_datasets` (``"bijie"``, ``"hokkaido"``, ``"synth"``, ...).
        split: ``"train"``, ``"val"`` or ``"test"``.
        root: folder of the raw files (for ``source="raw"``) or of a local Hub snapshot (for
            ``source="hub"``). None means the dataset's default (``"data"`` for real datasets,
            generation in memory for generated ones).
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
