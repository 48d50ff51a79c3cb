"""``landbench compare A B``: paired bootstrap of the difference in pooled F1 of two models."""

from __future__ import annotations

import argparse


def _compare(args: argparse.Namespace) -> int:
    import json

    from landbench.evaluation.compare import compare

    result = compare(
        args.a,
        args.b,
        split=args.split,
        dataset=args.dataset,
        n_resamples=args.n_resamples,
        confidence=args.confidence,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        print(result.format())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    p = subparsers.add_parser(
        "compare",
        help="paired bootstrap: is model A's pooled F1 different from model B's?",
        description=(
            "Compare two models scored on the same test images: the difference in pooled F1 "
            "(A - B) with a paired bootstrap over images (the same draw for both models and "
            "every seed), its percentile interval and two-sided p-value, per seed pair and "
            "pooled over seeds (docs/protocol.md). A and B are evaluation results "
            "(`landbench evaluate --out`), leaderboard results, run folders holding "
            "evaluation-*-test.json, folders of such run folders (one per seed), or folders of "
            "seed-<k>.json evaluations (the demo's results/<config>)."
        ),
    )
    p.add_argument("a", help="model A: result JSON or run folder")
    p.add_argument("b", help="model B: result JSON or run folder")
    p.add_argument("--split", default="test", help="split of the run folders' evaluations")
    p.add_argument("--dataset", default=None, help="dataset of a multi-dataset leaderboard result")
    p.add_argument("--n-resamples", type=int, default=10000, help="bootstrap resamples (10000)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval coverage (0.95)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    p.set_defaults(func=_compare)
