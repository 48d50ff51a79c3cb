"""``landbench demo``: the whole benchmark, end to end, on the embedded synthetic data.

The demo is a thin driver over the public code paths a researcher uses on the real data; it adds
no shortcut of its own:

1. Table 1 analogue (:func:`landbench.experiments.reproduce.reproduce_table`): the fusion
   network with its three RGB backbones, with and without Mixup, trained from the
   ``synth-bijie-*`` recipes in ``baselines/configs/``, selected on validation, scored on test.
2. The zoo's baselines (RGB-only and early-fusion U-Nets, residual U-Net, DeepLabV3+, and the two
   no-skill references), trained from their recipes and scored by the same evaluator.
3. Table 2 analogue: the Bijie-preset fusion network applied to the ``hokkaido`` preset without
   fine-tuning, fine-tuned, and a network trained from scratch there.
4. Every model's test predictions go through the leaderboard's own path (masks ->
   ``init_submission`` -> ``submit`` -> ``render``) into a synthetic leaderboard.

Output folder (``demo_out`` by default)::

    OUT/results.csv               one row per model, dataset, strategy, Mixup setting and seed
    OUT/table1.md, OUT/table2.md  the two tables (also .csv and .tex), reported beside recomputed
    OUT/models.md                 every model on the Bijie preset, best pooled F1 first
    OUT/figures/                  figure-2/3 layouts, F1 bars with intervals, precision-recall
    OUT/leaderboard/              README.md, leaderboard.csv, index.html (+ results/*.json)
    OUT/runs/, OUT/results/       training runs and per-run evaluation JSON

Re-running with the same folder reuses completed runs (and resumes interrupted ones).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from landbench.core.errors import ConfigError
from landbench.core.resources import resource_path

if TYPE_CHECKING:
    from landbench.experiments.scheduler import RunSpec

logger = logging.getLogger(__name__)

BASELINES: tuple[str, ...] = (
    "unet-rgb",
    "unet-rgbdem",
    "resunet-rgbdem",
    "deeplabv3plus-rgbdem",
    "hgb-pixel",
    "slope-threshold",
    "all-background",
)
"""Zoo baselines trained beside the Table 1 cells (recipes ``synth-bijie-<name>.yaml``)."""

FULL_MATRIX_OVERRIDES: tuple[str, ...] = ("trainer.max_steps=360", "data.dataset_kwargs.n=1000")
"""``--full``: the transfer matrix at the tables' budget (360 optimiser steps per cell, as Table
1's 20 epochs of 18 batches; the default is the recipe's 150) on 1,000 tiles of every preset (the
defaults are 400, 80 and 200 tiles). The matrix's optimiser steps grow 2.4 times (by count;
its runs took 967 of the default demo's 4,465 process-seconds)."""

RESULT_COLUMNS: tuple[str, ...] = (
    "model",
    "config",
    "dataset",
    "preset",
    "strategy",
    "mixup",
    "seed",
    "f1",
    "iou",
    "precision",
    "recall",
    "f1_ci_low",
    "f1_ci_high",
    "val_f1",
    "manifest_sha256",
    "run_dir",
)
"""Columns of ``results.csv``."""


@dataclass
class DemoResult:
    """What the demo produced.

    Attributes:
        out: the output folder.
        results: one dict per (model, dataset, strategy, Mixup, seed), columns
            :data:`RESULT_COLUMNS`.
        tables: ``{"table1": Markdown, "table2": Markdown}``.
        files: named outputs (results CSV, tables, figures, leaderboard page).
        seconds: wall time.
        stages: wall time of each stage, in seconds.
        run_seconds: seconds each run took in the plan (training and scoring), by run folder.
    """

    out: Path
    results: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    run_seconds: dict[str, float] = field(default_factory=dict)


def print_section(title: str) -> None:
    """Print a stage heading of the demo."""
    print(f"\n== {title} ==", flush=True)


