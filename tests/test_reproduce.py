"""``reproduce_table`` / ``landbench reproduce``: the protocol, reuse of runs, tables, figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import yaml

from landbench.cli import main
from landbench.core.errors import ConfigError
from landbench.evaluation.reported import TABLE1, TABLE2, reported_rows
from landbench.evaluation.tables import latex_escape, to_csv, to_latex, to_markdown
from landbench.experiments.reproduce import reproduce_table, summarize

CONFIGS = Path(__file__).resolve().parents[1] / "baselines" / "configs"
NORM = {"bands": ["R", "G", "B", "DEM"], "mean": [90, 100, 80, 400], "std": [40, 40, 40, 150]}
SMALL = ("data.dataset_kwargs.size=32", "data.dataset_kwargs.n=40")


# Tiny models run fastest single-threaded on a shared 2-core machine (fixture in conftest).
pytestmark = pytest.mark.usefixtures("one_thread")


class FakeTrain:
    """Writes a complete run folder (untrained tiny weights) instantly and records each call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, config: Path, out_dir: Path, overrides=(), resume: bool = False) -> Path:
        from landbench.models import create_model, save_weights
        from landbench.training.config import load_config

        cfg = load_config(config, overrides)
        self.calls.append({"config": Path(config).stem, "overrides": list(overrides),
                           "resume": resume})  # fmt: skip
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg.seed)
        model = create_model(cfg.model.name, **cfg.model.kwargs)
        save_weights(model, out_dir / "model.safetensors", {"normalization": NORM})
        (out_dir / "config.yaml").write_text(cfg.to_yaml())
        run = {"status": "completed", "best_metrics": {"val_f1": 0.5}, "seed": cfg.seed}
        (out_dir / "run.json").write_text(json.dumps(run))
        return out_dir


@pytest.fixture
def fake() -> FakeTrain:
    return FakeTrain()


def run_table(table: str, out: Path, fake: FakeTrain, **kwargs: Any) -> pd.DataFrame:
    kwargs.setdefault("overrides", SMALL)
    return reproduce_table(
        table, "synth", out_dir=out, quick=True, progress=False, config_dir=CONFIGS,
        train_fn=fake, **kwargs,
    )  # fmt: skip


def test_table1_protocol_and_outputs(tmp_path: Path, fake: FakeTrain) -> None:
    frame = run_table("table1", tmp_path, fake, seeds=2)
    assert len(fake.calls) == 12
    assert sorted({c["config"] for c in fake.calls}) == sorted(f"synth-{c.config}" for c in TABLE1)
    assert sorted(c["overrides"][-1] for c in fake.calls) == ["seed=0"] * 6 + ["seed=1"] * 6
    assert all("trainer.max_epochs=1" in c["overrides"] for c in fake.calls)  # quick mode
    assert list(frame["reported_f1"]) == [c.f1 for c in TABLE1]
    assert list(frame["n_seeds"]) == [2] * 6
    assert frame["f1_mean"].between(0, 1).all() and (frame["f1_std"] >= 0).all()
    for suffix in (".md", ".csv", ".tex", "-runs.csv", "-f1.png", "-figure2.png"):
        assert (tmp_path / f"table1{suffix}").is_file(), suffix
    runs = pd.read_csv(tmp_path / "table1-runs.csv")
    assert len(runs) == 12 and set(runs["seed"]) == {0, 1}
    one = json.loads(Path(runs["result"][0]).read_text())
    assert one["split"] == "test" and one["dataset"] == "synth"
    assert one["manifest_sha256"] == runs["manifest_sha256"][0]
    md = (tmp_path / "table1.md").read_text()
    assert "F1 (reported, paper)" in md and "F1 pooled (recomputed)" in md
    assert "does not state how its F1 was pooled" in md
    assert "0.850" in md and "Residual Unet" in md
    # The per-cell mean equals the mean of the per-run results.
    cell = runs[runs["key"] == "resunet-mixup"]["f1"].mean()
    assert frame.set_index("key").loc["resunet-mixup", "f1_mean"] == pytest.approx(cell, abs=1e-6)


