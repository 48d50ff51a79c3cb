"""Typed training configuration: YAML files, ``--set key=value`` overrides and validation.

A config is a YAML mapping with the sections of :class:`TrainConfig`::

    name: bijie-fusionnet-resunet-mixup
    seed: 0
    data: {dataset: bijie, root: data/bijie, batch_size: 8, patch_size: 256}
    model: {name: fusionnet-resunet, kwargs: {size: base}}
    mixup: {mode: uniform}
    transfer: {strategy: scratch}
    trainer: {max_epochs: 100}

Every key is checked against the dataclasses below (unknown keys and wrong types are errors that
name the file, the key and what is expected), then the values are checked against the dataset
and model registries, all before any data is read or any training starts.

Relative paths (``data.root``, ``transfer.weights``, ``output_dir``) are resolved against the
current working directory when the run starts, like every other command-line path; the resolved
config written to the run folder keeps them as given, and ``run.json`` records the absolute paths.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from landbench.core.errors import ConfigError

DATASETS_CREATING_ROOT: frozenset[str] = frozenset({"synth"})
"""Datasets whose ``root`` is a cache folder they create (no existence check)."""

STRATEGIES: tuple[str, ...] = ("scratch", "pretrained", "finetune")
"""Transfer strategies of the paper's Table 2."""


@dataclass
class DataConfig:
    """Which data and how it is batched (arguments of ``LandslideDataModule``).

    Attributes:
        dataset: registry name (``"bijie"``, ``"hokkaido"``, ``"synth"``).
        root: folder of the raw files; None for the dataset's default (``synth`` needs none).
        batch_size: training batch size (per device).
        eval_batch_size: validation batch size (native-size tiles).
        patch_size: side of the square training patches, in pixels.
        patches_per_tile: random patches drawn from each training tile per epoch.
        pad_multiple: validation tiles are padded to a multiple of this (then ignored by metrics).
        num_workers: data loader worker processes.
        augment: random flips and 90-degree rotations of training batches.
        dem_relative: feed the DEM relative to each tile's mean elevation (relief only); the
            choice travels with the weights, so inference does the same.
        kwargs: further dataset options, e.g. ``{preset: bijie, size: 64, n: 200}`` for ``synth``.
    """

    dataset: str = "synth"
    root: str | None = None
    batch_size: int = 8
    eval_batch_size: int = 1
    patch_size: int = 128
    patches_per_tile: int = 1
    pad_multiple: int = 32
    num_workers: int = 0
    augment: bool = True
    dem_relative: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    """The zoo model (``landbench.models.create_model(name, **kwargs)``).

    Attributes:
        name: registry name, see ``landbench models list``.
        kwargs: the model's options, e.g. ``{size: tiny}``.
    """

    name: str = "fusionnet-resunet"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossConfig:
    """``bce_weight * BCE + dice_weight * soft Dice`` (both accept Mixup's soft targets).

    Attributes:
        bce_weight: weight of binary cross-entropy.
        dice_weight: weight of the soft Dice loss.
        pos_weight: BCE weight of landslide pixels (> 1 counters imbalance); null for 1.
    """

    bce_weight: float = 1.0
    dice_weight: float = 1.0
    pos_weight: float | None = None


@dataclass
class MixupConfig:
    """Mixup (see :class:`landbench.training.mixup.Mixup`).

    Attributes:
        mode: ``off``, ``uniform`` (lambda ~ U[0, 1], the paper) or ``beta`` (Beta(alpha, alpha)).
        alpha: Beta concentration (``beta`` only).
        prob: probability of mixing a given batch.
        per_sample: one coefficient per pair (True) or per batch (False).
    """

    mode: Literal["off", "uniform", "beta"] = "off"
    alpha: float = 0.4
    prob: float = 1.0
    per_sample: bool = True


@dataclass
class OptimConfig:
    """AdamW and its learning-rate schedule.

    Attributes:
        lr: peak learning rate.
        weight_decay: AdamW decoupled weight decay.
        scheduler: ``cosine`` (to ``min_lr`` over ``trainer.max_epochs``), ``plateau`` (divide by
            ``1 / factor`` when the monitored metric stalls ``patience`` epochs) or ``none``.
        min_lr: floor of the schedule.
        factor: ``plateau`` multiplier.
        patience: ``plateau`` patience, in epochs.
    """

    lr: float = 1e-3
    weight_decay: float = 1e-4
    scheduler: Literal["cosine", "plateau", "none"] = "cosine"
    min_lr: float = 1e-6
    factor: float = 0.5
    patience: int = 5


