"""Property tests: every landbench metric equals scikit-learn's on random masks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as skm

from landbench.evaluation import (
    Counts,
    bootstrap_intervals,
    confusion_counts,
    confusion_counts_per_image,
    f1,
    iou,
    mean_f1_empty_as_1,
    mean_f1_landslide_tiles,
    precision,
    recall,
)
from landbench.evaluation.counts import _CHUNK
from landbench.evaluation.metrics import threshold_counts

shapes = st.tuples(st.integers(1, 5), st.integers(1, 17), st.integers(1, 19))


@st.composite
def mask_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Two binary masks of one shape; often all-empty or all-full (the zero-division cases)."""
    shape = draw(shapes)
    kinds = st.sampled_from(["random", "empty", "full"])

    def one(kind: str) -> np.ndarray:
        if kind == "empty":
            return np.zeros(shape, dtype=np.uint8)
        if kind == "full":
            return np.ones(shape, dtype=np.uint8)
        return draw(arrays(np.uint8, shape, elements=st.integers(0, 1)))

    return one(draw(kinds)), one(draw(kinds))


def sk(func, target: np.ndarray, pred: np.ndarray, zero_division: float) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(
            target.reshape(-1), pred.reshape(-1), labels=[0, 1], pos_label=1,
            average="binary", zero_division=zero_division,
        )  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(pair=mask_pairs(), zero_division=st.sampled_from([0.0, 1.0]))
def test_metrics_equal_sklearn(pair: tuple[np.ndarray, np.ndarray], zero_division: float) -> None:
    pred, target = pair
    counts = confusion_counts(pred, target)
    tn, fp, fn, tp = skm.confusion_matrix(
        target.reshape(-1), pred.reshape(-1), labels=[0, 1]
    ).ravel()
    assert counts == Counts(tp, fp, fn, tn)
    assert f1(counts, zero_division) == pytest.approx(
        sk(skm.f1_score, target, pred, zero_division), abs=1e-12
    )
    assert precision(counts, zero_division) == pytest.approx(
        sk(skm.precision_score, target, pred, zero_division), abs=1e-12
    )
    assert recall(counts, zero_division) == pytest.approx(
        sk(skm.recall_score, target, pred, zero_division), abs=1e-12
    )
    assert iou(counts, zero_division) == pytest.approx(
        sk(skm.jaccard_score, target, pred, zero_division), abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(pair=mask_pairs())
def test_per_image_means_equal_sklearn(pair: tuple[np.ndarray, np.ndarray]) -> None:
    pred, target = pair
    per_image = confusion_counts_per_image(pred, target)
    expected_all = [sk(skm.f1_score, t, p, 1.0) for p, t in zip(pred, target)]
    assert mean_f1_empty_as_1(per_image) == pytest.approx(np.mean(expected_all), abs=1e-12)
    has = [t.any() for t in target]
    expected = [sk(skm.f1_score, t, p, 0.0) for p, t, h in zip(pred, target, has) if h]
    got = mean_f1_landslide_tiles(per_image)
    if expected:
        assert got == pytest.approx(np.mean(expected), abs=1e-12)
    else:
        assert np.isnan(got)


def test_zero_division_convention_is_explicit() -> None:
    empty = np.zeros((4, 4), dtype=np.uint8)
    full = np.ones((4, 4), dtype=np.uint8)
    both_empty = confusion_counts(empty, empty)
    # Nothing to find and nothing found: every ratio is 0/0, i.e. zero_division (default 0).
    assert both_empty == Counts(0, 0, 0, 16)
    assert (f1(both_empty), iou(both_empty), precision(both_empty), recall(both_empty)) == (
        0.0, 0.0, 0.0, 0.0,
    )  # fmt: skip
    assert f1(both_empty, zero_division=1.0) == 1.0
    # ...but the per-image mean's empty-tile rule scores that tile 1, as its name says.
    assert mean_f1_empty_as_1(confusion_counts_per_image(empty[None], empty[None])) == 1.0
    # False positives on an empty tile: precision 0 (defined), recall 0/0, F1 0 (defined).
    fp_only = confusion_counts(full, empty)
    assert fp_only == Counts(0, 16, 0, 0)
    assert f1(fp_only, zero_division=1.0) == 0.0
    assert recall(fp_only, zero_division=1.0) == 1.0
    assert precision(fp_only, zero_division=1.0) == 0.0
    all_full = confusion_counts(full, full)
    assert (f1(all_full), iou(all_full), precision(all_full), recall(all_full)) == (1, 1, 1, 1)


@settings(max_examples=30, deadline=None)
@given(pair=mask_pairs(), data=st.data())
def test_dtypes_and_frameworks_agree(pair: tuple[np.ndarray, np.ndarray], data: st.DataObject):
    pred, target = pair
    expected = confusion_counts(pred, target)
    dtype = data.draw(st.sampled_from([np.bool_, np.int8, np.int64, np.float32, np.uint16]))
    assert confusion_counts(pred.astype(dtype), target.astype(dtype)) == expected
    assert confusion_counts(torch.from_numpy(pred.astype(dtype)), torch.from_numpy(target)) == (
        expected
    )
    per_image = confusion_counts_per_image(pred, target)
    assert Counts.from_array(per_image.sum(0)) == expected
    assert Counts.from_array(per_image[0]) == confusion_counts(pred[0], target[0])


@settings(max_examples=30, deadline=None)
@given(pair=mask_pairs())
def test_accelerator_path_agrees(pair: tuple[np.ndarray, np.ndarray]) -> None:
    # The torch path runs on the tensors' device (GPU tensors are never copied to the host);
    # it is device-agnostic, so it is checked here on CPU tensors.
    from landbench.evaluation.counts import _torch_counts

    pred, target = (torch.from_numpy(x) for x in pair)
    pooled = _torch_counts(pred, target.bool(), None)
    assert Counts.from_array(pooled) == confusion_counts(*pair)
    per_image = _torch_counts(pred, target, (1, 2))
    np.testing.assert_array_equal(per_image, confusion_counts_per_image(*pair))


def test_counts_across_chunk_boundaries() -> None:
    rng = np.random.default_rng(1)
    n = 2 * _CHUNK + 123
    pred, target = rng.random(n) < 0.3, rng.random(n) < 0.2
    counts = confusion_counts(pred, target)
    assert counts.tp == int(np.sum(pred & target))
    assert counts.fp == int(np.sum(pred & ~target))
    assert counts.fn == int(np.sum(~pred & target))
    assert counts.n_pixels == n


@settings(max_examples=40, deadline=None)
@given(
    probs=arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1)),
    data=st.data(),
)
def test_threshold_counts_match_thresholding(probs: np.ndarray, data: st.DataObject) -> None:
    target = data.draw(arrays(np.uint8, probs.shape, elements=st.integers(0, 1)))
    thresholds = np.round(np.linspace(0, 1, 11)[:-1], 2)
    curve = threshold_counts(probs, target, thresholds)
    for k, t in enumerate(thresholds):
        assert Counts.from_array(curve[k]) == confusion_counts(probs > t, target)


