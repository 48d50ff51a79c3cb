"""The Lightning side of a run: data module, task, Trainer and callbacks built from a recipe.

Also fitting (ending with the validation-selected weights) and the one-pass path of runs that
do not train.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from landbench.datamodules import LandslideDataModule
from landbench.training.checkpoints import AtomicCheckpointIO, RngStateCallback
from landbench.training.config import TrainConfig
from landbench.training.recording import (
    EpochRecorder,
    best_row,
    read_metrics,
    validation_row,
    write_metrics,
)
from landbench.training.task import LandslideSegmentationTask
from landbench.training.transfer import effective_lr


def build_datamodule(
    config: TrainConfig, mean: Sequence[float] | None = None, std: Sequence[float] | None = None
) -> LandslideDataModule:
    """The recipe's data module (train statistics unless ``mean``/``std`` are given)."""
    data = config.data
    kwargs = dict(data.dataset_kwargs)
    if data.root is not None:
        kwargs["root"] = str(Path(data.root).expanduser())
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


def build_task(config: TrainConfig, model: torch.nn.Module) -> LandslideSegmentationTask:
    """The Lightning task: loss, Mixup, optimiser and schedule of the recipe."""
    return LandslideSegmentationTask(
        model,
        bce_weight=config.loss.bce_weight,
        dice_weight=config.loss.dice_weight,
        pos_weight=config.loss.pos_weight,
        mixup=config.mixup.mode,
        mixup_alpha=config.mixup.alpha,
        mixup_p=config.mixup.p,
        mixup_per_sample=config.mixup.per_sample,
        lr=effective_lr(config),
        weight_decay=config.optim.weight_decay,
        scheduler=config.optim.scheduler,
        min_lr=config.optim.min_lr,
        plateau_factor=config.optim.factor,
        plateau_patience=config.optim.patience,
        monitor=config.trainer.monitor,
        freeze_encoders_epochs=(
            config.transfer.freeze_encoders_epochs if config.transfer.strategy == "finetune" else 0
        ),
    )


def _deterministic(config: TrainConfig) -> bool:
    if config.trainer.deterministic is not None:
        return config.trainer.deterministic
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


def build_trainer(
    config: TrainConfig, callbacks: Iterable[Any], max_epochs: int | None = None, **options: Any
) -> L.Trainer:
    """A Lightning ``Trainer`` for the recipe: no logger, no model summary, atomic checkpoints.

    Args:
        config: the recipe.
        callbacks: every callback, including one progress bar.
        max_epochs: instead of ``trainer.max_epochs`` (1 for runs that do not train).
        **options: further ``Trainer`` arguments (``enable_model_summary`` for verbose runs).
    """
    t = config.trainer
    return L.Trainer(
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=_strategy(config),
        num_nodes=t.num_nodes,
        precision=t.precision,
        max_epochs=max_epochs if max_epochs is not None else t.max_epochs,
        max_steps=t.max_steps if t.max_steps is not None and max_epochs is None else -1,
        min_epochs=t.min_epochs,
        gradient_clip_val=t.gradient_clip_val,
        accumulate_grad_batches=t.accumulate_grad_batches,
        limit_train_batches=t.limit_train_batches,
        limit_val_batches=t.limit_val_batches,
        log_every_n_steps=t.log_every_n_steps,
        enable_progress_bar=True,  # the run's own RunProgress (a bar or lines)
        enable_model_summary=options.pop("enable_model_summary", False),
        deterministic=_deterministic(config),
        logger=False,
        callbacks=list(callbacks),
        plugins=[AtomicCheckpointIO()],
        num_sanity_val_steps=0,
        default_root_dir=None,
        **options,
    )


def fit_callbacks(
    config: TrainConfig,
    run_dir: Path,
    run_info: dict[str, Any],
    report: Callable[[dict[str, Any]], None] | None,
) -> tuple[ModelCheckpoint, list[Any]]:
    """The checkpoint callback of the validation-selected epoch, and every fit callback."""
    monitor = config.trainer.monitor
    mode = "max" if monitor == "val_f1" else "min"
    best = ModelCheckpoint(
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
    callbacks: list[Any] = [
        EpochRecorder(run_dir, run_info, monitor, report),
        RngStateCallback(),
        best,
        last,
    ]
    if config.trainer.early_stopping_patience is not None:
        patience = config.trainer.early_stopping_patience
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=patience))
    return best, callbacks


def fit(
    config: TrainConfig,
    task: LandslideSegmentationTask,
    trainer: L.Trainer,
    best_checkpoint: ModelCheckpoint,
    datamodule: LandslideDataModule,
    run_dir: Path,
    ckpt_path: Path | None,
) -> tuple[torch.nn.Module, dict[str, Any] | None]:
    """Fit, then load the validation-selected checkpoint's weights into the model.

    Returns:
        ``(model, best_row)``: the model with the selected weights and its ``metrics.csv`` row.
    """
    trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    metrics = run_dir / "metrics.csv"
    best = best_row(read_metrics(metrics) if metrics.is_file() else [], config.trainer.monitor)
    best_path = best_checkpoint.best_model_path
    if best_path and Path(best_path).is_file():
        state = torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"]
        weights = {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
        task.model.load_state_dict(weights)
    return task.model, best


def evaluate_only(
    task: LandslideSegmentationTask,
    trainer: L.Trainer,
    datamodule: LandslideDataModule,
    run_dir: Path,
    rank_zero: bool,
    report: Callable[[dict[str, Any]], None] | None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """``pretrained`` weights or a fitted reference model: one validation pass, one row."""
    start = time.perf_counter()
    if not getattr(task.model, "trainable", True):
        datamodule.setup("fit")
        task.model.fit(_normalised_batches(datamodule))
    results = trainer.validate(task, datamodule=datamodule, verbose=False)
    row: dict[str, Any] = {"epoch": 0, "train_loss": None}
    row.update(validation_row(task, results[0] if results else {}))
    row["lr"] = None
    row["seconds"] = round(time.perf_counter() - start, 3)
    if rank_zero:
        write_metrics(run_dir / "metrics.csv", [row])
        if report is not None:
            report(row)
    return task.model, row


def _normalised_batches(datamodule: LandslideDataModule) -> Iterable[dict[str, Any]]:
    """Training batches, normalised like the trainer's (no augmentation), for ``model.fit``."""
    for batch in datamodule.train_dataloader():
        yield datamodule.aug(batch)
