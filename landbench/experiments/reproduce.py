"""Rerun the protocol behind the paper's Tables 1 and 2 and compare with its published F1.

For every cell of the table and every seed: train the cell's recipe from ``baselines/configs/``
(model selection on the validation split only), evaluate the selected weights once on the test
split with :func:`~landbench.evaluation.evaluate_model`, and aggregate mean ± std over seeds.
Table 2's transfer cells use the weights of the Table 1 recipe ``bijie-fusionnet-resunet-mixup``
trained with the same seed: "without fine tuning" applies them to Hokkaido unchanged (the
``pretrained`` strategy; normalised with Hokkaido's train statistics as its config says), "with
fine tuning" trains from them.

Output folder (``reproduce/<dataset>`` by default; runs are shared by both tables)::

    OUT/runs/<config>/seed-<k>/     training run folders (config.yaml, run.json, metrics.csv,
                                    model.safetensors)
    OUT/results/<config>/seed-<k>.json  test-split evaluation of that run
    OUT/<table>.md|.csv|.tex        the table: reported (paper) beside recomputed values
    OUT/<table>-runs.csv            one row per run: every metric, interval, validation F1
    OUT/<table>-f1.png              bar chart of recomputed F1 with the reported values
    OUT/table1-figure2.png          the paper's figure 2 layout (RGB, truth, prediction,
                                    attention over RGB, a feature) for the Residual Unet + Mixup
    OUT/table2-figure3.png          the paper's figure 3 layout (RGB, truth, the three strategies)

A completed run folder whose config matches is reused, an interrupted one is resumed, and one
trained with another config is an error (runs are never overwritten).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landbench.core.errors import ConfigError
from landbench.core.io import atomic_write_text
from landbench.core.resources import resource_path
from landbench.evaluation.metrics import ALL_METRICS, mean_std
from landbench.evaluation.reported import (
    HOKKAIDO_SPLIT_NOTE,
    NOTES,
    SYNTH_NOTE,
    TABLES,
    TITLES,
    ReportedCell,
)
from landbench.experiments.scheduler import RunSpec, run_or_reuse, run_test_split

logger = logging.getLogger(__name__)

DATASET_CHOICES: tuple[str, ...] = ("synth", "bijie", "real")
"""``synth``: the LandslideSynth presets; ``bijie`` / ``real``: the real Bijie and Hokkaido."""

QUICK_OVERRIDES: tuple[str, ...] = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=2",
    "model.kwargs.size=tiny",
)
"""Overrides of ``quick=True`` (a smoke run of the whole protocol in minutes on a CPU)."""

QUICK_SYNTH_OVERRIDES: tuple[str, ...] = (
    "data.dataset_kwargs.size=32",
    "data.dataset_kwargs.n=60",
    # The Bijie-preset recipes give train and val 11% and 5% of 2,500 tiles; of 60, that
    # would leave validation about 3 tiles (or none): split the few tiles evenly instead.
    "data.dataset_kwargs.split_fractions=[0.5,0.25,0.25]",
    "data.patch_size=32",
    "data.batch_size=4",
    "data.eval_batch_size=4",
)
"""Extra ``quick`` overrides on synthetic data: small tiles and few of them."""

ROW_LABELS = {"table1": ("Backbone", "Mixup"), "table2": ("Strategy", None)}


def config_name(cell_config: str, dataset: str) -> str:
    """The config stem of a cell for ``dataset`` (``synth-`` prefix on synthetic data)."""
    return f"synth-{cell_config}" if dataset == "synth" else cell_config


def _check_args(table: str, dataset: str, seeds: int) -> None:
    if table not in TABLES:
        raise ConfigError(f"Unknown table {table!r}; choose one of {', '.join(TABLES)}.")
    if dataset not in DATASET_CHOICES:
        raise ConfigError(
            f"Unknown dataset {dataset!r} for reproduce; choose one of "
            f"{', '.join(DATASET_CHOICES)}."
        )
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds must be a positive integer, got {seeds!r}.")


def _best_val_f1(run_dir: Path) -> float:
    try:
        info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return float("nan")
    best = info.get("best_metrics") or {}
    value = best.get("val_f1", best.get("f1"))
    return float(value) if isinstance(value, int | float) else float("nan")


def _cells(table: str) -> tuple[ReportedCell, ...]:
    return TABLES[table]


def base_overrides(
    dataset: str,
    quick: bool = False,
    root: str | os.PathLike[str] | None = None,
    progress: bool = True,
    overrides: Iterable[str] = (),
) -> list[str]:
    """The overrides every run of a driver gets, in order (``reproduce``, ``transfer``).

    Args:
        dataset: ``"synth"`` adds :data:`QUICK_SYNTH_OVERRIDES` in quick mode; anything else is
            real data.
        quick: start with :data:`QUICK_OVERRIDES`.
        root: folder of the real datasets (``data.root``).
        progress: show progress bars (else ``trainer.progress_bar=false``).
        overrides: the caller's own, last.
    """
    base: list[str] = []
    if quick:
        base += list(QUICK_OVERRIDES) + (list(QUICK_SYNTH_OVERRIDES) if dataset == "synth" else [])
    if root is not None:
        base.append(f"data.root={Path(root).expanduser().resolve()}")
    if not progress:
        base.append("trainer.progress_bar=false")
    return [*base, *overrides]


def table_plan(
    table: str,
    dataset: str,
    seeds: int,
    out: Path,
    overrides: Sequence[str],
    config_dir: Path,
    device: str = "cpu",
) -> list[RunSpec]:
    """The runs behind one table, every seed: sources first, then the cells that read them.

    Every recipe, the Table 2 source included, is loaded and checked before any training. A
    source that is also a cell of another table (Table 2 fine-tunes Table 1's residual U-Net
    with Mixup) gets the same run folder, so the two tables share one run.

    Raises:
        ConfigError: for a missing or invalid recipe.
    """
    from landbench.training.config import check_resources, load_config

    paths: dict[str, Path] = {}
    for cell in _cells(table):
        for stem in filter(None, (cell.source_config, cell.config)):
            name = config_name(stem, dataset)
            path = config_dir / f"{name}.yaml"
            if not path.is_file():
                raise ConfigError(f"Missing recipe {path} for {table} cell {cell.key!r}.")
            cfg = load_config(path, overrides)
            checkable = dataclasses.replace(
                cfg, transfer=dataclasses.replace(cfg.transfer, weights=None)
            )
            check_resources(checkable, str(path))
            paths[stem] = path

    def folder(stem: str, seed: int) -> Path:
        return out / "runs" / config_name(stem, dataset) / f"seed-{seed}"

    specs: dict[Path, RunSpec] = {}
    for seed in range(seeds):
        for cell in _cells(table):
            after: tuple[Path, ...] = ()
            extra: list[str] = []
            if cell.source_config is not None:
                source = folder(cell.source_config, seed)
                specs.setdefault(
                    source,
                    RunSpec(paths[cell.source_config], source, (*overrides, f"seed={seed}")),
                )
                after = (source,)
                extra.append(f"transfer.weights={(source / 'model.safetensors').resolve()}")
            run_dir = folder(cell.config, seed)
            name = config_name(cell.config, dataset)
            specs[run_dir] = RunSpec(
                paths[cell.config],
                run_dir,
                (*overrides, f"seed={seed}", *extra),
                after=after,
                result=out / "results" / name / f"seed-{seed}.json",
                device=device,
            )
    return list(specs.values())


def reproduce_table(
    table: str,
    dataset: str = "synth",
    seeds: int = 1,
    out_dir: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    *,
    quick: bool = False,
    device: str = "cpu",
    progress: bool = True,
    config_dir: str | os.PathLike[str] | None = None,
    figures: bool = True,
    train_fn: Callable[..., Path] | None = None,
    jobs: int | None = 1,
) -> pd.DataFrame:
    """Train, select on validation, evaluate on test and tabulate one of the paper's tables.

    Args:
        table: ``"table1"`` (Bijie, three backbones x Mixup) or ``"table2"`` (Hokkaido,
            three learning strategies).
        dataset: ``"synth"`` (LandslideSynth presets, minutes on a CPU) or ``"bijie"`` /
            ``"real"`` (the real Bijie and Hokkaido data under ``root``).
        seeds: number of seeds per cell (0, 1, ..., seeds - 1).
        out_dir: output folder (default ``reproduce/<dataset>``).
        root: folder of the real datasets (overrides ``data.root`` of every config).
        overrides: ``key=value`` config overrides for every run (e.g. ``trainer.max_epochs=3``).
        quick: a smoke run: :data:`QUICK_OVERRIDES` (and :data:`QUICK_SYNTH_OVERRIDES`) first.
        device: torch device of the test-split evaluation.
        progress: show progress bars.
        config_dir: folder of the recipes (default: the shipped ones, ``baselines/configs``).
        figures: also write the F1 bar chart and the paper's figure 2 / 3 layouts (seed 0).
        train_fn: the training function (default :func:`landbench.training.train`); given, the
            runs are trained in this process, one after the other.
        jobs: runs trained at once, each single-threaded in its own process
            (:func:`~landbench.experiments.scheduler.execute`; None: one per CPU).

    Returns:
        The tidy table, one row per cell: ``row``, ``column``, ``reported_f1``, ``n_seeds``,
        ``<metric>_mean`` and ``<metric>_std`` for every metric, ``f1_ci_low`` / ``f1_ci_high``
        (mean of the per-seed 95% bootstrap bounds); ``attrs`` holds title and notes.

    Raises:
        ConfigError: for an unknown table or dataset, a missing or invalid config, or a run
            folder of another config, before any training starts where possible.
    """
    from landbench.evaluation.tables import write_tables
    from landbench.experiments.scheduler import evaluate_or_reuse, execute

    _check_args(table, dataset, seeds)
    real = dataset != "synth"
    config_dir = Path(config_dir) if config_dir is not None else resource_path("recipes")
    out = (
        Path(out_dir) if out_dir is not None else Path("reproduce") / ("real" if real else dataset)
    )
    base = base_overrides(dataset, quick, root, progress, overrides)
    specs = table_plan(table, dataset, seeds, out, base, config_dir, device)
    if train_fn is not None:  # a caller's own training function runs here, in order
        for spec in specs:
            run_or_reuse(spec.config, spec.run_dir, spec.overrides, train_fn)
    else:
        execute(specs, jobs)
    runs: list[dict[str, Any]] = []
    for seed in range(seeds):
        for cell in _cells(table):
            name = config_name(cell.config, dataset)
            run_dir = out / "runs" / name / f"seed-{seed}"
            result_path = out / "results" / name / f"seed-{seed}.json"
            result = evaluate_or_reuse(run_dir, result_path, device=device)
            runs.append(
                {
                    "table": table,
                    "key": cell.key,
                    "seed": seed,
                    "config": name,
                    "run_dir": str(run_dir),
                    "result": str(result_path),
                    "dataset": result.dataset,
                    "split_version": result.split_version,
                    "manifest_sha256": result.manifest_sha256,
                    "val_f1": _best_val_f1(run_dir),
                    **{m: result.metrics[m] for m in ALL_METRICS},
                    "f1_ci_low": result.intervals["f1"].low,
                    "f1_ci_high": result.intervals["f1"].high,
                }
            )

    frame = summarize(table, runs, dataset)
    frame.attrs["out_dir"] = str(out)
    runs_frame = pd.DataFrame(runs)
    write_tables(frame, out, table)
    atomic_write_text(
        out / f"{table}-runs.csv",
        runs_frame.to_csv(index=False, float_format="%.6f", lineterminator="\n"),
    )
    if figures:
        _write_figures(table, frame, runs, out)
    return frame


def _write_figures(table: str, frame: pd.DataFrame, runs: Sequence[dict[str, Any]], out: Path):
    """The F1 bar chart, and the paper's figure 2 (Table 1) or figure 3 (Table 2) layout."""
    from landbench.evaluation.figures import (
        plot_attention_figure,
        plot_f1_bars,
        plot_prediction_grid,
        save_figure,
        select_samples,
    )
    from landbench.inference.predictor import make_predictor

    save_figure(plot_f1_bars(frame), out / f"{table}-f1.png")
    first = {r["key"]: Path(r["run_dir"]) for r in runs if r["seed"] == 0}
    if table == "table1" and "resunet-mixup" in first:
        run_dir = first["resunet-mixup"]
        samples = select_samples(run_test_split(run_dir), 2)
        if samples:
            fig = plot_attention_figure(run_dir, samples)
            save_figure(fig, out / "table1-figure2.png")
    elif table == "table2" and len(first) == len(_cells(table)):
        samples = select_samples(run_test_split(first["scratch"]), 2)
        columns = {}
        for cell in _cells(table):
            predictor = make_predictor(first[cell.key])
            columns[cell.row] = [predictor.predict_proba(s["image"]) > 0.5 for s in samples]
        if samples:
            save_figure(plot_prediction_grid(samples, columns), out / "table2-figure3.png")


