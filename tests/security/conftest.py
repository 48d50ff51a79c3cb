"""Helpers of the hostile-input suite: a clean submission to spoil, and a CLI refusal check.

Every hostile input must end in one clear message (``landbench: error: ...``) naming the field
or file, exit status 2, no traceback, and nothing written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import landbench
from landbench.cli import main

SYNTH = {"size": 32, "n": 40}
"""The synthetic test split every submission here predicts (8 tiles of 32x32)."""


@pytest.fixture(scope="session")
def synth_test():
    return landbench.load("synth", split="test", **SYNTH)


def v1_metadata(split: Any) -> dict[str, Any]:
    """A complete, valid schema-1 ``submission.json`` for the synthetic test split."""
    return {
        "schema_version": 1,
        "entry": "honest",
        "model": {"name": "Model", "description": "", "parameter_count": 1234},
        "team": "Team",
        "contact": "someone@example.org",
        "date": "2026-01-01",
        "paper_url": None,
        "code": {"url": "https://example.org/code", "commit": "0123abcd"},
        "license": "MIT",
        "landbench_version": landbench.__version__,
        "datasets": {
            "synth": {
                "split": "test",
                "split_version": split.manifest.version,
                "manifest_sha256": split.manifest.sha256,
                "dataset_kwargs": {"n": SYNTH["n"], "preset": "bijie", "seed": 0, "size": 32},
                "inputs": ["R", "G", "B", "DEM"],
                "training_data": "synth train split v1",
                "external_data": False,
                "pretrained_weights": "none",
            }
        },
    }


@pytest.fixture(scope="session")
def clean_submission(tmp_path_factory: pytest.TempPathFactory, synth_test: Any) -> Path:
    """A valid submission folder (ground-truth masks, {0, 255}); copy it before spoiling it."""
    folder = tmp_path_factory.mktemp("clean") / "submission"
    masks = folder / "predictions" / "synth"
    masks.mkdir(parents=True)
    for sample in synth_test:
        mask = sample["mask"].numpy().astype(np.uint8) * 255
        Image.fromarray(mask).save(masks / f"{sample['id']}.png")
    (folder / "submission.json").write_text(json.dumps(v1_metadata(synth_test), indent=2))
    return folder


@pytest.fixture
def submission(tmp_path: Path, clean_submission: Path) -> Path:
    """A private copy of the valid submission."""
    return Path(shutil.copytree(clean_submission, tmp_path / "submission"))


def edit_metadata(folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """Apply ``change`` to the folder's ``submission.json``."""
    path = folder / "submission.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))
    return folder


def snapshot(folders: Iterable[Path]) -> dict[str, tuple[int, int]]:
    """Every path under ``folders``: files with their size and modification time.

    A folder's own time is left out: a temporary folder made and removed inside it (as archives
    are unpacked) leaves nothing behind but changes that time.
    """
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")) if Path(folder).exists() else []:
            st = p.lstat()
            out[str(p)] = (0, 0) if p.is_dir() else (st.st_size, st.st_mtime_ns)
    return out


def assert_refused(
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    *needles: str,
    watch: Iterable[Path] = (),
) -> str:
    """Run the CLI; assert exit 2, one clear message holding ``needles``, nothing written."""
    watch = list(watch)
    before = snapshot(watch)
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out, err
    assert err.startswith("landbench: error: ") and err.count("landbench: error:") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert snapshot(watch) == before, "a refused command wrote or changed files"
    return err
