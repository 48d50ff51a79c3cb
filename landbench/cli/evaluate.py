"""``landbench evaluate`` and ``landbench reproduce``."""

from __future__ import annotations

import argparse
from pathlib import Path

from landbench.cli.options import parse_set_options
from landbench.core.errors import ConfigError

WRITTEN_BY = "landbench evaluate"
"""The ``written_by`` field of the result files ``landbench evaluate`` writes: a rerun replaces a
file that holds it, and never any other file."""


def _out_path(args: argparse.Namespace) -> Path | None:
    """Where the result goes: ``--out``, else the evaluated run folder, else nowhere."""
    if args.out:
        return Path(args.out)
    if args.model is not None and Path(args.model).is_dir():
        return Path(args.model) / f"evaluation-{args.dataset}-{args.split}.json"
    return None


def _check_replaceable(path: Path) -> None:
    """Refuse to write over anything but a result an earlier ``landbench evaluate`` wrote.

    Raises:
        ConfigError: if ``path`` is a folder, or an existing file without the
            :data:`WRITTEN_BY` marker (checked before anything is computed).
    """
    import json

    if path.is_dir():
        raise ConfigError(f"--out {path} is a folder; give a file name such as result.json.")
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("written_by") != WRITTEN_BY:
        raise ConfigError(
            f"{path} exists and was not written by `landbench evaluate`; it is left untouched. "
            "Choose another --out, or move that file away."
        )


def _evaluate(args: argparse.Namespace) -> int:
    import landbench
    from landbench.core.io import atomic_write_json
    from landbench.evaluation.evaluate import evaluate_model, evaluate_predictions

    kwargs = parse_set_options(args.set)
    out = _out_path(args)
    if out is not None:
        _check_replaceable(out)
    dataset = landbench.load(args.dataset, split=args.split, root=args.root, **kwargs)
    progress = not args.no_progress
    if args.model is not None:
        result = evaluate_model(
            args.model, dataset, device=args.device, threshold=args.threshold, progress=progress
        )
    else:
        result = evaluate_predictions(args.predictions, dataset, progress=progress)
    if kwargs:
        result.source["dataset_kwargs"] = kwargs
    if out is not None:  # before printing: output may be piped
        atomic_write_json(out, {**result.to_dict(), "written_by": WRITTEN_BY})
    print(result.format_table())
    if out is not None:
        print(f"\nwrote {out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import landbench
    from landbench.evaluation.evaluate import predict_masks
    from landbench.leaderboard import write_prediction_folder

    kwargs = parse_set_options(args.set)
    dataset = landbench.load(args.dataset, split=args.split, root=args.root, **kwargs)
    masks = predict_masks(
        args.model,
        dataset,
        device=args.device,
        threshold=args.threshold,
        progress=not args.no_progress,
    )
    folder = write_prediction_folder(masks, args.out)
    print(f"wrote {len(masks)} masks (<id>.png, values 0/255) to {folder}")
    return 0


TABLE_ONLY = {
    "--dataset": "synth",
    "--seeds": 1,
    "--configs": None,
    "--set": None,
    "--quick": False,
}
"""Options of ``reproduce table1|table2`` (with their defaults) that a result rerun refuses: it
runs what the result records."""


def _table_or_result(value: str) -> str:
    """The ``reproduce`` positional: a table name, or what looks like a result file."""
    if value in ("table1", "table2") or value.endswith(".json") or Path(value).is_file():
        return value
    raise argparse.ArgumentTypeError(
        f"invalid choice: {value!r} (choose table1 or table2, or give a result .json file)"
    )


def _rerun(args: argparse.Namespace) -> int:
    """``landbench reproduce RESULT.json``: exit 0 when reproduced, 1 when not."""
    import contextlib
    import json
    import sys

    given = [flag for flag, default in TABLE_ONLY.items() if getattr(args, flag[2:]) != default]
    if given:
        raise ConfigError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to `reproduce "
            "table1|table2` only; a result is rerun "
            "with the config and seeds it records (choose one with --seed)."
        )
    from landbench.experiments.rerun import format_report, rerun_result

    # With --json, stdout carries the report only: training's progress lines go to stderr.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        report = rerun_result(
            args.table,
            args.out,
            seed=args.seed,
            root=args.root,
            device=args.device,
            progress=not args.no_progress,
        )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if report["reproduced"] else 1


