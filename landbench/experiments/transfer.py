"""The cross-dataset transfer matrix: train on each source, test on each target.

For every seed and every ordered pair of domains (source, target):

* diagonal, ``scratch``: the recipe trained from random weights on the target itself (the
  in-domain reference; it is also the source model of the target's row);
* ``zero-shot``: the source's selected weights applied to the target unchanged (strategy
  ``pretrained``), normalised with the SOURCE's train statistics unless asked otherwise
  (``zero_shot_normalization="target"``);
* ``finetune``: trained from the source's weights on the target with the same optimiser steps,
  schedule and learning rate as scratch (``transfer.lr_scale: 1.0``, no frozen epochs): an
  equal-budget comparison with the diagonal.

Every model reads only the bands all domains share (the intersection of their canonical band
names, :func:`shared_bands`; e.g. R, G, B, DEM between Bijie and Landslide4Sense, whose
Sentinel-2 B4, B3, B2 are R, G, B), set as the dataset option ``bands``. Each run is scored once
on the target's test split with :func:`~landbench.evaluation.evaluate_model`; a cell is the mean
± std over seeds of pooled test F1 with the mean of the per-seed 95% bootstrap bounds. Pairs of
domains whose masks share a landslide event (class attribute ``events``: Landslide4Sense holds
the 2018 Iburi event that Hokkaido covers) are marked as not independent.

Output folder (``transfer/<synth|real>`` by default)::

    OUT/runs/<source>-to-<target>/<strategy>/seed-<k>/   run folders (strategy: scratch on the
                                                         diagonal, pretrained, finetune)
    OUT/results/<source>-to-<target>/<strategy>/seed-<k>.json   test-split result of that run
    OUT/transfer.md|.csv|.tex   the matrix (CSV: the tidy frame, one row per cell)
    OUT/transfer-runs.csv       one row per run: every metric, interval, optimiser steps
    OUT/transfer.png            heatmaps: zero-shot and fine-tuned (diagonal = scratch)

Completed runs and their results are reused; a run folder of another config is an error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from landbench.core.errors import ConfigError
from landbench.core.resources import resource_path
from landbench.evaluation.metrics import ALL_METRICS, mean_std
from landbench.experiments.reproduce import base_overrides
from landbench.experiments.scheduler import RunSpec, evaluate_or_reuse, execute, run_or_reuse

logger = logging.getLogger(__name__)

DEFAULT_DOMAINS: tuple[str, ...] = ("bijie", "hokkaido", "landslide4sense")
"""Domains of the matrix: the real datasets, or the synthetic presets shaped like them."""

RECIPE = "transfer-fusionnet"
"""Recipe of every cell on real data (``baselines/configs/transfer-fusionnet.yaml``)."""

SYNTH_RECIPE = "synth-transfer-fusionnet"
"""Recipe of every cell on the synthetic presets (CPU-sized)."""

STRATEGIES: tuple[str, ...] = ("scratch", "zero-shot", "finetune")
"""Cell kinds: ``scratch`` on the diagonal, ``zero-shot`` and ``finetune`` off it."""

RUN_STRATEGY = {"scratch": "scratch", "zero-shot": "pretrained", "finetune": "finetune"}
"""The training config's ``transfer.strategy`` (and run sub-folder) of each cell kind."""

NORMALIZATIONS: tuple[str, ...] = ("source", "target")
"""Whose train statistics normalise the target in zero-shot cells."""


@dataclass(frozen=True)
class Domain:
    """One domain of the matrix: a dataset (or a synthetic preset standing in for one).

    Attributes:
        name: the label in folders and tables (``"bijie"``, ``"hokkaido"``, ...).
        dataset: the registry name of the data (``"bijie"``, or ``"synth"`` for a preset).
        bands: every band the domain's files hold, canonical names (``B4`` is ``R``).
        events: landslide events its masks map (``"iburi-2018"``, ...).
        analogue: True for a synthetic preset: ``events`` are those of the real dataset it is
            shaped like, so overlaps mark the real pair it stands in for.
        dataset_kwargs: dataset options that select the domain (``{"preset": "hokkaido"}``).
        title: display name.
    """

    name: str
    dataset: str
    bands: tuple[str, ...]
    events: tuple[str, ...] = ()
    analogue: bool = False
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    title: str = ""


