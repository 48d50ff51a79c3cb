"""``landbench --help`` stays fast: it imports no heavy library (command handlers import them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "torchvision", "torchgeo", "lightning", "segmentation_models_pytorch", "timm")
"""Libraries whose import alone takes seconds; none of them is needed to print help."""

PROBE = """
import json, sys
from landbench.cli import main
try:
    main({argv!r})
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print(json.dumps({{"code": code, "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _probe(argv: list[str]) -> dict:
    code = PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], []])
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    result = _probe(argv)
    assert result["heavy"] == []
    assert result["code"] in (0, 2)  # help exits 0; no command prints usage and exits 2


def test_help_of_every_command_group_imports_no_heavy_library() -> None:
    from landbench.cli.main import build_parser

    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.choices and a.dest != "help"]
    for group in subparsers.choices:
        result = _probe([group, "--help"])
        assert result == {"code": 0, "heavy": []}, group


def test_help_lists_every_command_group() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "landbench", "--help"], capture_output=True, text=True, check=True
    )
    from landbench.cli.main import build_parser

    (subparsers,) = [a for a in build_parser()._actions if a.choices and a.dest != "help"]
    for group in subparsers.choices:
        assert group in done.stdout
