"""What a run records: ``metrics.csv`` (a row per epoch), ``run.json``, and the epoch recorder.

``RUN/metrics.csv`` columns are :data:`METRICS_COLUMNS`; ``RUN/run.json`` holds the run's
identity (provenance, resolved config, seed, data, normalisation) and its state (status, best
epoch, best validation metrics, wall time), rewritten atomically after every epoch.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L

from landbench.core.io import atomic_write_json, atomic_write_text

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

VAL_COLUMNS: tuple[str, ...] = METRICS_COLUMNS[2:7]
"""The validation metrics of a row (``val_loss`` ... ``val_recall``)."""


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


def write_metrics(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``rows`` as ``RUN/metrics.csv`` (atomically; floats at full precision)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRICS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else repr(row[k]) for k in METRICS_COLUMNS})
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


def val_metrics(row: Mapping[str, Any] | None) -> dict[str, float] | None:
    """The validation metrics of a row, or None."""
    if row is None:
        return None
    return {k: row[k] for k in VAL_COLUMNS if row.get(k) is not None}


def format_row(row: Mapping[str, Any]) -> str:
    """One line for an epoch: ``epoch 3: train_loss 0.4120 val_f1 0.6012 ... (2.1 s)``."""
    parts = [f"epoch {row['epoch']}:"]
    for key in ("train_loss", "val_loss", "val_f1", "val_iou", "val_precision", "val_recall"):
        if row.get(key) is not None:
            parts.append(f"{key} {row[key]:.4f}")
    if row.get("lr") is not None:
        parts.append(f"lr {row['lr']:.2e}")
    if row.get("seconds") is not None:
        parts.append(f"({row['seconds']:.1f} s)")
    return " ".join(parts)


def write_run_json(run_dir: Path, run_info: Mapping[str, Any]) -> None:
    """Write ``RUN/run.json`` (keys starting with ``_`` are private to the process)."""
    atomic_write_json(run_dir / "run.json", {k: v for k, v in run_info.items() if k[0] != "_"})


def validation_row(pl_module: L.LightningModule, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The validation columns of a row: the task's float64 scores, else the logged values."""
    scores = getattr(pl_module, "scores", None) or {}
    row: dict[str, Any] = {}
    for key in VAL_COLUMNS:
        if key in scores:
            row[key] = float(scores[key])
        else:
            row[key] = float(metrics[key]) if key in metrics else None
    return row


class EpochRecorder(L.Callback):
    """Appends one row per epoch to ``metrics.csv``, updates ``run.json``, reports the epoch.

    Rows are written at the end of validation, before the epoch's checkpoint is saved, so a
    resumed run finds a row for every checkpointed epoch (rows of epochs that are re-run are
    replaced). Validation scores are the task's own float64 values, so ``metrics.csv`` holds
    exactly what ``landbench evaluate`` computes for the same weights.

    Args:
        run_dir: the run folder.
        run_info: the ``run.json`` content, updated in place.
        monitor: ``val_f1`` or ``val_loss`` (model selection).
        report: called with each epoch's row (e.g. to print it), on global rank 0 only.
    """

    def __init__(
        self,
        run_dir: Path,
        run_info: dict[str, Any],
        monitor: str,
        report: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.run_info = run_info
        self.monitor = monitor
        self.report = report
        self.rows: list[dict[str, Any]] = []
        self.started = time.perf_counter()
        self.epoch_start = self.started
        self.lr: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """On resume, keep the rows of the epochs already done."""
        path = self.run_dir / "metrics.csv"
        if path.is_file():  # resuming: keep the rows of epochs already done
            self.rows = [r for r in read_metrics(path) if r["epoch"] < trainer.current_epoch]

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start the epoch's clock and note its learning rate."""
        self.epoch_start = time.perf_counter()
        # Lightning steps epoch schedulers before validation: record the LR this epoch used.
        self.lr = float(trainer.optimizers[0].param_groups[0]["lr"])

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Record the epoch's row, update run.json and report the row."""
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        mean = getattr(pl_module, "train_loss_mean", None)
        train_loss = None
        if mean is not None and mean.update_called:
            train_loss = float(mean.compute())  # collective under DDP: every rank calls it
        row: dict[str, Any] = {"epoch": trainer.current_epoch, "train_loss": train_loss}
        row.update(validation_row(pl_module, trainer.callback_metrics))
        row["lr"] = self.lr
        row["seconds"] = round(time.perf_counter() - self.epoch_start, 3)
        self.rows = [r for r in self.rows if r["epoch"] < row["epoch"]] + [row]
        if not trainer.is_global_zero:
            return
        write_metrics(self.run_dir / "metrics.csv", self.rows)
        best = best_row(self.rows, self.monitor)
        self.run_info.update(
            status="running",
            epochs_completed=row["epoch"] + 1,
            optimizer_steps=int(trainer.global_step),
            best_epoch=None if best is None else best["epoch"],
            best_metrics=val_metrics(best),
            wall_time_s=round(
                self.run_info.get("_previous_wall_time_s", 0.0)
                + time.perf_counter()
                - self.started,
                3,
            ),
        )
        write_run_json(self.run_dir, self.run_info)
        if self.report is not None:
            self.report(row)
