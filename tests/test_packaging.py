"""The wheel is self-contained: package data, found through one function, and the build commit.

Builds an sdist and, from it, a wheel, exactly as ``python -m build`` does for a release (offline:
no build isolation, so nothing is downloaded), then checks the wheel's contents and runs the
unpacked wheel from an empty directory, away from the checkout.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import landbench
from landbench.core import provenance as prov
from landbench.core.errors import ConfigError
from landbench.core.resources import KINDS, ResourceNotFoundError, resource_path

ROOT = Path(landbench.__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    prov.checkout_root() is None, reason="packaging is tested from a source checkout"
)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def _shipped_files(folder: str) -> set[str]:
    """Files of ``folder`` (relative to the repository) that git tracks or would track."""
    listed = _git("ls-files", "--cached", "--others", "--exclude-standard", "--", folder)
    return {line for line in listed.splitlines() if (ROOT / line).is_file()}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sdist and a wheel built from it, in a fresh folder."""
    out = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)]
    done = subprocess.run(build, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel_names(dist: Path) -> set[str]:
    (wheel,) = dist.glob("landbench-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


@pytest.fixture(scope="module")
def unpacked(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel unpacked into a folder outside any git checkout (what pip install writes)."""
    (wheel,) = dist.glob("landbench-*.whl")
    target = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(target)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("kind", [k for k, spec in KINDS.items() if spec.checkout])
def test_top_level_data_ships_in_the_wheel(kind: str, wheel_names: set[str]) -> None:
    spec = KINDS[kind]
    files = _shipped_files(spec.checkout)
    if kind == "recipes":
        files = {f for f in files if f.endswith((".yaml", ".md"))}
    assert files, f"nothing to ship in {spec.checkout}"
    expected = {f"landbench/{spec.package}/{Path(f).name}" for f in files}
    assert expected <= wheel_names, sorted(expected - wheel_names)


@pytest.mark.slow
def test_every_data_file_of_the_package_ships(wheel_names: set[str]) -> None:
    # Schemas, templates, split id lists: everything in landbench/ that is not Python code.
    data = {f for f in _shipped_files("landbench") if not f.endswith((".py", ".pyi"))}
    assert any("/schema/" in f for f in data)
    assert data <= wheel_names, sorted(data - wheel_names)
    assert not any(name.startswith("landbench/datasets_cards/") for name in wheel_names)


@pytest.mark.slow
def test_wheel_records_the_commit_it_was_built_from(dist: Path) -> None:
    (wheel,) = dist.glob("landbench-*.whl")
    info = json.loads(zipfile.ZipFile(wheel).read(f"landbench/{prov.BUILD_INFO_NAME}"))
    # Built through the sdist: the sdist carried the record written from git.
    assert info["commit"] == _git("rev-parse", "HEAD")
    assert info["dirty"] is prov.provenance()["dirty"]
    (sdist,) = dist.glob("landbench-*.tar.gz")
    assert sdist.stat().st_size > 0


def _run_unpacked(unpacked: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(unpacked)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_unpacked_wheel_finds_its_data_and_commit(unpacked: Path, tmp_path: Path) -> None:
    code = (
        "import json, landbench\n"
        "from landbench.core.resources import KINDS, resource_path\n"
        "from landbench.core.provenance import provenance\n"
        "found = {}\n"
        "for kind in KINDS:\n"
        "    try:\n"
        "        found[kind] = str(resource_path(kind))\n"
        "    except FileNotFoundError:\n"
        "        found[kind] = None\n"
        "print(json.dumps({'file': landbench.__file__, 'found': found,\n"
        "                  'card': str(resource_path('cards', 'synth.md')),\n"
        "                  'provenance': provenance()}))\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _run_unpacked(unpacked, empty, "-c", code)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert Path(out["file"]).is_relative_to(unpacked)
    for kind in ("recipes", "reported", "cards", "schema"):
        assert Path(out["found"][kind]).is_relative_to(unpacked / "landbench"), kind
    for kind, path in out["found"].items():
        # A kind the checkout has (templates, split lists once they exist) the wheel has too.
        has_in_checkout = (ROOT / "landbench" / KINDS[kind].package).is_dir() or (
            KINDS[kind].checkout and (ROOT / KINDS[kind].checkout).is_dir()
        )
        assert (path is not None) == bool(has_in_checkout), kind
    assert out["provenance"]["commit"] == _git("rev-parse", "HEAD")
    assert out["provenance"]["commit_source"] == "build"


@pytest.mark.slow
def test_unpacked_wheel_renders_a_leaderboard_outside_the_checkout(
    unpacked: Path, tmp_path: Path
) -> None:
    board = tmp_path / "board"
    shutil.copytree(ROOT / "leaderboard", board)
    for rendered in ("index.html", "leaderboard.csv"):
        (board / rendered).unlink(missing_ok=True)
    done = _run_unpacked(
        unpacked,
        tmp_path,
        "-m",
        "landbench",
        "leaderboard",
        "render",
        "--leaderboard-dir",
        str(board),
    )
    assert done.returncode == 0, done.stderr
    html = (board / "index.html").read_text()
    assert "<table" in html


def test_build_hook_copies_what_resources_looks_up() -> None:
    # setup.py cannot import landbench (build isolation has no torch): its table must match KINDS.
    tree = ast.parse((ROOT / "setup.py").read_text())
    (table,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DATA_FOLDERS"
    ]
    copied = {src: dest for src, (dest, _) in ast.literal_eval(table).items()}
    expected = {s.checkout: f"landbench/{s.package}" for s in KINDS.values() if s.checkout}
    assert copied == expected


def test_resource_path_in_a_checkout() -> None:
    assert resource_path("recipes") == ROOT / "baselines" / "configs"
    assert resource_path("reported", "lissak_corpetti_igarss2024.json").is_file()
    assert resource_path("cards", "bijie.md") == ROOT / "datasets_cards" / "bijie.md"


def test_resource_path_prefers_the_installed_copy(tmp_path: Path) -> None:
    package = tmp_path / "site" / "landbench"
    (package / "_data" / "recipes").mkdir(parents=True)
    (package / "_data" / "recipes" / "a.yaml").write_text("x: 1\n")
    (tmp_path / "site" / "baselines" / "configs").mkdir(parents=True)
    assert resource_path("recipes", "a.yaml", package_dir=package) == (
        package / "_data" / "recipes" / "a.yaml"
    )


def test_missing_resources_say_what_to_do(tmp_path: Path) -> None:
    package = tmp_path / "landbench"
    package.mkdir()
    with pytest.raises(ResourceNotFoundError, match="reinstall landbench"):
        resource_path("recipes", package_dir=package)
    with pytest.raises(ResourceNotFoundError, match=r"'nope.yaml'.*available: .*unet"):
        resource_path("recipes", "nope.yaml")
    with pytest.raises(ConfigError, match="choose one of"):
        resource_path("weights")


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    (command,) = [
        line.split("#")[0].strip()
        for line in readme.splitlines()
        if line.startswith("pip install") and "pytest" in line
    ][:1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert command in [line.strip() for line in ci]
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