@settings(max_examples=20, deadline=None)
@given(pair=mask_pairs())
def test_bootstrap_interval_contains_point_estimate_for_constant_images(pair) -> None:
    pred, target = pair
    assume(target.any())
    # Identical images: every resample gives the same value, so the interval collapses on it.
    per_image = np.repeat(confusion_counts_per_image(pred[:1], target[:1]), 7, axis=0)
    intervals = bootstrap_intervals(per_image, n_resamples=50)
    value = f1(Counts.from_array(per_image.sum(0)))
    assert intervals["f1"].low == pytest.approx(value)
    assert intervals["f1"].high == pytest.approx(value)


def test_bad_masks_are_refused_clearly() -> None:
    from landbench.core.errors import InvalidDataError

    ok = np.zeros(4, dtype=np.uint8)
    with pytest.raises(InvalidDataError, match=r"pred must be a binary mask .* \[255\]"):
        confusion_counts(np.array([0, 255, 1, 0], dtype=np.uint8), ok)
    with pytest.raises(InvalidDataError, match=r"target .* \[2\]"):
        confusion_counts(ok, np.array([0, 2, 1, 0], dtype=np.uint8))
    with pytest.raises(InvalidDataError, match="threshold probabilities"):
        confusion_counts(np.array([0.2, 0.9, 1, 0]), ok)
    with pytest.raises(InvalidDataError, match="shapes differ"):
        confusion_counts(ok, np.zeros(5, dtype=np.uint8))
    with pytest.raises(InvalidDataError, match="batch axis"):
        confusion_counts_per_image(np.uint8(1), np.uint8(1))
    with pytest.raises(InvalidDataError, match="non-negative integer"):
        Counts(tp=-1)


# -- what the reported numbers rest on: every named metric against scikit-learn ---------------


