"""The ``landbench`` command line: one module per command group, assembled in :mod:`.main`."""

from landbench.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
