"""``train(config)``: one training run, from a config to a complete run folder.

Run folder layout (the evaluator, ``landbench reproduce`` and the demo read it)::

    RUN/config.yaml            the resolved config (after --set overrides)
    RUN/run.json               seed, versions, dataset + split manifest sha256, model, strategy,
                               status (running | completed | interrupted | failed), best epoch,
                               best validation metrics, wall time
    RUN/metrics.csv            one row per epoch: epoch, train_loss, val_loss, val_f1, val_iou,
                               val_precision, val_recall, lr, seconds
    RUN/checkpoints/last.ckpt  Lightning checkpoint of the latest epoch (resume from it)
    RUN/checkpoints/best.ckpt  Lightning checkpoint of the validation-selected epoch
    RUN/model.safetensors      the validation-selected weights, with metadata (model, dataset,
                               split, normalisation, training config, validation metrics, seed)

Every file is replaced atomically, so an interrupted run leaves complete files behind (its last
checkpoint in particular) and can be resumed with ``resume=True``. Model selection and early
stopping look at the validation split only; the test split is never loaded here.

``pretrained`` runs (weights applied without training) and fitted reference models
(``all-background``, ``slope-threshold``) write the same layout with a single metrics row
(epoch 0, no training loss) and no checkpoints.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from landbench._version import __version__
from landbench.core.errors import ConfigError, LandbenchError
from landbench.core.io import atomic_directory, atomic_write_json, atomic_write_text
from landbench.training.config import TrainConfig, check_resources, load_config

logger = logging.getLogger(__name__)

METRICS_COLUMNS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "val_loss",
    "val_f1",
    "val_iou",
    "val_precision",
    "val_recall",
    "lr",
    "seconds",
)
"""Columns of ``RUN/metrics.csv``, in order."""

#: Config keys that may differ when resuming (where and how long to run, not what to train).
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


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def is_global_rank_zero() -> bool:
    """Whether this process is global rank 0, judged from the launcher's environment.

    Needed before the Trainer exists: Lightning's DDP launcher re-runs the command in one process
    per device, and only the first may create or check the run folder.
    """
    for var in ("RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if var in os.environ:
            return int(os.environ[var]) == 0
    return int(os.environ.get("NODE_RANK", 0)) == 0 and int(os.environ.get("LOCAL_RANK", 0)) == 0


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and key not in ("kwargs",):
            out.update(_flatten(value, f"{dotted}."))
        else:
            out[dotted] = value
    return out


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Read ``RUN/metrics.csv`` into a list of rows (numbers as floats/ints, blanks as None)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if value in ("", None):
                    row[key] = None
                elif key == "epoch":
                    row[key] = int(value)
                else:
                    row[key] = float(value)
            rows.append(row)
    return rows


def _write_metrics(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRICS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in METRICS_COLUMNS})
    atomic_write_text(path, buffer.getvalue())


def best_row(rows: Sequence[Mapping[str, Any]], monitor: str = "val_f1") -> dict[str, Any] | None:
    """The validation-selected row: highest ``val_f1`` (or lowest ``val_loss``), earliest on ties.

    This is the rule Lightning's ``ModelCheckpoint`` applies (strict improvement only).
    """
    best, best_value = None, None
    for row in rows:
        value = row.get(monitor)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if best_value is None or (
            value > best_value if monitor == "val_f1" else value < best_value
        ):
            best, best_value = row, value
    return dict(best) if best is not None else None


def _format_summary(row: Mapping[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}:"]
    for key in ("train_loss", "val_loss", "val_f1", "val_iou", "val_precision", "val_recall"):
        if row.get(key) is not None:
            parts.append(f"{key} {row[key]:.4f}")
    if row.get("lr") is not None:
        parts.append(f"lr {row['lr']:.2e}")
    if row.get("seconds") is not None:
        parts.append(f"({row['seconds']:.1f} s)")
    return " ".join(parts)


# ----------------------------------------------------------------------------------------------
# Lightning pieces: atomic checkpoints, the per-epoch recorder
# ----------------------------------------------------------------------------------------------


def _atomic_checkpoint_io() -> Any:
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    class AtomicCheckpointIO(TorchCheckpointIO):
        """Writes checkpoints through a temporary file and a rename (never half-written)."""

        def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options=None):
            import torch

            from landbench.core.io import atomic_write_bytes

            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            atomic_write_bytes(path, buffer.getvalue())

    return AtomicCheckpointIO()


def _epoch_recorder(run_dir: Path, run_info: dict[str, Any], monitor: str) -> Any:
    import lightning as L

    class EpochRecorder(L.Callback):
        """Appends one row per epoch to ``metrics.csv``, prints a summary line, updates run.json.

        Rows are written at the end of validation, before the epoch's checkpoint is saved, so a
        resumed run finds a row for every checkpointed epoch (rows of epochs that are re-run
        are replaced). Checkpoints also carry the random number generators' states, so that a
        resumed run draws the same patches, flips and Mixup pairs as an uninterrupted one.
        """

        def on_save_checkpoint(
            self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
        ) -> None:
            checkpoint["landbench_rng"] = _rng_states()

        def on_load_checkpoint(
            self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
        ) -> None:
            if "landbench_rng" in checkpoint:
                _set_rng_states(checkpoint["landbench_rng"])

        def __init__(self) -> None:
            self.rows: list[dict[str, Any]] = []
            self.started = time.perf_counter()
            self.epoch_start = self.started
            self.lr: float | None = None

        def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            path = run_dir / "metrics.csv"
            if path.is_file():  # resuming: keep the rows of epochs already done
                self.rows = [r for r in read_metrics(path) if r["epoch"] < trainer.current_epoch]

        def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            self.epoch_start = time.perf_counter()
            # Lightning steps epoch schedulers before validation: record the LR this epoch used.
            self.lr = float(trainer.optimizers[0].param_groups[0]["lr"])

        def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
            if trainer.sanity_checking or trainer.state.fn != "fit":
                return
            metrics = trainer.callback_metrics
            mean = getattr(pl_module, "train_loss_mean", None)
            train_loss = None
            if mean is not None and mean.update_called:
                train_loss = float(mean.compute())  # collective under DDP: every rank calls it
            row: dict[str, Any] = {"epoch": trainer.current_epoch, "train_loss": train_loss}
            for key in METRICS_COLUMNS[2:7]:
                row[key] = float(metrics[key]) if key in metrics else None
            row["lr"] = self.lr
            row["seconds"] = round(time.perf_counter() - self.epoch_start, 3)
            self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
            if not trainer.is_global_zero:
                return
            _write_metrics(run_dir / "metrics.csv", self.rows)
            best = best_row(self.rows, monitor)
            run_info.update(
                status="running",
                epochs_completed=row["epoch"] + 1,
                best_epoch=None if best is None else best["epoch"],
                best_metrics=_val_metrics(best),
                wall_time_s=round(
                    run_info.get("_previous_wall_time_s", 0.0) + time.perf_counter() - self.started,
                    3,
                ),
            )
            _write_run_json(run_dir, run_info)
            line = _format_summary(row)
            bar = trainer.progress_bar_callback
            if bar is not None and hasattr(bar, "print"):
                bar.print(line)
            else:
                print(line, flush=True)

    return EpochRecorder()


def _rng_states() -> dict[str, Any]:
    """The states of torch's (CPU and CUDA), numpy's and Python's global generators.

    Stored as tensors, lists and ints only, so checkpoints load with ``weights_only=True``.
    """
    import random

    import numpy as np
    import torch

    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss_next],
    }


def _set_rng_states(states: Mapping[str, Any]) -> None:
    """Inverse of :func:`_rng_states` (CUDA states only when the device count matches)."""
    import random

    import numpy as np
    import torch

    torch.set_rng_state(states["torch"])
    cuda = states.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))


def _val_metrics(row: Mapping[str, Any] | None) -> dict[str, float] | None:
    if row is None:
        return None
    return {k: row[k] for k in METRICS_COLUMNS[2:7] if row.get(k) is not None}


def _write_run_json(run_dir: Path, run_info: Mapping[str, Any]) -> None:
    atomic_write_json(run_dir / "run.json", {k: v for k, v in run_info.items() if k[0] != "_"})


# ----------------------------------------------------------------------------------------------
# Checks before training
# ----------------------------------------------------------------------------------------------


def _check_resume(run_dir: Path, config: TrainConfig) -> Path:
    """Check that ``run_dir`` holds a resumable run of the same recipe; return its last.ckpt."""
    import torch

    saved_path = run_dir / "config.yaml"
    last = run_dir / "checkpoints" / "last.ckpt"
    if not saved_path.is_file():
        raise ConfigError(
            f"Cannot resume: {run_dir} has no config.yaml, so it is not a run folder."
        )
    if config.transfer.strategy == "pretrained":
        raise ConfigError("Cannot resume a 'pretrained' run: it does not train. Run it again.")
    if not last.is_file():
        raise ConfigError(
            f"Cannot resume: {last} does not exist (the run stopped before its first epoch "
            "ended). Start it again in a new folder (--out) or remove the folder."
        )
    saved = yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}
    old, new = _flatten(saved), _flatten(config.to_dict())
    changed = sorted(
        k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES
    )
    if changed:
        detail = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:6])
        raise ConfigError(
            f"Cannot resume {run_dir}: the config differs from the run's config.yaml ({detail}). "
            f"Only {', '.join(RESUMABLE_CHANGES)} may change; start a new run (--out) instead."
        )
    try:
        checkpoint = torch.load(last, map_location="cpu", weights_only=True)
        hparams = checkpoint["hyper_parameters"]
        name, model_config = hparams["model"], hparams["model_kwargs"]
    except Exception as err:  # a truncated or foreign file: say which, not a pickle traceback
        raise ConfigError(
            f"Cannot resume from {last}: not a landbench training checkpoint ({err})."
        ) from None
    from landbench.training.transfer import _canonical

    if name != config.model.name or _canonical(model_config) != _canonical(
        _model_config_of(config)
    ):
        raise ConfigError(
            f"Cannot resume from {last}: it holds model {name!r} with options {model_config}, "
            f"but the config builds {config.model.name!r} with {config.model.kwargs}."
        )
    return last


def _model_config_of(config: TrainConfig) -> dict[str, Any]:
    from landbench.models import create_model

    model = create_model(config.model.name, **config.model.kwargs)
    return dict(getattr(model, "config", {}) or {})


def _datamodule(config: TrainConfig, mean: Any = None, std: Any = None) -> Any:
    from landbench.datamodules import LandslideDataModule

    data = config.data
    kwargs = dict(data.kwargs)
    if data.root is not None:
        kwargs["root"] = str(Path(data.root).expanduser())
    bands = kwargs.get("bands")
    if bands is not None and tuple(bands) != ("R", "G", "B", "DEM"):
        raise ConfigError(
            "data.kwargs.bands: zoo models read the stacked R, G, B, DEM input and select their "
            "own bands; remove data.kwargs.bands."
        )
    return LandslideDataModule(
        dataset=data.dataset,
        batch_size=data.batch_size,
        patch_size=data.patch_size,
        num_workers=data.num_workers,
        eval_batch_size=data.eval_batch_size,
        pad_multiple=data.pad_multiple,
        patches_per_tile=data.patches_per_tile,
        augment=data.augment,
        dem_relative=data.dem_relative,
        mean=mean,
        std=std,
        **kwargs,
    )


def _deterministic(config: TrainConfig) -> bool:
    if config.trainer.deterministic is not None:
        return config.trainer.deterministic
    import torch

    accelerator = config.trainer.accelerator
    if accelerator == "cpu":
        return True
    if accelerator == "auto":
        return not (torch.cuda.is_available() or torch.backends.mps.is_available())
    return False


def _strategy(config: TrainConfig) -> str:
    devices = config.trainer.devices
    single = devices == 1 or (isinstance(devices, list) and len(devices) == 1)
    # Frozen encoders receive no gradients; DDP must then be told to expect unused parameters.
    if config.transfer.freeze_encoders_epochs and not single:
        if config.trainer.strategy in ("auto", "ddp"):
            return "ddp_find_unused_parameters_true"
    return config.trainer.strategy


# ----------------------------------------------------------------------------------------------
# The entry point
# ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _preserved_process_state() -> Iterator[None]:
    """Restore what Lightning changes for the whole process: deterministic mode and SIGINT.

    ``Trainer(deterministic=True)`` switches torch's deterministic algorithms on globally, and a
    Ctrl-C makes Lightning ignore further SIGINTs; neither should outlive a ``train`` call.
    """
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    main_thread = threading.current_thread() is threading.main_thread()
    sigint = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        if main_thread and sigint is not None:
            signal.signal(signal.SIGINT, sigint)


def train(
    config: str | Path | Mapping[str, Any] | TrainConfig,
    out_dir: str | Path | None = None,
    overrides: Iterable[str] = (),
    *,
    resume: bool = False,
    devices: int | str | list[int] | None = None,
    accelerator: str | None = None,
    strategy: str | None = None,
    precision: str | None = None,
    num_nodes: int | None = None,
    callbacks: Sequence[Any] = (),
) -> Path:
    """Train (or, for ``pretrained``, evaluate) one recipe and write its run folder.

    Args:
        config: a YAML path, a mapping or a :class:`TrainConfig`.
        out_dir: the run folder; default ``{output_dir}/{name}`` from the config.
        overrides: ``key=value`` strings applied to the config (``--set``).
        resume: continue the run in ``out_dir`` from ``checkpoints/last.ckpt``.
        devices: Lightning ``devices`` (overrides ``trainer.devices``).
        accelerator: Lightning ``accelerator`` (``cpu``, ``gpu``, ...).
        strategy: Lightning ``strategy`` (``ddp``, ...).
        precision: Lightning ``precision`` (``32-true``, ``16-mixed``, ``bf16-mixed``).
        num_nodes: number of machines for multi-node DDP.
        callbacks: extra Lightning callbacks.

    Returns:
        The run folder.

    Raises:
        ConfigError: for an invalid config, a missing dataset root or weights, an unknown model,
            an existing run folder (without ``resume``) or an incompatible resume, all before
            any training starts.
        KeyboardInterrupt: if interrupted; the run folder keeps its last checkpoint.
    """
    with _preserved_process_state():
        return _train(
            config,
            out_dir,
            overrides,
            resume=resume,
            devices=devices,
            accelerator=accelerator,
            strategy=strategy,
            precision=precision,
            num_nodes=num_nodes,
            callbacks=callbacks,
        )


def _train(
    config: str | Path | Mapping[str, Any] | TrainConfig,
    out_dir: str | Path | None,
    overrides: Iterable[str],
    *,
    resume: bool,
    devices: int | str | list[int] | None,
    accelerator: str | None,
    strategy: str | None,
    precision: str | None,
    num_nodes: int | None,
    callbacks: Sequence[Any],
) -> Path:
    overrides = list(overrides)
    for key, value in (
        ("devices", devices),
        ("accelerator", accelerator),
        ("strategy", strategy),
        ("precision", precision),
        ("num_nodes", num_nodes),
    ):
        if value is not None:
            rendered = yaml.safe_dump(value, default_flow_style=True).strip()
            if rendered.endswith("..."):
                rendered = rendered[:-3].strip()
            overrides.append(f"trainer.{key}={rendered}")
    cfg = load_config(config, overrides)
    label = str(config) if isinstance(config, str | Path) else f"config {cfg.name!r}"
    check_resources(cfg, label)
    run_dir = Path(out_dir) if out_dir is not None else Path(cfg.output_dir) / cfg.name
    run_dir = run_dir.expanduser()
    rank_zero = is_global_rank_zero()

    ckpt_path = None
    if resume:
        if not run_dir.exists():
            raise ConfigError(f"Cannot resume: {run_dir} does not exist. Run without --resume.")
        ckpt_path = _check_resume(run_dir, cfg)
    elif run_dir.exists() and rank_zero:
        raise ConfigError(
            f"Run folder {run_dir} already exists; pass --resume to continue it, or choose "
            "another folder with --out (existing runs are never overwritten)."
        )

    import lightning as L
    import torch

    from landbench.training.transfer import build_model

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model, source_meta = build_model(cfg)
    mean = std = None
    if cfg.transfer.normalization == "source":
        norm = (source_meta or {}).get("normalization") or {}
        if "mean" not in norm or "std" not in norm:
            raise ConfigError(
                f"transfer.normalization is 'source' but {cfg.transfer.weights} stores no "
                "normalization statistics; use 'target'."
            )
        mean, std = norm["mean"], norm["std"]
    dm = _datamodule(cfg, mean, std)
    try:
        train_set = dm.dataset_class(split="train", **dm.kwargs)
        manifest = train_set.manifest
        if len(train_set) == 0 or len(manifest.ids("val")) == 0:
            raise ConfigError(
                f"{cfg.data.dataset} has {len(train_set)} train and {len(manifest.ids('val'))} "
                "validation samples; training needs both."
            )
        stats_mean, stats_std = dm.stats
    except LandbenchError as err:
        raise ConfigError(f"{label}: data: {err}") from None

    run_info: dict[str, Any] = {
        "name": cfg.name,
        "landbench_version": __version__,
        "torch_version": torch.__version__,
        "lightning_version": L.__version__,
        "seed": cfg.seed,
        "dataset": cfg.data.dataset,
        "dataset_kwargs": {
            **cfg.data.kwargs,
            **({"root": str(Path(cfg.data.root).expanduser().resolve())} if cfg.data.root else {}),
        },
        "split_version": manifest.version,
        "manifest_sha256": manifest.sha256,
        "split_counts": manifest.counts(),
        "model": cfg.model.name,
        "model_config": dict(getattr(model, "config", {}) or {}),
        "strategy": cfg.transfer.strategy,
        "mixup": cfg.mixup.mode,
        "monitor": cfg.trainer.monitor,
        "normalization": {
            "bands": list(dm.bands),
            "mean": [float(v) for v in stats_mean],
            "std": [float(v) for v in stats_std],
            "dem_nodata": dm.dem_nodata,
            "dem_relative": dm.dem_relative,
        },
        "status": "running",
        "epochs_completed": 0,
        "best_epoch": None,
        "best_metrics": None,
        "wall_time_s": 0.0,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "finished": None,
    }
    if cfg.transfer.weights is not None:
        weights = Path(cfg.transfer.weights).expanduser().resolve()
        run_info["source_weights"] = {
            "path": str(weights),
            "sha256": sha256_file(weights),
            "dataset": (source_meta or {}).get("dataset"),
            "manifest_sha256": (source_meta or {}).get("manifest_sha256"),
        }
    if resume and (run_dir / "run.json").is_file():
        import json

        previous = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        run_info["started"] = previous.get("started", run_info["started"])
        run_info["_previous_wall_time_s"] = float(previous.get("wall_time_s") or 0.0)
        run_info["resumed"] = int(previous.get("resumed", 0)) + 1

    evaluate_only = cfg.transfer.strategy == "pretrained" or not getattr(model, "trainable", True)
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        if evaluate_only:
            task, trainer, checkpoint = _task(cfg, model), _trainer(cfg, callbacks, 1), None
        else:
            task, trainer, checkpoint = _prepare_fit(cfg, model, run_dir, run_info, callbacks)
    except (MisconfigurationException, ValueError, TypeError, RuntimeError) as err:
        raise ConfigError(f"{label}: trainer: {err}") from None

    if rank_zero:
        if resume:
            atomic_write_text(run_dir / "config.yaml", cfg.to_yaml())
            _write_run_json(run_dir, run_info)
        elif not run_dir.exists():
            with atomic_directory(run_dir) as tmp:
                atomic_write_text(tmp / "config.yaml", cfg.to_yaml())
                _write_run_json(tmp, run_info)

    started = time.perf_counter()
    try:
        if evaluate_only:
            best_model, best = _evaluate_only(task, trainer, dm, run_dir, rank_zero)
        else:
            best_model, best = _run_fit(cfg, task, trainer, checkpoint, dm, run_dir, ckpt_path)
    except (KeyboardInterrupt, SystemExit) as err:
        if rank_zero:
            run_info.update(status="interrupted")
            _finish(run_dir, run_info, started)
        if isinstance(err, SystemExit) and err.code in (0, None):
            raise
        raise KeyboardInterrupt from None
    except BaseException:
        if rank_zero:
            run_info.update(status="failed")
            _finish(run_dir, run_info, started)
        raise

    if rank_zero:
        run_info.update(
            status="completed",
            best_epoch=None if best is None else best["epoch"],
            best_metrics=_val_metrics(best),
        )
        _save_final_weights(cfg, best_model, run_dir, run_info, best)
        _finish(run_dir, run_info, started)
    return run_dir


def _finish(run_dir: Path, run_info: dict[str, Any], started: float) -> None:
    run_info["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    run_info["wall_time_s"] = round(
        run_info.get("_previous_wall_time_s", 0.0) + time.perf_counter() - started, 3
    )
    if run_dir.is_dir():
        _write_run_json(run_dir, run_info)


def _task(cfg: TrainConfig, model: Any) -> Any:
    from landbench.training.task import LandslideSegmentationTask
    from landbench.training.transfer import effective_lr

    return LandslideSegmentationTask(
        model,
        bce_weight=cfg.loss.bce_weight,
        dice_weight=cfg.loss.dice_weight,
        pos_weight=cfg.loss.pos_weight,
        mixup=cfg.mixup.mode,
        mixup_alpha=cfg.mixup.alpha,
        mixup_prob=cfg.mixup.prob,
        mixup_per_sample=cfg.mixup.per_sample,
        lr=effective_lr(cfg),
        weight_decay=cfg.optim.weight_decay,
        scheduler=cfg.optim.scheduler,
        min_lr=cfg.optim.min_lr,
        plateau_factor=cfg.optim.factor,
        plateau_patience=cfg.optim.patience,
        monitor=cfg.trainer.monitor,
        freeze_encoders_epochs=(
            cfg.transfer.freeze_encoders_epochs if cfg.transfer.strategy == "finetune" else 0
        ),
    )


def _trainer(cfg: TrainConfig, callbacks: Sequence[Any], max_epochs: int | None = None) -> Any:
    import lightning as L

    t = cfg.trainer
    return L.Trainer(
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=_strategy(cfg),
        num_nodes=t.num_nodes,
        precision=t.precision,
        max_epochs=max_epochs if max_epochs is not None else t.max_epochs,
        min_epochs=t.min_epochs,
        gradient_clip_val=t.gradient_clip_val,
        accumulate_grad_batches=t.accumulate_grad_batches,
        limit_train_batches=t.limit_train_batches,
        limit_val_batches=t.limit_val_batches,
        log_every_n_steps=t.log_every_n_steps,
        enable_progress_bar=t.progress_bar,
        enable_model_summary=t.progress_bar,
        deterministic=_deterministic(cfg),
        logger=False,
        callbacks=list(callbacks),
        plugins=[_atomic_checkpoint_io()],
        num_sanity_val_steps=0,
        default_root_dir=None,
    )


def _prepare_fit(
    cfg: TrainConfig,
    model: Any,
    run_dir: Path,
    run_info: dict[str, Any],
    extra_callbacks: Sequence[Any],
) -> tuple[Any, Any, Any]:
    """The task, the Trainer and its checkpoint callback (nothing is written yet)."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    monitor = cfg.trainer.monitor
    mode = "max" if monitor == "val_f1" else "min"
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    # Lightning's ``save_last`` refreshes last.ckpt only when a top-k checkpoint is written, so
    # an epoch without improvement would leave a stale last.ckpt (and resume would repeat it).
    # A monitor-less callback saves every epoch's state under one fixed name instead.
    last = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="last",
        monitor=None,
        save_top_k=1,
        enable_version_counter=False,
    )
    callbacks: list[Any] = [_epoch_recorder(run_dir, run_info, monitor), checkpoint, last]
    if cfg.trainer.early_stopping_patience is not None:
        callbacks.append(
            EarlyStopping(monitor=monitor, mode=mode, patience=cfg.trainer.early_stopping_patience)
        )
    callbacks.extend(extra_callbacks)
    return _task(cfg, model), _trainer(cfg, callbacks), checkpoint


