"""``landbench transfer``: the cross-dataset transfer matrix."""

from __future__ import annotations

import argparse


def _transfer(args: argparse.Namespace) -> int:
    from landbench.experiments.transfer import DEFAULT_DOMAINS, transfer_matrix

    matrix = transfer_matrix(
        domains=tuple(args.datasets or DEFAULT_DOMAINS),
        seeds=args.seeds,
        out_dir=args.out,
        quick=args.quick,
        progress=args.progress,
        config_dir=args.configs,
        synthetic=args.synthetic,
        root=args.root,
        overrides=tuple(args.set or ()),
        zero_shot_normalization=args.zero_shot_normalization,
        device=args.device,
    )
    print(matrix.to_markdown())
    written = ", ".join(str(p) for p in matrix.paths.values())
    print(f"wrote {written}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``transfer`` command."""
    p = subparsers.add_parser(
        "transfer",
        help="cross-dataset transfer matrix: train on each source, test zero-shot and "
        "fine-tuned on each target",
        description=(
            "Train the transfer recipe on each domain (in-domain scratch, the diagonal), apply "
            "each source's weights to every other target unchanged (zero-shot, normalised with "
            "the source's train statistics unless --zero-shot-normalization target) and "
            "fine-tune them there with the same optimiser steps and schedule as scratch. Every "
            "model reads the bands all domains share. Each cell is the mean ± std over seeds of "
            "pooled test F1 with the mean 95%% bootstrap interval; pairs whose masks share a "
            "landslide event are marked. Writes OUT/transfer.md|.csv|.tex, transfer-runs.csv "
            "and the heatmap transfer.png; completed runs are reused."
        ),
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        default=None,
        help="domains (default: bijie hokkaido landslide4sense); with --synthetic, preset names",
    )
    p.add_argument(
        "--synthetic",
        action="store_true",
        help="use the LandslideSynth presets shaped like the datasets (CPU, no download)",
    )
    p.add_argument("--root", default=None, help="folder of the real datasets (data.root)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per cell (default: 3)")
    p.add_argument(
        "--out", default=None, help="output folder (default: transfer/synth or transfer/real)"
    )
    p.add_argument(
        "--zero-shot-normalization",
        choices=("source", "target"),
        default="source",
        help="whose train statistics normalise zero-shot cells (default: source)",
    )
    p.add_argument(
        "--configs", default=None, help="folder of the recipes (default: baselines/configs)"
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="training config override for every run, repeatable (e.g. trainer.max_steps=50)",
    )
    p.add_argument("--quick", action="store_true", help="tiny models, few steps: a smoke run")
    p.add_argument("--device", default="cpu", help="torch device for evaluation")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show progress bars (default: on)",
    )
    p.set_defaults(func=_transfer)