@settings(max_examples=60, deadline=None)
@given(pair=mask_pairs(), zero_division=st.sampled_from([0.0, 1.0]))
def test_named_metric_dicts_equal_sklearn(pair, zero_division: float) -> None:
    """``pooled_metrics`` / ``all_metrics`` / a result's ``metrics``: each name its sklearn value.

    A swap of two entries (precision and recall, say) fails here whenever the two differ.
    """
    from landbench.evaluation import all_metrics, pooled_metrics
    from landbench.evaluation.result import EvaluationResult

    pred, target = pair
    expected = {
        "f1": sk(skm.f1_score, target, pred, zero_division),
        "precision": sk(skm.precision_score, target, pred, zero_division),
        "recall": sk(skm.recall_score, target, pred, zero_division),
        "iou": sk(skm.jaccard_score, target, pred, zero_division),
    }
    per_image = confusion_counts_per_image(pred, target)
    got = pooled_metrics(confusion_counts(pred, target), zero_division)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name
        assert all_metrics(per_image, zero_division)[name] == pytest.approx(value, abs=1e-12)
    if zero_division == 0.0:
        ids = [str(i) for i in range(len(pred))]
        result = EvaluationResult("synth", "test", "v1", "0" * 64, ids, per_image)
        for name, value in expected.items():
            assert result.metrics[name] == pytest.approx(value, abs=1e-12), name
            assert result.to_dict()["metrics"][name] == pytest.approx(value, abs=1e-12)


def test_precision_and_recall_differ_in_a_fixed_case() -> None:
    """One prediction with precision 1/4 and recall 1/2, so a swap cannot hide."""
    from landbench.evaluation import all_metrics

    pred = np.array([[1, 1, 1, 1, 0, 0]], dtype=np.uint8)
    target = np.array([[1, 0, 0, 0, 1, 0]], dtype=np.uint8)
    got = all_metrics(confusion_counts_per_image(pred, target))
    assert got["precision"] == 0.25 and got["recall"] == 0.5
    assert got["f1"] == pytest.approx(2 / 6) and got["iou"] == pytest.approx(1 / 5)
    assert got["mean_f1_empty_as_1"] == pytest.approx(1 / 3)


def test_bootstrap_intervals_equal_a_hand_computation_on_the_same_resamples() -> None:
    """Percentile intervals at exactly the stated coverage, from the documented draw.

    Rebuilds every resample by hand (the seeded multinomial draw of
    :func:`landbench.evaluation.metrics.resample_weights`), recomputes each metric with loops,
    and takes numpy's percentiles at 2.5 and 97.5: a 90% interval reported as 95% fails.
    """
    from landbench.evaluation.metrics import resample_weights

    rng = np.random.default_rng(11)
    per_image = rng.integers(0, 40, (30, 4))
    per_image[:5, [0, 2]] = 0  # tiles without landslide pixels (the per-image rules)
    per_image[5, :3] = 0  # one tile empty in prediction and truth
    weights = resample_weights(30, 500, seed=4)
    hand: dict[str, list[float]] = {k: [] for k in ("f1", "precision", "recall", "iou")}
    hand["mean_f1_empty_as_1"], hand["mean_f1_landslide_tiles"] = [], []
    for w in weights:
        drawn = np.repeat(per_image, w, axis=0)  # the resample's images, duplicates included
        tp, fp, fn = (int(x) for x in drawn[:, :3].sum(axis=0))
        hand["f1"].append(2 * tp / (2 * tp + fp + fn))
        hand["precision"].append(tp / (tp + fp))
        hand["recall"].append(tp / (tp + fn))
        hand["iou"].append(tp / (tp + fp + fn))
        scores = []
        for t, p, n, _ in drawn:
            scores.append(1.0 if t + p + n == 0 else 2 * t / (2 * t + p + n))
        hand["mean_f1_empty_as_1"].append(float(np.mean(scores)))
        with_landslide = [s for s, row in zip(scores, drawn) if row[0] + row[2] > 0]
        hand["mean_f1_landslide_tiles"].append(float(np.mean(with_landslide)))
    for confidence in (0.95, 0.9):
        got = bootstrap_intervals(per_image, n_resamples=500, confidence=confidence, seed=4)
        tail = (1 - confidence) / 2 * 100
        for name, values in hand.items():
            low, high = np.percentile(values, [tail, 100 - tail])
            assert got[name].low == pytest.approx(low, abs=1e-12), (name, confidence)
            assert got[name].high == pytest.approx(high, abs=1e-12), (name, confidence)
    assert (
        bootstrap_intervals(per_image, n_resamples=500, seed=4)["f1"]
        != bootstrap_intervals(per_image, n_resamples=500, seed=4, confidence=0.9)["f1"]
    )