def _reproduce(args: argparse.Namespace) -> int:
    if args.table not in ("table1", "table2"):
        return _rerun(args)
    if args.seed is not None or args.json:
        raise ConfigError("--seed and --json apply to `reproduce RESULT.json` only.")
    from landbench.experiments.reproduce import reproduce_table

    frame = reproduce_table(
        args.table,
        dataset=args.dataset,
        seeds=args.seeds,
        out_dir=args.out,
        root=args.root,
        overrides=tuple(args.set or ()),
        quick=args.quick,
        device=args.device,
        progress=not args.no_progress,
        config_dir=args.configs,
    )
    from landbench.evaluation.tables import to_markdown

    print(to_markdown(frame))
    out = Path(frame.attrs["out_dir"])
    written = sorted(p.name for p in out.glob(f"{args.table}*") if p.is_file())
    print(f"\nwrote to {out}: {', '.join(written)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate``, ``predict`` and ``reproduce`` commands."""
    p = subparsers.add_parser(
        "evaluate",
        help="score a model or a folder of predicted masks on a dataset split",
        description=(
            "Score a trained model (run folder or .safetensors) or a folder of predicted masks "
            "(one single-band <id>.png per sample, values {0,1} or {0,255}) on a split and print "
            "a table. The JSON result (counts, metrics, bootstrap intervals, split version and "
            "manifest sha256, provenance) is written to --out, or, for a run folder, to "
            "RUN/evaluation-DATASET-SPLIT.json; a rerun replaces a result that landbench "
            "evaluate wrote, never another file."
        ),
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", metavar="RUN_OR_WEIGHTS", help="run folder or .safetensors")
    source.add_argument("--predictions", metavar="DIR", help="folder of <id>.png masks")
    p.add_argument("--dataset", required=True, help="dataset name, e.g. bijie, hokkaido, synth")
    p.add_argument("--split", default="test", help="split to score (default: test)")
    p.add_argument("--root", default=None, help="dataset root folder")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="dataset option, repeatable (e.g. --set preset=hokkaido)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="result JSON (default: RUN/evaluation-DATASET-SPLIT.json for a run folder, "
        "else none: print only)",
    )
    p.add_argument("--device", default="cpu", help="torch device for --model (default: cpu)")
    p.add_argument("--threshold", type=float, default=0.5, help="probability threshold (--model)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_evaluate)

    q = subparsers.add_parser(
        "predict",
        help="write a model's predicted masks for a split as <id>.png (for a submission)",
        description=(
            "Predict every tile of a split with a trained model (run folder or .safetensors) at "
            "its native size and write one single-band PNG per sample (0 background, 255 "
            "landslide): the input of `landbench evaluate --predictions` and "
            "`landbench leaderboard init`."
        ),
    )
    q.add_argument("--model", required=True, metavar="RUN_OR_WEIGHTS")
    q.add_argument("--dataset", required=True, help="dataset name, e.g. bijie, hokkaido, synth")
    q.add_argument("--split", default="test", help="split to predict (default: test)")
    q.add_argument("--root", default=None, help="dataset root folder")
    q.add_argument("--set", action="append", metavar="KEY=VALUE", help="dataset option")
    q.add_argument("--out", required=True, type=Path, help="new folder for the masks")
    q.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    q.add_argument("--threshold", type=float, default=0.5, help="probability threshold")
    q.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    q.set_defaults(func=_predict)

    r = subparsers.add_parser(
        "reproduce",
        help="rerun the paper's Table 1 or 2, or one result from its recorded config and seeds",
        description=(
            "table1|table2: train every cell of the paper's table from baselines/configs, select "
            "on validation, evaluate on test, and write the table (Markdown, CSV, LaTeX) with the "
            "published values beside the recomputed ones. RESULT.json (a reference leaderboard "
            "result or an evaluation result of a run): retrain each recorded seed from the "
            "recorded config, score the same split and print recorded, rerun and difference per "
            "seed; exit 0 when reproduced (identical in the recorded environment, inside the "
            "recorded 95% interval elsewhere), 1 when not, 2 for bad input."
        ),
    )
    r.add_argument("table", metavar="table1|table2|RESULT.json", type=_table_or_result)
    r.add_argument(
        "--dataset",
        default="synth",
        choices=("synth", "bijie", "real"),
        help="synth: the embedded LandslideSynth presets (default); bijie or real: the real "
        "Bijie (table1) and Hokkaido (table2) data under --root",
    )
    r.add_argument("--seeds", type=int, default=1, help="seeds per cell (default: 1)")
    r.add_argument(
        "--root", default=None, help="folder of the real datasets (sets data.root of every recipe)"
    )
    r.add_argument(
        "--out",
        default=None,
        help="output folder (default: reproduce/synth or reproduce/real; for a result, "
        "reproduce/<entry>)",
    )
    r.add_argument(
        "--configs", default=None, help="folder of the recipes (default: baselines/configs)"
    )
    r.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="training config override for every run, repeatable (e.g. trainer.max_epochs=2)",
    )
    r.add_argument("--quick", action="store_true", help="tiny models, few epochs: a smoke run")
    r.add_argument("--device", default="cpu", help="torch device for evaluation")
    r.add_argument("--no-progress", action="store_true", help="hide progress bars")
    r.add_argument(
        "--seed", type=int, default=None, help="RESULT.json: rerun only this recorded seed"
    )
    r.add_argument("--json", action="store_true", help="RESULT.json: print the report as JSON")
    r.set_defaults(func=_reproduce)
