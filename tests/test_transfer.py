"""The cross-dataset transfer matrix (``landbench transfer``) on tiny synthetic domains."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from landbench.core.errors import ConfigError
from landbench.experiments.transfer import (
    Domain,
    resolve_domain,
    shared_bands,
    shared_events,
    transfer_matrix,
)

DOMAINS = ("hokkaido", "landslide4sense")
# Tiny tiles, few of them, one step budget: the quick overrides plus a smaller dataset.
TINY = ("data.dataset_kwargs.n=40",)


def _quick(out: Path, overrides: tuple[str, ...] = TINY, **kwargs):
    """The quick matrix over :data:`DOMAINS` with one seed into ``out``."""
    options = {"domains": DOMAINS, "seeds": 1, "quick": True, "progress": False}
    return transfer_matrix(
        out_dir=out, synthetic=True, overrides=overrides, **{**options, **kwargs}
    )


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("transfer")
    started = time.perf_counter()
    result = _quick(out)
    print(f"quick 2x2 transfer matrix, 1 seed: {time.perf_counter() - started:.1f} s")
    return result, out


def _run_json(out: Path, pair: str, strategy: str) -> dict:
    path = out / "runs" / pair / strategy / "seed-0" / "run.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_table_shape_and_files(matrix) -> None:
    result, out = matrix
    frame = result.frame
    # 2 diagonal scratch cells + 2 off-diagonal pairs x (zero-shot, finetune).
    assert len(frame) == 6
    assert sorted(frame["strategy"].value_counts().items()) == [
        ("finetune", 2),
        ("scratch", 2),
        ("zero-shot", 2),
    ]
    assert (frame["n_seeds"] == 1).all()
    assert frame["f1_mean"].between(0, 1).all()
    assert (frame["f1_ci_low"] <= frame["f1_mean"] + 1e-12).all()
    assert (frame["f1_mean"] <= frame["f1_ci_high"] + 1e-12).all()
    assert result.bands == ("R", "G", "B", "DEM")
    assert set(result.paths) == {"md", "csv", "tex", "runs", "figure"}
    for path in result.paths.values():
        assert path.is_file() and path.stat().st_size > 0
    assert result.paths["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(result.paths["csv"])
    assert len(csv) == 6 and {"source", "target", "strategy", "f1_mean"} <= set(csv.columns)
    runs = pd.read_csv(result.paths["runs"])
    assert len(runs) == 6
    for _, row in runs.iterrows():
        strategy = {"scratch": "scratch", "zero-shot": "pretrained", "finetune": "finetune"}
        folder = out / "runs" / f"{row.source}-to-{row.target}" / strategy[row.strategy]
        assert (folder / "seed-0" / "model.safetensors").is_file()
        assert Path(row.result).is_file()
    # The diagonal is one scratch run per domain; the table's cell is its test F1.
    cell = result.cell("hokkaido", "hokkaido")
    # Against the run table itself: its CSV above keeps only 6 decimals.
    frame_runs = result.runs
    scratch = frame_runs[(frame_runs.source == "hokkaido") & (frame_runs.strategy == "scratch")]
    assert cell["f1_mean"] == pytest.approx(float(scratch["f1"].iloc[0]))
    markdown = result.to_markdown()
    assert markdown == result.paths["md"].read_text(encoding="utf-8")
    assert "Zero-shot (source statistics)" in markdown and "Fine-tuned (equal budget)" in markdown
    assert "| hokkaido | **" in markdown  # the diagonal is bold
    assert "\\begin{tabular}" in result.paths["tex"].read_text(encoding="utf-8")


def test_equal_budget_and_notes(matrix) -> None:
    result, out = matrix
    scratch = _run_json(out, "hokkaido-to-hokkaido", "scratch")
    finetune = _run_json(out, "landslide4sense-to-hokkaido", "finetune")
    assert scratch["optimizer_steps"] == finetune["optimizer_steps"] > 0
    for key in ("trainer", "optim"):
        assert scratch["config"][key] == finetune["config"][key]
    assert finetune["config"]["transfer"]["lr_scale"] == 1.0
    assert finetune["config"]["transfer"]["freeze_encoders_epochs"] == 0
    notes = " ".join(result.notes)
    assert "trainer.max_steps=" in notes and "Optimiser steps run: scratch 2, fine-tune 2" in notes
    assert "SOURCE's train statistics" in notes


def test_zero_shot_uses_source_weights_and_statistics(matrix) -> None:
    _, out = matrix
    source = _run_json(out, "hokkaido-to-hokkaido", "scratch")
    target = _run_json(out, "landslide4sense-to-landslide4sense", "scratch")
    zero_shot = _run_json(out, "hokkaido-to-landslide4sense", "pretrained")
    source_weights = out / "runs" / "hokkaido-to-hokkaido" / "scratch" / "seed-0"
    assert zero_shot["strategy"] == "pretrained"
    assert zero_shot["source_weights"]["path"] == str(
        (source_weights / "model.safetensors").resolve()
    )
    assert zero_shot["config"]["data"]["dataset_kwargs"]["preset"] == "landslide4sense"
    # Normalised with the source's statistics, which differ from the target's own.
    assert zero_shot["normalization"]["mean"] == source["normalization"]["mean"]
    assert zero_shot["normalization"]["mean"] != target["normalization"]["mean"]
    # Fine-tuning starts from the same source weights, normalised with the target's statistics.
    finetune = _run_json(out, "hokkaido-to-landslide4sense", "finetune")
    assert finetune["source_weights"]["path"] == zero_shot["source_weights"]["path"]
    assert finetune["normalization"]["mean"] == target["normalization"]["mean"]


def test_dependent_pair_is_marked(matrix) -> None:
    result, _ = matrix
    frame = result.frame
    off = frame[~frame["in_domain"]]
    assert off["dependent"].all() and (off["shared_events"] == "iburi-2018").all()
    assert not frame[frame["in_domain"]]["dependent"].any()
    assert "]†" in result.to_markdown()
    assert any("not independent" in n and "iburi-2018" in n for n in result.notes)
    assert "$^\\dagger$" in result.paths["tex"].read_text(encoding="utf-8")


def test_rerun_reuses_runs_and_results(matrix, monkeypatch: pytest.MonkeyPatch) -> None:
    result, out = matrix

    def no_training(*args, **kwargs):
        raise AssertionError("a completed run was trained again")

    def no_scoring(*args, **kwargs):
        raise AssertionError("a written result was scored again")

    monkeypatch.setattr("landbench.evaluation.evaluate.evaluate_model", no_scoring)
    again = _quick(out, train_fn=no_training, figures=False)
    pd.testing.assert_frame_equal(again.frame, result.frame)
    # Another config into the same folder is refused, not overwritten.
    with pytest.raises(ConfigError, match="another config"):
        _quick(out, (*TINY, "optim.lr=0.01"), train_fn=no_training)


def test_domains_bands_and_events() -> None:
    bijie, hokkaido, l4s = (resolve_domain(n, synthetic=False) for n in DOMAINS_REAL)
    assert shared_bands([bijie, l4s]) == ("R", "G", "B", "DEM")
    assert shared_bands([l4s, bijie]) == ("R", "G", "B", "DEM")  # not Sentinel-2 file order
    assert shared_bands([l4s, l4s])[:4] == ("R", "G", "B", "B1")
    assert shared_events(hokkaido, l4s) == ("iburi-2018",)
    assert shared_events(bijie, l4s) == () and shared_events(l4s, l4s) == ()
    synth = resolve_domain("landslide4sense", synthetic=True)
    assert synth.analogue and synth.events == l4s.events and "slope" in synth.bands
    with pytest.raises(ConfigError, match="share no band"):
        shared_bands([bijie, Domain("x", "folder", ("NIR",))])


DOMAINS_REAL = ("bijie", "hokkaido", "landslide4sense")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"domains": ("hokkaido",)}, "at least two"),
        ({"domains": ("hokkaido", "hokkaido")}, "twice"),
        ({"seeds": 0}, "positive integer"),
        ({"zero_shot_normalization": "both"}, "zero_shot_normalization"),
        ({"domains": ("hokkaido", "atlantis")}, "atlantis"),
    ],
)
def test_bad_arguments_fail_before_training(tmp_path: Path, kwargs: dict, match: str) -> None:
    def no_training(*args, **kw):
        raise AssertionError("trained despite bad arguments")

    options = {"domains": DOMAINS, "seeds": 1, "out_dir": tmp_path, "synthetic": True}
    with pytest.raises(ConfigError, match=match):
        transfer_matrix(**{**options, **kwargs}, train_fn=no_training)
    assert not (tmp_path / "runs").exists()


def test_a_trained_cell_without_optimiser_steps_is_refused(tmp_path: Path) -> None:
    from landbench.experiments.transfer import _check_trained

    info = {"model": "fusionnet-resunet", "optimizer_steps": 0, "split_counts": {"train": 3}}
    info["config"] = {"data": {"batch_size": 16}}
    (tmp_path / "run.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ConfigError, match="0 optimiser steps .*3 train tiles, batch size 16"):
        _check_trained(tmp_path, "finetune")
    _check_trained(tmp_path, "zero-shot")  # evaluation only: no step expected
    (tmp_path / "run.json").write_text(json.dumps({**info, "optimizer_steps": 5}), "utf-8")
    _check_trained(tmp_path, "scratch")