def resolve_domain(name: str, synthetic: bool) -> Domain:
    """The :class:`Domain` of a dataset name (``synthetic``: the preset of that name).

    Raises:
        ConfigError: for an unknown dataset or preset.
    """
    from landbench.core.bands import canonical_band
    from landbench.datasets.registry import dataset_class, list_datasets

    if synthetic:
        synth = dataset_class("synth")
        presets = getattr(synth, "presets", {})
        if name not in presets:
            raise ConfigError(
                f"Unknown synthetic domain {name!r}; choose among the presets "
                f"{', '.join(sorted(presets))}."
            )
        # A preset shaped like a real dataset inherits that dataset's events, as an analogue.
        real = dataset_class(name) if name in list_datasets() else None
        return Domain(
            name=name,
            dataset="synth",
            bands=tuple(canonical_band(b) for b in presets[name].bands),
            events=tuple(getattr(real, "events", ())),
            analogue=True,
            dataset_kwargs={"preset": name},
            title=f"synth {name}",
        )
    if name == "synth":
        raise ConfigError("Use --synthetic (synthetic=True) to run the matrix on the presets.")
    cls = dataset_class(name)
    return Domain(
        name=name,
        dataset=name,
        bands=tuple(canonical_band(b) for b in cls.all_bands),
        events=tuple(getattr(cls, "events", ())),
        title=getattr(cls, "title", "") or name,
    )


def shared_bands(domains: Sequence[Domain]) -> tuple[str, ...]:
    """The canonical bands every domain holds, whatever the domains' order.

    R, G, B come first (in that order), then other optical bands in the first domain's order,
    then terrain bands (DEM, slope), as the zoo's default band set (R, G, B, DEM) is ordered.

    Raises:
        ConfigError: if the domains share no band.
    """
    from landbench.core.bands import RGB_BANDS, TERRAIN_BANDS

    common = {b for b in domains[0].bands if all(b in d.bands for d in domains[1:])}
    others = [b for b in domains[0].bands if b in common and b not in (*RGB_BANDS, *TERRAIN_BANDS)]
    ordered = [
        *(b for b in RGB_BANDS if b in common),
        *others,
        *(b for b in TERRAIN_BANDS if b in common),
    ]
    if not ordered:
        listing = "; ".join(f"{d.name}: {', '.join(d.bands)}" for d in domains)
        raise ConfigError(
            f"The domains share no band ({listing}); choose datasets with common bands."
        )
    return tuple(ordered)


def shared_events(source: Domain, target: Domain) -> tuple[str, ...]:
    """Events both domains' masks map (non-empty: the pair is not independent)."""
    if source.name == target.name:
        return ()
    return tuple(e for e in source.events if e in target.events)


@dataclass
class TransferMatrix:
    """The result of :func:`transfer_matrix`.

    Attributes:
        frame: tidy table, one row per (source, target, strategy) cell: ``source``, ``target``,
            ``strategy`` (``scratch`` / ``zero-shot`` / ``finetune``), ``in_domain``,
            ``dependent``, ``shared_events``, ``normalization``, ``n_seeds``,
            ``<metric>_mean`` / ``<metric>_std`` for every metric, ``f1_ci_low`` /
            ``f1_ci_high`` (means of the per-seed 95% bootstrap bounds), ``optimizer_steps``.
        runs: one row per run (cell x seed) with its folders, every metric and interval.
        paths: written files by kind (``md``, ``csv``, ``tex``, ``runs``, ``figure``).
        domains: the domains, in matrix order.
        bands: the bands every model read.
        notes: the table notes (seeds, budget, normalisation, dependent pairs).
        title: the table title.
    """

    frame: pd.DataFrame
    runs: pd.DataFrame
    paths: dict[str, Path]
    domains: tuple[Domain, ...]
    bands: tuple[str, ...]
    notes: tuple[str, ...]
    title: str

    def to_markdown(self, digits: int = 3) -> str:
        """The two matrices (zero-shot, fine-tuned) as Markdown, with title and notes."""
        from landbench.experiments.transfer_report import matrix_markdown

        return matrix_markdown(self, digits)

    def cell(self, source: str, target: str, strategy: str | None = None) -> pd.Series:
        """The frame row of one cell (``strategy`` defaults to scratch on the diagonal)."""
        strategy = strategy or ("scratch" if source == target else "finetune")
        rows = self.frame[
            (self.frame["source"] == source)
            & (self.frame["target"] == target)
            & (self.frame["strategy"] == strategy)
        ]
        if rows.empty:
            raise ConfigError(f"The matrix has no {strategy} cell {source} -> {target}.")
        return rows.iloc[0]


def _check_args(domain_names: Sequence[str], seeds: int, normalization: str) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds must be a positive integer, got {seeds!r}.")
    if len(domain_names) < 2:
        raise ConfigError(f"A transfer matrix needs at least two domains, got {domain_names!r}.")
    if len(set(domain_names)) != len(domain_names):
        raise ConfigError(f"A domain is given twice: {list(domain_names)}.")
    if normalization not in NORMALIZATIONS:
        raise ConfigError(
            f"zero_shot_normalization must be one of {', '.join(NORMALIZATIONS)}, got "
            f"{normalization!r}."
        )