def _run_fit(
    cfg: TrainConfig,
    task: Any,
    trainer: Any,
    checkpoint: Any,
    dm: Any,
    run_dir: Path,
    ckpt_path: Path | None,
) -> tuple[Any, dict[str, Any] | None]:
    """Fit, then load the validation-selected checkpoint's weights into the model."""
    import torch

    trainer.fit(task, datamodule=dm, ckpt_path=ckpt_path, weights_only=True)
    rows = read_metrics(run_dir / "metrics.csv") if (run_dir / "metrics.csv").is_file() else []
    best = best_row(rows, cfg.trainer.monitor)
    best_path = checkpoint.best_model_path
    if best_path and Path(best_path).is_file():
        state = torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"]
        weights = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
        task.model.load_state_dict(weights)
    return task.model, best


def _evaluate_only(
    task: Any, trainer: Any, dm: Any, run_dir: Path, rank_zero: bool
) -> tuple[Any, dict[str, Any]]:
    """``pretrained`` weights or a fitted reference model: one validation pass, one row."""
    start = time.perf_counter()
    if not getattr(task.model, "trainable", True):
        dm.setup("fit")
        task.model.fit(_normalised_batches(dm))
    results = trainer.validate(task, datamodule=dm, verbose=False)
    metrics = results[0] if results else {}
    row: dict[str, Any] = {"epoch": 0, "train_loss": None, "lr": None}
    for key in METRICS_COLUMNS[2:7]:
        row[key] = float(metrics[key]) if key in metrics else None
    row["seconds"] = round(time.perf_counter() - start, 3)
    if rank_zero:
        _write_metrics(run_dir / "metrics.csv", [row])
        print(_format_summary(row), flush=True)
    return task.model, row


