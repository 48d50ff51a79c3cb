"""The padding rule (core) and the inference layer (Predictor): one path for every prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from landbench.core.errors import ConfigError, InvalidDataError
from landbench.core.normalization import normalize, relative_dem
from landbench.core.padding import pad_to_multiple, pad_to_size, valid_extent
from landbench.datamodules import pad_collate
from landbench.inference import Predictor
from landbench.inference.predictor import find_weights, make_predictor
from landbench.models import create_model, save_weights

MEAN = [120.0, 110.0, 100.0, 1500.0]
STD = [40.0, 35.0, 30.0, 200.0]


def _tile(h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(3, h, w, generator=g) * 255
    dem = 1500 + torch.cumsum(torch.randn(1, h, w, generator=g), dim=-1) * 5
    return torch.cat([rgb, dem]).float()


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    torch.manual_seed(0)
    model = create_model("fusionnet-resunet", size="tiny")
    return Predictor(model, MEAN, STD, batch_size=4, dem_relative=True, dem_nodata=-9999.0)


# -- core.padding -------------------------------------------------------------------------------


def test_pad_to_multiple_replicates_bottom_right_and_marks_valid() -> None:
    image = torch.arange(2 * 3 * 5, dtype=torch.float32).view(2, 3, 5)
    padded, valid = pad_to_multiple(image, 4)
    assert padded.shape == (2, 4, 8) and valid.shape == (4, 8) and valid.dtype == torch.bool
    assert torch.equal(padded[:, :3, :5], image)
    assert torch.equal(padded[:, 3, :5], image[:, 2])  # last row repeated
    assert torch.equal(padded[:, :3, 5:], image[:, :, 4:5].expand(2, 3, 3))  # last column
    assert padded[0, 3, 7] == image[0, 2, 4]  # the corner
    assert int(valid.sum()) == 15 and valid[:3, :5].all()
    assert valid_extent(valid) == (3, 5)
    # Batches [N, C, H, W], masks [H, W] (integer dtypes keep theirs), already-aligned sizes.
    batch, _ = pad_to_multiple(torch.zeros(2, 4, 30, 33), 32)
    assert batch.shape == (2, 4, 32, 64)
    mask, _ = pad_to_multiple(torch.ones(3, 5, dtype=torch.int64), 4)
    assert mask.dtype == torch.int64 and mask.shape == (4, 8)
    same, valid = pad_to_multiple(image, 1)
    assert same is image and bool(valid.all())


def test_pad_to_size_and_errors() -> None:
    padded, valid = pad_to_size(torch.ones(1, 2, 2), (3, 5))
    assert padded.shape == (1, 3, 5) and int(valid.sum()) == 4
    with pytest.raises(ConfigError, match="smaller"):
        pad_to_size(torch.ones(1, 4, 4), (3, 5))
    with pytest.raises(ConfigError, match="positive"):
        pad_to_multiple(torch.ones(1, 4, 4), 0)
    with pytest.raises(ConfigError, match="no real pixel"):
        valid_extent(torch.zeros(3, 3, dtype=torch.bool))


def test_padding_commutes_with_normalisation_on_real_pixels() -> None:
    """Normalise-then-pad equals pad-then-normalise when tile statistics skip the padding."""
    tile = _tile(21, 13, 0)
    tile[3, 0, 0] = -9999.0  # a nodata cell
    mean, std = torch.tensor(MEAN).view(1, 4, 1, 1), torch.tensor(STD).view(1, 4, 1, 1)
    padded, valid = pad_to_multiple(tile, 8)
    a = normalize(padded[None], mean, std, 3, -9999.0, True, valid[None])[0]
    b, _ = pad_to_multiple(normalize(tile[None], mean, std, 3, -9999.0, True)[0], 8)
    assert torch.allclose(a, b, atol=1e-5)
    # Without the mask the padding shifts the relative-DEM mean: the bug this rule prevents.
    c = normalize(padded[None], mean, std, 3, -9999.0, True)[0]
    assert not torch.allclose(c, b, atol=1e-3)


def test_relative_dem_mean_excludes_padding_and_nodata() -> None:
    dem = torch.tensor([[[1.0, 3.0, 100.0], [-9999.0, 5.0, 100.0]]])
    valid = torch.tensor([[[True, True, False], [True, True, False]]])
    out = relative_dem(dem, -9999.0, valid)
    assert torch.allclose(out[0, 0, :2], torch.tensor([-2.0, 0.0]))  # mean of 1, 3, 5 = 3
    assert out[0, 1, 0] == 0  # nodata -> 0


# -- Predictor ---------------------------------------------------------------------------------


def test_predict_forms_and_own_size(predictor: Predictor) -> None:
    tiles = [_tile(50, 70, 1), _tile(33, 33, 2), _tile(64, 64, 3)]
    single = predictor.predict(tiles[0])
    assert isinstance(single, torch.Tensor) and single.shape == (50, 70)
    assert single.dtype == torch.float32 and 0 <= float(single.min()) <= float(single.max()) <= 1
    many = predictor.predict(tiles)
    assert [tuple(p.shape) for p in many] == [(50, 70), (33, 33), (64, 64)]
    numpy_in = predictor.predict_proba(tiles[1].numpy())
    assert isinstance(numpy_in, np.ndarray) and numpy_in.shape == (33, 33)
    masks = predictor.predict_masks(tiles, threshold=0.3)
    assert all(m.dtype == torch.uint8 for m in masks)
    assert torch.equal(masks[0], (many[0] > 0.3).to(torch.uint8))


def test_prediction_never_depends_on_batch_neighbours(predictor: Predictor) -> None:
    """A tile alone, in a list of other sizes, or padded in a collated batch: same output."""
    tiles = [_tile(40, 57, 4), _tile(37, 30, 5), _tile(40, 57, 6), _tile(90, 20, 7)]
    alone = [predictor.predict(t) for t in tiles]
    together = predictor.predict(tiles)
    samples = [
        {"image": t, "mask": torch.zeros(t.shape[1:], dtype=torch.int64), "id": str(i)}
        for i, t in enumerate(tiles)
    ]
    batch = pad_collate(samples, multiple=32)
    assert batch["image"].shape == (4, 4, 96, 64)
    collated = predictor.predict(batch)
    for a, b, c in zip(alone, together, collated):
        assert a.shape == b.shape == c.shape
        # Equal up to the convolution backend's rounding with another batch size.
        assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, c, atol=1e-5)
    # A neighbour with wildly different values changes nothing for the others.
    odd = _tile(40, 57, 8) * 10
    again = predictor.predict([tiles[0], odd])
    assert torch.allclose(again[0], alone[0], atol=1e-5)


def test_normalised_batches_give_the_raw_path(predictor: Predictor) -> None:
    """The data module's normalised validation batches predict exactly like raw tiles."""
    from landbench.datamodules import _Normalize

    tiles = [_tile(45, 33, 9), _tile(20, 64, 10)]
    tiles[0][3, 5, 5] = -9999.0
    samples = [
        {"image": t, "mask": torch.zeros(t.shape[1:], dtype=torch.int64), "id": str(i)}
        for i, t in enumerate(tiles)
    ]
    batch = pad_collate(samples, multiple=32)
    norm = _Normalize(torch.tensor(MEAN), torch.tensor(STD), 3, -9999.0, True)(batch)
    from_normalised = predictor.predict(norm, normalized=True)
    from_raw = predictor.predict(batch)
    for a, b in zip(from_normalised, from_raw):
        assert torch.allclose(a, b, atol=1e-5)


