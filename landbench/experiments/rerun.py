"""``landbench reproduce RESULT.json``: rerun one result from its recorded config and seed.

A result that can be rerun records the full resolved training config and the seed of each of its
scores:

* a **reference leaderboard result** (``<leaderboard>/results/<entry>.json``, written by
  ``landbench leaderboard submit``, schema 1 or 2) whose ``submission.reference`` holds
  ``{"recipe": NAME, "config": RESOLVED_CONFIG}`` (the demo writes it), with one scored seed per
  ``seeds`` item (schema 2) or one seed, the config's (schema 1);
* an **evaluation result** of a model (``landbench evaluate --model``, the demo's
  ``results/<config>/seed-<k>.json``): it names the weights it scored (``source.weights``), whose
  metadata records the training config and seed, so the weights file must still exist.

A third-party submission (predicted masks only) and an evaluation of a mask folder record no
config and are refused with a :class:`~landbench.core.errors.ConfigError`.

For each recorded seed the recorded config with that seed is trained through the public
:func:`landbench.training.train` path into ``OUT/runs/seed-<k>/`` (a completed matching run is
reused, an interrupted one resumed, another config's run is never overwritten), the scored split
is rebuilt and checked against the recorded manifest sha256, predicted with the one
:class:`~landbench.inference.predictor.Predictor` path (:func:`landbench.evaluation.predict_masks`)
and scored by the evaluator as the leaderboard scores (:func:`landbench.evaluation.
evaluate_predictions`). Verdicts (one per seed):

* ``identical``: every metric within :data:`TOLERANCE` of the recorded one (and the pooled counts
  equal). Metrics are ratios of integer pixel counts, so the same predictions give bit-identical
  metrics; the tolerance only absorbs float formatting, and one changed pixel moves F1 by about
  ``1 / (2 TP + FP + FN)``, orders of magnitude above it on any real split.
* otherwise ``inside`` or ``outside`` the recorded 95% bootstrap interval of that seed's pooled
  F1.

When the recorded environment (platform, library versions, device: every provenance field but the
commit) equals the current one, only ``identical`` reproduces; elsewhere ``inside`` does too. A
different code commit or a dirty working tree is a warning, not an error.

Output folder (``reproduce/<entry>`` by default)::

    OUT/config.yaml                 the recorded config (the rerun's recipe)
    OUT/runs/seed-<k>/              training run folders
    OUT/report.json                 the report (``report-seed-<k>.json`` for ``seed=k``)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from landbench.core.errors import ConfigError, InvalidDataError, LandbenchError
from landbench.core.io import atomic_write_json, atomic_write_text
from landbench.evaluation.metrics import ALL_METRICS
from landbench.leaderboard.entries import MAX_RESULT_BYTES, TOLERANCE, dataset_seeds

ENVIRONMENT_IGNORED = frozenset({"commit", "dirty", "commit_source", "commit_reason"})
"""Provenance fields that are not the environment: the code's commit is compared separately (a
different commit is a warning), everything else (platform, versions, device) decides whether a
rerun must be bit-identical."""

REPORT_FORMAT = "landbench-rerun"
"""The ``format`` field of a rerun report."""


@dataclass(frozen=True)
class RecordedSeed:
    """One recorded score of a result.

    Attributes:
        seed: the training seed.
        evaluation: the evaluator's record (``EvaluationResult.to_dict()``).
        predictions_sha256: digest of the scored masks (leaderboard results only).
    """

    seed: int
    evaluation: Mapping[str, Any]
    predictions_sha256: str | None = None


@dataclass(frozen=True)
class RecordedResult:
    """What a result file records that a rerun needs.

    Attributes:
        path: the result file.
        kind: ``"leaderboard"`` or ``"evaluation"``.
        name: the entry (leaderboard) or the config name (evaluation): the default folder name.
        config: the full resolved training config (its own ``seed`` is one recorded seed).
        dataset: name of the scored dataset.
        split: the scored split.
        dataset_kwargs: options that rebuild the scored split; None: the config's data options.
        threshold: probability threshold of the scored masks.
        seeds: the recorded scores.
        provenance: the code and environment that scored it.
    """

    path: Path
    kind: str
    name: str
    config: Mapping[str, Any]
    dataset: str
    split: str
    dataset_kwargs: Mapping[str, Any] | None
    threshold: float
    seeds: tuple[RecordedSeed, ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)


def read_recorded(path: str | os.PathLike[str]) -> RecordedResult:
    """Read a leaderboard or evaluation result and what a rerun of it needs.

    Raises:
        InvalidDataError: if the file is not a readable landbench result.
        ConfigError: if it records no training config (a third-party submission, a mask-folder
            evaluation, or an evaluation whose weights file is gone).
    """
    from landbench.evaluation.result import RESULT_FORMAT
    from landbench.leaderboard.schema import read_document, schema_problems

    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"{path} is not a file; give table1, table2 or a result JSON (a leaderboard "
            "result or an evaluation result)."
        )
    doc = read_document(path, str(path), MAX_RESULT_BYTES)
    if isinstance(doc, dict) and doc.get("format") == RESULT_FORMAT:
        return _read_evaluation(path, doc)
    if isinstance(doc, dict) and doc.get("kind") == "recomputed":
        problems = schema_problems(doc, "result", str(path))
        if problems:
            raise InvalidDataError(f"{path} is not a valid leaderboard result: {problems[0]}")
        return _read_leaderboard(path, doc)
    raise InvalidDataError(
        f"{path} is neither a leaderboard result (`landbench leaderboard submit`) nor an "
        "evaluation result (`landbench evaluate`); give one of those."
    )


def _no_config(path: Path, what: str) -> ConfigError:
    return ConfigError(
        f"{path}: {what}, so it cannot be rerun. Only reference results with a recorded config "
        "can be rerun: a leaderboard result with submission.reference (written by `landbench "
        "demo`) or an evaluation of a run whose model.safetensors still exists. To check such a "
        "result's scores instead, run `landbench leaderboard render --check`."
    )


def _read_leaderboard(path: Path, doc: Mapping[str, Any]) -> RecordedResult:
    reference = doc["submission"].get("reference")
    config = reference.get("config") if isinstance(reference, Mapping) else None
    if not isinstance(config, Mapping):
        raise _no_config(
            path,
            f"entry {doc['entry']!r} is a submission of predicted masks without a recorded "
            "training config (submission.reference)",
        )
    dataset = str(config.get("data", {}).get("dataset"))
    if dataset not in doc["results"]:
        raise InvalidDataError(
            f"{path}: its config trains on {dataset!r} but the result scores "
            f"{sorted(doc['results'])}; the file is inconsistent."
        )
    result = doc["results"][dataset]
    seeds = tuple(
        RecordedSeed(int(config.get("seed", 0)) if seed is None else seed, ev, sha)
        for seed, sha, ev in dataset_seeds(result)
    )
    return RecordedResult(
        path=path,
        kind="leaderboard",
        name=str(doc["entry"]),
        config=config,
        dataset=dataset,
        split=str(result["split"]),
        dataset_kwargs=dict(result.get("dataset_kwargs", {})),
        threshold=0.5,  # the leaderboard scores masks; the demo predicts them at 0.5
        seeds=seeds,
        provenance=doc.get("provenance") or {},
    )


def _read_evaluation(path: Path, doc: Mapping[str, Any]) -> RecordedResult:
    from landbench.models.weights import read_metadata

    source = doc.get("source") or {}
    if source.get("kind") != "model" or not source.get("weights"):
        raise _no_config(path, "it scores a folder of predicted masks, which records no config")
    weights = Path(source["weights"])
    try:
        metadata = read_metadata(weights)
    except LandbenchError as err:
        raise _no_config(
            path,
            f"its config is recorded in the weights it scored, {weights}, which cannot be "
            f"read ({err})",
        ) from None
    config = metadata.get("training_config")
    if not isinstance(config, Mapping):
        raise _no_config(path, f"the weights it scored, {weights}, record no training config")
    seed = metadata.get("seed", config.get("seed", 0))
    given = source.get("dataset_kwargs")
    return RecordedResult(
        path=path,
        kind="evaluation",
        name=str(config.get("name", path.stem)),
        config=config,
        dataset=str(doc["dataset"]),
        split=str(doc["split"]),
        dataset_kwargs=dict(given) if isinstance(given, Mapping) else None,
        threshold=float(source.get("threshold", 0.5)),
        seeds=(RecordedSeed(int(seed), doc),),
        provenance=doc.get("provenance") or {},
    )


def _environment(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flattened provenance without the commit fields: ``{"versions.torch": "2.14.1", ...}``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if not prefix and key in ENVIRONMENT_IGNORED:
            continue
        if isinstance(value, Mapping):
            out.update(_environment(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def environment_differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """``"versions.torch: 2.3.0 -> 2.14.1"`` for each environment field that differs."""
    old, new = _environment(recorded), _environment(current)
    return [
        f"{key}: {old.get(key)} -> {new.get(key)}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _source_weights(config: Any, seed: int, recorded_seed: int) -> Path:
    """The source weights of a transfer config for ``seed``.

    The recorded path belongs to ``recorded_seed``; other seeds of a reference result start from
    the source run of their own seed, which ``landbench reproduce`` and the demo keep in a
    sibling ``seed-<k>`` folder.
    """
    path = Path(config.transfer.weights).expanduser()
    if seed != recorded_seed:
        parts = [f"seed-{seed}" if p == f"seed-{recorded_seed}" else p for p in path.parts]
        path = Path(*parts)
    if not path.is_file():
        raise ConfigError(
            f"Seed {seed} of {config.name} starts from source weights {path}, which do not exist "
            "here. Rerun the source result first (or train its recipe with this seed) so that "
            "those weights exist, then rerun this one."
        )
    return path.resolve()


def _load_split(recorded: RecordedResult, cfg: Any) -> Any:
    """The scored split, rebuilt as the result was scored (real data under ``cfg.data.root``)."""
    import landbench
    from landbench.leaderboard.submission import load_test_split

    if recorded.kind == "leaderboard":  # as `landbench leaderboard submit` loaded it
        return load_test_split(recorded.dataset, recorded.dataset_kwargs, root=cfg.data.root)
    kwargs = recorded.dataset_kwargs
    if kwargs is None and recorded.dataset == cfg.data.dataset:
        kwargs = cfg.data.dataset_kwargs  # `landbench evaluate` of the run's own data
    return landbench.load(
        recorded.dataset, split=recorded.split, root=cfg.data.root, **dict(kwargs or {})
    )


def _check_manifest(recorded: RecordedResult, dataset: Any) -> None:
    want = recorded.seeds[0].evaluation.get("manifest_sha256")
    if dataset.manifest.sha256 != want:
        raise ConfigError(
            f"{recorded.path} was scored on {recorded.dataset}/{recorded.split} with manifest "
            f"sha256 {str(want)[:16]}..., but the split rebuilt here has "
            f"{dataset.manifest.sha256[:16]}... (split version {dataset.manifest.version}): "
            "another dataset copy or split version. Point --root at the data it was scored on."
        )


def _compare(
    recorded: RecordedSeed, rerun: Any, sha: str | None, same_environment: bool
) -> dict[str, Any]:
    """One seed's comparison: every metric, the interval, the verdict and whether it holds."""
    stored = recorded.evaluation
    old = {m: stored["metrics"].get(m) for m in ALL_METRICS}
    new = {m: _finite(rerun.metrics[m]) for m in ALL_METRICS}
    diff = {m: None if old[m] is None or new[m] is None else new[m] - old[m] for m in ALL_METRICS}
    counts_equal = rerun.counts.to_dict() == {
        k: stored["counts"][k] for k in ("tp", "fp", "fn", "tn")
    }
    identical = counts_equal and all(
        (old[m] is None and new[m] is None) or (diff[m] is not None and abs(diff[m]) <= TOLERANCE)
        for m in ALL_METRICS
    )
    low, high = stored["intervals"]["f1"]
    inside = None not in (low, high, new["f1"]) and low <= new["f1"] <= high
    verdict = "identical" if identical else ("inside" if inside else "outside")
    return {
        "recorded": old,
        "rerun": new,
        "difference": diff,
        "f1_interval": [low, high],
        "confidence": stored.get("bootstrap", {}).get("confidence", 0.95),
        "counts_equal": counts_equal,
        "predictions_identical": None
        if recorded.predictions_sha256 is None
        else sha == recorded.predictions_sha256,
        "verdict": verdict,
        "reproduced": identical or (inside and not same_environment),
    }


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _write_config(out: Path, config: Any) -> Path:
    """Write the recorded config as ``OUT/config.yaml``; never replace another config."""
    path = out / "config.yaml"
    text = config.to_yaml()
    if path.exists():
        if path.read_text(encoding="utf-8") != text:
            raise ConfigError(
                f"{path} holds another config than the one {config.name} records: {out} is the "
                "rerun of another result. Choose another --out, or remove that folder."
            )
        return path
    return atomic_write_text(path, text)


