"""``landbench leaderboard init|validate|submit|render|check``."""

from __future__ import annotations

import argparse
import json

from landbench.cli.options import parse_set_options


def _init(args: argparse.Namespace) -> int:
    from landbench.leaderboard.scaffold import init_submission

    out = init_submission(
        args.dataset,
        args.predictions,
        args.out,
        root=args.root,
        dataset_kwargs=parse_set_options(args.set),
        entry=args.entry,
        seeds=_seeds(args.seeds),
    )
    print(f"Wrote submission {out}.")
    print(
        f"Next: replace every 'FILL ME' in {out / 'submission.json'}, then run "
        f"`landbench leaderboard validate {out}`."
    )
    return 0


def _seeds(text: str | None) -> list[int] | None:
    """``"0,1,2"`` -> ``[0, 1, 2]``."""
    from landbench.core.errors import ConfigError

    if text is None:
        return None
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"--seeds expects comma-separated integers such as 0,1,2, not {text!r}."
        ) from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds expects non-negative integers such as 0,1,2, not {text!r}.")
    return seeds


def _check(args: argparse.Namespace) -> int:
    from landbench.leaderboard.audit import check_leaderboard

    paths = check_leaderboard(args.leaderboard_dir)
    print(
        f"{len(paths)} reference result(s) in {args.leaderboard_dir} were made by code in this "
        "repository's history with the shipped recipes."
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from landbench.leaderboard.submission import validate_submission

    sub = validate_submission(args.submission, root=args.root, leaderboard_dir=args.leaderboard_dir)
    for name, dataset in sorted(sub.datasets.items()):
        seeds = sub.predictions[name]
        per_seed = "" if list(seeds) == [None] else f" for each of seeds {sorted(seeds)}"
        print(
            f"{name}: {len(dataset.ids)} masks{per_seed} for the test split "
            f"{dataset.manifest.version} (manifest {dataset.manifest.sha256[:12]})."
        )
    print(f"Submission {args.submission} (entry {sub.entry!r}) is valid.")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from landbench.leaderboard.scoring import submit

    path = submit(args.submission, args.leaderboard_dir, root=args.root, progress=not args.quiet)
    record = json.loads(path.read_text(encoding="utf-8"))
    for name, result in sorted(record["results"].items()):
        for item in result["seeds"]:
            ev = item["evaluation"]
            low, high = ev["intervals"]["f1"]
            seed = "" if item["seed"] is None else f" seed {item['seed']}"
            print(
                f"{name}{seed}: pooled F1 {_num(ev['metrics']['f1'])} [{_num(low)}, {_num(high)}]"
            )
        summary = result["summary"]
        if summary["n_seeds"] > 1:
            print(
                f"{name}: pooled F1 over {summary['n_seeds']} seeds {_num(summary['f1_mean'])} "
                f"± {_num(summary['f1_std'])}"
            )
    print(f"Wrote {path}. Run `landbench leaderboard render` to update the tables.")
    return 0


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _render(args: argparse.Namespace) -> int:
    from landbench.leaderboard.rendering import render

    paths = render(args.leaderboard_dir, check=args.check)
    verb = "up to date" if args.check else "written"
    for path in paths:
        print(f"{path}: {verb}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``leaderboard`` command group."""
    lb = subparsers.add_parser(
        "leaderboard",
        help="scaffold, validate, score and render leaderboard submissions",
        description="Submissions carry predicted masks, never scores: every figure on the "
        "leaderboard is recomputed by the evaluator.",
    )
    sub = lb.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)

    p = sub.add_parser("init", help="scaffold a submission from a folder of predicted masks")
    p.add_argument("--dataset", required=True, help="dataset name, e.g. bijie, hokkaido, synth")
    p.add_argument("--predictions", required=True, help="folder with one <id>.png per test sample")
    p.add_argument("--out", required=True, help="submission folder to create (must not exist)")
    p.add_argument("--root", help="folder of the dataset's raw files (real datasets)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="dataset option to record, repeatable (e.g. --set size=32 --set n=40 for synth)",
    )
    p.add_argument("--entry", help="entry name, if already chosen (else marked FILL ME)")
    p.add_argument(
        "--seeds",
        metavar="N,N,...",
        help="training seeds: PREDICTIONS holds one seed-<N>/ folder of masks per seed "
        "(submission schema 2); without it, PREDICTIONS holds one seed's masks",
    )
    p.set_defaults(func=_init)

    p = sub.add_parser("validate", help="check a submission and list every problem")
    p.add_argument("submission", help="submission folder or .zip")
    p.add_argument("--root", help="folder of the datasets' raw files (real datasets)")
    p.add_argument(
        "--leaderboard-dir",
        default=None,
        help="also refuse an entry name already used in this leaderboard folder",
    )
    p.set_defaults(func=_validate)

    p = sub.add_parser("submit", help="validate, recompute every score and add the result")
    p.add_argument("submission", help="submission folder or .zip")
    p.add_argument("--root", help="folder of the datasets' raw files (real datasets)")
    p.add_argument("--leaderboard-dir", default="leaderboard", help="leaderboard folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_submit)

    p = sub.add_parser("render", help="write README.md, leaderboard.csv and index.html")
    p.add_argument("--leaderboard-dir", default="leaderboard", help="leaderboard folder")
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if an entry is invalid or a rendered file is out of date",
    )
    p.set_defaults(func=_render)

    p = sub.add_parser(
        "check",
        help="refuse reference results not made by this repository's code and recipes",
        description="In a git checkout: every result under LEADERBOARD/results/ must record a "
        "code commit in the repository's history and a config equal to its shipped recipe.",
    )
    p.add_argument("--leaderboard-dir", default="leaderboard", help="leaderboard folder")
    p.set_defaults(func=_check)
