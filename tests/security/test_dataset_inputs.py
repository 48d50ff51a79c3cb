"""Dataset options are bounded before any work (issue 16 item 1: the memory bomb through ``n``).

A synth submission with ``dataset_kwargs.n = 10**30`` once made ``leaderboard validate`` grow to
tens of GB, because ``n`` had no bound and every id was built up front. Every numeric option of
LandslideSynth now has a documented bound checked before anything is generated or written, and
ids are computed per index.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

import landbench
from landbench.core.errors import ConfigError
from landbench.datasets.synth_export import export_bijie_layout
from landbench.datasets.synth_generator import generate_tile
from landbench.datasets.synth_presets import MAX_N, MAX_SEED, MAX_SIZE
from landbench.datasets.synthetic import LandslideSynth
from tests.security.conftest import assert_refused, edit_metadata

HOSTILE = [
    ({"n": 10**30}, "n must be an integer from 1 to 100000"),
    ({"n": MAX_N + 1}, f"from 1 to {MAX_N}"),
    ({"n": 0}, "n must be an integer from 1"),
    ({"n": 10.5}, "n must be an integer"),
    ({"n": "400"}, "n must be an integer"),
    ({"n": True}, "n must be an integer"),
    ({"size": 10**9}, f"size (height) must be an integer from 16 to {MAX_SIZE}"),
    ({"size": (32, 10**12)}, f"size (width) must be an integer from 16 to {MAX_SIZE}"),
    ({"size": [32, 32, 3]}, "size must be an integer or a pair"),
    ({"size": "x" * 10**6}, "size must be an integer or a pair"),
    ({"seed": 2**64}, f"seed must be an integer from 0 to {MAX_SEED}"),
    ({"seed": -1}, "seed must be an integer from 0"),
    ({"split_fractions": {"train": 2.0, "val": -1.0, "test": 0.0}}, "sum to 1"),
    ({"split_fractions": {"train": 1e308, "test": 1e308}}, "sum to 1"),
    ({"split_fractions": "train"}, "split_fractions must be a mapping"),
    ({"preset": "x" * 10**5}, "Unknown LandslideSynth preset"),
]


@pytest.mark.parametrize(("kwargs", "message"), HOSTILE)
def test_each_option_is_refused_with_its_bound(kwargs: dict, message: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as err:
            landbench.load("synth", split="test", **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert message in str(err.value)
    assert len(str(err.value)) < 300  # a huge value is not echoed whole
    assert peak < 4 * 2**20  # refused before any work: a few MB at most


def test_largest_n_costs_nothing_until_used() -> None:
    tracemalloc.start()
    try:
        ds = LandslideSynth(split="test", n=MAX_N, size=MAX_SIZE)
        sample_id = ds.sample_id(MAX_N - 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sample_id == "synth-bijie-s0-99999"
    assert "all_ids" not in ds.__dict__ and "manifest" not in ds.__dict__  # nothing built yet
    assert peak < 2**20
    assert ds._memory is None  # too large to keep in memory: tiles would be generated per read


def test_generator_index_and_seed_are_bounded() -> None:
    with pytest.raises(ConfigError, match=f"index must be an integer from 0 to {MAX_N - 1}"):
        generate_tile("bijie", 0, 10**30, 32)
    with pytest.raises(ConfigError, match="seed must be an integer"):
        generate_tile("bijie", 2**70, 0, 32)


def test_export_refuses_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="n must be an integer from 1 to 100000"):
        export_bijie_layout(tmp_path / "out", n=10**30)
    with pytest.raises(ConfigError, match="Bijie layout holds R, G, B and DEM only"):
        export_bijie_layout(tmp_path / "out", preset="landslide4sense", n=2)
    assert not (tmp_path / "out").exists()


def test_cli_export_with_a_huge_n_is_one_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["datasets", "export", "synth", "--to", str(tmp_path / "out"), "--n", str(10**30)]
    assert_refused(capsys, argv, "n must be an integer from 1 to 100000", watch=[tmp_path])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [("n", 10**30, str(MAX_N)), ("size", 10**9, str(MAX_SIZE))],
)
def test_submission_with_a_huge_dataset_option_is_refused(
    capsys: pytest.CaptureFixture[str], submission: Path, field: str, value: int, needle: str
) -> None:
    # The schema and the dataset class agree on the bounds (the schema refuses first).
    def spoil(meta: dict) -> None:
        meta["datasets"]["synth"]["dataset_kwargs"][field] = value

    edit_metadata(submission, spoil)
    assert json.loads((submission / "submission.json").read_text())["datasets"]["synth"]
    argv = ["leaderboard", "validate", str(submission)]
    assert_refused(capsys, argv, field, needle, watch=[submission])