def rerun_result(
    result: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    seed: int | None = None,
    root: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    progress: bool = True,
    train_fn: Callable[..., Path] | None = None,
) -> dict[str, Any]:
    """Rerun a result from its recorded config and seeds and compare it with what it records.

    Args:
        result: a leaderboard result or an evaluation result JSON (see the module docstring).
        out_dir: folder of the rerun (default ``reproduce/<entry or config name>``).
        seed: rerun only this recorded seed (default: every recorded seed).
        root: folder of a real dataset (replaces the recorded ``data.root``).
        device: torch device of the predictions.
        progress: show progress bars.
        train_fn: the training function (default :func:`landbench.training.train`).

    Returns:
        The report (also written atomically to ``OUT/report.json``): ``result``, ``kind``,
        ``name``, ``out``, ``commit`` (recorded, current, same), ``dirty``, ``environment``
        (same, differences), ``tolerance``, ``seeds`` (per seed: ``seed``, ``run_dir``,
        ``recorded``, ``rerun``, ``difference`` per metric, ``f1_interval``, ``verdict``,
        ``reproduced``), ``reproduced`` (every seed) and ``warnings``.

    Raises:
        ConfigError: a result without a recorded config, an unknown seed, missing source
            weights, a split that differs from the scored one, or a folder of another rerun.
        InvalidDataError: an unreadable result file.
    """
    from landbench.core.provenance import provenance
    from landbench.evaluation import evaluate_predictions, predict_masks
    from landbench.experiments.scheduler import one_thread, run_or_reuse
    from landbench.inference.predictor import Predictor
    from landbench.leaderboard.scoring import predictions_sha256
    from landbench.training.config import check_resources, load_config

    recorded = read_recorded(result)
    cfg = load_config(dict(recorded.config))
    chosen = _choose_seeds(recorded, seed)
    out = Path(out_dir) if out_dir is not None else Path("reproduce") / recorded.name
    overrides: list[str] = []
    if root is not None:
        overrides.append(f"data.root={Path(root).expanduser().resolve()}")
    if not progress:
        overrides.append("trainer.progress_bar=false")  # display only: runs stay reusable
    # Everything that can fail on input is checked before any training.
    dataset = _load_split(recorded, load_config(cfg, overrides))
    _check_manifest(recorded, dataset)
    plans = []
    for item in chosen:
        extra = [*overrides, f"seed={item.seed}"]
        if cfg.transfer.weights is not None:
            extra.append(f"transfer.weights={_source_weights(cfg, item.seed, cfg.seed)}")
        check_resources(load_config(cfg, extra), str(recorded.path))
        plans.append((item, extra))

    scoring_device = "cpu" if recorded.kind == "leaderboard" else device
    current = provenance(scoring_device)
    differences = environment_differences(recorded.provenance, current)
    report = _header(recorded, out, current, differences)
    config_path = _write_config(out, cfg)
    for item, extra in plans:
        with one_thread():  # as the demo trains and scores every reference run
            run_dir = run_or_reuse(config_path, out / "runs" / f"seed-{item.seed}", extra, train_fn)
            predictor = Predictor.from_run(run_dir, device=device)
            masks = predict_masks(
                predictor, dataset, threshold=recorded.threshold, progress=progress
            )
        rerun = evaluate_predictions(masks, dataset, progress=progress)
        compared = _compare(item, rerun, predictions_sha256(masks), not differences)
        report["seeds"].append({"seed": item.seed, "run_dir": str(run_dir), **compared})
    report["reproduced"] = all(s["reproduced"] for s in report["seeds"])
    name = "report.json" if seed is None else f"report-seed-{seed}.json"
    report["report"] = str(out / name)
    atomic_write_json(out / name, report)
    return report