def _read_result(path: Path) -> Any:
    from landbench.evaluation import EvaluationResult

    return EvaluationResult.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _run_row(run_dir: Path, result: Any, seed: int) -> dict[str, Any]:
    """One ``results.csv`` row from a run folder and its test-split evaluation."""
    from landbench.training.config import load_config

    cfg = load_config(run_dir / "config.yaml")
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    best = info.get("best_metrics") or {}
    return {
        "model": cfg.model.name,
        "config": cfg.name,
        "dataset": cfg.data.dataset,
        "preset": cfg.data.dataset_kwargs.get("preset", ""),
        "strategy": cfg.transfer.strategy,
        "mixup": cfg.mixup.mode,
        "seed": seed,
        **{m: result.metrics[m] for m in ("f1", "iou", "precision", "recall")},
        "f1_ci_low": result.intervals["f1"].low,
        "f1_ci_high": result.intervals["f1"].high,
        "val_f1": best.get("val_f1", float("nan")),
        "manifest_sha256": result.manifest_sha256,
        "run_dir": str(run_dir),
    }


def _baseline_plan(
    out: Path, overrides: Sequence[str], config_dir: Path, seeds: int
) -> list[RunSpec]:
    """The runs of every baseline recipe on the ``bijie`` preset, every seed."""
    from landbench.core.errors import ConfigError
    from landbench.experiments.scheduler import RunSpec

    specs = []
    for name in BASELINES:
        config = config_dir / f"synth-bijie-{name}.yaml"
        if not config.is_file():
            raise ConfigError(f"Missing baseline recipe {config}.")
        for seed in range(seeds):
            specs.append(
                RunSpec(
                    config,
                    out / "runs" / config.stem / f"seed-{seed}",
                    (*overrides, f"seed={seed}"),
                    result=out / "results" / config.stem / f"seed-{seed}.json",
                )
            )
    return specs


def _baseline_rows(out: Path, specs: Sequence[RunSpec]) -> list[dict[str, Any]]:
    """Train (or reuse) and score every baseline run; print each model's mean over seeds."""
    from landbench.experiments.scheduler import evaluate_or_reuse, execute

    execute(specs, jobs=1)  # trained by the demo's plan already: reused
    rows = []
    by_config: dict[str, list[float]] = {}
    for spec in specs:
        assert spec.result is not None
        result = evaluate_or_reuse(spec.run_dir, spec.result)
        seed = int(spec.run_dir.name.removeprefix("seed-"))
        rows.append(_run_row(spec.run_dir, result, seed=seed))
        by_config.setdefault(spec.config.stem.removeprefix("synth-bijie-"), []).append(
            result.metrics["f1"]
        )
    for name, scores in by_config.items():
        print(f"  {name:<22} test F1 {_mean_std_text(scores)} over {len(scores)} seed(s)")
    return rows


def _merge(plans: Sequence[Sequence[RunSpec]], masks: Path) -> list[RunSpec]:
    """One plan from several: a run folder two plans share is trained once.

    Runs scored into ``results/<config>/seed-<k>.json`` (those the leaderboard submits) also
    keep their masks, in ``masks/<config>/seed-<k>``.

    Raises:
        ConfigError: if two plans give one run folder different recipes or overrides.
    """
    import dataclasses

    from landbench.core.errors import ConfigError

    merged: dict[Path, RunSpec] = {}
    for spec in (s for plan in plans for s in plan):
        if spec.result is not None and spec.result.parent.parent.name == "results":
            keep = masks / spec.result.parent.name / spec.result.stem
            spec = dataclasses.replace(spec, masks=keep)
        known = merged.get(spec.run_dir)
        if known is not None:
            if (known.config, known.overrides) != (spec.config, spec.overrides):
                raise ConfigError(f"Two stages of the demo plan {spec.run_dir} differently.")
            if known.result is not None:
                continue
        merged[spec.run_dir] = spec  # a scored twin replaces an unscored one, in place
    return list(merged.values())


def _table_rows(out: Path, table: str) -> list[dict[str, Any]]:
    """``results.csv`` rows of a reproduced table, from its per-run evaluation files."""
    import pandas as pd

    rows = []
    for run in pd.read_csv(out / f"{table}-runs.csv").to_dict("records"):
        result = _read_result(Path(run["result"]))
        rows.append(_run_row(Path(run["run_dir"]), result, seed=int(run["seed"])))
    return rows