def _domain_overrides(domain: Domain, bands: Sequence[str], synthetic: bool) -> list[str]:
    """Overrides that point the recipe at ``domain`` and its shared bands."""
    out = [f"data.dataset={domain.dataset}"]
    out += [f"data.dataset_kwargs.{k}={v}" for k, v in domain.dataset_kwargs.items()]
    if not synthetic:
        # The recipe's dataset_kwargs belong to no particular real dataset.
        out.insert(0, "data.dataset_kwargs={}")
    out.append(f"data.dataset_kwargs.bands=[{','.join(bands)}]")
    return out


def _cell_overrides(
    strategy: str, source_weights: Path | None, normalization: str, name: str
) -> list[str]:
    out = [f"name={name}", f"transfer.strategy={RUN_STRATEGY[strategy]}"]
    if strategy != "scratch":
        assert source_weights is not None
        out.append(f"transfer.weights={source_weights.resolve()}")
    if strategy == "zero-shot":
        out.append(f"transfer.normalization={normalization}")
    else:
        # Fine-tuning trains on the target's data, normalised with the target's statistics.
        out.append("transfer.normalization=target")
    return out


def _run_info(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _check_trained(run_dir: Path, strategy: str) -> None:
    """Refuse a scratch or fine-tune cell whose run made no optimiser step (an empty loader)."""
    if strategy == "zero-shot":
        return
    from landbench.models import model_info

    info = _run_info(run_dir)
    if not info or not model_info(info.get("model", "")).trainable:
        return  # fitted models (slope threshold, ...) make no optimiser step by design
    if not info.get("optimizer_steps"):
        counts = info.get("split_counts") or {}
        batch = (info.get("config") or {}).get("data", {}).get("batch_size")
        raise ConfigError(
            f"{run_dir} trained for 0 optimiser steps ({counts.get('train', '?')} train tiles, "
            f"batch size {batch}): its cell would score an untrained model. Lower "
            "data.batch_size or raise data.patches_per_tile (--set data.batch_size=2), remove "
            "the folder and rerun."
        )


def _matrix_cells(
    domains: Sequence[Domain],
    bands: Sequence[str],
    seeds: int,
    out: Path,
    recipe: Path,
    per_domain: dict[str, list[str]],
    normalization: str,
) -> list[tuple[Domain, Domain, str, int, RunSpec]]:
    """Every cell's run, in training order: each source's scratch run before what reads it."""
    cells = []
    for seed in range(seeds):
        for source in domains:
            scratch = out / "runs" / f"{source.name}-to-{source.name}" / "scratch" / f"seed-{seed}"
            for target in [source, *(t for t in domains if t is not source)]:
                for strategy in ("scratch",) if target is source else ("zero-shot", "finetune"):
                    pair = f"{source.name}-to-{target.name}"
                    kind = RUN_STRATEGY[strategy]
                    weights = None if target is source else scratch / "model.safetensors"
                    name = f"{recipe.stem}-{pair}-{kind}"
                    overrides = _cell_overrides(strategy, weights, normalization, name)
                    spec = RunSpec(
                        recipe,
                        out / "runs" / pair / kind / f"seed-{seed}",
                        (*per_domain[target.name], *overrides, f"seed={seed}"),
                        after=() if weights is None else (scratch,),
                        result=out / "results" / pair / kind / f"seed-{seed}.json",
                    )
                    cells.append((source, target, strategy, seed, spec))
    return cells


@dataclass
class MatrixPlan:
    """The runs of a transfer matrix, planned and checked before any training.

    Attributes:
        domains: the domains, in matrix order.
        bands: the bands every model reads.
        out: the output folder.
        budget: the recipe's resolved config (first domain), for the notes.
        cells: ``(source, target, strategy, seed, run)`` per cell and seed, in training order.
    """

    domains: tuple[Domain, ...]
    bands: tuple[str, ...]
    out: Path
    budget: Any
    cells: list[tuple[Domain, Domain, str, int, RunSpec]]

    @property
    def specs(self) -> list[RunSpec]:
        """The runs, each source's scratch run before the runs that read its weights."""
        return [cell[-1] for cell in self.cells]


def plan_matrix(
    domains: Sequence[str] = DEFAULT_DOMAINS,
    seeds: int = 3,
    out_dir: str | os.PathLike[str] | None = None,
    quick: bool = False,
    progress: bool = True,
    config_dir: str | os.PathLike[str] | None = None,
    *,
    synthetic: bool = False,
    root: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    zero_shot_normalization: str = "source",
) -> MatrixPlan:
    """Plan the runs of :func:`transfer_matrix` (same arguments); check every domain's config.

    Raises:
        ConfigError: for bad arguments, an unknown domain, domains without a shared band or a
            missing recipe.
    """
    import landbench
    from landbench.training.config import check_resources, load_config

    domain_names = tuple(domains)
    _check_args(domain_names, seeds, zero_shot_normalization)
    resolved = tuple(resolve_domain(n, synthetic) for n in domain_names)
    bands = shared_bands(resolved)
    recipes = Path(config_dir) if config_dir is not None else resource_path("recipes")
    recipe = recipes / f"{SYNTH_RECIPE if synthetic else RECIPE}.yaml"
    if not recipe.is_file():
        raise ConfigError(f"Missing recipe {recipe} for the transfer matrix.")
    out = (
        Path(out_dir)
        if out_dir is not None
        else Path("transfer") / ("synth" if synthetic else "real")
    )
    base = base_overrides("synth" if synthetic else "real", quick, root, progress, overrides)

    # Every domain's config is loaded and checked (dataset, root, bands) before any training.
    per_domain = {d.name: [*base, *_domain_overrides(d, bands, synthetic)] for d in resolved}
    for d in resolved:
        cfg = load_config(recipe, per_domain[d.name])
        check_resources(cfg, f"{recipe} for domain {d.name}")
        try:  # the dataset options (bands in particular) are checked by the class itself
            landbench.load(
                cfg.data.dataset, split="train", root=cfg.data.root, **cfg.data.dataset_kwargs
            )
        except TypeError as err:
            raise ConfigError(f"domain {d.name}: dataset options: {err}") from None

    budget = load_config(recipe, per_domain[resolved[0].name])
    cells = _matrix_cells(resolved, bands, seeds, out, recipe, per_domain, zero_shot_normalization)
    return MatrixPlan(resolved, bands, out, budget, cells)


def transfer_matrix(
    domains: Sequence[str] = DEFAULT_DOMAINS,
    seeds: int = 3,
    out_dir: str | os.PathLike[str] | None = None,
    quick: bool = False,
    progress: bool = True,
    config_dir: str | os.PathLike[str] | None = None,
    *,
    synthetic: bool = False,
    root: str | os.PathLike[str] | None = None,
    overrides: Iterable[str] = (),
    zero_shot_normalization: str = "source",
    device: str = "cpu",
    figures: bool = True,
    train_fn: Callable[..., Path] | None = None,
    jobs: int | None = 1,
) -> TransferMatrix:
    """Train on each source domain and score zero-shot and fine-tuned on each target.

    Args:
        domains: dataset names (with ``synthetic``: preset names), at least two.
        seeds: seeds per cell (0, 1, ..., seeds - 1); source and target runs share the seed.
        out_dir: output folder (default ``transfer/synth`` or ``transfer/real``).
        quick: a smoke run: reproduce's quick overrides (1 epoch, 2 batches, tiny models, small
            synthetic tiles) before ``overrides``.
        progress: show progress bars.
        config_dir: folder of the recipes (default: the shipped ones).
        synthetic: use the LandslideSynth presets named ``domains`` (recipe
            :data:`SYNTH_RECIPE`) instead of the real datasets (recipe :data:`RECIPE`).
        root: folder of the real datasets (sets ``data.root`` of every run).
        overrides: ``key=value`` config overrides for every run (e.g. ``trainer.max_steps=50``).
        zero_shot_normalization: ``"source"`` (default: the source's train statistics) or
            ``"target"`` (the target's).
        device: torch device of the test-split evaluations.
        figures: also write the heatmap figure.
        train_fn: the training function (default :func:`landbench.training.train`); given, the
            runs are trained in this process, one after the other.
        jobs: runs trained at once, each single-threaded in its own process
            (:func:`~landbench.experiments.scheduler.execute`; None: one per CPU).

    Returns:
        The :class:`TransferMatrix` (tidy frame, per-run frame, written files, notes).

    Raises:
        ConfigError: for bad arguments, an unknown domain, domains without a shared band, a
            missing recipe or a run folder of another config, before training where possible.
    """
    plan = plan_matrix(
        domains,
        seeds,
        out_dir,
        quick,
        progress,
        config_dir,
        synthetic=synthetic,
        root=root,
        overrides=overrides,
        zero_shot_normalization=zero_shot_normalization,
    )
    resolved, bands, out, cells = plan.domains, plan.bands, plan.out, plan.cells
    specs = plan.specs
    if train_fn is not None:  # a caller's own training function runs here, in order
        for spec in specs:
            run_or_reuse(spec.config, spec.run_dir, spec.overrides, train_fn)
    else:
        execute([dataclasses.replace(s, device=device) for s in specs], jobs)
    runs: list[dict[str, Any]] = []
    for source, target, strategy, seed, spec in cells:
        _check_trained(spec.run_dir, strategy)
        assert spec.result is not None
        result = evaluate_or_reuse(spec.run_dir, spec.result, device=device)
        runs.append(_run_row(source, target, strategy, seed, spec.run_dir, spec.result, result))

    from landbench.experiments.transfer_report import (
        matrix_notes,
        matrix_title,
        write_matrix_files,
    )

    frame = summarize(runs, resolved, zero_shot_normalization)
    runs_frame = pd.DataFrame(runs)
    notes = matrix_notes(resolved, bands, seeds, plan.budget, runs_frame, zero_shot_normalization)
    matrix = TransferMatrix(
        frame=frame,
        runs=runs_frame,
        paths={},
        domains=resolved,
        bands=bands,
        notes=tuple(notes),
        title=matrix_title(resolved, bands, seeds, synthetic),
    )
    matrix.paths = write_matrix_files(matrix, out, figures=figures)
    return matrix


def _run_row(
    source: Domain,
    target: Domain,
    strategy: str,
    seed: int,
    run_dir: Path,
    result_path: Path,
    result: Any,
) -> dict[str, Any]:
    info = _run_info(run_dir)
    norm = info.get("normalization") or {}
    best = info.get("best_metrics") or {}
    val_f1 = best.get("val_f1", best.get("f1"))
    return {
        "source": source.name,
        "target": target.name,
        "strategy": strategy,
        "seed": seed,
        "run_dir": str(run_dir),
        "result": str(result_path),
        "dataset": result.dataset,
        "split_version": result.split_version,
        "manifest_sha256": result.manifest_sha256,
        "n_test_images": result.n_images,
        "normalization": info.get("config", {}).get("transfer", {}).get("normalization"),
        "normalization_mean": json.dumps(norm.get("mean")),
        "source_weights": (info.get("source_weights") or {}).get("path", ""),
        "optimizer_steps": int(info.get("optimizer_steps") or 0),
        "val_f1": float(val_f1) if isinstance(val_f1, int | float) else float("nan"),
        **{m: result.metrics[m] for m in ALL_METRICS},
        "f1_ci_low": result.intervals["f1"].low,
        "f1_ci_high": result.intervals["f1"].high,
    }


def summarize(
    runs: Sequence[dict[str, Any]], domains: Sequence[Domain], zero_shot_normalization: str
) -> pd.DataFrame:
    """Aggregate per-seed run rows into the tidy frame of :class:`TransferMatrix`.

    Args:
        runs: one dict per (source, target, strategy, seed) with every metric of
            :data:`~landbench.evaluation.metrics.ALL_METRICS`, ``f1_ci_low`` / ``f1_ci_high`` and
            ``optimizer_steps``.
        domains: the domains in matrix order.
        zero_shot_normalization: whose statistics the zero-shot cells used.
    """
    rows = []
    for source in domains:
        for target in domains:
            kinds = ("scratch",) if source is target else ("zero-shot", "finetune")
            for strategy in kinds:
                mine = [
                    r
                    for r in runs
                    if (r["source"], r["target"], r["strategy"])
                    == (source.name, target.name, strategy)
                ]
                events = shared_events(source, target)
                row: dict[str, Any] = {
                    "source": source.name,
                    "target": target.name,
                    "strategy": strategy,
                    "in_domain": source is target,
                    "dependent": bool(events),
                    "shared_events": ",".join(events),
                    "normalization": zero_shot_normalization
                    if strategy == "zero-shot"
                    else "target",
                    "n_seeds": len(mine),
                }
                for metric in ALL_METRICS:
                    agg = mean_std([r[metric] for r in mine])
                    row[f"{metric}_mean"], row[f"{metric}_std"] = agg.mean, agg.std
                for bound in ("f1_ci_low", "f1_ci_high"):
                    values = [r[bound] for r in mine if np.isfinite(r[bound])]
                    row[bound] = float(np.mean(values)) if values else float("nan")
                steps = [r["optimizer_steps"] for r in mine]
                row["optimizer_steps"] = int(max(steps)) if steps else 0
                rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "DEFAULT_DOMAINS",
    "Domain",
    "TransferMatrix",
    "resolve_domain",
    "shared_bands",
    "shared_events",
    "summarize",
    "transfer_matrix",
]
