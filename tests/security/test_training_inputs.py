"""Hostile or mistaken training inputs end in one clear message (exit 2), never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from landbench.cli import main

RECIPE = {
    "name": "tiny",
    "data": {
        "dataset": "synth",
        "batch_size": 4,
        "eval_batch_size": 4,
        "patch_size": 32,
        "dataset_kwargs": {"preset": "bijie", "size": 32, "n": 40},
    },
    "model": {"name": "fusionnet-resunet", "kwargs": {"size": "tiny"}},
    "trainer": {
        "max_epochs": 2,
        "accelerator": "cpu",
        "devices": 1,
        "progress_bar": False,
        "early_stopping_patience": None,
        "limit_train_batches": 1,
    },
}


@pytest.fixture()
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("_one_thread")
def test_resume_with_fewer_epochs_than_done_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(json.dumps(RECIPE), encoding="utf-8")  # JSON is YAML
    run = tmp_path / "run"
    assert main(["train", "--config", str(recipe), "--out", str(run)]) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}

    argv = ["train", "--config", str(recipe), "--out", str(run), "--resume"]
    assert main([*argv, "--trainer.max_epochs", "1"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    assert len(err.splitlines()) == 1, err
    assert "already trained 2 epochs" in err and "--trainer.max_epochs 2 or more" in err
    after = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before  # nothing touched
