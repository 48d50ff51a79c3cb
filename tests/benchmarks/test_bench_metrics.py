"""Pixel F1 of a Bijie-sized test split: landbench's counts against sklearn and torchmetrics.

One run, the same masks for every contender: 550 tiles of 300 x 300 (49.5 Mpx) of uint8 {0, 1}
masks, as decoded from prediction PNGs. The read floor is ``np.count_nonzero`` of both masks
once (no arithmetic beyond reading every byte). Each contender's F1 is checked against the same
reference, so the benchmark also proves they compute the same number.

Measure with::

    python -m pytest tests/benchmarks/test_bench_metrics.py --benchmark-enable

Without ``--benchmark-enable`` (the default test run) a 24-tile set keeps it fast;
``LANDBENCH_BENCH_TILES=N`` sets the tile count explicitly.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score
from torchmetrics.classification import BinaryF1Score

from landbench.evaluation import confusion_counts, f1

SIDE = 300
GROUP = "pixel-f1-550x300x300"


@pytest.fixture(scope="module")
def masks(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true masks ``[N, 300, 300]`` uint8 {0, 1}, about 12% landslide."""
    enabled = request.config.getoption("benchmark_enable") or not request.config.getoption(
        "benchmark_disable"
    )
    n = int(os.environ.get("LANDBENCH_BENCH_TILES", 550 if enabled else 24))
    rng = np.random.default_rng(0)
    target = (rng.random((n, SIDE, SIDE)) < 0.12).astype(np.uint8)
    flip = rng.random((n, SIDE, SIDE)) < 0.05
    pred = np.where(flip, 1 - target, target).astype(np.uint8)
    return pred, target


@pytest.fixture(scope="module")
def reference(masks: tuple[np.ndarray, np.ndarray]) -> float:
    pred, target = masks
    tp = int(np.sum((pred == 1) & (target == 1), dtype=np.int64))
    fp = int(np.sum((pred == 1) & (target == 0), dtype=np.int64))
    fn = int(np.sum((pred == 0) & (target == 1), dtype=np.int64))
    return 2 * tp / (2 * tp + fp + fn)


def _record(benchmark, masks: tuple[np.ndarray, np.ndarray]) -> None:
    n_px = masks[0].size
    benchmark.extra_info["megapixels"] = round(n_px / 1e6, 1)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["Gpx_per_s"] = round(n_px / stats.stats.min / 1e9, 4)


@pytest.mark.benchmark(group=GROUP)
def test_landbench_confusion_counts(benchmark, masks, reference) -> None:
    pred, target = masks
    result = benchmark.pedantic(
        lambda: f1(confusion_counts(pred, target)), rounds=20, warmup_rounds=2
    )
    _record(benchmark, masks)
    assert result == pytest.approx(reference, abs=1e-12)


@pytest.mark.benchmark(group=GROUP)
def test_read_floor_count_nonzero(benchmark, masks) -> None:
    pred, target = masks
    result = benchmark.pedantic(
        lambda: (np.count_nonzero(pred), np.count_nonzero(target)), rounds=20, warmup_rounds=2
    )
    _record(benchmark, masks)
    assert result == (int(pred.sum(dtype=np.int64)), int(target.sum(dtype=np.int64)))


@pytest.mark.benchmark(group=GROUP)
def test_sklearn_f1_score(benchmark, masks, reference) -> None:
    pred, target = masks

    def run() -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(f1_score(target.reshape(-1), pred.reshape(-1), zero_division=0))

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    _record(benchmark, masks)
    assert result == pytest.approx(reference, abs=1e-9)


@pytest.mark.benchmark(group=GROUP)
def test_torchmetrics_binary_f1(benchmark, masks, reference) -> None:
    pred, target = masks
    preds_t, target_t = torch.from_numpy(pred), torch.from_numpy(target)

    def run() -> float:
        return float(BinaryF1Score()(preds_t, target_t))

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    _record(benchmark, masks)
    assert result == pytest.approx(reference, abs=1e-6)
