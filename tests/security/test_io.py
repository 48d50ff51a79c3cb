"""Atomic writes keep the umask's permissions; killed runs leave nothing a later run trusts.

Issue 16 items 10 (results written 0600 whatever the umask) and 12 (a killed ``hub build``
leaves a hidden ``.partial`` folder behind).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from landbench.cli import main
from landbench.core.io import (
    PARTIAL_MARKER,
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
)


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_files_and_folders_get_the_umask_permissions(tmp_path, umask):
    f = atomic_write_bytes(tmp_path / "a.bin", b"x")
    assert mode(f) == 0o666 & ~umask
    g = atomic_write_json(tmp_path / "a.bin", {"a": 1})  # replacing keeps the rule
    assert mode(g) == 0o666 & ~umask
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "inner.txt").write_text("x")
        assert (tmp / PARTIAL_MARKER).is_file()
    assert mode(tmp_path / "out") == 0o777 & ~umask
    assert sorted(os.listdir(tmp_path / "out")) == ["inner.txt"]  # the marker is gone
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "out"]


def test_leaderboard_result_and_pages_follow_the_umask(tmp_path, umask, submission):
    board = tmp_path / "board"
    assert (
        main(["leaderboard", "submit", str(submission), "--leaderboard-dir", str(board), "-q"]) == 0
    )
    result = board / "results" / "honest.json"
    assert mode(result) == 0o666 & ~umask
    assert main(["leaderboard", "render", "--leaderboard-dir", str(board)]) == 0
    pages = [p for p in board.iterdir() if p.is_file()]
    assert pages and all(mode(p) == 0o666 & ~umask for p in pages), [
        (p, oct(mode(p))) for p in pages
    ]


KILLED_BUILD = """
import os, sys
import landbench.hub.build as build
real = build._write_split
def killed(*args, **kwargs):
    out = real(*args, **kwargs)
    os.kill(os.getpid(), 9)  # as `kill -9` or the OOM killer would, mid-build
    return out
build._write_split = killed
from landbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def hub_build(out: Path) -> list[str]:
    return [
        "hub",
        "build",
        "--dataset",
        "synth",
        "--set",
        "n=20",
        "--set",
        "size=32",
        "--out",
        str(out),
    ]


def test_killed_hub_build_is_cleaned_by_the_next_one(tmp_path, capsys, caplog):
    out = tmp_path / "build"
    run = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD, *hub_build(out)], capture_output=True, text=True
    )
    assert run.returncode == -9, run.stderr
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".build.landbench-partial-")]
    assert len(left) == 1 and (left[0] / PARTIAL_MARKER).is_file()
    assert not out.exists()  # nothing a later command would trust
    foreign = tmp_path / ".build.landbench-partial-1-notours"
    foreign.mkdir()  # no ownership marker: never removed
    (foreign / "keep.txt").write_text("x")
    caplog.set_level("WARNING", logger="landbench")
    assert main(hub_build(out)) == 0
    assert "interrupted landbench run" in caplog.text and left[0].name in caplog.text
    assert not left[0].exists()
    assert (foreign / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == [foreign.name, "build"]
    assert json.loads((out / "landbench_build.json").read_text())["num_examples"] == 20


def test_partial_of_a_live_run_is_left_alone(tmp_path):
    live = tmp_path / f".out.landbench-partial-{os.getpid()}-x"
    live.mkdir()
    (live / PARTIAL_MARKER).write_text(
        json.dumps({"pid": os.getpid(), "host": os.uname().nodename})
    )
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "a").write_text("1")
    assert live.is_dir()


def test_interrupted_replacement_restores_the_previous_folder(tmp_path):
    """Killed between the two renames of an overwrite: the old version comes back."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    old = tmp_path / f".out.landbench-old-{pid}"
    old.mkdir()
    (old / "v1.txt").write_text("previous")
    with pytest.raises(Exception, match="already exists"):
        with atomic_directory(tmp_path / "out"):
            pass
    assert (tmp_path / "out" / "v1.txt").read_text() == "previous"


def test_stale_temporary_file_is_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".r.json.landbench-{int(dead.stdout)}-abc.tmp"
    stale.write_text("half")
    other = tmp_path / ".r.json.x.tmp"  # not named for landbench: kept
    other.write_text("y")
    atomic_write_json(tmp_path / "r.json", {})
    assert not stale.exists() and other.exists()
