"""The no-skill references: all-background and the fitted DEM slope threshold."""

from __future__ import annotations

import pytest
import torch

from landbench.core.errors import ConfigError, InvalidDataError
from landbench.models import create_model


def ramp_batch(steep_is_landslide: bool = True) -> dict[str, torch.Tensor]:
    """DEM gentle (0.01 / px) on the left half and steep (0.3 / px) on the right half."""
    h, w = 24, 40
    cols = torch.arange(w, dtype=torch.float32)
    dem = torch.where(cols < 20, 0.01 * cols, 0.2 + 0.3 * (cols - 20)).expand(2, h, w)
    image = torch.randn(2, 4, h, w, generator=torch.Generator().manual_seed(0))
    image[:, 3] = dem
    steep = (cols >= 20).expand(2, h, w)
    mask = (steep if steep_is_landslide else ~steep).long()
    return {"image": image, "mask": mask}


def pooled_f1(pred: torch.Tensor, target: torch.Tensor) -> float:
    tp = int((pred & target).sum())
    fp = int((pred & ~target).sum())
    fn = int((~pred & target).sum())
    return 2 * tp / (2 * tp + fp + fn)


def test_slope_threshold_finds_the_steep_landslides() -> None:
    model = create_model("slope-threshold")
    assert model.trainable is False
    batch = ramp_batch()
    model.fit([batch])
    assert 0.01 < float(model.threshold) < 0.3
    assert float(model.direction) == 1.0
    pred = model(batch["image"])[:, 0] > 0
    assert pooled_f1(pred, batch["mask"].bool()) > 0.95
    assert float(model.train_f1) == pytest.approx(pooled_f1(pred, batch["mask"].bool()), abs=1e-6)


def test_slope_threshold_can_pick_flat_terrain() -> None:
    model = create_model("slope-threshold")
    batch = ramp_batch(steep_is_landslide=False)
    model.fit([batch])
    assert float(model.direction) == -1.0
    pred = model(batch["image"])[:, 0] > 0
    assert pooled_f1(pred, batch["mask"].bool()) > 0.95


def test_slope_threshold_matches_brute_force_pooled_f1() -> None:
    g = torch.Generator().manual_seed(3)
    batches = []
    for _ in range(3):
        image = torch.randn(2, 4, 20, 20, generator=g)
        image[:, 3] = torch.randn(2, 20, 20, generator=g).cumsum(-1)
        mask = (torch.rand(2, 20, 20, generator=g) < 0.3).long()
        batches.append({"image": image, "mask": mask})
    model = create_model("slope-threshold")
    model.fit(iter(batches))  # a one-pass iterator is enough
    slopes = torch.cat([model.slope(b["image"]).flatten() for b in batches])
    target = torch.cat([b["mask"].flatten() for b in batches]).bool()
    best = max(
        max(pooled_f1(slopes >= t, target), pooled_f1(slopes < t, target)) for t in slopes.unique()
    )
    fitted = pooled_f1(torch.cat([(model(b["image"]) > 0).flatten() for b in batches]), target)
    assert fitted == pytest.approx(float(model.train_f1), abs=1e-6)
    assert fitted >= best - 0.01  # histogram bins are 0.5 % apart


def test_slope_threshold_errors() -> None:
    model = create_model("slope-threshold")
    with pytest.raises(ConfigError, match="not fitted.*fit"):
        model(torch.randn(1, 4, 8, 8))
    with pytest.raises(ConfigError, match="no batches"):
        model.fit([])
    with pytest.raises(ConfigError, match="'image' and 'mask'"):
        model.fit([{"image": torch.randn(1, 4, 8, 8)}])
    with pytest.raises(ConfigError, match="mask shape"):
        model.fit([{"image": torch.randn(1, 4, 8, 8), "mask": torch.zeros(1, 7, 8)}])
    with pytest.raises(InvalidDataError, match="no landslide pixel"):
        model.fit([{"image": torch.randn(1, 4, 8, 8), "mask": torch.zeros(1, 8, 8)}])
    with pytest.raises(ConfigError, match="bins"):
        create_model("slope-threshold", bins=1)


def test_all_background_predicts_nothing_with_the_train_prior() -> None:
    model = create_model("all-background")
    batch = ramp_batch()
    valid = torch.ones_like(batch["mask"], dtype=torch.bool)
    valid[..., 30:] = False  # padding: excluded from the prior
    model.fit([{**batch, "valid": valid}])
    prior = float((batch["mask"] * valid).sum() / valid.sum())
    assert float(model.positive_fraction) == pytest.approx(prior)
    proba = torch.sigmoid(model(torch.randn(3, 4, 11, 13)))
    assert proba.shape == (3, 1, 11, 13)
    torch.testing.assert_close(proba, torch.full_like(proba, prior))
    # Even a landslide-dominated train split cannot make it predict a landslide.
    model.fit([{"image": torch.randn(1, 4, 4, 4), "mask": torch.ones(1, 4, 4)}])
    assert (torch.sigmoid(model(torch.randn(1, 4, 4, 4))) < 0.5).all()
    assert list(model.parameters()) == [] and model.trainable is False
