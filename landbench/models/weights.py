"""Save and load zoo weights as safetensors with metadata, and the registry of published weights.

A landbench weights file is a plain ``.safetensors`` file: the tensors of the model's state dict
and, in the header's ``__metadata__`` (string to string), everything needed to rebuild and cite
it. Required keys written by :func:`save_weights`: ``model`` (registry name), ``model_config``
(the keyword arguments that rebuild it), ``landbench_version`` and ``bands`` (the band set the
model was created for; files without it are R, G, B, DEM models); callers add ``dataset``,
``split_version``, ``manifest_sha256``, ``training_config``, ``metrics`` and ``normalization``
(``{"bands": [...], "mean": [...], "std": [...]}``). String values are stored as they are, other
values JSON-encoded; the key ``landbench_json_keys`` lists the JSON-encoded keys so that loading
restores the exact dict. Loading never unpickles: safetensors holds raw tensor bytes only, and
the architecture the metadata asks for is bounded before anything is allocated (each width and
depth option within its documented bound, at most
:data:`~landbench.models.registry.MAX_PARAMETERS` parameters, counted on the meta device).

Published weights are listed in the style of TorchGeo's ``WeightsEnum``: each model with
published weights gets an enum whose members are :class:`Weights` (URL, sha256, metadata). Only
weights trained on the real data may be listed; none have been trained yet, so
:func:`list_published_weights` is empty and says so, rather than pointing at weights that do
not exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from landbench._version import __version__
from landbench.core.errors import ConfigError, InvalidDataError, LandbenchError
from landbench.core.io import atomic_write_bytes
from landbench.datasets.hub_format import sha256_file
from landbench.models.base import DEFAULT_BANDS, check_bands

#: Key of the metadata entry listing which other entries are JSON-encoded.
JSON_KEYS = "landbench_json_keys"
#: Keys every landbench weights file has.
REQUIRED_KEYS: tuple[str, ...] = ("model", "model_config", "landbench_version")
#: Keys :func:`save_weights` writes itself (``bands`` is absent from files of landbench < 0.2).
WRITTEN_KEYS: tuple[str, ...] = (*REQUIRED_KEYS, "bands")
#: Model options that name files; a weights file never sets them (its tensors replace them).
FILE_OPTIONS: tuple[str, ...] = ("pretrained", "weights_path")
#: Value of the ``format`` entry (safetensors' own convention for PyTorch tensors).
FORMAT = "pt"


def _encode_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    encoded: dict[str, str] = {}
    json_keys: list[str] = []
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise ConfigError(f"Metadata keys must be strings, got {key!r}.")
        if isinstance(value, str):
            encoded[key] = value
            continue
        try:
            encoded[key] = json.dumps(value, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"Metadata value of {key!r} is not JSON-serialisable ({err}); convert tensors "
                "and arrays with .tolist() and paths with str()."
            ) from err
        json_keys.append(key)
    encoded[JSON_KEYS] = json.dumps(sorted(json_keys))
    return encoded


def _decode_metadata(raw: Mapping[str, str], path: Path) -> dict[str, Any]:
    try:
        json_keys = set(json.loads(raw.get(JSON_KEYS, "[]")))
        out = {k: (json.loads(v) if k in json_keys else v) for k, v in raw.items()}
    except (json.JSONDecodeError, TypeError) as err:
        raise InvalidDataError(f"{path}: unreadable landbench metadata ({err}).") from err
    out.pop(JSON_KEYS, None)
    out.pop("format", None)
    return out


def save_weights(
    model: Any,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = True,
) -> Path:
    """Save a zoo model's state dict and metadata as a safetensors file, atomically.

    Args:
        model: a model from :func:`landbench.models.create_model` (has ``name`` and ``config``).
        path: destination ``.safetensors`` file (parent folders are created).
        metadata: JSON-serialisable extra metadata (``dataset``, ``split_version``,
            ``manifest_sha256``, ``training_config``, ``metrics``, ``normalization``, ...). The
            keys ``model``, ``model_config``, ``landbench_version`` and ``bands`` are written by
            this function and may not be given.
        overwrite: replace an existing file at ``path`` (atomically); if False, an existing file
            is an error raised before anything is written.

    Returns:
        The written path.

    Raises:
        ConfigError: if the model is not a named zoo model, or metadata is not serialisable or
            overrides a reserved key. Nothing is written in that case.
        LandbenchError: if ``path`` exists and ``overwrite`` is False.
    """
    from safetensors.torch import save

    name = getattr(model, "name", "")
    config = getattr(model, "config", None)
    if not name or not isinstance(config, dict):
        raise ConfigError(
            "save_weights needs a zoo model built with landbench.models.create_model (it must "
            f"carry .name and .config); got {type(model).__name__}."
        )
    metadata = dict(metadata or {})
    clash = sorted(set(metadata) & {*WRITTEN_KEYS, JSON_KEYS, "format"})
    if clash:
        raise ConfigError(f"Metadata keys {clash} are written by save_weights; remove them.")
    header = _encode_metadata(
        {
            "model": name,
            "model_config": config,
            "landbench_version": __version__,
            "bands": list(getattr(model, "bands", DEFAULT_BANDS)),
            **metadata,
        }
    )
    header["format"] = FORMAT
    # safetensors refuses aliased tensors; cloning contiguous CPU copies also detaches them.
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    return atomic_write_bytes(path, save(state, metadata=header), overwrite=overwrite)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a weights file's metadata without loading its tensors.

    Raises:
        LandbenchError: if the file does not exist.
        InvalidDataError: if it is not a landbench safetensors file.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise LandbenchError(f"Weights file {path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise InvalidDataError(
            f"{path} is not a readable safetensors file ({err}); it may be truncated or "
            "corrupt: download or save it again."
        ) from err
    metadata = _decode_metadata(raw, path)
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise InvalidDataError(
            f"{path} is a safetensors file but not landbench weights: metadata lacks {missing}."
        )
    if not isinstance(metadata["model_config"], dict):
        raise InvalidDataError(f"{path}: metadata 'model_config' is not a JSON object.")
    return metadata


def load_weights(
    path: str | os.PathLike[str], expected_model: str | None = None, device: str = "cpu"
) -> tuple[Any, dict[str, Any]]:
    """Rebuild a zoo model from a weights file and load its tensors (never unpickles).

    Args:
        path: a ``.safetensors`` file written by :func:`save_weights`.
        expected_model: if given, the registry name the file must hold.
        device: where to put the tensors.

    Returns:
        ``(model, metadata)``: the model in eval mode, created for the file's ``bands``, and the
        metadata dict.

    Raises:
        LandbenchError: if the file does not exist.
        InvalidDataError: if the file is corrupt, truncated, not landbench weights, holds another
            model than ``expected_model``, asks for an architecture outside the documented
            bounds (checked before anything is allocated) or options that name files, or its
            tensors do not fit the model it names.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from landbench.models.registry import create_model, list_models

    path = Path(path)
    metadata = read_metadata(path)
    name = metadata["model"]
    if expected_model is not None and name != expected_model:
        raise InvalidDataError(
            f"{path} holds weights of model {name!r}, not {expected_model!r}; pick the file of "
            f"{expected_model!r} or create the model {name!r}."
        )
    if name not in list_models():
        raise InvalidDataError(
            f"{path} holds weights of {name!r}, which this landbench "
            f"({__version__}; file written by {metadata['landbench_version']}) does not know."
        )
    config = dict(metadata["model_config"])
    named_files = sorted(set(config) & set(FILE_OPTIONS))
    if named_files:
        raise InvalidDataError(
            f"{path}: model_config sets {named_files}; a weights file never names other files "
            "(its tensors are the weights). Remove them from the metadata."
        )
    try:
        bands = check_bands(metadata.get("bands", config.get("bands", DEFAULT_BANDS)))
        if "bands" in config and check_bands(config["bands"]) != bands:
            raise InvalidDataError(
                f"{path}: metadata bands {list(bands)} differ from model_config bands "
                f"{reprlib.repr(config['bands'])}; the file was edited: save the weights again."
            )
    except ConfigError as err:
        raise InvalidDataError(f"{path}: metadata bands: {err}") from err
    config["bands"] = list(bands)
    try:
        # create_model checks every option against its bound and counts the parameters on the
        # meta device before it allocates anything.
        model = create_model(name, **config)
    except ConfigError as err:
        raise InvalidDataError(f"{path}: its model_config does not build {name!r}: {err}") from err
    try:
        state = load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError) as err:
        raise InvalidDataError(
            f"{path}: cannot read tensors ({err}); the file is corrupt."
        ) from err
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise InvalidDataError(f"{path}: tensors do not fit model {name!r}: {err}") from err
    return model.to(device).eval(), metadata


