"""The ``landbench`` command line.

Each command group lives beside the code it drives and exposes ``register(subparsers)``; this
module only assembles them, so a newcomer finds a command's code next to its library. Command
modules import heavy libraries (torch, lightning) inside their handlers, keeping ``--help`` fast.
Handlers return an exit code; a :class:`~landbench.core.errors.LandbenchError` is printed as one
clear line (no traceback) with exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from landbench._version import __version__
from landbench.cli import (
    check_data,
    compare,
    datasets,
    demo,
    evaluate,
    hub,
    leaderboard,
    models,
    train,
    transfer,
)
from landbench.core.errors import LandbenchError

# Command groups, in the order ``--help`` lists them. Each module is light at import time (heavy
# libraries load inside its handlers), so ``landbench --help`` stays fast.
COMMAND_MODULES: tuple[ModuleType, ...] = (
    datasets,  # datasets list|info|verify|download|import|export, cite
    check_data,  # check-data
    models,  # models list|info
    train,  # train
    evaluate,  # evaluate, predict, reproduce
    compare,  # compare
    transfer,  # transfer
    leaderboard,  # leaderboard init|validate|submit|render|check
    hub,  # hub build|validate|push
    demo,  # demo
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered command group."""
    parser = argparse.ArgumentParser(
        prog="landbench",
        description="Reproducible benchmark for landslide segmentation from RGB + DEM.",
    )
    parser.add_argument("--version", action="version", version=f"landbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Configure landbench's own logger only: Lightning installs its own handler, and a root
    # handler here would print each of its lines twice.
    package_logger = logging.getLogger("landbench")
    if not any(getattr(h, "_landbench_cli", False) for h in package_logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._landbench_cli = True  # type: ignore[attr-defined]
        package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except LandbenchError as err:
        print(f"landbench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("landbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head` that exited early: not an error of ours. Point stdout
        # at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
