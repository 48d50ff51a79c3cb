"""``landbench reproduce RESULT.json``: rerun one result from its recorded config and seed."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from landbench.cli import main
from landbench.cli.main import build_parser
from landbench.experiments.demo import _leaderboard, _run_row
from landbench.experiments.reproduce import (
    QUICK_OVERRIDES,
    QUICK_SYNTH_OVERRIDES,
    run_or_reuse,
    run_test_split,
)

CONFIGS = Path(__file__).resolve().parents[1] / "baselines" / "configs"
RECIPE = "synth-bijie-unet-rgb"
TINY = (
    *(o for o in QUICK_OVERRIDES if not o.startswith("model.")),
    *QUICK_SYNTH_OVERRIDES,
    "data.dataset_kwargs.n=40",
    "trainer.progress_bar=false",
)


# Tiny models run fastest single-threaded on a shared 2-core machine (fixture in conftest).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny reference result made as the demo makes one: train seed 0 of a synthetic recipe,
    evaluate it, submit its test predictions with the recipe and its config to a leaderboard."""
    from landbench.evaluation import evaluate_model

    out = tmp_path_factory.mktemp("reference")
    run_dir = run_or_reuse(CONFIGS / f"{RECIPE}.yaml", out / "runs" / RECIPE / "seed-0",
                           [*TINY, "seed=0"])  # fmt: skip
    result = evaluate_model(run_dir, run_test_split(run_dir), progress=False)
    evaluation = result.write_json(out / "results" / RECIPE / "seed-0.json")
    _leaderboard(out, [_run_row(run_dir, result, seed=0)], progress=False)
    board_result = out / "leaderboard" / "results" / f"{RECIPE}.json"
    return {"leaderboard": board_result, "evaluation": evaluation, "run": run_dir, "out": out}


def edited(source: Path, target: Path, edit: Any) -> Path:
    """A copy of a result file with ``edit(record)`` applied."""
    record = json.loads(source.read_text(encoding="utf-8"))
    edit(record)
    target.write_text(json.dumps(record), encoding="utf-8")
    return target


def first_seed(record: dict[str, Any]) -> dict[str, Any]:
    return record["results"]["synth"]["seeds"][0]["evaluation"]


def rerun(result: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["reproduce", str(result), "--out", str(out), "--no-progress", *extra])
    name = "report.json" if "--seed" not in extra else f"report-seed-{extra[-1]}.json"
    report = out / name
    return code, json.loads(report.read_text()) if report.is_file() else {}


def test_leaderboard_result_reruns_identically(reference, tmp_path, capsys) -> None:
    out = tmp_path / "rerun"
    code, report = rerun(reference["leaderboard"], out)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert report["kind"] == "leaderboard" and report["name"] == RECIPE
    assert report["environment"] == {"same": True, "differences": []}
    assert report["commit"]["same"] and report["reproduced"]
    (seed,) = report["seeds"]
    assert seed["seed"] == 0 and seed["verdict"] == "identical"
    assert seed["predictions_identical"] and seed["counts_equal"]
    assert seed["rerun"]["f1"] == seed["recorded"]["f1"] and seed["difference"]["f1"] == 0.0
    assert "identical" in printed and "reproduced: yes" in printed
    assert Path(seed["run_dir"]) == out / "runs" / "seed-0"
    assert (out / "config.yaml").is_file()


def test_tampered_score_is_not_reproduced(reference, tmp_path, capsys) -> None:
    out = tmp_path / "rerun"
    assert rerun(reference["leaderboard"], out)[0] == 0  # trains once; reused below

    def shift(delta: float, environment: bool = False):
        """Move the recorded F1 by ``delta``, its 95% interval to +-0.05 around it."""

        def edit(record: dict[str, Any]) -> None:
            evaluation = first_seed(record)
            evaluation["metrics"]["f1"] += delta
            f1 = evaluation["metrics"]["f1"]
            evaluation["intervals"]["f1"] = [f1 - 0.05, f1 + 0.05]
            if environment:
                record["provenance"]["versions"]["torch"] = "0.0.1"

        return edit

    small = edited(reference["leaderboard"], tmp_path / "small.json", shift(1e-6))
    code, report = rerun(small, out)
    assert code == 1 and not report["reproduced"]
    assert report["seeds"][0]["verdict"] == "inside"  # inside, but the environment is the same
    assert report["seeds"][0]["difference"]["f1"] == pytest.approx(-1e-6, abs=1e-12)
    assert "NOT REPRODUCED (same environment, not identical)" in capsys.readouterr().out

    elsewhere = edited(reference["leaderboard"], tmp_path / "else.json", shift(1e-6, True))
    code, report = rerun(elsewhere, out)
    assert code == 0 and report["seeds"][0]["verdict"] == "inside"
    assert report["environment"]["differences"] == [f"versions.torch: 0.0.1 -> {version('torch')}"]
    capsys.readouterr()

    far = edited(reference["leaderboard"], tmp_path / "far.json", shift(0.5, True))
    code, report = rerun(far, out, "--json")
    printed = json.loads(capsys.readouterr().out)
    assert code == 1 and report["seeds"][0]["verdict"] == "outside"
    assert printed["seeds"][0]["verdict"] == "outside" and not printed["reproduced"]


