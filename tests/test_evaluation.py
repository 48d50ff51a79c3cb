"""The evaluator end to end on synthetic data: folders, mappings, models, JSON and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats
from sklearn.metrics import f1_score, jaccard_score

import landbench
from landbench.cli import main
from landbench.core.errors import ConfigError
from landbench.evaluation import (
    ALL_METRICS,
    Counts,
    EvaluationResult,
    PredictionError,
    bootstrap_intervals,
    evaluate_model,
    evaluate_predictions,
    mean_std,
)
from landbench.evaluation.metrics import aggregate_seeds
from landbench.inference.predictor import native_size

SYNTH = {"size": 32, "n": 40}
NORM = {"bands": ["R", "G", "B", "DEM"], "mean": [90, 100, 80, 400], "std": [40, 40, 40, 150]}


# Tiny models run fastest single-threaded on a shared 2-core machine (fixture in conftest).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def test_split() -> landbench.datasets.LandslideDataset:
    return landbench.load("synth", split="test", **SYNTH)


@pytest.fixture(scope="module")
def truth(test_split) -> dict[str, np.ndarray]:
    return {s["id"]: s["mask"].numpy().astype(np.uint8) for s in test_split}


@pytest.fixture(scope="module")
def noisy(truth) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        k: np.where(rng.random(v.shape) < 0.1, 1 - v, v).astype(np.uint8) for k, v in truth.items()
    }


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from landbench.models import create_model, save_weights

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "model.safetensors"
    save_weights(create_model("fusionnet-resunet", size="tiny"), path, {"normalization": NORM})
    return path


def write_pngs(folder: Path, masks: dict[str, np.ndarray], scale: int = 255) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for sample_id, mask in masks.items():
        Image.fromarray(mask * scale).save(folder / f"{sample_id}.png")
    return folder


def test_perfect_predictions_score_one(test_split, truth) -> None:
    result = evaluate_predictions(truth, test_split, progress=False)
    assert result.metrics["f1"] == 1.0 and result.metrics["iou"] == 1.0
    assert result.metrics["mean_f1_empty_as_1"] == 1.0
    assert result.n_images == len(test_split) > 0


def test_folder_round_trip_matches_sklearn(tmp_path: Path, test_split, truth, noisy) -> None:
    folder = write_pngs(tmp_path / "preds", noisy)
    result = evaluate_predictions(folder, test_split, progress=False)
    y_true = np.concatenate([truth[i].ravel() for i in test_split.ids])
    y_pred = np.concatenate([noisy[i].ravel() for i in test_split.ids])
    assert result.metrics["f1"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
    assert result.metrics["iou"] == pytest.approx(jaccard_score(y_true, y_pred), abs=1e-12)
    assert result.counts.n_pixels == y_true.size
    assert result.ids == test_split.ids
    for sample_id in test_split.ids:
        c = result.counts_of(sample_id)
        assert c.tp == int(((noisy[sample_id] == 1) & (truth[sample_id] == 1)).sum())
    # The same set as 0/1 PNGs and as an in-memory mapping scores identically.
    ones = evaluate_predictions(write_pngs(tmp_path / "ones", noisy, 1), test_split, progress=False)
    mapping = evaluate_predictions(noisy, test_split, progress=False)
    assert ones.to_dict()["metrics"] == mapping.to_dict()["metrics"] == result.to_dict()["metrics"]


def test_result_json_contract(tmp_path: Path, test_split, noisy) -> None:
    result = evaluate_predictions(noisy, test_split, progress=False)
    path = result.write_json(tmp_path / "out" / "result.json")
    data = json.loads(path.read_text())
    for key in (
        "counts", "metrics", "intervals", "n_images", "dataset", "split", "split_version",
        "manifest_sha256", "landbench_version", "evaluator_version", "per_image", "bootstrap",
        "conventions",
    ):  # fmt: skip
        assert key in data, key
    assert set(data["metrics"]) == set(ALL_METRICS) == set(data["intervals"])
    assert "mean_f1_empty_as_1" in data["metrics"] and "mean_f1_landslide_tiles" in data["metrics"]
    assert data["manifest_sha256"] == test_split.manifest.sha256
    assert data["split_version"] == test_split.manifest.version
    assert data["dataset"] == "synth" and data["split"] == "test"
    assert data["landbench_version"] == landbench.__version__
    assert Counts.from_dict(data["counts"]) == result.counts
    assert [r["id"] for r in data["per_image"]] == list(test_split.ids)
    low, high = data["intervals"]["f1"]
    assert low <= data["metrics"]["f1"] <= high
    again = EvaluationResult.read_json(path)
    assert again.to_dict() == result.to_dict()
    assert not list(path.parent.glob(".*.tmp"))  # atomic write leaves no temporary file


def test_bootstrap_agrees_with_scipy(noisy, truth, test_split) -> None:
    from landbench.evaluation import confusion_counts

    rng = np.random.default_rng(0)
    per_image = np.stack(
        [confusion_counts(rng.random((9, 9)) < rng.random(), rng.random((9, 9)) < 0.3).to_array()
         for _ in range(60)]
    )  # fmt: skip
    ours = bootstrap_intervals(per_image, n_resamples=4000, seed=1)["f1"]

    def pooled_f1(index: np.ndarray) -> float:
        tp, fp, fn, _ = per_image[index.astype(int)].sum(0)
        return 2 * tp / (2 * tp + fp + fn)

    ref = stats.bootstrap(
        (np.arange(len(per_image)),), pooled_f1, n_resamples=4000, method="percentile",
        vectorized=False, random_state=2,
    ).confidence_interval  # fmt: skip
    assert ours.low == pytest.approx(ref.low, abs=0.02)
    assert ours.high == pytest.approx(ref.high, abs=0.02)
    assert bootstrap_intervals(per_image, seed=5) == bootstrap_intervals(per_image, seed=5)


def test_mean_std_over_seeds() -> None:
    agg = aggregate_seeds([{"f1": 0.7, "iou": 0.5}, {"f1": 0.8, "iou": 0.6}, {"f1": 0.9}])
    assert set(agg) == {"f1"}
    assert agg["f1"].mean == pytest.approx(0.8) and agg["f1"].std == pytest.approx(0.1)
    assert agg["f1"].format() == "0.800 ± 0.100"
    single = mean_std([0.81])
    assert single.n == 1 and np.isnan(single.std) and single.format() == "0.810 (n=1)"
    assert mean_std([]).format() == "n/a"


def test_evaluate_model_from_weights_and_run_folder(tmp_path: Path, test_split, weights) -> None:
    result = evaluate_model(weights, test_split, progress=False)
    assert result.source["kind"] == "model" and result.source["threshold"] == 0.5
    assert result.counts.n_pixels == sum(int(np.prod(s["mask"].shape)) for s in test_split)
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.safetensors").write_bytes(weights.read_bytes())
    again = evaluate_model(run, test_split, progress=False)
    np.testing.assert_array_equal(again.per_image, result.per_image)
    thresholds, precision, recall = result.precision_recall()
    assert thresholds[0] == 0.0 and len(thresholds) == len(precision) == len(recall)
    assert np.all(np.diff(recall) <= 1e-12)  # recall never rises with the threshold
    k = int(np.flatnonzero(np.isclose(thresholds, 0.5))[0])
    assert Counts.from_array(result.pr_curve["counts"][k]) == result.counts


def test_model_equals_its_thresholded_predictions(test_split, weights) -> None:
    from landbench.inference.predictor import Predictor

    predictor = Predictor.from_weights(weights, batch_size=1)
    masks = {s["id"]: np.asarray(predictor.predict_proba(s["image"])) > 0.3 for s in test_split}
    by_model = evaluate_model(predictor, test_split, threshold=0.3, progress=False)
    by_masks = evaluate_predictions(masks, test_split, progress=False)
    np.testing.assert_array_equal(by_model.per_image, by_masks.per_image)
    # Batched inference (same-size tiles go through together) gives the same scores, up to
    # floating-point ties at the threshold.
    batched = evaluate_model(Predictor.from_weights(weights, batch_size=4), test_split,
                             threshold=0.3, progress=False)  # fmt: skip
    assert np.abs(batched.per_image - by_model.per_image).sum() <= 4


def test_bare_module_needs_normalization(test_split) -> None:
    from landbench.models import create_model

    model = create_model("fusionnet-unet", size="tiny")
    with pytest.raises(ConfigError, match="normalization"):
        evaluate_model(model, test_split, progress=False)
    result = evaluate_model(
        model, test_split, normalization=(NORM["mean"], NORM["std"]), progress=False
    )
    assert result.n_images == len(test_split)


def test_resized_predictions_are_mapped_back_to_native_size(test_split) -> None:
    class HalfSize:
        """A predictor that works on half-resolution inputs (as some pipelines do)."""

        def predict_proba(self, image: torch.Tensor) -> torch.Tensor:
            small = torch.nn.functional.avg_pool2d(image[None, :1], 2)[0, 0]
            return (small > 120).float()

    result = evaluate_model(HalfSize(), test_split, progress=False)
    for sample_id, row in zip(result.ids, result.per_image):
        assert row.sum() == int(np.prod(test_split[test_split.index_of(sample_id)]["mask"].shape))
    up = native_size(np.ones((5, 7)), (10, 14))
    assert up.shape == (10, 14) and np.allclose(up, 1)


def test_bad_model_paths(tmp_path: Path, test_split) -> None:
    with pytest.raises(ConfigError, match="no model.safetensors"):
        evaluate_model(tmp_path, test_split, progress=False)
    (tmp_path / "w.pt").write_bytes(b"x")
    with pytest.raises(ConfigError, match="only loads safetensors"):
        evaluate_model(tmp_path / "w.pt", test_split, progress=False)
    with pytest.raises(ConfigError, match="does not exist"):
        evaluate_model(tmp_path / "nope.safetensors", test_split, progress=False)
    with pytest.raises(ConfigError, match="threshold"):
        evaluate_model(tmp_path, test_split, threshold=1.5, progress=False)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

SET = ["--set", "size=32", "--set", "n=40"]


def test_cli_evaluate_predictions(tmp_path: Path, noisy, capsys) -> None:
    folder = write_pngs(tmp_path / "preds", noisy)
    out = tmp_path / "result.json"
    argv = ["evaluate", "--predictions", str(folder), "--dataset", "synth", "--split", "test",
            *SET, "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "F1 (pooled)" in printed and "Mean F1 per image (empty tiles = 1)" in printed
    data = json.loads(out.read_text())
    assert data["source"]["dataset_kwargs"] == {"size": 32, "n": 40}
    assert data["source"]["path"] == str(folder)
    assert data["written_by"] == "landbench evaluate"
    assert data["provenance"]["versions"]["landbench"]
    # A rerun replaces the result the same command wrote before.
    out.write_text(json.dumps({**data, "n_images": -1}))
    assert main(argv) == 0
    assert json.loads(out.read_text())["n_images"] == data["n_images"]
    # A file landbench did not write is never replaced, and nothing is computed.
    for foreign in ('{"n_images": 3}', "notes, not JSON"):
        out.write_text(foreign)
        assert main(argv) == 2
        assert "was not written by `landbench evaluate`" in capsys.readouterr().err
        assert out.read_text() == foreign


def test_cli_evaluate_writes_only_where_asked(
    tmp_path: Path, noisy, weights, capsys, monkeypatch
) -> None:
    """Without --out nothing lands in the working folder; a run folder gets its own result."""
    monkeypatch.chdir(tmp_path)
    folder = write_pngs(tmp_path / "preds", noisy)
    assert main(["evaluate", "--predictions", str(folder), "--dataset", "synth", "--split",
                 "test", *SET, "--no-progress"]) == 0  # fmt: skip
    assert "F1 (pooled)" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds"]
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.safetensors").write_bytes(weights.read_bytes())
    argv = ["evaluate", "--model", str(run), "--dataset", "synth", *SET, "--no-progress"]
    assert main(argv) == 0
    result = run / "evaluation-synth-test.json"
    assert json.loads(result.read_text())["written_by"] == "landbench evaluate"
    assert f"wrote {result}" in capsys.readouterr().out
    assert main(argv) == 0  # the rerun replaces its own file
    assert not list(tmp_path.glob("evaluation-*.json"))


def test_cli_bad_predictions_write_nothing(tmp_path: Path, noisy, capsys) -> None:
    folder = write_pngs(tmp_path / "preds", noisy)
    missing = sorted(noisy)[:2]
    for sample_id in missing:
        (folder / f"{sample_id}.png").unlink()
    out = tmp_path / "result.json"
    code = main(["evaluate", "--predictions", str(folder), "--dataset", "synth", *SET,
                 "--out", str(out), "--no-progress"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert f"missing (2): {missing[0]}, {missing[1]}" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_evaluate_model(tmp_path: Path, weights, capsys) -> None:
    out = tmp_path / "r.json"
    assert main(["evaluate", "--model", str(weights), "--dataset", "synth", *SET,
                 "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    data = json.loads(out.read_text())
    assert data["source"]["weights"] == str(weights)
    assert "pr_curve" in data


def test_cli_evaluate_needs_a_source(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--dataset", "synth"])
    with pytest.raises(SystemExit):
        main(["evaluate", "--dataset", "synth", "--model", "a", "--predictions", "b"])


def test_cli_bad_set_option(tmp_path: Path, capsys) -> None:
    code = main(["evaluate", "--predictions", str(tmp_path), "--dataset", "synth",
                 "--set", "oops", "--out", str(tmp_path / "x.json")])  # fmt: skip
    assert code == 2 and "key=value" in capsys.readouterr().err


def test_prediction_error_is_raised_for_wrong_type(test_split) -> None:
    with pytest.raises(PredictionError, match="folder path or a mapping"):
        evaluate_predictions([1, 2, 3], test_split, progress=False)


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size


def test_attention_figure_layout(tmp_path: Path, test_split, weights) -> None:
    from landbench.evaluation.figures import plot_attention_figure, save_figure

    samples = [test_split[0], test_split[1]]
    fig = plot_attention_figure(weights, samples)
    titles = [ax.get_title() for ax in fig.axes[:5]]
    assert titles[:4] == ["RGB", "Ground truth", "Prediction", "Attention over RGB"]
    assert titles[4].startswith("Feature ")
    assert len(fig.axes) == 10
    width, height = _png_size(save_figure(fig, tmp_path / "fig2.png"))
    assert width > height > 0


def test_attention_figure_needs_a_fusion_network(test_split) -> None:
    from landbench.evaluation.figures import plot_attention_figure
    from landbench.inference.predictor import Predictor
    from landbench.models import create_model

    predictor = Predictor(create_model("unet-rgb"), NORM["mean"], NORM["std"])
    with pytest.raises(ConfigError, match="fusion"):
        plot_attention_figure(predictor, [test_split[0]])


def test_prediction_grid_bars_and_pr_curves(tmp_path: Path, test_split, truth, noisy, weights):
    from landbench.evaluation.figures import (
        plot_f1_bars,
        plot_precision_recall,
        plot_prediction_grid,
        save_figure,
    )

    samples = [test_split[0], test_split[1]]
    grid = plot_prediction_grid(
        samples,
        {"noisy": [noisy[s["id"]] for s in samples], "half": [np.ones((16, 16))] * 2},
    )
    assert [ax.get_title() for ax in grid.axes[:4]] == ["RGB", "Ground truth", "noisy", "half"]
    save_figure(grid, tmp_path / "fig3.png")
    with pytest.raises(ConfigError, match="1 predictions for 2 samples"):
        plot_prediction_grid(samples, {"x": [noisy[samples[0]["id"]]]})
    results = {
        "perfect": evaluate_predictions(truth, test_split, progress=False),
        "noisy": evaluate_predictions(noisy, test_split, progress=False),
    }
    bars = plot_f1_bars(results)
    assert [t.get_text() for t in bars.axes[0].get_xticklabels()] == ["perfect", "noisy"]
    save_figure(bars, tmp_path / "bars.png")
    model = evaluate_model(weights, test_split, progress=False)
    pr = plot_precision_recall({"tiny": model})
    assert "tiny (F1" in pr.axes[0].get_legend().get_texts()[0].get_text()
    _png_size(save_figure(pr, tmp_path / "pr.png"))
    from landbench.core.errors import InvalidDataError

    with pytest.raises(InvalidDataError, match="no precision-recall curve"):
        plot_precision_recall({"noisy": results["noisy"]})


# -- mean ± std over seeds: edges pinned by mutation testing (issue 14 item 13) ---------------


def test_mean_std_edges_and_json() -> None:
    """Two seeds give a spread; NaN seeds are ignored; no seed is ``n/a`` and JSON nulls."""
    two = mean_std([0.7, 0.9])
    assert two.n == 2 and two.std == pytest.approx(0.1414213562373095)
    assert two.format() == "0.800 ± 0.141" and two.format(digits=1) == "0.8 ± 0.1"
    assert two.to_dict() == {"mean": pytest.approx(0.8), "std": pytest.approx(0.1414213562), "n": 2}
    with_nan = mean_std([0.7, float("nan"), 0.9])
    assert with_nan.n == 2 and with_nan.mean == pytest.approx(0.8)
    single = mean_std([0.81])
    assert single.to_dict() == {"mean": 0.81, "std": None, "n": 1}
    none = mean_std([float("nan")])
    assert none.n == 0 and np.isnan(none.mean) and np.isnan(none.std)
    assert none.to_dict() == {"mean": None, "std": None, "n": 0}
    assert mean_std([]).to_dict() == {"mean": None, "std": None, "n": 0}
    # A seed without a value (JSON null, as to_dict writes NaN) is skipped like NaN.
    assert mean_std([0.7, None, 0.9]).to_dict() == {
        "mean": pytest.approx(0.8), "std": pytest.approx(0.1414213562), "n": 2,
    }  # fmt: skip


def test_mean_std_format_rules() -> None:
    from landbench.evaluation.metrics import MeanStd

    assert MeanStd(0.5, float("nan"), 3).format() == "0.500 (n=3)"  # no spread estimated
    assert MeanStd(float("nan"), 0.1, 3).format() == "n/a"
    assert MeanStd(0.5, 0.1, 0).format() == "n/a"
    assert MeanStd(0.5, 0.0, 1).format() == "0.500 (n=1)"


def test_aggregate_seeds_keeps_metrics_of_every_seed() -> None:
    agg = aggregate_seeds([{"f1": 0.7}, {"f1": 0.8, "iou": 0.6}])
    assert set(agg) == {"f1"}
    one = aggregate_seeds([{"f1": 0.7, "iou": 0.5}])
    assert {k: (v.mean, v.n) for k, v in one.items()} == {"f1": (0.7, 1), "iou": (0.5, 1)}
    assert aggregate_seeds([]) == {}