# -- edges pinned by mutation testing (issue 14 item 13) ---------------------------------------


def test_metric_functions_take_counts_or_arrays() -> None:
    """A :class:`Counts` gives a float, counts ``[..., 4]`` an array of the leading shape."""
    from landbench.core.errors import InvalidDataError

    counts = Counts(tp=1, fp=3, fn=1, tn=5)
    assert type(f1(counts)) is float and f1(counts) == pytest.approx(2 / 6)
    rows = np.array([[1, 3, 1, 5], [0, 0, 0, 9], [1, 0, 0, 0]])
    np.testing.assert_array_equal(precision(rows), [0.25, 0.0, 1.0])
    np.testing.assert_array_equal(recall(rows, zero_division=0.5), [0.5, 0.5, 1.0])
    np.testing.assert_array_equal(iou(rows[None]), [[0.2, 0.0, 1.0]])
    with pytest.raises(InvalidDataError, match=r"last axis of 4, got shape \(2, 3\)"):
        f1(np.zeros((2, 3), dtype=int))


def test_per_image_means_of_no_image_and_of_no_landslide() -> None:
    from landbench.evaluation import all_metrics
    from landbench.evaluation.metrics import per_image_f1

    empty = np.zeros((0, 4), dtype=np.int64)
    assert np.isnan(mean_f1_empty_as_1(empty)) and np.isnan(mean_f1_landslide_tiles(empty))
    # Tiles: both empty (1 under the empty-tile rule), false positives only (0), no landslide.
    no_landslide = np.array([[0, 0, 0, 9], [0, 4, 0, 5]])
    np.testing.assert_array_equal(per_image_f1(no_landslide), [1.0, 0.0])
    assert mean_f1_empty_as_1(no_landslide) == 0.5
    assert np.isnan(mean_f1_landslide_tiles(no_landslide))
    got = all_metrics([0, 4, 0, 5])  # one tile, flattened
    assert got["precision"] == 0.0 and got["recall"] == 0.0 and got["f1"] == 0.0
    assert got["mean_f1_empty_as_1"] == 0.0 and np.isnan(got["mean_f1_landslide_tiles"])
    assert all_metrics([0, 0, 0, 9], zero_division=1.0)["recall"] == 1.0


def test_bootstrap_settings_are_checked_and_empty_splits_have_no_interval() -> None:
    from landbench.core.errors import InvalidDataError
    from landbench.evaluation.metrics import ALL_METRICS, resample_weights

    rows = np.array([[3, 1, 1, 5], [1, 2, 0, 7]])
    for confidence in (0.0, 1.0, 1.5):
        with pytest.raises(InvalidDataError, match=r"confidence must be in \(0, 1\), got "):
            bootstrap_intervals(rows, confidence=confidence)
    with pytest.raises(InvalidDataError, match="n_resamples must be positive, got 0"):
        bootstrap_intervals(rows, n_resamples=0)
    with pytest.raises(InvalidDataError, match="n_resamples must be positive, got 0"):
        resample_weights(3, 0)
    with pytest.raises(InvalidDataError, match="at least one image"):
        resample_weights(0, 10)
    assert resample_weights(1, 1).tolist() == [[1]]
    assert bootstrap_intervals(rows, n_resamples=1)["f1"].low > 0
    nothing = bootstrap_intervals(np.zeros((0, 4), dtype=np.int64))
    assert set(nothing) == set(ALL_METRICS)
    assert all(np.isnan(v.low) and np.isnan(v.high) for v in nothing.values())
    # No resample holds a landslide tile: that mean has no interval; the others do.
    no_landslide = bootstrap_intervals(np.array([[0, 0, 0, 9], [0, 4, 0, 5]]), n_resamples=20)
    assert np.isnan(no_landslide["mean_f1_landslide_tiles"].low)
    assert no_landslide["mean_f1_empty_as_1"].to_list() == [0.0, 1.0]
    # zero_division reaches the pooled ratios: 0/0 recall on every resample.
    assert bootstrap_intervals([[0, 4, 0, 5]], 5, zero_division=1.0)["recall"].to_list() == [
        1.0, 1.0,
    ]  # fmt: skip