def _choose_seeds(recorded: RecordedResult, seed: int | None) -> Sequence[RecordedSeed]:
    if seed is None:
        return recorded.seeds
    chosen = [s for s in recorded.seeds if s.seed == seed]
    if not chosen:
        raise ConfigError(
            f"{recorded.path} records no seed {seed}; it records seed(s) "
            f"{', '.join(str(s.seed) for s in recorded.seeds)}."
        )
    return chosen


def _header(
    recorded: RecordedResult, out: Path, current: Mapping[str, Any], differences: list[str]
) -> dict[str, Any]:
    """The report's fields that do not depend on the rerun: code, environment, warnings."""
    commit = recorded.provenance.get("commit")
    warnings = []
    if commit != current.get("commit"):
        warnings.append(
            f"the code differs from the recorded commit ({commit} recorded, "
            f"{current.get('commit')} here): a difference may come from the code."
        )
    if current.get("dirty"):
        warnings.append(
            "the working tree has uncommitted changes to tracked files (outside leaderboard/)."
        )
    return {
        "format": REPORT_FORMAT,
        "result": str(recorded.path),
        "kind": recorded.kind,
        "name": recorded.name,
        "out": str(out),
        "commit": {
            "recorded": commit,
            "current": current.get("commit"),
            "same": commit == current.get("commit"),
        },  # fmt: skip
        "dirty": {"recorded": recorded.provenance.get("dirty"), "current": current.get("dirty")},
        "environment": {"same": not differences, "differences": differences},
        "tolerance": TOLERANCE,
        "seeds": [],
        "warnings": warnings,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The report as text: code, environment, one line per seed, the overall verdict."""
    commit = report["commit"]
    same = "the same as" if commit["same"] else "DIFFERENT from"
    dirty = {True: "dirty", False: "clean", None: "unknown"}[report["dirty"]["current"]]
    env = report["environment"]
    lines = [
        f"rerun of {report['name']} ({report['kind']} result {report['result']}) in "
        f"{report['out']}",
        f"code: commit {commit['current']} ({same} the recorded {commit['recorded']}); "
        f"working tree {dirty}",
    ]
    if env["same"]:
        lines.append(
            "environment: same as recorded (platform, versions, device): the rerun must be "
            f"identical (every metric within {report['tolerance']:g})"
        )
    else:
        lines.append(
            "environment: differs from recorded (" + "; ".join(env["differences"]) + "): the "
            "rerun must fall inside the recorded 95% interval of pooled F1"
        )
    lines += [f"warning: {w}" for w in report["warnings"]]
    lines += ["", "seed  F1 recorded  F1 rerun  difference  95% interval          verdict"]
    for s in report["seeds"]:
        low, high = s["f1_interval"]
        note = "" if s["reproduced"] else "  NOT REPRODUCED"
        if s["verdict"] != "identical" and env["same"]:
            note += " (same environment, not identical)"
        lines.append(
            f"{s['seed']:<4}  {_num(s['recorded']['f1'])}     {_num(s['rerun']['f1'])}  "
            f"{_num(s['difference']['f1'], signed=True)}   [{_num(low)}, {_num(high)}]  "
            f"{s['verdict']}{note}"
        )
        others = [(abs(d), m) for m, d in s["difference"].items() if m != "f1" and d is not None]
        if others:
            worst, metric = max(others)
            lines.append(f"      other metrics: largest |difference| {worst:.2e} ({metric})")
    lines += ["", f"reproduced: {'yes' if report['reproduced'] else 'NO'}"]
    if "report" in report:
        lines.append(f"wrote {report['report']}")
    return "\n".join(lines)


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "   n/a  "
    return f"{value:+.6f}" if signed else f"{value:.6f}"
