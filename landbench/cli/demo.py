"""``landbench demo``: the whole benchmark, end to end, on the embedded synthetic data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from landbench.experiments.demo import DemoResult


def _print_summary(result: DemoResult) -> None:
    from landbench.experiments.demo import print_section

    print_section(f"Done in {result.seconds / 60:.1f} min")
    for stage, seconds in result.stages.items():
        print(f"  {stage:<34} {seconds:7.1f} s")
    for name, path in result.files.items():
        print(f"  {name:<18} {path}")
    for table in ("models", "table1", "table2", "transfer"):
        print()
        print(result.tables[table])


def _demo(args: argparse.Namespace) -> int:
    from landbench.experiments.demo import run_demo

    result = run_demo(
        args.out,
        quick=args.quick,
        progress=not args.no_progress,
        seeds=args.seeds,
        jobs=args.jobs,
        full=args.full,
    )
    _print_summary(result)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command."""
    p = subparsers.add_parser(
        "demo",
        help="run the whole benchmark end to end on the synthetic data (minutes, CPU, offline)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: tiny tiles, one short epoch per model"
    )
    p.add_argument(
        "--seeds", type=int, default=None, help="seeds per model (default 3; 1 with --quick)"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="runs trained at once, one single-threaded process each (default: one per CPU; "
        "the numbers do not depend on it)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="larger settings: the transfer matrix at the tables' budget (360 optimiser steps "
        "per cell, not 150) on 1,000 tiles per synthetic preset (2.4 times the matrix's steps)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=_demo)
