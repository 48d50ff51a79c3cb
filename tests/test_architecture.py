"""The architecture of docs/architecture.md, checked: layers, no cycles, small modules."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "landbench"
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_layers_contract_is_kept() -> None:
    exe = shutil.which("lint-imports")
    if exe is None:  # pragma: no cover - installed by the test extras
        pytest.fail("lint-imports is missing: pip install -e '.[test]' installs import-linter")
    proc = subprocess.run(
        [exe, "--config", str(PACKAGE.parent / "pyproject.toml")],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_import_cycles() -> None:
    import grimp

    # Imports under ``if TYPE_CHECKING:`` never run; annotations may name a sibling's types.
    graph = grimp.build_graph("landbench", cache_dir=None, exclude_type_checking_imports=True)
    modules = sorted(graph.modules)
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(imported=module, importer=imported):
                cycles.append((module, imported))
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_over_600_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_imports_through_importlib() -> None:
    """Imports are statements the layer checker can see; importlib hides them."""
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "import_module":
                offenders.append(str(path.relative_to(PACKAGE.parent)))
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
                offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert not offenders, f"importlib imports in {sorted(set(offenders))}"


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from landbench.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("False")
