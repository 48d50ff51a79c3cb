"""The classical baseline ``hgb-pixel``: features, fitting, trees stored without pickle, bands."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landbench.core.errors import ConfigError, InvalidDataError
from landbench.models import create_model, load_weights, save_weights
from landbench.models.classical import feature_names, pixel_features

L4S_BANDS = (*(f"B{i}" for i in range(1, 13)), "slope", "DEM")
SMALL = {"max_iter": 12, "max_leaf_nodes": 15, "max_samples": 4_000}


def batches(bands=("R", "G", "B", "DEM"), n_batches: int = 3, seed: int = 0) -> list[dict]:
    """Landslides where the DEM is steep and the image bright: both groups carry signal."""
    g = torch.Generator().manual_seed(seed)
    dem_channel = bands.index("DEM")
    out = []
    for _ in range(n_batches):
        image = torch.randn(2, len(bands), 24, 30, generator=g)
        cols = torch.arange(30, dtype=torch.float32)
        image[:, dem_channel] = torch.where(cols < 15, 0.02 * cols, 0.3 + 0.4 * (cols - 15))
        mask = torch.zeros(2, 24, 30, dtype=torch.long)
        mask[:, 4:20, 17:28] = 1
        image[:, 0] += 1.5 * mask
        valid = torch.ones(2, 24, 30, dtype=torch.bool)
        valid[:, :, 29:] = False  # padding columns never enter the sample
        out.append({"image": image, "mask": mask, "valid": valid})
    return out


def pooled_f1(pred: torch.Tensor, target: torch.Tensor) -> float:
    tp = int((pred & target).sum())
    return 2 * tp / (2 * tp + int((pred & ~target).sum()) + int((~pred & target).sum()))


def test_features_are_documented_and_computed_as_documented() -> None:
    from scipy import ndimage

    bands = ("R", "G", "B", "DEM")
    names = feature_names(bands, window=5)
    assert names == [
        "R", "G", "B", "DEM", "brightness_std_5", "slope", "aspect_cos", "aspect_sin",
        "curvature", "relief_5", "dem_std_5", "dem_position_5",
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    tile = rng.normal(size=(4, 9, 11)).astype(np.float32)
    tile[3] = np.add.outer(np.arange(9) * 0.5, np.arange(11) * 2.0)  # plane: slope known
    rows = pixel_features(tile, bands, window=5).reshape(9, 11, -1)
    assert rows.shape[-1] == len(names) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows[..., :4], tile.transpose(1, 2, 0))
    inner = (slice(2, -2), slice(2, -2))  # away from the replicated border
    col = names.index
    np.testing.assert_allclose(rows[..., col("slope")][inner], np.hypot(0.5, 2.0), rtol=1e-6)
    np.testing.assert_allclose(rows[..., col("aspect_sin")][inner], -2 / np.hypot(0.5, 2), 1e-6)
    np.testing.assert_allclose(rows[..., col("curvature")][inner], 0.0, atol=1e-5)
    np.testing.assert_allclose(rows[..., col("relief_5")][inner], 4 * 0.5 + 4 * 2.0, rtol=1e-6)
    np.testing.assert_allclose(rows[..., col("dem_position_5")][inner], 0.0, atol=1e-5)
    brightness = tile[:3].mean(axis=0)
    window = brightness[2:7, 3:8]
    assert rows[4, 5, col("brightness_std_5")] == pytest.approx(window.std(), rel=1e-4)
    assert rows[4, 5, col("dem_std_5")] == pytest.approx(tile[3, 2:7, 3:8].std(), rel=1e-4)
    assert rows[0, 0, col("relief_5")] == pytest.approx(
        ndimage.maximum_filter(tile[3], 5, mode="nearest")[0, 0] - tile[3, 0, 0]
    )
    # Groups decide the features: no DEM, no DEM features; no optical band, no brightness.
    assert feature_names(("R", "G", "B")) == ["R", "G", "B", "brightness_std_7"]
    assert feature_names(("elevation",))[1:] == [
        "slope", "aspect_cos", "aspect_sin", "curvature", "relief_7", "dem_std_7",
        "dem_position_7",
    ]  # fmt: skip
    assert len(feature_names(L4S_BANDS)) == 14 + 1 + 7


def test_fit_learns_and_stored_trees_reproduce_sklearn_exactly(tmp_path) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = create_model("hgb-pixel", seed=3, **SMALL)
    data = batches()
    model.fit(data)
    assert model.trainable is False and list(model.parameters()) == []
    image = torch.cat([b["image"] for b in data])
    target = torch.cat([b["mask"] for b in data]).bool()
    with torch.no_grad():
        pred = model(image)[:, 0] > 0
    assert pooled_f1(pred, target) > 0.85
    assert 0.85 < float(model.train_f1) <= 1.0 and int(model.fit_seed) == 3

    # The same sample fitted by scikit-learn gives the same probabilities, bit for bit.
    rows, labels = model._sample(data, 3)
    assert len(rows) == 4_000 and set(np.unique(labels)) == {0, 1}
    reference = HistGradientBoostingClassifier(
        max_iter=12, max_leaf_nodes=15, learning_rate=0.1, early_stopping=False, random_state=3
    ).fit(rows, labels)
    test_rows = model.features(torch.randn(2, 4, 17, 13))
    test_rows[:5, 1] = np.nan  # missing values follow the tree's missing-value direction
    expected = reference.predict_proba(test_rows)[:, 1]
    np.testing.assert_array_equal(model.predict_proba(test_rows), expected)

    # Saved as safetensors (no pickle) and reloaded: the same logits exactly.
    path = save_weights(model, tmp_path / "hgb.safetensors", {"dataset": "fake"})
    assert b"sklearn" not in path.read_bytes()
    loaded, meta = load_weights(path, expected_model="hgb-pixel")
    assert meta["model_config"]["seed"] == 3
    np.testing.assert_array_equal(loaded.predict_proba(test_rows), expected)
    with torch.no_grad():
        assert torch.equal(loaded(image), model(image))


def test_fit_is_deterministic_given_the_seed_and_bounded() -> None:
    first = create_model("hgb-pixel", seed=1, **SMALL)
    second = create_model("hgb-pixel", seed=1, **SMALL)
    other = create_model("hgb-pixel", seed=2, **SMALL)
    for model in (first, second, other):
        model.fit(batches())
    assert all(torch.equal(a, b) for a, b in zip(first.buffers(), second.buffers()))
    assert not torch.equal(first.node_threshold, other.node_threshold)
    # The sample does not depend on how the same pixels are cut into batches.
    data = batches()
    merged = [{k: torch.cat([b[k] for b in data]) for k in data[0]}]
    rows_a, labels_a = first._sample(data, 5)
    rows_b, labels_b = first._sample(merged, 5)
    np.testing.assert_array_equal(rows_a, rows_b)
    np.testing.assert_array_equal(labels_a, labels_b)
    # Padding (valid == False) is never sampled: 3 batches x 2 tiles x 24 rows x 29 columns.
    everything = create_model("hgb-pixel", seed=0, max_samples=10_000)
    rows, _ = everything._sample(data, 0)
    assert len(rows) == 3 * 2 * 24 * 29


def test_torch_seed_is_used_when_no_seed_is_given() -> None:
    torch.manual_seed(7)
    a = create_model("hgb-pixel", **SMALL)
    a.fit(batches())
    torch.manual_seed(7)
    b = create_model("hgb-pixel", **SMALL)
    b.fit(batches())
    assert int(a.fit_seed) == int(b.fit_seed) >= 0
    assert torch.equal(a.node_value, b.node_value)


def test_any_band_set_works() -> None:
    data = batches(bands=L4S_BANDS)
    model = create_model("hgb-pixel", bands=L4S_BANDS, seed=0, **SMALL)
    model.fit(data)
    assert model.feature_names == feature_names(L4S_BANDS)
    with torch.no_grad():
        pred = model(data[0]["image"])[:, 0] > 0
    assert pooled_f1(pred, data[0]["mask"].bool()) > 0.85
    optical_only = create_model("hgb-pixel", bands=("R", "G", "B"), seed=0, **SMALL)
    optical_only.fit([{**b, "image": b["image"][:, :3]} for b in batches()])
    assert len(optical_only.feature_names) == 4


def test_errors_are_clear() -> None:
    model = create_model("hgb-pixel", **SMALL)
    with pytest.raises(ConfigError, match="not fitted"):
        model(torch.randn(1, 4, 8, 8))
    with pytest.raises(ConfigError, match="no batches"):
        model.fit([])
    with pytest.raises(ConfigError, match=r"\[N, 4, H, W\]"):
        model.fit([{"image": torch.randn(1, 3, 8, 8), "mask": torch.zeros(1, 8, 8)}])
    with pytest.raises(InvalidDataError, match="one class"):
        model.fit([{"image": torch.randn(1, 4, 8, 8), "mask": torch.zeros(1, 8, 8)}])
    with pytest.raises(ConfigError, match="window must be odd"):
        create_model("hgb-pixel", window=4)
    with pytest.raises(ConfigError, match=r"max_samples=10 is outside its bound"):
        create_model("hgb-pixel", max_samples=10)
    with pytest.raises(ConfigError, match="learning_rate"):
        create_model("hgb-pixel", learning_rate=0.0)
