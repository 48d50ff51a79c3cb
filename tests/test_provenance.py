"""Provenance: the commit of the landbench code, its dirty flag, versions and device."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import landbench
from landbench.core import provenance as prov


def _git(root: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    done = subprocess.run([*cmd, *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git checkout holding a ``landbench`` package and a ``leaderboard/`` folder."""
    root = tmp_path / "repo"
    (root / "landbench").mkdir(parents=True)
    (root / "leaderboard").mkdir()
    (root / "landbench" / "__init__.py").write_text("x = 1\n")
    (root / "leaderboard" / "result.json").write_text("{}\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "init")
    return root


def _fresh_state(package_dir: Path) -> dict:
    prov.checkout_root.cache_clear()
    prov.git_state.cache_clear()
    return prov.code_state(package_dir)


def test_provenance_of_this_checkout_matches_git() -> None:
    record = prov.provenance(device="cpu")
    root = Path(landbench.__file__).resolve().parents[1]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert record["commit"] == head
    assert record["commit_source"] == "git"
    assert isinstance(record["dirty"], bool)
    assert record["versions"]["landbench"] == landbench.__version__
    assert record["versions"]["numpy"] == np.__version__
    assert record["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert record["device"] == "cpu"
    assert json.loads(json.dumps(record)) == record


def test_torch_device_is_recorded_as_text() -> None:
    torch = pytest.importorskip("torch")
    assert prov.provenance(torch.device("cpu"))["device"] == "cpu"
    assert prov.provenance()["device"] is None
    assert prov.provenance()["versions"]["torch"] == torch.__version__.split("+")[0]


def test_dirty_ignores_leaderboard_and_untracked_files(repo: Path) -> None:
    package = repo / "landbench"
    state = _fresh_state(package)
    assert state == {
        "commit": _git(repo, "rev-parse", "HEAD"),
        "dirty": False,
        "commit_source": "git",
    }
    (repo / "leaderboard" / "result.json").write_text('{"f1": 0.5}\n')
    (repo / "untracked.py").write_text("y = 2\n")
    assert _fresh_state(package)["dirty"] is False
    (package / "__init__.py").write_text("x = 2\n")
    assert _fresh_state(package)["dirty"] is True


def test_git_is_asked_once_per_process(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_state(repo / "landbench")
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting(args: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(prov.subprocess, "run", counting)
    for _ in range(3):
        prov.code_state(repo / "landbench")
    assert calls == []


def test_installed_build_reads_build_info(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "landbench"
    package.mkdir(parents=True)
    commit = "0123456789abcdef0123456789abcdef01234567"
    (package / prov.BUILD_INFO_NAME).write_text(json.dumps({"commit": commit, "dirty": True}))
    state = _fresh_state(package)
    assert state == {"commit": commit, "dirty": True, "commit_source": "build"}


def test_wheel_installed_inside_another_repository_is_not_that_repository(repo: Path) -> None:
    # A virtualenv inside some git work tree: the package's files are not tracked there.
    package = repo / "venv" / "site-packages" / "landbench"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    assert prov.checkout_root.__wrapped__(package) is None
    state = _fresh_state(package)
    assert state["commit"] is None


@pytest.mark.parametrize("content", [None, "not json", '{"commit": "0.1.0"}'])
def test_no_commit_says_why(tmp_path: Path, content: str | None) -> None:
    package = tmp_path / "landbench"
    package.mkdir()
    if content is not None:
        (package / prov.BUILD_INFO_NAME).write_text(content)
    state = _fresh_state(package)
    assert state["commit"] is None and state["dirty"] is None
    assert prov.BUILD_INFO_NAME in state["commit_reason"]
    assert str(package) in state["commit_reason"]


def test_provenance_does_not_import_torch() -> None:
    code = (
        "import sys; from landbench.core.provenance import provenance; provenance(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
