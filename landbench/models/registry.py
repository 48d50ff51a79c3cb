"""One registry for the whole model zoo, in the spirit of ``timm.create_model``.

Every model is registered under a stable name with the facts a comparison table needs (bands
read, reference, whether it is gradient-trained). :func:`create_model` builds a model by name for
a band set, checks its keyword arguments against the builder's signature and their documented
bounds (before anything is allocated), and stamps the instance with its ``name`` so weights,
results and leaderboard rows can name it.

Words (see ``docs/architecture.md``): a *baseline* is a zoo model that is not the paper's (the
families ``deep``, ``classical`` and ``no-skill``); the paper's networks are the ``fusion`` family.

Example::

    from landbench.models import create_model, list_models

    list_models()  # ['all-background', 'deeplabv3plus-rgbdem', 'fusionnet-resunet', ...]
    model = create_model("fusionnet-resunet", size="tiny")
    logits = model(torch.randn(2, 4, 97, 131))  # [2, 1, 97, 131]
    l4s = create_model("unet-rgbdem", bands=[f"B{i}" for i in range(1, 13)] + ["slope", "DEM"])
"""

from __future__ import annotations

import fnmatch
import inspect
import reprlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from landbench.core.errors import ConfigError
from landbench.models.base import DEFAULT_BANDS