def test_evaluation_result_reruns_identically(reference, tmp_path, capsys) -> None:
    code, report = rerun(reference["evaluation"], tmp_path / "rerun", "--json", "--seed", "0")
    assert code == 0
    assert json.loads(capsys.readouterr().out) == report  # training's lines stay off stdout
    assert report["kind"] == "evaluation" and report["seeds"][0]["verdict"] == "identical"
    assert report["seeds"][0]["predictions_identical"] is None  # an evaluation records no digest


def test_result_without_config_is_refused(reference, tmp_path, capsys) -> None:
    third_party = edited(
        reference["leaderboard"],
        tmp_path / "third.json",
        lambda r: r["submission"].pop("reference"),
    )
    assert main(["reproduce", str(third_party), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "only reference results with a recorded config can be rerun" in err.lower()
    assert "third.json" in err and not (tmp_path / "x").exists()

    masks = edited(
        reference["evaluation"],
        tmp_path / "masks.json",
        lambda r: r.update(source={"kind": "predictions", "path": "masks"}),
    )
    assert main(["reproduce", str(masks), "--out", str(tmp_path / "y")]) == 2
    assert "folder of predicted masks" in capsys.readouterr().err


def test_bad_input_exits_2(reference, tmp_path, capsys) -> None:
    result = str(reference["leaderboard"])
    assert main(["reproduce", result, "--seed", "7", "--out", str(tmp_path / "a")]) == 2
    assert "records no seed 7" in capsys.readouterr().err
    assert main(["reproduce", result, "--quick"]) == 2
    assert "--quick applies to `reproduce table1|table2` only" in capsys.readouterr().err
    assert main(["reproduce", "table1", "--json"]) == 2
    assert main(["reproduce", str(tmp_path / "missing.json")]) == 2
    assert "is not a file" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.yaml").write_text("name: another\n")
    assert main(["reproduce", result, "--out", str(tmp_path / "other")]) == 2
    assert "rerun of another result" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text('{"hello": 1}')
    assert main(["reproduce", str(tmp_path / "junk.json")]) == 2
    assert "neither a leaderboard result" in capsys.readouterr().err


def test_source_weights_of_other_seeds(tmp_path) -> None:
    """A transfer config's recorded source weights belong to its own seed; another seed starts
    from the sibling seed-<k> run, and missing weights are a clear error."""
    from landbench.core.errors import ConfigError
    from landbench.experiments.rerun import _source_weights
    from landbench.training.config import load_config

    for seed in (0, 2):
        (tmp_path / "src" / f"seed-{seed}").mkdir(parents=True)
        (tmp_path / "src" / f"seed-{seed}" / "model.safetensors").write_bytes(b"x")
    weights = tmp_path / "src" / "seed-0" / "model.safetensors"
    cfg = load_config(CONFIGS / "synth-hokkaido-finetune.yaml", [f"transfer.weights={weights}"])
    assert _source_weights(cfg, 0, 0) == weights.resolve()
    assert _source_weights(cfg, 2, 0) == (tmp_path / "src" / "seed-2" / "model.safetensors")
    with pytest.raises(ConfigError, match="seed-1/model.safetensors, which do not exist"):
        _source_weights(cfg, 1, 0)


def test_cli_still_parses_tables() -> None:
    parser = build_parser()
    args = parser.parse_args(["reproduce", "table1"])
    assert args.table == "table1" and args.seed is None and not args.json
    args = parser.parse_args(["reproduce", "results/x.json", "--seed", "2", "--json"])
    assert args.table == "results/x.json" and args.seed == 2 and args.json
    with pytest.raises(SystemExit):
        parser.parse_args(["reproduce", "table9"])