@dataclass(frozen=True)
class Weights:
    """One published weights file: where it lives, its checksum, and what it was trained on.

    Attributes:
        url: download address of the ``.safetensors`` file.
        sha256: its hex sha256; a file with another hash is refused.
        model: registry name of the model.
        meta: facts about the training: ``dataset``, ``split_version``, ``manifest_sha256``,
            ``metrics`` (on the test split), ``license``, ...
    """

    url: str
    sha256: str
    model: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        """The file name, from the URL."""
        return self.url.rsplit("/", 1)[-1]

    def get_model(
        self, root: str | os.PathLike[str], download: bool = False
    ) -> tuple[Any, dict[str, Any]]:
        """Load these weights from ``root`` (downloading them there if asked), checking sha256.

        Args:
            root: folder holding (or to receive) :attr:`filename`.
            download: fetch the file from :attr:`url` if it is absent.

        Returns:
            ``(model, metadata)`` as :func:`load_weights` returns them.

        Raises:
            LandbenchError: if the file is absent and ``download`` is False.
            InvalidDataError: if its sha256 differs from :attr:`sha256`.
        """
        path = Path(root) / self.filename
        if not path.is_file():
            if not download:
                raise LandbenchError(
                    f"{path} not found; pass download=True or download {self.url} there."
                )
            self._download(path)
        digest = sha256_file(path)
        if digest != self.sha256:
            raise InvalidDataError(
                f"{path} has sha256 {digest}, expected {self.sha256}; delete it and download again."
            )
        return load_weights(path, expected_model=self.model)

    def _download(self, path: Path) -> None:
        import urllib.request

        with urllib.request.urlopen(self.url) as response:  # noqa: S310 - https URL of a release
            data = response.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != self.sha256:
            raise InvalidDataError(
                f"Download of {self.url} has sha256 {digest}, expected {self.sha256}; nothing "
                "was written."
            )
        atomic_write_bytes(path, data, overwrite=False)


