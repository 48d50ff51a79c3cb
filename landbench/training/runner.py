"""``train(config)``: one training run, from a recipe to a complete run folder.

Run folder layout (the evaluator, ``landbench reproduce`` and the demo read it)::

    RUN/config.yaml            the resolved recipe (after overrides)
    RUN/run.json               provenance (commit, dirty flag, versions, device), the resolved
                               config, seed, dataset options, split version and manifest sha256,
                               normalisation statistics, model, strategy, Mixup, status
                               (running | completed | interrupted | failed), best epoch, best
                               validation metrics, optimiser steps, wall time
    RUN/metrics.csv            one row per epoch: epoch, train_loss, val_loss, val_f1, val_iou,
                               val_precision, val_recall, lr, seconds
    RUN/checkpoints/last.ckpt  Lightning checkpoint of the latest epoch (resume from it)
    RUN/checkpoints/best.ckpt  Lightning checkpoint of the validation-selected epoch
    RUN/model.safetensors      the validation-selected weights, with metadata (model, dataset,
                               split, normalisation, training config, validation metrics, seed)

Every file is replaced atomically, so an interrupted run leaves complete files behind (its last
checkpoint in particular) and can be resumed with ``resume=True``. Model selection and early
stopping look at the validation split only, scored as ``landbench evaluate`` scores; the test
split is never loaded here. ``pretrained`` runs and fitted reference models (``all-background``,
``slope-threshold``) write the same layout with a single metrics row (epoch 0, no training loss)
and no checkpoints.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException

from landbench.core.errors import ConfigError, LandbenchError
from landbench.core.io import atomic_directory, atomic_write_text, sha256_file
from landbench.core.provenance import provenance
from landbench.training.checkpoints import check_resume
from landbench.training.config import TrainConfig, check_resources, load_config
from landbench.training.fit import (
    build_datamodule,
    build_task,
    build_trainer,
    evaluate_only,
    fit,
    fit_callbacks,
)
from landbench.training.progress import RunProgress, quiet_libraries
from landbench.training.recording import val_metrics, write_run_json
from landbench.training.transfer import build_model, source_metadata

__all__ = ["is_global_rank_zero", "train"]


def is_global_rank_zero() -> bool:
    """Whether this process is global rank 0, judged from the launcher's environment.

    Needed before the Trainer exists: Lightning's DDP launcher re-runs the command in one process
    per device, and only the first may create or check the run folder.
    """
    for var in ("RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        if var in os.environ:
            return int(os.environ[var]) == 0
    return int(os.environ.get("NODE_RANK", 0)) == 0 and int(os.environ.get("LOCAL_RANK", 0)) == 0


@contextlib.contextmanager
def _preserved_process_state() -> Iterator[None]:
    """Restore what Lightning changes for the whole process: deterministic mode and SIGINT.

    ``Trainer(deterministic=True)`` switches torch's deterministic algorithms on globally, and a
    Ctrl-C makes Lightning ignore further SIGINTs; neither should outlive a ``train`` call.
    """
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
    overrides: Iterable[str] | Mapping[str, Any] = (),
    *,
    dataset_kwargs: Mapping[str, Any] | None = None,
    resume: bool = False,
    devices: int | str | list[int] | None = None,
    accelerator: str | None = None,
    strategy: str | None = None,
    precision: str | None = None,
    num_nodes: int | None = None,
    callbacks: Sequence[Any] = (),
    verbose: bool = False,
) -> Path:
    """Train (or, for ``pretrained``, evaluate) one recipe and write its run folder.

    Args:
        config: a YAML path, a mapping or a :class:`TrainConfig`.
        out_dir: the run folder; default ``{output_dir}/{name}`` from the config.
        overrides: recipe keys to override (see :func:`~landbench.training.config.load_config`):
            ``"trainer.max_epochs=5"`` strings or a ``{"trainer.max_epochs": 5}`` mapping.
        dataset_kwargs: dataset options set into ``data.dataset_kwargs`` (``--set``).
        resume: continue the run in ``out_dir`` from ``checkpoints/last.ckpt``.
        devices: Lightning ``devices`` (overrides ``trainer.devices``).
        accelerator: Lightning ``accelerator`` (``cpu``, ``gpu``, ...).
        strategy: Lightning ``strategy`` (``ddp``, ...).
        precision: Lightning ``precision`` (``32-true``, ``16-mixed``, ``bf16-mixed``).
        num_nodes: number of machines for multi-node DDP.
        callbacks: extra Lightning callbacks.
        verbose: keep Lightning's own messages (model summary, banners) and print every epoch.

    Returns:
        The run folder.

    Raises:
        ConfigError: for an invalid config, a missing dataset root or weights, an unknown model,
            an existing run folder (without ``resume``) or an incompatible resume, all before
            any training starts.
        KeyboardInterrupt: if interrupted; the run folder keeps its last checkpoint.
    """
    trainer_options = {
        "trainer.devices": devices,
        "trainer.accelerator": accelerator,
        "trainer.strategy": strategy,
        "trainer.precision": precision,
        "trainer.num_nodes": num_nodes,
    }
    cfg, label = _resolve(config, overrides, dataset_kwargs, trainer_options)
    run_dir = (
        Path(out_dir) if out_dir is not None else Path(cfg.output_dir) / cfg.name
    ).expanduser()
    rank_zero = is_global_rank_zero()
    if resume and not run_dir.exists():
        raise ConfigError(f"Cannot resume: {run_dir} does not exist. Run without --resume.")
    if not resume and run_dir.exists() and rank_zero:
        raise ConfigError(
            f"Run folder {run_dir} already exists; pass --resume to continue it, or choose "
            "another folder with --out (existing runs are never overwritten)."
        )
    with _preserved_process_state(), quiet_libraries(verbose):
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        # The data decide the input bands; the model is then built for them.
        datamodule, manifest = _datamodule(cfg, source_metadata(cfg), label)
        model, source_meta = build_model(cfg, datamodule.bands)
        ckpt_path = check_resume(run_dir, cfg, model.config) if resume else None
        run_info = _describe_run(cfg, datamodule, manifest, model, source_meta, run_dir, resume)
        progress = RunProgress(cfg.name, cfg.trainer.progress_bar, verbose)
        fits = getattr(model, "trainable", True) and cfg.transfer.strategy != "pretrained"
        try:
            if fits:
                best_ckpt, run_callbacks = fit_callbacks(cfg, run_dir, run_info, progress.report)
                trainer = build_trainer(
                    cfg, [progress, *run_callbacks, *callbacks], enable_model_summary=verbose
                )
            else:
                trainer = build_trainer(cfg, [progress, *callbacks], max_epochs=1)
            task = build_task(cfg, model)
        except (MisconfigurationException, ValueError, TypeError, RuntimeError) as err:
            raise ConfigError(f"{label}: trainer: {err}") from None
        run_info["provenance"] = provenance(trainer.strategy.root_device)
        if rank_zero:
            _write_folder(run_dir, cfg, run_info, resume)
        started = time.perf_counter()
        try:
            if fits:
                model, best = fit(cfg, task, trainer, best_ckpt, datamodule, run_dir, ckpt_path)
            else:
                model, best = evaluate_only(
                    task, trainer, datamodule, run_dir, rank_zero, progress.report
                )
        except (KeyboardInterrupt, SystemExit) as err:
            if rank_zero:
                _finish(run_dir, run_info, started, status="interrupted")
            if isinstance(err, SystemExit) and err.code in (0, None):
                raise
            raise KeyboardInterrupt from None
        except BaseException:
            if rank_zero:
                _finish(run_dir, run_info, started, status="failed")
            raise
        if rank_zero:
            run_info.update(
                best_epoch=None if best is None else best["epoch"],
                best_metrics=val_metrics(best),
                optimizer_steps=int(trainer.global_step),
            )
            _save_weights(cfg, model, run_dir, run_info, best)
            _finish(run_dir, run_info, started, status="completed")
            print(_result_line(run_dir, run_info), flush=True)
    return run_dir


def _resolve(
    config: str | Path | Mapping[str, Any] | TrainConfig,
    overrides: Iterable[str] | Mapping[str, Any],
    dataset_kwargs: Mapping[str, Any] | None,
    trainer_options: Mapping[str, Any],
) -> tuple[TrainConfig, str]:
    """The validated recipe, with every override applied, and how to name it in errors."""
    cfg = load_config(config, overrides)
    typed = {k: v for k, v in trainer_options.items() if v is not None}
    if dataset_kwargs:  # keys taken as they are (a dataset option may hold a dot)
        typed["data.dataset_kwargs"] = {**cfg.data.dataset_kwargs, **dataset_kwargs}
    if typed:
        cfg = load_config(cfg, typed)
    label = str(config) if isinstance(config, str | Path) else f"config {cfg.name!r}"
    check_resources(cfg, label)
    return cfg, label


def _datamodule(
    cfg: TrainConfig, source_meta: Mapping[str, Any] | None, label: str
) -> tuple[Any, Any]:
    """The data module and the split manifest; data errors surface here, before any writing.

    The data module normalises with the source's statistics where the recipe asks.
    """
    mean = std = None
    if cfg.transfer.normalization == "source":
        norm = (source_meta or {}).get("normalization") or {}
        if "mean" not in norm or "std" not in norm:
            raise ConfigError(
                f"{label}: transfer.normalization is 'source' but {cfg.transfer.weights} stores "
                "no normalization statistics; use 'target'."
            )
        mean, std = norm["mean"], norm["std"]
    datamodule = build_datamodule(cfg, mean, std)
    try:
        train_set = datamodule.dataset_class(split="train", **datamodule.kwargs)
        manifest = train_set.manifest
        if len(train_set) == 0 or len(manifest.ids("val")) == 0:
            raise ConfigError(
                f"{cfg.data.dataset} has {len(train_set)} train and {len(manifest.ids('val'))} "
                "validation samples; training needs both."
            )
        datamodule.stats  # noqa: B018 - computed now, so data errors come before the folder
    except LandbenchError as err:
        raise ConfigError(f"{label}: data: {err}") from None
    return datamodule, manifest


def _describe_run(
    cfg: TrainConfig,
    datamodule: Any,
    manifest: Any,
    model: torch.nn.Module,
    source_meta: Mapping[str, Any] | None,
    run_dir: Path,
    resume: bool,
) -> dict[str, Any]:
    """The content of ``run.json`` before training: what is trained, on what, by which code."""
    mean, std = datamodule.stats
    root = cfg.data.root
    run_info: dict[str, Any] = {
        "name": cfg.name,
        "provenance": None,  # set once the Trainer has chosen the device
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "dataset": cfg.data.dataset,
        "dataset_kwargs": {
            **cfg.data.dataset_kwargs,
            **({"root": str(Path(root).expanduser().resolve())} if root else {}),
        },
        "split_version": manifest.version,
        "manifest_sha256": manifest.sha256,
        "split_counts": manifest.counts(),
        "model": cfg.model.name,
        "model_config": dict(getattr(model, "config", {}) or {}),
        "strategy": cfg.transfer.strategy,
        "mixup": {"mode": cfg.mixup.mode, "p": cfg.mixup.p},
        "monitor": cfg.trainer.monitor,
        "normalization": {
            "bands": list(datamodule.bands),
            "mean": [float(v) for v in mean],
            "std": [float(v) for v in std],
            "dem_nodata": datamodule.dem_nodata,
            "dem_relative": datamodule.dem_relative,
        },
        "status": "running",
        "epochs_completed": 0,
        "optimizer_steps": 0,
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
        previous = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        run_info["started"] = previous.get("started", run_info["started"])
        run_info["_previous_wall_time_s"] = float(previous.get("wall_time_s") or 0.0)
        run_info["resumed"] = int(previous.get("resumed", 0)) + 1
    return run_info


def _write_folder(run_dir: Path, cfg: TrainConfig, run_info: Mapping[str, Any], resume: bool):
    """Write config.yaml and run.json: into the existing folder on resume, else a new folder."""
    if resume:
        atomic_write_text(run_dir / "config.yaml", cfg.to_yaml())
        write_run_json(run_dir, run_info)
    elif not run_dir.exists():
        with atomic_directory(run_dir) as tmp:
            atomic_write_text(tmp / "config.yaml", cfg.to_yaml())
            write_run_json(tmp, run_info)


def _finish(run_dir: Path, run_info: dict[str, Any], started: float, status: str) -> None:
    run_info["status"] = status
    run_info["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    run_info["wall_time_s"] = round(
        run_info.get("_previous_wall_time_s", 0.0) + time.perf_counter() - started, 3
    )
    if run_dir.is_dir():
        write_run_json(run_dir, run_info)


def _result_line(run_dir: Path, run_info: Mapping[str, Any]) -> str:
    """``NAME: best val_f1 0.6123 at epoch 4 of 10 (35.2 s) -> RUN``."""
    best = run_info.get("best_metrics") or {}
    parts = [f"{run_info['name']}:"]
    if best.get("val_f1") is not None:
        parts.append(f"best val_f1 {best['val_f1']:.4f} at epoch {run_info['best_epoch']}")
    if run_info.get("epochs_completed"):
        parts.append(f"of {run_info['epochs_completed']}")
    parts.append(f"({run_info['wall_time_s']:.1f} s) -> run folder: {run_dir}")
    return " ".join(parts)


def _save_weights(
    cfg: TrainConfig,
    model: torch.nn.Module,
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
        "metrics": val_metrics(best) or {},
        "best_epoch": None if best is None else best["epoch"],
        "normalization": run_info["normalization"],
        "seed": cfg.seed,
        "strategy": cfg.transfer.strategy,
        "provenance": run_info["provenance"],
    }
    if "source_weights" in run_info:
        metadata["source_weights"] = run_info["source_weights"]
    save_weights(model.cpu().eval(), run_dir / "model.safetensors", metadata)
