"""Training recipes as data: typed sections, parsed and validated by jsonargparse.

A recipe is a YAML mapping with the sections of :class:`TrainConfig`::

    name: bijie-fusionnet-resunet-mixup
    seed: 0
    data: {dataset: bijie, root: data/bijie, batch_size: 8, patch_size: 256}
    model: {name: fusionnet-resunet, kwargs: {size: base}}
    mixup: {mode: uniform, p: 1.0}
    transfer: {strategy: scratch}
    trainer: {max_epochs: 100}

jsonargparse (the parser behind LightningCLI) reads it against the dataclasses below: an
unknown key or a value of the wrong type is an error naming the file and the dotted key. Values
are then checked for ranges and cross-field rules (:func:`check_values`), and against the dataset
and model registries and the file system (:func:`check_resources`), all before any data is read.

Overrides use jsonargparse's dotted keys, as on the command line
(``landbench train --config X.yaml --trainer.max_epochs 50``): ``"trainer.max_epochs=50"``
strings are parsed as those flags are, and a mapping ``{"trainer.devices": [0, 1]}`` sets typed
values. Relative paths (``data.root``, ``transfer.weights``, ``output_dir``) resolve against the
current working directory when the run starts.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from landbench.core.errors import ConfigError

STRATEGIES: tuple[str, ...] = ("scratch", "pretrained", "finetune")
"""Transfer strategies of the paper's Table 2."""

RESUMABLE_CHANGES: tuple[str, ...] = (
    "trainer.accelerator",
    "trainer.devices",
    "trainer.strategy",
    "trainer.num_nodes",
    "trainer.precision",
    "trainer.progress_bar",
    "trainer.max_epochs",
    "data.num_workers",
    "output_dir",
)
"""Keys that may differ between two runs of one recipe (where and how long, not what)."""

FREE_FORM: tuple[str, ...] = ("data.dataset_kwargs", "model.kwargs")
"""Sections whose keys belong to the dataset or the model (checked by :func:`check_resources`)."""


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
        pad_multiple: tiles are padded to a multiple of this (padding never enters a loss or a
            metric).
        num_workers: data loader worker processes.
        augment: random flips and 90-degree rotations of training batches.
        dem_relative: feed the DEM relative to each tile's mean elevation (relief only); the
            choice travels with the weights, so inference does the same.
        dataset_kwargs: the dataset's own options, e.g. ``{preset: bijie, size: 64, n: 200}`` for
            ``synth``; ``--set KEY=VALUE`` sets one on the command line.
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
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)


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
    """``bce_weight * BCE + dice_weight * soft Dice`` over real (unpadded) pixels.

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
        p: probability that a training batch is mixed; 1.0 (every batch) as in the paper's text.
        per_sample: one coefficient per pair (True) or per batch (False).
    """

    mode: Literal["off", "uniform", "beta"] = "off"
    alpha: float = 0.4
    p: float = 1.0
    per_sample: bool = True


@dataclass
class OptimConfig:
    """AdamW and its learning-rate schedule.

    Attributes:
        lr: peak learning rate.
        weight_decay: AdamW decoupled weight decay.
        scheduler: ``cosine`` (to ``min_lr`` over the run's budget: ``trainer.max_steps``
            optimiser steps when set, else ``trainer.max_epochs`` epochs), ``plateau`` (multiply
            by ``factor`` when the monitored metric stalls ``patience`` epochs) or ``none``.
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
            or the zoo; its model name and config, and its DEM transform (``data.dem_relative``,
            the DEM nodata value), must equal this recipe's.
        freeze_encoders_epochs: ``finetune``: epochs during which ``model.encoders()`` are frozen.
        lr_scale: ``finetune``: multiplies ``optim.lr`` (1.0 gives scratch's schedule, for an
            equal-budget comparison).
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
        max_steps: optimiser steps of the run, or null; when set it is the budget (training
            stops there, and the cosine schedule runs over steps), so that two recipes on
            different data or batch sizes can state the same number of updates.
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
        progress_bar: show a progress bar per epoch (a line per epoch when not in a terminal).
        deterministic: force deterministic algorithms; null means yes on CPU (bit-identical
            reruns) and no on GPUs (some CUDA kernels have no deterministic version).
    """

    max_epochs: int = 50
    max_steps: int | None = None
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