@dataclass
class TransferConfig:
    """Transfer strategy of the paper's Table 2.

    Attributes:
        strategy: ``scratch`` (random init), ``pretrained`` (load ``weights``, evaluate only) or
            ``finetune`` (load ``weights``, then train).
        weights: a ``.safetensors`` file written by ``landbench train`` (``RUN/model.safetensors``)
            or the zoo; its model name and config must equal ``model``.
        freeze_encoders_epochs: ``finetune``: epochs during which ``model.encoders()`` are frozen.
        lr_scale: ``finetune``: multiplies ``optim.lr`` (e.g. 0.1 for a gentler update).
        normalization: ``target`` normalises with the train statistics of ``data.dataset``;
            ``source`` reuses the statistics stored with ``weights``.
    """

    strategy: Literal["scratch", "pretrained", "finetune"] = "scratch"
    weights: str | None = None
    freeze_encoders_epochs: int = 0
    lr_scale: float = 1.0
    normalization: Literal["target", "source"] = "target"


@dataclass
class TrainerConfig:
    """Lightning ``Trainer`` options (devices and precision can also be given on the command line).

    Attributes:
        max_epochs: training epochs (upper bound with early stopping).
        min_epochs: epochs before early stopping may stop the run.
        accelerator: ``auto``, ``cpu``, ``gpu``, ``mps``, ...
        devices: ``auto``, a count, or a list of device indices.
        strategy: ``auto``, ``ddp``, ``ddp_spawn``, ``fsdp``, ...
        num_nodes: machines taking part (DDP across nodes).
        precision: ``32-true``, ``16-mixed``, ``bf16-mixed``, ...
        monitor: metric for model selection and early stopping: ``val_f1`` (max) or
            ``val_loss`` (min).
        early_stopping_patience: epochs without improvement before stopping; null disables it.
        gradient_clip_val: clip gradient norm; null disables clipping.
        accumulate_grad_batches: batches per optimiser step.
        limit_train_batches: a fraction or number of training batches per epoch (quick runs).
        limit_val_batches: likewise for validation.
        log_every_n_steps: logging interval, in steps.
        progress_bar: show Lightning's progress bar.
        deterministic: force deterministic algorithms; null means yes on CPU (bit-identical
            reruns) and no on GPUs (some CUDA kernels have no deterministic version).
    """

    max_epochs: int = 50
    min_epochs: int = 0
    accelerator: str = "auto"
    devices: int | str | list[int] = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    monitor: Literal["val_f1", "val_loss"] = "val_f1"
    early_stopping_patience: int | None = 10
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    limit_train_batches: int | float | None = None
    limit_val_batches: int | float | None = None
    log_every_n_steps: int = 10
    progress_bar: bool = True
    deterministic: bool | None = None


@dataclass
class TrainConfig:
    """A complete training recipe.

    Attributes:
        name: run name; the default run folder is ``{output_dir}/{name}``.
        seed: fixes weights initialisation, patches, augmentation and Mixup draws.
        output_dir: parent folder of run folders.
        description: free text (e.g. the paper's table cell this reproduces).
        data: :class:`DataConfig`.
        model: :class:`ModelConfig`.
        loss: :class:`LossConfig`.
        mixup: :class:`MixupConfig`.
        optim: :class:`OptimConfig`.
        transfer: :class:`TransferConfig`.
        trainer: :class:`TrainerConfig`.
    """

    name: str = "run"
    seed: int = 0
    output_dir: str = "runs"
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    mixup: MixupConfig = field(default_factory=MixupConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (YAML/JSON-serialisable)."""
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        """The config as YAML, in declaration order (what ``RUN/config.yaml`` holds)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)