def test_table2_transfers_the_bijie_weights_and_reuses_runs(tmp_path: Path, fake) -> None:
    frame = run_table("table2", tmp_path, fake)
    source = tmp_path / "runs" / "synth-bijie-fusionnet-resunet-mixup" / "seed-0"
    expected = f"transfer.weights={(source / 'model.safetensors').resolve()}"
    for call in fake.calls:
        has = expected in call["overrides"]
        assert has == (call["config"] in ("synth-hokkaido-pretrained", "synth-hokkaido-finetune"))
    assert list(frame["row"]) == ["From scratch", "Without fine tuning", "With fine tuning"]
    assert list(frame["reported_f1"]) == [0.79, 0.832, 0.84]
    assert "39 / 14 / 15" in (tmp_path / "table2.md").read_text()
    assert (tmp_path / "table2-figure3.png").is_file()
    # A rerun reuses every completed run; Table 1 reuses the Bijie source run of Table 2.
    n = len(fake.calls)
    run_table("table2", tmp_path, fake)
    assert len(fake.calls) == n
    run_table("table1", tmp_path, fake)
    trained = [c["config"] for c in fake.calls[n:]]
    assert len(trained) == 5 and "synth-bijie-fusionnet-resunet-mixup" not in trained


def test_table2_alone_trains_its_source_first(tmp_path: Path, fake) -> None:
    run_table("table2", tmp_path, fake)
    assert [c["config"] for c in fake.calls] == [
        "synth-hokkaido-scratch",
        "synth-bijie-fusionnet-resunet-mixup",
        "synth-hokkaido-pretrained",
        "synth-hokkaido-finetune",
    ]


def test_a_run_of_another_config_is_never_overwritten(tmp_path: Path, fake) -> None:
    run_table("table2", tmp_path, fake)
    before = (tmp_path / "runs" / "synth-hokkaido-scratch" / "seed-0" / "config.yaml").read_text()
    with pytest.raises(ConfigError, match="holds a run of another config"):
        run_table("table2", tmp_path, fake, overrides=(*SMALL, "optim.lr=0.5"))
    after = (tmp_path / "runs" / "synth-hokkaido-scratch" / "seed-0" / "config.yaml").read_text()
    assert before == after


def test_weights_that_no_longer_load_are_not_reused(tmp_path: Path, fake) -> None:
    run_table("table2", tmp_path, fake)
    weights = tmp_path / "runs" / "synth-hokkaido-scratch" / "seed-0" / "model.safetensors"
    weights.write_bytes(b"not safetensors")
    with pytest.raises(ConfigError, match="Cannot reuse .*synth-hokkaido-scratch"):
        run_table("table2", tmp_path, fake)
    assert weights.read_bytes() == b"not safetensors"  # never deleted or overwritten


def test_an_interrupted_run_is_resumed(tmp_path: Path, fake) -> None:
    run_table("table2", tmp_path, fake)
    run_json = tmp_path / "runs" / "synth-hokkaido-finetune" / "seed-0" / "run.json"
    run_json.write_text(json.dumps({"status": "interrupted"}))
    n = len(fake.calls)
    run_table("table2", tmp_path, fake)
    assert fake.calls[n:] == [
        {"config": "synth-hokkaido-finetune", "overrides": fake.calls[n]["overrides"],
         "resume": True}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"table": "table3"}, "Unknown table"),
        ({"dataset": "mars"}, "Unknown dataset"),
        ({"seeds": 0}, "seeds must be a positive integer"),
        ({"config_dir": "/nonexistent"}, "Missing recipe"),
        ({"overrides": ("trainer.nonsense=1",)}, "nonsense"),
    ],
)
def test_bad_arguments_fail_before_training(tmp_path: Path, fake, kwargs, match) -> None:
    args = {"table": "table2", "dataset": "synth", "seeds": 1, "config_dir": CONFIGS, **kwargs}
    with pytest.raises(ConfigError, match=match):
        reproduce_table(out_dir=tmp_path / "out", train_fn=fake, progress=False, **args)
    assert fake.calls == [] and not (tmp_path / "out").exists()