def recipe_keys(cls: type = TrainConfig, prefix: str = "") -> list[str]:
    """Every dotted key of a recipe, leaves and free-form sections (``trainer.max_epochs``, ...).

    The command line offers one ``--KEY`` flag per key; this needs no parser, so
    ``landbench --help`` stays fast.
    """
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(default):
            keys += recipe_keys(type(default), f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


# ----------------------------------------------------------------------------------------------
# Parsing with jsonargparse
# ----------------------------------------------------------------------------------------------


def _parser() -> Any:
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False, allow_abbrev=False)
    parser.add_class_arguments(TrainConfig, None, fail_untyped=True)
    return parser


_UNKNOWN = (
    re.compile(r"Group '([\w.]+)' does not accept option '([\w.]+)'"),
    re.compile(r"Option '()([\w.]+)' is not accepted"),
    re.compile(r"unrecognized arguments: --()([\w.]+)"),
)
_TYPE = re.compile(r"^key \"([\w.]+)\": (.*)$")


def _explain(err: Exception, label: str) -> ConfigError:
    """One line from a jsonargparse error: the file, the dotted key, and a did-you-mean."""
    message = " ".join(str(err).replace("Parser key", "key").split())
    for pattern in _UNKNOWN:
        found = pattern.search(message)
        if found:
            key = ".".join(part for part in found.groups() if part)
            close = difflib.get_close_matches(key, recipe_keys(), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return ConfigError(f"{label}: unknown key {key!r}{hint}.")
    found = _TYPE.match(message)
    if found:
        key, detail = found.groups()
        detail = re.sub(r"<class '(\w+)'>", r"\1", detail).replace("Expected a ", "expected ")
        detail = detail.replace("typing.Literal[", "one of [")
        message = f"{key}: {detail}"
        if "Got value: False" in detail or "Got value: True" in detail:
            message += " (YAML reads unquoted off/on/yes/no as booleans; quote the word: 'off')"
    return ConfigError(f"{label}: {message}")


def _set_dotted(data: dict[str, Any], key: str, value: Any, label: str) -> None:
    node = data
    *parents, last = key.split(".")
    if not key or not all(parents) or not last:
        raise ConfigError(f"{label}: invalid key {key!r}; write a dotted key such as seed=1.")
    for part in parents:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{label}: {part!r} holds a value, not a section of keys ({key}).")
        node = child
    node[last] = copy.deepcopy(value)


def _check_sections(data: Mapping[str, Any], label: str) -> None:
    """Sections must be mappings (jsonargparse would fail deep inside instantiation)."""
    for f in dataclasses.fields(TrainConfig):
        value = data.get(f.name)
        if f.default_factory is not dataclasses.MISSING and value is not None:
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"{label}: {f.name} must be a mapping of keys to values, got "
                    f"{type(value).__name__} {value!r}."
                )