def _write_results(out: Path, rows: list[dict[str, Any]]) -> Path:
    import pandas as pd

    from landbench.core.io import atomic_write_text

    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    text = frame.to_csv(index=False, float_format="%.6f", lineterminator="\n")
    return atomic_write_text(out / "results.csv", text)


def _mean_std_text(values: Sequence[float]) -> str:
    """``mean ± std`` (sample std over seeds; ``± n/a`` for one seed)."""
    from landbench.evaluation.metrics import mean_std

    agg = mean_std(list(values))
    spread = f"{agg.std:.3f}" if len(values) > 1 else "n/a"
    return f"{agg.mean:.3f} ± {spread}"


def _models_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of every model on the synthetic Bijie preset, best mean pooled F1 first.

    One row per model and Mixup setting: mean ± std over seeds, each seed's pooled F1, the mean
    of the per-seed 95% bootstrap bounds, and the other metrics' means.
    """
    import numpy as np

    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["preset"] == "bijie" and r["strategy"] == "scratch":
            groups.setdefault((r["model"], r["mixup"]), []).append(r)
    ordered = sorted(groups.items(), key=lambda kv: -float(np.mean([r["f1"] for r in kv[1]])))
    lines = [
        "**Every model on the synthetic Bijie preset, LandslideSynth (test split, recomputed)**",
        "",
        "| Model | Mixup | F1 pooled, mean ± std | F1 per seed | mean 95% CI | IoU | "
        "Precision | Recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (model, mixup), mine in ordered:
        mine = sorted(mine, key=lambda r: r["seed"])
        per_seed = ", ".join(f"{r['f1']:.3f}" for r in mine)
        low = float(np.mean([r["f1_ci_low"] for r in mine]))
        high = float(np.mean([r["f1_ci_high"] for r in mine]))
        means = {m: float(np.mean([r[m] for r in mine])) for m in ("iou", "precision", "recall")}
        lines.append(
            f"| `{model}` | {mixup} | {_mean_std_text([r['f1'] for r in mine])} | {per_seed} | "
            f"[{low:.3f}, {high:.3f}] | {means['iou']:.3f} | {means['precision']:.3f} | "
            f"{means['recall']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def _figures(out: Path, rows: list[dict[str, Any]]) -> dict[str, Path]:
    """F1 bars with intervals for every Bijie-preset model, and precision-recall curves."""
    from landbench.evaluation import plot_f1_bars, plot_precision_recall, save_figure

    figures = out / "figures"
    bijie = [r for r in rows if r["preset"] == "bijie"]
    results = {
        f"{r['config'].removeprefix('synth-bijie-')}": _read_result(
            out / "results" / r["config"] / f"seed-{r['seed']}.json"
        )
        for r in bijie
    }
    files = {
        "f1_bars": save_figure(
            plot_f1_bars(results, title="Synthetic Bijie preset: test F1 (95% CI)"),
            figures / "models-f1.png",
        ),
        "precision_recall": save_figure(
            plot_precision_recall(results, title="Synthetic Bijie preset: precision-recall"),
            figures / "precision-recall.png",
        ),
    }
    for name in ("table1-figure2.png", "table2-figure3.png", "table1-f1.png", "table2-f1.png"):
        if (out / name).is_file():
            files[name.removesuffix(".png")] = Path(shutil.copy2(out / name, figures / name))
    return files


def _leaderboard(out: Path, rows: list[dict[str, Any]], progress: bool) -> Path:
    """Submit every recipe's test predictions (all its seeds) through the leaderboard, render it.

    One entry per recipe, named after the recipe (``synth-...``, so a synthetic score never
    appears under a real dataset's name), carrying one mask folder per seed (schema version 2)
    and the recipe with its resolved config (``submission.reference``), so that
    ``landbench leaderboard check`` can tie the result to the shipped recipe.
    """
    from landbench.core.provenance import provenance
    from landbench.evaluation import predict_masks
    from landbench.experiments.reproduce import run_test_split
    from landbench.inference.predictor import Predictor
    from landbench.leaderboard import init_submission, render, submit, write_prediction_folder
    from landbench.training.config import load_config

    board = out / "leaderboard"
    if not (board / "reported").exists():
        shutil.copytree(resource_path("reported"), board / "reported")
    by_config: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_config.setdefault(row["config"], []).append(row)
    commit = provenance().get("commit")
    for config, mine in by_config.items():
        entry = config  # recipe stems of synthetic data start with "synth-"
        if (board / "results" / f"{entry}.json").is_file():
            continue
        mine = sorted(mine, key=lambda r: r["seed"])
        first = mine[0]
        cfg = load_config(Path(first["run_dir"]) / "config.yaml")
        staging = out / "submissions" / entry
        if staging.exists():
            shutil.rmtree(staging)  # an interrupted demo's unscored scaffold, ours to replace
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            for row in mine:
                run_dir = Path(row["run_dir"])
                seed_dir = Path(tmp) / f"seed-{row['seed']}"
                kept = out / "masks" / config / f"seed-{row['seed']}"
                if kept.is_dir():  # written by the same pass that scored the run
                    shutil.copytree(kept, seed_dir)
                else:
                    masks = predict_masks(
                        Predictor.from_run(run_dir), run_test_split(run_dir), progress=progress
                    )
                    write_prediction_folder(masks, seed_dir)
            predictor = Predictor.from_run(Path(first["run_dir"]))
            model = predictor.model
            sub = init_submission(
                cfg.data.dataset,
                tmp,
                staging,
                dataset_kwargs=cfg.data.dataset_kwargs,
                entry=entry,
                seeds=[r["seed"] for r in mine],
                metadata={
                    "team": "landbench reference",
                    "contact": "maintainers@landbench.invalid",
                    "paper_url": None,
                    "license": "MIT",
                    "code": {"url": "https://github.com/landbench/landbench", "commit": commit},
                    "model": {
                        "name": f"{first['model']} ({first['strategy']}, mixup {first['mixup']})",
                        "parameter_count": sum(int(p.numel()) for p in model.parameters()),
                    },
                    "reference": {"recipe": config, "config": cfg.to_dict()},
                    "datasets": {
                        cfg.data.dataset: {
                            # A no-skill baseline reads no band; the schema wants at least
                            # one, so it lists the stacked input it is given.
                            "inputs": list(model.bands_used) or list(predictor.bands),
                            "training_data": f"LandslideSynth {first['preset']} train/val split",
                            "external_data": first["strategy"] != "scratch",
                            "pretrained_weights": "none"
                            if first["strategy"] == "scratch"
                            else "fusionnet trained on the LandslideSynth bijie preset",
                        }
                    },
                },
            )
        submit(sub, board)
    render(board)
    return board / "index.html"


def matrix_arguments(
    out: Path,
    seeds: int,
    *,
    quick: bool,
    full: bool,
    progress: bool,
    config_dir: Path,
) -> dict[str, Any]:
    """The demo's arguments of the transfer matrix, for planning it and for its tables.

    :func:`~landbench.experiments.transfer.plan_matrix` and
    :func:`~landbench.experiments.transfer.transfer_matrix` get the same ones, so the tables
    reuse the planned runs.

    Raises:
        ConfigError: if ``quick`` and ``full`` are both set.
    """
    if quick and full:
        raise ConfigError("--quick and --full contradict each other; choose one.")
    overrides = [] if progress else ["trainer.progress_bar=false"]
    return dict(
        seeds=seeds,
        out_dir=out / "transfer",
        quick=quick,
        progress=progress,
        config_dir=config_dir,
        synthetic=True,
        overrides=[*overrides, *(FULL_MATRIX_OVERRIDES if full else ())],
    )


def run_demo(
    out: str | Path = "demo_out",
    quick: bool = False,
    progress: bool = True,
    config_dir: str | Path | None = None,
    seeds: int | None = None,
    jobs: int | None = None,
    full: bool = False,
) -> DemoResult:
    """Run the whole benchmark on LandslideSynth and render its tables, figures and leaderboard.

    Plans every run of every stage first (Table 1, the baselines, Table 2, the transfer matrix),
    trains and scores them ``jobs`` at a time (:func:`~landbench.experiments.scheduler.execute`:
    each run single-threaded, so the numbers do not depend on ``jobs``), then writes the tables,
    figures and the leaderboard from the finished runs.

    Args:
        out: output folder; completed runs inside it are reused.
        quick: a smoke run (one short epoch per model, tiny tiles): checks the whole pipeline in
            about a minute; its numbers mean nothing.
        progress: show progress bars.
        config_dir: recipes folder (default: the shipped recipes).
        seeds: seeds per model (default 3; 1 with ``quick``).
        jobs: runs trained at once, one process each (default: one per CPU).
        full: larger settings: the transfer matrix with :data:`FULL_MATRIX_OVERRIDES`.

    Returns:
        The :class:`DemoResult`; ``stages`` holds the seconds of each stage.
    """
    from landbench.core.io import atomic_write_text
    from landbench.experiments.reproduce import (
        QUICK_OVERRIDES,
        QUICK_SYNTH_OVERRIDES,
        base_overrides,
        reproduce_table,
        table_plan,
    )
    from landbench.experiments.scheduler import default_jobs, execute
    from landbench.experiments.transfer import plan_matrix, transfer_matrix

    started = time.perf_counter()
    out = Path(out)
    config_dir = Path(config_dir) if config_dir is not None else resource_path("recipes")
    # The synthetic recipes already use tiny widths; the baselines' no-skill references take
    # no width option, so quick mode keeps only the budget and tile overrides.
    quick_overrides = [o for o in QUICK_OVERRIDES if not o.startswith("model.")]
    overrides = [*quick_overrides, *QUICK_SYNTH_OVERRIDES] if quick else []
    if not progress:
        overrides.append("trainer.progress_bar=false")
    result = DemoResult(out=out)
    seeds = (1 if quick else 3) if seeds is None else seeds
    jobs = default_jobs() if jobs is None else jobs

    def stage(name: str, since: float) -> float:
        now = time.perf_counter()
        result.stages[name] = now - since
        return now

    tables = base_overrides("synth", progress=progress, overrides=overrides)
    matrix_args = matrix_arguments(
        out, seeds, quick=quick, full=full, progress=progress, config_dir=config_dir
    )
    baselines = _baseline_plan(out, overrides, config_dir, seeds)
    plan = _merge(
        [
            table_plan("table1", "synth", seeds, out, tables, config_dir),
            table_plan("table2", "synth", seeds, out, tables, config_dir),
            plan_matrix(**matrix_args).specs,
            baselines,
        ],
        out / "masks",
    )
    print_section(f"Training and scoring {len(plan)} runs, {jobs} at a time, one thread each")
    now = time.perf_counter()
    seconds = execute(plan, jobs)
    result.run_seconds = {str(k): v for k, v in seconds.items()}
    now = stage("train and score (all runs)", now)

    common = dict(
        dataset="synth", seeds=seeds, out_dir=out, progress=progress, config_dir=config_dir
    )
    print_section(
        "Table 1 analogue: fusion network x RGB backbone x Mixup (synthetic Bijie preset)"
    )
    reproduce_table("table1", overrides=overrides, **common)
    print_section("Baselines (synthetic Bijie preset)")
    rows = _table_rows(out, "table1")
    rows += _baseline_rows(out, baselines)
    print_section("Table 2 analogue: transfer to the synthetic Hokkaido preset")
    reproduce_table("table2", overrides=overrides, **common)
    rows += _table_rows(out, "table2")
    result.results = rows
    result.files["results"] = _write_results(out, rows)
    for table in ("table1", "table2"):
        result.tables[table] = (out / f"{table}.md").read_text(encoding="utf-8")
        result.files[table] = out / f"{table}.md"
    result.tables["models"] = _models_table(rows)
    result.files["models"] = atomic_write_text(out / "models.md", result.tables["models"])

    print_section("Transfer matrix over the synthetic presets (bijie, hokkaido, landslide4sense)")
    matrix = transfer_matrix(**matrix_args)
    result.tables["transfer"] = matrix.to_markdown()
    result.files["transfer"] = out / "transfer"
    now = stage("tables (from the finished runs)", now)

    print_section("Figures")
    result.files.update(_figures(out, rows))
    now = stage("figures", now)
    print_section("Leaderboard (every model submitted as predictions, scores recomputed)")
    result.files["leaderboard"] = _leaderboard(out, rows, progress)
    stage("leaderboard", now)
    result.seconds = time.perf_counter() - started
    return result