def test_real_data_needs_its_root(tmp_path: Path, fake) -> None:
    with pytest.raises(ConfigError, match="data.root"):
        reproduce_table("table1", "bijie", root=tmp_path / "missing", out_dir=tmp_path / "o",
                        config_dir=CONFIGS, train_fn=fake)  # fmt: skip
    assert fake.calls == []


def test_cli_reproduce(tmp_path: Path, monkeypatch, capsys) -> None:
    fake = FakeTrain()
    monkeypatch.setattr("landbench.training.runner.train", fake)
    monkeypatch.chdir(CONFIGS.parents[1])
    out = tmp_path / "out"
    argv = ["reproduce", "table2", "--dataset", "synth", "--quick", "--out", str(out),
            "--no-progress", "--set", SMALL[0], "--set", SMALL[1]]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Without fine tuning" in printed and "F1 (reported, paper)" in printed
    assert (out / "table2.tex").is_file()
    with pytest.raises(SystemExit):
        main(["reproduce", "table9"])


def test_tables_render_reported_and_recomputed() -> None:
    runs = [
        {"key": c.key, "dataset": "synth", "f1": 0.5 + 0.01 * s, "iou": 0.3, "precision": 0.5,
         "recall": 0.5, "mean_f1_empty_as_1": 0.8, "mean_f1_landslide_tiles": 0.4,
         "f1_ci_low": 0.4, "f1_ci_high": 0.6}
        for c in TABLE1 for s in range(3)
    ]  # fmt: skip
    frame = summarize("table1", runs, "synth")
    assert frame["f1_mean"].tolist() == pytest.approx([0.51] * 6)
    assert frame["f1_std"].tolist() == pytest.approx([0.01] * 6)
    md = to_markdown(frame)
    assert "| VGG | No Mixup | 0.738 | 0.510 ± 0.010 |" in md
    assert "LandslideSynth" in md
    tex = to_latex(frame)
    assert r"0.510 $\pm$ 0.010" in tex and r"\toprule" in tex and r"Lissak \& Corpetti" in tex
    parsed = pd.read_csv(pd.io.common.StringIO(to_csv(frame)))
    assert parsed["reported_f1"].tolist() == [c.f1 for c in TABLE1]
    assert latex_escape("a_b & 50% #1") == r"a\_b \& 50\% \#1"


def test_reported_rows_are_labelled() -> None:
    rows = reported_rows()
    assert len(rows) == 9 and all(r["kind"] == "reported" for r in rows)
    assert {r["f1"] for r in rows if r["table"] == "table2"} == {0.79, 0.832, 0.84}


def test_every_recipe_of_both_tables_exists() -> None:
    for cell in (*TABLE1, *TABLE2):
        for stem in (cell.config, f"synth-{cell.config}"):
            data = yaml.safe_load((CONFIGS / f"{stem}.yaml").read_text())
            assert data["name"] == stem


@pytest.mark.slow
def test_table2_end_to_end_with_real_training(tmp_path: Path) -> None:
    frame = reproduce_table(
        "table2", "synth", out_dir=tmp_path, quick=True, progress=False, config_dir=CONFIGS,
        overrides=("data.dataset_kwargs.n=30", "trainer.limit_train_batches=1",
                   "trainer.limit_val_batches=1"),
    )  # fmt: skip
    assert frame["f1_mean"].between(0, 1).all()
    info = json.loads((tmp_path / "runs" / "synth-hokkaido-pretrained" / "seed-0" / "run.json")
                      .read_text())  # fmt: skip
    source = tmp_path / "runs" / "synth-bijie-fusionnet-resunet-mixup" / "seed-0"
    assert info["source_weights"]["path"] == str((source / "model.safetensors").resolve())
    assert info["status"] == "completed"