def test_threshold_counts_at_the_thresholds_and_bad_input() -> None:
    """A probability equal to a threshold is not above it (``prob > t``, as torchmetrics)."""
    from landbench.core.errors import InvalidDataError

    probs = np.array([0.0, 0.25, 0.5, 0.5, 0.75, 1.0])
    target = np.array([0, 1, 1, 0, 1, 1])
    curve = threshold_counts(probs, target, np.array([0.0, 0.5, 1.0]))
    assert curve.tolist() == [[4, 1, 0, 1], [2, 0, 2, 2], [0, 0, 4, 2]]
    assert curve.dtype == np.int64
    with pytest.raises(InvalidDataError, match="strictly increasing 1-D"):
        threshold_counts(probs, target, np.array([0.5, 0.5]))
    with pytest.raises(InvalidDataError, match="strictly increasing 1-D"):
        threshold_counts(probs, target, np.array([[0.5]]))
    with pytest.raises(InvalidDataError, match="sizes differ: 6 vs 5"):
        threshold_counts(probs, target[:5], np.array([0.5]))


def test_counts_add_and_read_back() -> None:
    from landbench.core.errors import InvalidDataError

    a, b = Counts(1, 2, 3, 4), Counts(10, 20, 30, 40)
    assert a + b == Counts(11, 22, 33, 44)
    assert sum([a, b]) == Counts(11, 22, 33, 44) and sum([a]) == a
    with pytest.raises(TypeError):
        a + (1, 2, 3, 4)  # noqa: B018
    with pytest.raises(TypeError):
        1 + a  # noqa: B018
    assert Counts.from_dict(a.to_dict()) == a
    with pytest.raises(InvalidDataError, match=r"lack \['fp', 'fn', 'tn'\]"):
        Counts.from_dict({"tp": 1})


def test_accumulator_ids_and_batches() -> None:
    from landbench.core.errors import InvalidDataError
    from landbench.evaluation.counts import ConfusionAccumulator

    pred = np.array([[[1, 0], [0, 0]], [[1, 1], [0, 1]]], dtype=np.uint8)
    target = np.array([[[1, 1], [0, 0]], [[0, 1], [0, 0]]], dtype=np.uint8)
    acc = ConfusionAccumulator()
    assert acc.update(pred[0], target[0]) == Counts(1, 0, 1, 2)
    acc.update(pred[1], target[1], "tile-b")
    acc.update_batch(pred, target)
    acc.update_batch(pred, target, ["x", "y"])
    assert acc.ids == ("0", "tile-b", "2", "3", "x", "y") and len(acc) == 6
    np.testing.assert_array_equal(acc.per_image, np.tile([[1, 0, 1, 2], [1, 2, 0, 1]], (3, 1)))
    assert acc.total == Counts(6, 6, 3, 9)
    with pytest.raises(InvalidDataError, match="1 ids for a batch of 2 masks"):
        acc.update_batch(pred, target, ["only-one"])
    assert len(acc) == 6  # nothing added by the refused batch
    assert ConfusionAccumulator().per_image.shape == (0, 4)


def test_bad_masks_are_named_on_every_path() -> None:
    """The message names the offending mask and says what to do, on the host and torch paths."""
    from landbench.core.errors import InvalidDataError
    from landbench.evaluation.counts import _torch_counts

    ok = np.zeros(4, dtype=np.uint8)
    bad = np.array([0, 255, 1, 0], dtype=np.uint8)
    with pytest.raises(
        InvalidDataError, match=r"map 255 to 1 \(or threshold probabilities\) before counting"
    ):
        confusion_counts(bad, ok)
    for args, name in (((bad, ok), "pred"), ((ok, bad), "target")):
        tensors = [torch.from_numpy(x.astype(np.int64)) for x in args]
        with pytest.raises(InvalidDataError, match=rf"^{name} must be a binary mask"):
            _torch_counts(*tensors, None)