def _normalised_batches(dm: Any) -> Iterable[dict[str, Any]]:
    """Training batches, normalised like the trainer's (no augmentation), for ``model.fit``."""
    for batch in dm.train_dataloader():
        yield dm.aug(batch)


def _save_final_weights(
    cfg: TrainConfig,
    model: Any,
    run_dir: Path,
    run_info: Mapping[str, Any],
    best: Mapping[str, Any] | None,
) -> None:
    from landbench.models import save_weights

    # save_weights itself records model, model_config and landbench_version.
    metadata = {
        "dataset": cfg.data.dataset,
        # Options that define the data, not where it lies on this machine (weights travel).
        "dataset_kwargs": {k: v for k, v in run_info["dataset_kwargs"].items() if k != "root"},
        "split_version": run_info["split_version"],
        "manifest_sha256": run_info["manifest_sha256"],
        "training_config": cfg.to_dict(),
        "metrics": _val_metrics(best) or {},
        "best_epoch": None if best is None else best["epoch"],
        "normalization": run_info["normalization"],
        "seed": cfg.seed,
        "strategy": cfg.transfer.strategy,
    }
    if "source_weights" in run_info:
        metadata["source_weights"] = run_info["source_weights"]
    model = model.cpu().eval()
    save_weights(model, run_dir / "model.safetensors", metadata)
