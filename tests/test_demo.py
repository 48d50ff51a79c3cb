"""`landbench demo --quick`: the whole pipeline end to end on tiny synthetic data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from landbench.cli import main
from landbench.experiments.demo import BASELINES, RESULT_COLUMNS, run_demo

CONFIGS = Path(__file__).resolve().parents[1] / "baselines" / "configs"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "out"
    return run_demo(out, quick=True, progress=False, config_dir=CONFIGS)


def test_demo_writes_every_output(demo) -> None:
    out = demo.out
    for name in ("results.csv", "table1.md", "table2.md", "models.md", "table1.tex"):
        assert (out / name).is_file(), name
    for name in ("models-f1.png", "precision-recall.png", "table1-figure2.png"):
        assert (out / "figures" / name).stat().st_size > 1000, name
    for name in ("README.md", "leaderboard.csv", "index.html"):
        assert (out / "leaderboard" / name).is_file(), name
    assert not list(out.glob("tmp*")), "temporary mask folders must be cleaned up"


def test_results_cover_both_tables_and_every_baseline(demo) -> None:
    with open(demo.out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    models = {(r["model"], r["mixup"]) for r in rows if r["preset"] == "bijie"}
    for backbone in ("resunet", "unet", "vgg16"):
        assert (f"fusionnet-{backbone}", "uniform") in models
        assert (f"fusionnet-{backbone}", "off") in models
    assert {name for name, _ in models} >= set(BASELINES)
    strategies = {r["strategy"] for r in rows if r["preset"] == "hokkaido"}
    assert strategies == {"scratch", "pretrained", "finetune"}
    assert all(0.0 <= float(r["f1"]) <= 1.0 for r in rows)
    assert "0.850" in demo.tables["table1"] and "0.840" in demo.tables["table2"]


def test_leaderboard_scores_equal_the_evaluator(demo) -> None:
    """Every recipe went through the leaderboard with all its seeds; the leaderboard's F1 of
    each seed, and their mean, equal the evaluator's."""
    with open(demo.out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    entries = sorted((demo.out / "leaderboard" / "results").glob("*.json"))
    configs = {r["config"] for r in rows}
    assert {p.stem for p in entries} == configs  # one entry per recipe, named synth-...
    assert all(p.stem.startswith("synth-") for p in entries)
    for path in entries:
        entry = json.loads(path.read_text())
        mine = {int(r["seed"]): float(r["f1"]) for r in rows if r["config"] == path.stem}
        summary = entry["results"]["synth"]["summary"]  # result schema 2: over seeds
        assert summary["n_seeds"] == len(mine)
        assert summary["f1_per_seed"] == pytest.approx([mine[s] for s in sorted(mine)], abs=1e-6), (
            path.name
        )
        assert summary["f1_mean"] == pytest.approx(sum(mine.values()) / len(mine), abs=1e-6)
        reference = entry["submission"]["reference"]
        assert reference["recipe"] == path.stem


def test_models_table_shows_seeds_and_synthetic_name(demo) -> None:
    assert "LandslideSynth" in demo.tables["models"]
    assert "mean ± std" in demo.tables["models"] and "F1 per seed" in demo.tables["models"]


def test_rerun_reuses_everything(demo, capsys) -> None:
    assert main(["demo", "--quick", "--no-progress", "--out", str(demo.out)]) == 0
    printed = capsys.readouterr().out
    assert "Every model on the synthetic Bijie preset" in printed
    assert "Table 1" in printed and "Table 2" in printed


def test_full_plans_the_matrix_at_the_tables_budget(tmp_path) -> None:
    """``--full`` runs every matrix cell 360 steps on 1,000 tiles per preset; not with --quick."""
    from landbench.core.errors import ConfigError
    from landbench.core.resources import resource_path
    from landbench.experiments.demo import matrix_arguments
    from landbench.experiments.transfer import plan_matrix
    from landbench.training.config import load_config

    common = dict(quick=False, progress=False, config_dir=resource_path("recipes"))
    default = plan_matrix(**matrix_arguments(tmp_path, 1, full=False, **common)).specs
    full = plan_matrix(**matrix_arguments(tmp_path, 1, full=True, **common)).specs
    assert [s.run_dir for s in full] == [s.run_dir for s in default]
    for spec in full:
        cfg = load_config(spec.config, spec.overrides)
        assert cfg.trainer.max_steps == 360 and cfg.data.dataset_kwargs["n"] == 1000
    for spec in default:
        cfg = load_config(spec.config, spec.overrides)
        assert cfg.trainer.max_steps == 150 and "n" not in cfg.data.dataset_kwargs
    with pytest.raises(ConfigError, match="--quick and --full"):
        matrix_arguments(tmp_path, 1, **{**common, "quick": True}, full=True)