def test_pooled_metrics_zero_division_reaches_every_metric() -> None:
    """0/0 is 0 by default (scikit-learn's default), and ``zero_division`` for all four."""
    from landbench.evaluation import all_metrics, pooled_metrics

    nothing = Counts(tn=5)
    assert pooled_metrics(nothing) == {"f1": 0.0, "iou": 0.0, "precision": 0.0, "recall": 0.0}
    assert pooled_metrics(nothing, 1.0) == {"f1": 1.0, "iou": 1.0, "precision": 1.0, "recall": 1.0}
    assert all_metrics([[0, 0, 0, 5]], 1.0)["f1"] == 1.0
    # Per-image means: tile 0 scores 2/3, tile 1 has no landslide and scores 0 (false positives).
    got = all_metrics([[1, 0, 1, 2], [0, 2, 0, 2]])
    assert got["mean_f1_landslide_tiles"] == pytest.approx(2 / 3)
    assert got["mean_f1_empty_as_1"] == pytest.approx(1 / 3)
    assert got["precision"] == pytest.approx(1 / 3) and got["recall"] == 0.5


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 4)])
def test_device_counts_equal_host_counts_per_image(shape) -> None:
    """The on-device path (accelerator tensors) counts each image as the host path does,
    1-D masks included (torch sums everything over ``dim=()``; that once pooled them)."""
    import torch

    from landbench.evaluation.counts import _torch_counts, confusion_counts_per_image

    rng = np.random.default_rng(len(shape))
    pred, target = rng.integers(0, 2, (2, *shape)).astype(np.uint8)
    dims = tuple(range(1, len(shape)))
    device = _torch_counts(torch.from_numpy(pred), torch.from_numpy(target), dims)
    assert device.tolist() == np.asarray(confusion_counts_per_image(pred, target)).tolist()


def test_bootstrap_defaults_and_zero_division_reach_every_pooled_metric() -> None:
    """Documented defaults (1000 resamples, seed 0, 0/0 = 0); ``zero_division`` in all four."""
    from landbench.evaluation.metrics import resample_weights

    np.testing.assert_array_equal(resample_weights(3), resample_weights(3, 1000, 0))
    assert resample_weights(3).shape == (1000, 3)
    rows = np.random.default_rng(5).integers(0, 40, (12, 4))  # varied: intervals move with the draw
    assert bootstrap_intervals(rows) == bootstrap_intervals(rows, 1000, 0.95, 0, 0.0)
    nothing = [[0, 0, 0, 5]]
    for value in (0.0, 1.0):
        got = bootstrap_intervals(nothing, 3, zero_division=value)
        for name in ("f1", "iou", "precision", "recall"):
            assert got[name].to_list() == [value, value], name
    assert bootstrap_intervals(nothing, 3)["precision"].to_list() == [0.0, 0.0]


def test_bootstrap_per_image_means_on_resamples_with_one_landslide_tile() -> None:
    """A one-pixel landslide tile counts as a landslide tile, and a resample drawing a single
    landslide tile averages over that one tile (hand computation on the same draw)."""
    from landbench.evaluation.metrics import resample_weights

    # Tiles: one-pixel landslide found (F1 1), landslide missed (0), empty (1), false alarm (0).
    per_image = np.array([[1, 0, 0, 3], [0, 1, 2, 1], [0, 0, 0, 4], [0, 2, 0, 2]])
    weights = resample_weights(4, 60, seed=3)
    empty_as_1, landslide = [], []
    for w in weights:
        drawn = np.repeat(per_image, w, axis=0)
        scores = [1.0 if t + p + n == 0 else 2 * t / (2 * t + p + n) for t, p, n, _ in drawn]
        empty_as_1.append(np.mean(scores))
        kept = [s for s, row in zip(scores, drawn) if row[0] + row[2] > 0]
        if kept:
            landslide.append(np.mean(kept))
    assert any(np.sum(w[:2]) == 1 for w in weights)  # the single-landslide-tile resamples
    # One landslide tile only: every resample holds exactly one, so every resample has a mean.
    one = bootstrap_intervals([[1, 0, 1, 2]], n_resamples=5)["mean_f1_landslide_tiles"]
    assert one.to_list() == pytest.approx([2 / 3, 2 / 3])
    got = bootstrap_intervals(per_image, n_resamples=60, confidence=0.5, seed=3)
    for name, values in (
        ("mean_f1_empty_as_1", empty_as_1),
        ("mean_f1_landslide_tiles", landslide),
    ):
        low, high = np.quantile(values, [0.25, 0.75])
        assert got[name].to_list() == pytest.approx([low, high], abs=1e-12), name


def test_mean_std_of_one_seed_has_no_spread_and_no_warning() -> None:
    from landbench.evaluation.metrics import mean_std

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = mean_std([0.5, float("nan")])
    assert one.mean == 0.5 and one.n == 1 and np.isnan(one.std)


def test_counts_refuse_fractions_and_booleans_and_read_any_four_values() -> None:
    from landbench.core.errors import InvalidDataError

    for bad in ({"tp": 1.5}, {"fp": True}):
        with pytest.raises(InvalidDataError, match="non-negative integer"):
            Counts(**bad)
    assert Counts(tp=2.0) == Counts(tp=2)
    assert Counts.from_array([[1, 2], [3, 4]]) == Counts(1, 2, 3, 4)
