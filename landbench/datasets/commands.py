"""``landbench datasets ...`` and ``landbench cite``."""

from __future__ import annotations

import argparse


def _list(args: argparse.Namespace) -> int:
    from landbench.datasets.registry import list_datasets

    for name in list_datasets():
        print(name)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``datasets`` command group."""
    datasets = subparsers.add_parser("datasets", help="list, inspect, verify and fetch datasets")
    sub = datasets.add_subparsers(dest="datasets_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="list dataset names")
    p.set_defaults(func=_list)
