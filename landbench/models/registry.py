"""One registry for the whole model zoo, in the spirit of ``timm.create_model``.

Every model is registered under a stable name with the facts a comparison table needs (bands
read, reference, whether it is gradient-trained). :func:`create_model` builds a model by name,
checks its keyword arguments against the builder's signature, and stamps the instance with its
``name`` so weights, results and leaderboard rows can name it.

Example::

    from landbench.models import create_model, list_models

    list_models()  # ['all-background', 'deeplabv3plus-rgbdem', 'fusionnet-resunet', ...]
    model = create_model("fusionnet-resunet", size="tiny")
    logits = model(torch.randn(2, 4, 97, 131))  # [2, 1, 97, 131]
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from landbench.core.errors import ConfigError

# Modules whose import registers the built-in models; imported on first use so that importing
# the registry (e.g. for ``landbench --help``) stays cheap.
_BUILTIN_MODULES: tuple[str, ...] = ("landbench.models.fusion", "landbench.models.baselines")


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one model, without building it.

    Attributes:
        name: registry name, e.g. ``"fusionnet-resunet"``.
        builder: the class (or factory) called with the user's keyword arguments.
        bands_used: the input bands the model reads, e.g. ``("R", "G", "B", "DEM")``.
        reference: short citation of the architecture.
        summary: one line describing the model.
        trainable: False for no-skill references fitted by ``model.fit(batches)``.
        family: a grouping for tables (``"fusion"``, ``"baseline"``, ``"reference"``).
    """

    name: str
    builder: Callable[..., Any] = field(repr=False)
    bands_used: tuple[str, ...]
    reference: str
    summary: str
    trainable: bool = True
    family: str = "baseline"

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


def register_model(
    name: str,
    *,
    bands_used: tuple[str, ...],
    reference: str,
    summary: str,
    trainable: bool = True,
    family: str = "baseline",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class decorator registering a model builder under ``name``.

    Args:
        name: registry name (lower case, dashes).
        bands_used: the input bands the model reads.
        reference: short citation of the architecture.
        summary: one line describing the model.
        trainable: False for models fitted by ``fit`` instead of gradient descent.
        family: grouping for tables.

    Returns:
        A decorator that registers and returns the builder unchanged.

    Raises:
        ConfigError: if ``name`` is already registered to another builder.
    """

    def decorator(builder: Callable[..., Any]) -> Callable[..., Any]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.builder is not builder:
            raise ConfigError(f"Model name {name!r} is already registered.")
        _REGISTRY[name] = ModelInfo(
            name=name,
            builder=builder,
            bands_used=tuple(bands_used),
            reference=reference,
            summary=summary,
            trainable=trainable,
            family=family,
        )
        if isinstance(builder, type):
            builder.name = name  # instances built directly (not via create_model) know it too
        return builder

    return decorator


def _load_builtin() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted names of the registered models.

    Args:
        pattern: optional shell-style filter, e.g. ``"fusionnet-*"``.

    Returns:
        The matching names, sorted.
    """
    _load_builtin()
    names = sorted(_REGISTRY)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    return names


def model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``.

    Raises:
        ConfigError: if ``name`` is not registered (the message lists the valid names).
    """
    _load_builtin()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"Unknown model {name!r}. Valid models: {', '.join(sorted(_REGISTRY))}."
        ) from None


def create_model(name: str, **kwargs: Any) -> Any:
    """Build a zoo model by registry name.

    Args:
        name: a name from :func:`list_models`.
        **kwargs: the model's options (see ``landbench models info NAME``), e.g. ``size="tiny"``.

    Returns:
        The model, a :class:`torch.nn.Module` whose ``forward`` maps ``[N, 4, H, W]`` normalised
        R, G, B, DEM to logits ``[N, 1, H, W]``; it carries ``name``, ``config`` (the keyword
        arguments that rebuild it) and ``bands_used``.

    Raises:
        ConfigError: for an unknown name or an unknown or invalid option.
    """
    info = model_info(name)
    valid = info.kwargs
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ConfigError(
            f"Model {name!r} has no option(s) {unknown}. Valid options: {sorted(valid)}."
        )
    model = info.builder(**kwargs)
    model.name = name
    return model
