"""``landbench leaderboard init|validate|submit|render``."""

from __future__ import annotations

import argparse
import json

from landbench.cli.options import parse_set_options


def _init(args: argparse.Namespace) -> int:
    from landbench.leaderboard.submission import init_submission

    out = init_submission(
        args.dataset,
        args.predictions,
        args.out,
        root=args.root,
        dataset_kwargs=parse_set_options(args.set),
        entry=args.entry,
    )
    print(f"Wrote submission {out}.")
    print(
        f"Next: replace every 'FILL ME' in {out / 'submission.json'}, then run "
        f"`landbench leaderboard validate {out}`."
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from landbench.leaderboard.submission import validate_submission

    sub = validate_submission(args.submission, root=args.root, leaderboard_dir=args.leaderboard_dir)
    for name, dataset in sorted(sub.datasets.items()):
        print(
            f"{name}: {len(sub.predictions[name])} masks for the test split "
            f"{dataset.manifest.version} (manifest {dataset.manifest.sha256[:12]})."
        )
    print(f"Submission {args.submission} (entry {sub.entry!r}) is valid.")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from landbench.leaderboard.scoring import submit

    path = submit(args.submission, args.leaderboard_dir, root=args.root, progress=not args.quiet)
    record = json.loads(path.read_text(encoding="utf-8"))
    for name, result in sorted(record["results"].items()):
        metrics, intervals = result["evaluation"]["metrics"], result["evaluation"]["intervals"]
        low, high = intervals["f1"]
        print(f"{name}: pooled F1 {metrics['f1']:.4f} [{low:.4f}, {high:.4f}]")
    print(f"Wrote {path}. Run `landbench leaderboard render` to update the tables.")
    return 0


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