def summarize(table: str, runs: Sequence[dict[str, Any]], dataset: str) -> pd.DataFrame:
    """Aggregate per-seed run rows into the tidy table of :func:`reproduce_table`.

    Args:
        table: ``"table1"`` or ``"table2"``.
        runs: one dict per (cell, seed) with ``key`` and every metric of :data:`ALL_METRICS`
            (plus ``f1_ci_low`` / ``f1_ci_high``).
        dataset: the ``dataset`` argument of :func:`reproduce_table` (for the notes).
    """
    rows = []
    for cell in _cells(table):
        mine = [r for r in runs if r["key"] == cell.key]
        row: dict[str, Any] = {
            "table": table,
            "key": cell.key,
            "row": cell.row,
            "column": cell.column,
            "config": config_name(cell.config, dataset),
            "reported_f1": cell.f1,
            "reported_dataset": cell.dataset,
            "recomputed_dataset": mine[0]["dataset"] if mine else "",
            "n_seeds": len(mine),
        }
        for metric in ALL_METRICS:
            agg = mean_std([r[metric] for r in mine])
            row[f"{metric}_mean"], row[f"{metric}_std"] = agg.mean, agg.std
        for bound in ("f1_ci_low", "f1_ci_high"):
            values = [r[bound] for r in mine if np.isfinite(r[bound])]
            row[bound] = float(np.mean(values)) if values else float("nan")
        rows.append(row)
    frame = pd.DataFrame(rows)
    row_label, column_label = ROW_LABELS[table]
    notes = list(NOTES)
    if dataset == "synth":
        notes.append(SYNTH_NOTE)
    if table == "table2":
        notes.append(HOKKAIDO_SPLIT_NOTE)
    frame.attrs.update(
        {
            "table": table,
            "title": TITLES[table]
            + (" (recomputed on LandslideSynth)" if dataset == "synth" else ""),
            "notes": notes,
            "row_label": row_label,
            "column_label": column_label,
        }
    )
    return frame