def test_bands_come_from_the_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("unet-rgb", bands=("B4", "B3", "B2"))
    rgb = Predictor(model, MEAN[:3], STD[:3])
    assert rgb.dem_index is None and len(rgb.bands) == 3
    assert rgb.predict(_tile(20, 20, 0)[:3]).shape == (20, 20)
    with pytest.raises(ConfigError, match="one value per band"):
        Predictor(model, MEAN, STD)
    four = Predictor(create_model("unet-rgb"), MEAN, STD)
    assert tuple(four.bands) == ("R", "G", "B", "DEM") and four.dem_index == 3
    assert (
        Predictor(create_model("unet-rgb"), MEAN, STD, bands=("R", "G", "B", "elevation")).dem_index
        == 3
    )
    with pytest.raises(ConfigError, match=r"\[4, H, W\]"):
        four.predict(torch.rand(3, 29, 37))


def test_from_run_and_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("fusionnet-resunet", size="tiny")
    norm = {"bands": ["R", "G", "B", "DEM"], "mean": MEAN, "std": STD, "dem_relative": True}
    run = tmp_path / "run"
    save_weights(model, run / "model.safetensors", {"normalization": norm, "dataset": "synth"})
    from_run = Predictor.from_run(run)
    from_file = Predictor.from_weights(run / "model.safetensors")
    assert from_run.dem_relative and from_run.source["trained_dataset"] == "synth"
    assert from_run.source["weights"] == str(run / "model.safetensors")
    tile = _tile(31, 47, 11)
    assert torch.equal(from_run.predict(tile), from_file.predict(tile))
    expected = Predictor(model, MEAN, STD, dem_relative=True).predict(tile)
    assert torch.allclose(from_run.predict(tile), expected, atol=1e-6)
    assert make_predictor(run).source == from_run.source
    # A folder with one differently named weights file is accepted; none or not safetensors is not.
    other = tmp_path / "other"
    save_weights(model, other / "best.safetensors", {"normalization": norm})
    assert find_weights(other) == other / "best.safetensors"
    with pytest.raises(ConfigError, match="no model.safetensors"):
        find_weights(tmp_path / "run" / "..")
    (tmp_path / "w.pt").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not a .safetensors"):
        find_weights(tmp_path / "w.pt")
    with pytest.raises(ConfigError, match="does not exist"):
        Predictor.from_run(tmp_path / "missing")
    save_weights(model, tmp_path / "bare.safetensors")
    with pytest.raises(InvalidDataError, match="normalization"):
        Predictor.from_weights(tmp_path / "bare.safetensors")
    with pytest.raises(ConfigError, match="bare model"):
        make_predictor(model)


def test_predict_dataset_yields_ids_at_native_size(predictor: Predictor) -> None:
    class Tiles:
        sizes = [(30, 41), (30, 41), (17, 64), (30, 41), (9, 9)]

        def __len__(self) -> int:
            return len(self.sizes)

        def __getitem__(self, i: int) -> dict:
            h, w = self.sizes[i]
            return {"image": _tile(h, w, i), "mask": torch.zeros(h, w), "id": f"t{i}"}

    out = list(predictor.predict_dataset(Tiles()))
    assert [i for i, _ in out] == [f"t{i}" for i in range(5)]
    assert [p.shape for _, p in out] == Tiles.sizes
    assert all(isinstance(p, np.ndarray) for _, p in out)
    assert np.allclose(out[2][1], predictor.predict(_tile(17, 64, 2)).numpy(), atol=1e-5)