# Modules whose import registers the built-in models; imported on first use so that importing
# the registry (e.g. for ``landbench --help``) stays cheap.
@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model, without building it.

    Attributes:
        name: registry name, e.g. ``"fusionnet-resunet"``.
        builder: the class (or factory) called with the user's keyword arguments.
        reference: short citation of the architecture.
        summary: one line describing the model.
        bands_used: the bands the model reads, picked by name from the band set it is created
            for (``("R", "G", "B")``, ``("DEM",)``, ``()`` for none), or None for all of them.
        band_groups: how the model routes the bands, in words (for the zoo table).
        trainable: False for baselines fitted by ``model.fit(batches)``.
        family: a grouping for tables: ``"fusion"`` (the paper's networks), ``"deep"``,
            ``"classical"`` or ``"no-skill"`` (baselines).
    """

    name: str
    builder: Callable[..., Any] = field(repr=False)
    reference: str
    summary: str
    bands_used: tuple[str, ...] | None = None
    band_groups: str = "all bands stacked"
    trainable: bool = True
    family: str = "deep"

    @property
    def kwargs(self) -> dict[str, Any]:
        """The builder's keyword arguments and their defaults."""
        params = inspect.signature(self.builder).parameters
        return {
            k: p.default
            for k, p in params.items()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }


_REGISTRY: dict[str, ModelInfo] = {}

#: The largest model :func:`create_model` builds from explicit options or a weights file
#: (parameters and buffers): 200 M, about 0.8 GB of float32, 30x the fusion network's ``base``.
MAX_PARAMETERS = 200_000_000


def register_model(
    name: str,
    *,
    reference: str,
    summary: str,
    bands_used: tuple[str, ...] | None = None,
    band_groups: str | None = None,
    trainable: bool = True,
    family: str = "deep",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class decorator registering a model builder under ``name``.

    The builder takes ``bands`` and the model's options as keyword arguments; its class attribute
    ``config_bounds`` (if any) bounds the integer options.

    Args:
        name: registry name (lower case, dashes).
        reference: short citation of the architecture.
        summary: one line describing the model.
        bands_used: the bands it reads by name, or None for every band of its band set.
        band_groups: how it routes the bands, in words; default from ``bands_used``.
        trainable: False for models fitted by ``fit`` instead of gradient descent.
        family: grouping for tables (see :class:`ModelInfo`).

    Returns:
        A decorator that registers and returns the builder unchanged.

    Raises:
        ConfigError: if ``name`` is already registered to another builder.
    """

    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.builder is not builder:
            raise ConfigError(f"Model name {name!r} is already registered.")
        if band_groups is not None:
            groups = band_groups
        elif bands_used is None:
            groups = "all bands stacked"
        else:
            groups = f"{', '.join(bands_used)} by name" if bands_used else "none"
        _REGISTRY[name] = ModelInfo(
            name=name,
            builder=builder,
            reference=reference,
            summary=summary,
            bands_used=None if bands_used is None else tuple(bands_used),
            band_groups=groups,
            trainable=trainable,
            family=family,
        )
        if isinstance(builder, type):
            builder.name = name  # instances built directly (not via create_model) know it too
        return builder

    return decorator


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered models.

    Args:
        pattern: optional shell-style filter, e.g. ``"fusionnet-*"``.

    Returns:
        The matching names, sorted.
    """
    names = sorted(_REGISTRY)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    return names


def model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``.

    Raises:
        ConfigError: if ``name`` is not registered (the message lists the valid names).
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"Unknown model {name!r}. Valid models: {', '.join(sorted(_REGISTRY))}."
        ) from None


def check_bounds(name: str, bounds: Mapping[str, tuple[int, int]], options: Mapping[str, Any]):
    """Refuse an integer option outside its documented inclusive bound (lists element-wise).

    Raises:
        ConfigError: naming the option, its value and the bound.
    """
    for key, (low, high) in bounds.items():
        value = options.get(key)
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(
                    f"Model {name!r}: option {key} must be an integer, got {reprlib.repr(v)}."
                )
            if not low <= v <= high:
                raise ConfigError(
                    f"Model {name!r}: option {key}={v} is outside its bound [{low}, {high}]."
                )


def create_model(name: str, bands: Sequence[str] = DEFAULT_BANDS, **kwargs: Any) -> Any:
    """Build a zoo model by registry name, for a band set.

    Args:
        name: a name from :func:`list_models`.
        bands: the input bands in channel order (aliases allowed); the model takes
            ``len(bands)`` channels. Default R, G, B, DEM (Bijie, Hokkaido, synth).
        **kwargs: the model's options (see ``landbench models info NAME``), e.g. ``size="tiny"``.

    Returns:
        The model, a :class:`torch.nn.Module` whose ``forward`` maps ``[N, len(bands), H, W]``
        normalised bands to logits ``[N, 1, H, W]``; it carries ``name``, ``bands``, ``config``
        (the keyword arguments that rebuild it, ``bands`` included) and ``bands_used``.

    Raises:
        ConfigError: for an unknown name, an unknown option, an option outside its bound, or a
            band set the model cannot read.
    """
    info = model_info(name)
    valid = info.kwargs
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ConfigError(
            f"Model {name!r} has no option(s) {reprlib.repr(unknown)}. Valid options: "
            f"{sorted(valid)}."
        )
    check_bounds(name, getattr(info.builder, "config_bounds", {}), kwargs)
    if set(kwargs) - {"size"}:  # presets are known to be small; explicit options may not be
        n = count_parameters(name, bands, include_buffers=True, **kwargs)
        if n > MAX_PARAMETERS:
            raise ConfigError(
                f"Model {name!r} with options {reprlib.repr(kwargs)} would hold {n:,} parameters, "
                f"above the bound of {MAX_PARAMETERS:,}; use smaller widths or depth."
            )
    model = info.builder(bands=bands, **kwargs)
    model.name = name
    return model


def count_parameters(
    name: str, bands: Sequence[str] = DEFAULT_BANDS, include_buffers: bool = False, **kwargs: Any
) -> int:
    """Parameters of ``create_model(name, bands, **kwargs)`` (and buffers), allocating nothing.

    The model is built on PyTorch's meta device (shapes only); options that read files
    (``pretrained``, ``weights_path``) are left out, since they do not change any shape.

    Args:
        name: a registered model.
        bands: its band set.
        include_buffers: count buffers (batch-norm statistics, fitted trees) too.
        **kwargs: its options.
    """
    import torch

    info = model_info(name)
    shape_options = {k: v for k, v in kwargs.items() if k not in ("pretrained", "weights_path")}
    with torch.device("meta"):
        model = info.builder(bands=bands, **shape_options)
    tensors = [*model.parameters(), *(model.buffers() if include_buffers else ())]
    return sum(t.numel() for t in tensors)