def _read(source: str | Path | Mapping[str, Any] | TrainConfig) -> tuple[dict[str, Any], str]:
    if isinstance(source, TrainConfig):
        return source.to_dict(), f"config {source.name!r}"
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source)), "config"
    path = Path(source)
    if not path.is_file():
        raise ConfigError(
            f"Config file {path} does not exist; see baselines/configs/ for examples."
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping of keys to values.")
    data.setdefault("name", path.stem)
    return data, str(path)


def load_config(
    source: str | Path | Mapping[str, Any] | TrainConfig,
    overrides: Iterable[str] | Mapping[str, Any] = (),
) -> TrainConfig:
    """Load a recipe (file or mapping), apply overrides, and validate it.

    Args:
        source: a YAML file path, a mapping, or a :class:`TrainConfig` (copied).
        overrides: dotted keys with values, applied in order: strings ``"trainer.max_epochs=5"``
            (a leading ``--`` is allowed), parsed as jsonargparse parses command-line flags, or a
            mapping ``{"trainer.devices": [0, 1]}`` of typed values. A key inside a free-form
            section (``data.dataset_kwargs.n``, ``model.kwargs.size``) sets that one item.

    Returns:
        The validated config. If the file gives no ``name``, the file's stem is used.

    Raises:
        ConfigError: for a missing or unreadable file, invalid YAML, an unknown key, a wrong type
            or an invalid value; the message names the file (or override) and the key.
    """
    from argparse import ArgumentError

    data, label = _read(source)
    args: list[str] = []
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            _set_dotted(data, key, value, label)
    else:
        for item in overrides:
            key, sep, _ = item.removeprefix("--").partition("=")
            if not sep or not key.strip() or any(not p for p in key.strip().split(".")):
                raise ConfigError(
                    f"Invalid override {item!r}; write KEY=VALUE with a dotted key, e.g. "
                    "trainer.max_epochs=5 or mixup.mode=off."
                )
            args.append(f"--{item.removeprefix('--')}")
        if args:
            label = f"{label} (with overrides {' '.join(args)})"
    _check_sections(data, label)
    parser = _parser()
    try:
        namespace = parser.parse_object(data)
        if args:
            namespace = parser.parse_args(args, namespace)
    except (ArgumentError, TypeError, ValueError) as err:
        raise _explain(err, label) from None
    config = TrainConfig(**{k: v for k, v in parser.instantiate(namespace).items()})
    check_values(config, label)
    return config


def config_differences(
    old: Mapping[str, Any], new: Mapping[str, Any], ignore: Iterable[str] = RESUMABLE_CHANGES
) -> list[str]:
    """Dotted keys whose values differ between two config dicts, except those in ``ignore``.

    The one comparison behind resuming a run and reusing a run folder.
    """
    ignored = set(ignore)

    def walk(a: Any, b: Any, prefix: str) -> list[str]:
        if prefix.rstrip(".") in ignored:
            return []
        if (
            isinstance(a, Mapping)
            and isinstance(b, Mapping)
            and prefix.rstrip(".") not in FREE_FORM
        ):
            keys = sorted(set(a) | set(b))
            return [d for k in keys for d in walk(a.get(k), b.get(k), f"{prefix}{k}.")]
        return [] if a == b else [prefix.rstrip(".")]

    return walk(old, new, "")


# ----------------------------------------------------------------------------------------------
# Value checks
# ----------------------------------------------------------------------------------------------


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
    if config.trainer.max_steps is not None:
        _positive(config.trainer.max_steps, "trainer.max_steps", source)
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
    if not 0 <= config.mixup.p <= 1:
        raise ConfigError(f"{source}: mixup.p must be in [0, 1], got {config.mixup.p}.")
    _check_transfer(config.transfer, source)


def _check_transfer(transfer: TransferConfig, source: str) -> None:
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


def check_resources(config: TrainConfig, source: str = "config") -> None:
    """Check the config against the registries and the file system, before any training.

    Verifies that the dataset and the model are registered, the model options exist, the data
    root and the transfer weights exist.

    Raises:
        ConfigError: naming the unknown name or the missing path, and what to do.
    """
    from landbench.datasets.registry import dataset_class
    from landbench.models import model_info

    data = config.data
    try:
        cls = dataset_class(data.dataset)
    except ConfigError as err:
        raise ConfigError(f"{source}: data.dataset: {err}") from None
    if "root" in data.dataset_kwargs:
        raise ConfigError(
            f"{source}: give the dataset root as data.root, not data.dataset_kwargs.root."
        )
    creates_root = cls.creates_root or data.dataset_kwargs.get("download")
    if data.root is not None and not creates_root and not Path(data.root).expanduser().is_dir():
        raise ConfigError(
            f"{source}: data.root {data.root!r} is not a folder "
            f"(resolved to {Path(data.root).expanduser().resolve()}). Download or import "
            f"the dataset there (`landbench datasets download {data.dataset}`) or fix data.root."
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