# ----------------------------------------------------------------------------------------------
# Building a config from plain data, with type checking
# ----------------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _matches(value: Any, tp: Any) -> bool:
    """Whether ``value`` (parsed YAML) is acceptable for annotation ``tp``."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:  # ints are floats too; so is "1e-3", which YAML 1.1 reads as a string
        if isinstance(value, str):
            return bool(_FLOAT_RE.match(value.strip()))
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if origin is list:
        (item,) = typing.get_args(tp)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    return isinstance(value, tp)


_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _coerce(value: Any, tp: Any) -> Any:
    """Normalise accepted values: numeric strings and ints become floats where floats are due."""
    options = (
        typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    )
    if float not in options or isinstance(value, bool):
        return value
    if isinstance(value, str) and str not in options:
        return float(value)
    if isinstance(value, int) and int not in options:
        return float(value)
    return value


def _suggest(key: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _build(cls: type, data: Any, where: str, source: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: {where or 'the config'} must be a mapping of keys to values, got "
            f"{type(data).__name__}."
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        dotted = f"{where}.{key}" if where else str(key)
        raise ConfigError(
            f"{source}: unknown key {dotted!r}{_suggest(str(key), fields)}. Valid keys"
            f"{' of ' + where if where else ''}: {', '.join(fields)}."
        )
    kwargs = {}
    for key, value in data.items():
        dotted = f"{where}.{key}" if where else key
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _build(tp, {} if value is None else value, dotted, source)
            continue
        if isinstance(value, bool) and typing.get_origin(tp) is Literal:
            # YAML 1.1 reads an unquoted ``off`` / ``on`` as a boolean.
            word = "on" if value else "off"
            value = word if word in typing.get_args(tp) else value
        if not _matches(value, tp):
            raise ConfigError(
                f"{source}: {dotted} must be {_type_name(tp)}, got {value!r} "
                f"({type(value).__name__})."
            )
        kwargs[key] = _coerce(value, tp)
    return cls(**kwargs)


def config_from_dict(data: Mapping[str, Any], source: str = "config") -> TrainConfig:
    """Build and type-check a :class:`TrainConfig` from a plain nested mapping.

    Args:
        data: parsed YAML (missing keys take their defaults).
        source: what to name in error messages (usually the file path).

    Raises:
        ConfigError: on an unknown key or a value of the wrong type (the message names both).
    """
    config = _build(TrainConfig, data, "", source)
    check_values(config, source)
    return config


def parse_override(item: str) -> tuple[list[str], Any]:
    """Parse one ``key.sub=value`` override; the value is read as YAML (``3``, ``true``, ``[1]``).

    Raises:
        ConfigError: if ``item`` has no ``=`` or an empty key.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(
            f"Invalid override {item!r}; write KEY=VALUE with a dotted key, e.g. "
            "trainer.max_epochs=5 or mixup.mode=off."
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(f"Invalid value in override {item!r}: {err}") from None
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key=value`` overrides to a nested dict (a new dict is returned).

    Keys may go into free-form sections, e.g. ``data.kwargs.n=40`` or ``model.kwargs.size=tiny``.
    Whether a key exists is checked afterwards, with the rest of the config.
    """
    import copy

    out = copy.deepcopy(dict(data))
    for item in overrides:
        path, value = parse_override(item)
        node = out
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(
                    f"Override {item!r}: {part!r} holds a value, not a section of keys."
                )
            node = child
        node[path[-1]] = value
    return out


def load_config(
    source: str | Path | Mapping[str, Any] | TrainConfig, overrides: Iterable[str] = ()
) -> TrainConfig:
    """Load a config file (or mapping), apply overrides, and validate it.

    Args:
        source: a YAML file path, a mapping, or a :class:`TrainConfig` (copied).
        overrides: ``key=value`` strings, applied in order.

    Returns:
        The validated config. If the file gives no ``name``, the file's stem is used.

    Raises:
        ConfigError: for a missing or unreadable file, invalid YAML, an unknown key, a wrong type
            or an invalid value.
    """
    overrides = list(overrides)
    if isinstance(source, TrainConfig):
        data, label = source.to_dict(), "config"
    elif isinstance(source, Mapping):
        data, label = dict(source), "config"
    else:
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise ConfigError(
                f"Config file {path} does not exist; see baselines/configs/ for examples."
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path} is not valid YAML: {err}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a config must be a mapping of keys to values.")
        data.setdefault("name", path.stem)
    if overrides:
        data = apply_overrides(data, overrides)
        label = f"{label} (with --set {' '.join(overrides)})"
    return config_from_dict(data, label)


def _positive(value: float, key: str, source: str, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{source}: {key} must be {bound}, got {value!r}.")


def check_values(config: TrainConfig, source: str = "config") -> None:
    """Check value ranges and cross-field rules that the types cannot express.

    Raises:
        ConfigError: naming the key and the expected values.
    """
    if not config.name or "/" in config.name or config.name in (".", ".."):
        raise ConfigError(f"{source}: name must be a non-empty folder name, got {config.name!r}.")
    for key in ("batch_size", "eval_batch_size", "patch_size", "patches_per_tile", "pad_multiple"):
        _positive(getattr(config.data, key), f"data.{key}", source)
    _positive(config.data.num_workers, "data.num_workers", source, allow_zero=True)
    _positive(config.optim.lr, "optim.lr", source)
    _positive(config.optim.weight_decay, "optim.weight_decay", source, allow_zero=True)
    _positive(config.optim.min_lr, "optim.min_lr", source, allow_zero=True)
    _positive(config.optim.patience, "optim.patience", source, allow_zero=True)
    if not 0 < config.optim.factor < 1:
        raise ConfigError(f"{source}: optim.factor must be in (0, 1), got {config.optim.factor}.")
    _positive(config.trainer.max_epochs, "trainer.max_epochs", source)
    _positive(config.trainer.min_epochs, "trainer.min_epochs", source, allow_zero=True)
    _positive(config.trainer.accumulate_grad_batches, "trainer.accumulate_grad_batches", source)
    _positive(config.trainer.num_nodes, "trainer.num_nodes", source)
    if config.trainer.early_stopping_patience is not None:
        _positive(config.trainer.early_stopping_patience, "trainer.early_stopping_patience", source)
    _positive(config.loss.bce_weight, "loss.bce_weight", source, allow_zero=True)
    _positive(config.loss.dice_weight, "loss.dice_weight", source, allow_zero=True)
    if config.loss.bce_weight == 0 and config.loss.dice_weight == 0:
        raise ConfigError(f"{source}: loss.bce_weight and loss.dice_weight cannot both be 0.")
    if config.loss.pos_weight is not None:
        _positive(config.loss.pos_weight, "loss.pos_weight", source)
    if config.mixup.mode == "beta":
        _positive(config.mixup.alpha, "mixup.alpha", source)
    if not 0 <= config.mixup.prob <= 1:
        raise ConfigError(f"{source}: mixup.prob must be in [0, 1], got {config.mixup.prob}.")
    transfer = config.transfer
    if transfer.strategy == "scratch":
        if transfer.weights is not None:
            raise ConfigError(
                f"{source}: transfer.weights is set but transfer.strategy is 'scratch'; use "
                "strategy 'finetune' or 'pretrained' to start from weights, or remove weights."
            )
    elif transfer.weights is None:
        raise ConfigError(
            f"{source}: transfer.strategy {transfer.strategy!r} needs transfer.weights (a "
            ".safetensors file, e.g. runs/NAME/model.safetensors)."
        )
    _positive(
        transfer.freeze_encoders_epochs, "transfer.freeze_encoders_epochs", source, allow_zero=True
    )
    _positive(transfer.lr_scale, "transfer.lr_scale", source)
    if transfer.strategy != "finetune" and (
        transfer.freeze_encoders_epochs or transfer.lr_scale != 1.0
    ):
        raise ConfigError(
            f"{source}: transfer.freeze_encoders_epochs and transfer.lr_scale apply to strategy "
            f"'finetune' only (strategy is {transfer.strategy!r})."
        )
    if transfer.normalization == "source" and transfer.strategy == "scratch":
        raise ConfigError(f"{source}: transfer.normalization 'source' needs pretrained weights.")
    if config.trainer.monitor not in ("val_f1", "val_loss"):
        raise ConfigError(f"{source}: trainer.monitor must be val_f1 or val_loss.")


def check_resources(config: TrainConfig, source: str = "config") -> None:
    """Check the config against the registries and the file system, before any training.

    Verifies that the dataset and the model are registered, the model options exist, the data
    root and the transfer weights exist.

    Raises:
        ConfigError: naming the unknown name or the missing path, and what to do.
    """
    from landbench.datasets.registry import dataset_class
    from landbench.models import model_info

    try:
        dataset_class(config.data.dataset)
    except ConfigError as err:
        raise ConfigError(f"{source}: data.dataset: {err}") from None
    if "root" in config.data.kwargs:
        raise ConfigError(f"{source}: give the dataset root as data.root, not data.kwargs.root.")
    creates_root = config.data.dataset in DATASETS_CREATING_ROOT or config.data.kwargs.get(
        "download"
    )
    root = config.data.root
    if root is not None and not creates_root and not Path(root).expanduser().is_dir():
        raise ConfigError(
            f"{source}: data.root {config.data.root!r} is not a folder "
            f"(resolved to {Path(config.data.root).expanduser().resolve()}). Download or import "
            f"the dataset there (`landbench datasets download {config.data.dataset}`) or fix "
            "data.root."
        )
    try:
        info = model_info(config.model.name)
    except ConfigError as err:
        raise ConfigError(f"{source}: model.name: {err}") from None
    unknown = sorted(set(config.model.kwargs) - set(info.kwargs))
    if unknown:
        raise ConfigError(
            f"{source}: model.kwargs: {config.model.name!r} has no option(s) {unknown}; valid "
            f"options: {sorted(info.kwargs)}."
        )
    if not info.trainable and config.transfer.strategy != "scratch":
        raise ConfigError(
            f"{source}: model {config.model.name!r} is fitted, not trained; use "
            "transfer.strategy 'scratch'."
        )
    if config.mixup.mode != "off" and not info.trainable:
        raise ConfigError(
            f"{source}: mixup applies to gradient training; model {config.model.name!r} is "
            "fitted. Set mixup.mode: off."
        )
    weights = config.transfer.weights
    if weights is not None and not Path(weights).expanduser().is_file():
        raise ConfigError(
            f"{source}: transfer.weights {weights!r} does not exist (resolved to "
            f"{Path(weights).expanduser().resolve()}). Train the source model first, e.g. "
            "`landbench train --config baselines/configs/<source>.yaml`, or fix the path."
        )