class WeightsEnum(Enum):
    """Base of the per-model enums of published weights (as TorchGeo's ``WeightsEnum``).

    Subclass it with :class:`Weights` members and register it with
    :func:`register_published_weights`::

        class FusionNetResUNetWeights(WeightsEnum):
            BIJIE_V1 = Weights(url=..., sha256=..., model="fusionnet-resunet", meta={...})
    """

    @property
    def url(self) -> str:
        """The member's download address."""
        return self.value.url

    @property
    def meta(self) -> dict[str, Any]:
        """The member's training facts."""
        return self.value.meta

    def get_model(
        self, root: str | os.PathLike[str], download: bool = False
    ) -> tuple[Any, dict[str, Any]]:
        """See :meth:`Weights.get_model`."""
        return self.value.get_model(root, download=download)


#: Registered enums of published weights, by model name. Empty: nothing has been trained on the
#: real Bijie or Hokkaido data yet, and weights trained on synthetic data are not published.
PUBLISHED_WEIGHTS: dict[str, type[WeightsEnum]] = {}


def register_published_weights(enum_cls: type[WeightsEnum]) -> type[WeightsEnum]:
    """Register an enum of published weights (class decorator); all members name one model."""
    models = {member.value.model for member in enum_cls}
    if len(models) != 1:
        raise ConfigError(
            f"{enum_cls.__name__} must hold weights of exactly one model, got {models}."
        )
    PUBLISHED_WEIGHTS[models.pop()] = enum_cls
    return enum_cls


def list_published_weights(model: str | None = None) -> list[WeightsEnum]:
    """Published weights, optionally of one model (empty until weights are trained on real data)."""
    enums = PUBLISHED_WEIGHTS.values() if model is None else [PUBLISHED_WEIGHTS.get(model)]
    return [member for enum_cls in enums if enum_cls is not None for member in enum_cls]


def get_published_weights(name: str) -> WeightsEnum:
    """Look up published weights by ``"Enum.MEMBER"`` name.

    Raises:
        ConfigError: if there is no such entry (the message lists what exists, possibly nothing).
    """
    for member in list_published_weights():
        if f"{type(member).__name__}.{member.name}" == name:
            return member
    known = [f"{type(m).__name__}.{m.name}" for m in list_published_weights()]
    raise ConfigError(
        f"No published weights named {name!r}. Published: {known or 'none yet'} (no model has "
        "been trained on the real datasets yet; train one with `landbench train` and load it "
        "with landbench.models.load_weights)."
    )
