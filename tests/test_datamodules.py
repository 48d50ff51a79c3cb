"""Data modules on the fake Bijie and Hokkaido data, and TorchGeo's trainer on their batches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from landbench.core.errors import ConfigError
from landbench.datamodules import BijieDataModule, HokkaidoDataModule, band_statistics
from landbench.datasets import Bijie, Hokkaido

DATA = Path(__file__).parent / "data"
BIJIE = DATA / "bijie"
HOKKAIDO = DATA / "hokkaido"

pytestmark = pytest.mark.filterwarnings("ignore::landbench.datasets.base.DatasetCountWarning")


def _first(loader):
    return next(iter(loader))


def test_bijie_train_patches_and_native_eval() -> None:
    dm = BijieDataModule(root=BIJIE, batch_size=4, patch_size=32, pad_multiple=16)
    dm.setup("fit")
    batch = _first(dm.train_dataloader())
    assert batch["image"].shape == (4, 4, 32, 32) and batch["image"].dtype == torch.float32
    assert batch["mask"].shape == (4, 32, 32) and batch["mask"].dtype == torch.int64
    assert batch["valid"].dtype == torch.bool
    val = Bijie(BIJIE, split="val")
    loader = dm.val_dataloader()
    for sample, batch in zip((val[i] for i in range(len(val))), loader):
        h, w = sample["mask"].shape
        assert batch["image"].shape[-2:] == (-(-h // 16) * 16, -(-w // 16) * 16)
        assert int(batch["valid"].sum()) == h * w  # native size, padding marked invalid
        assert torch.equal(batch["mask"][0, :h, :w], sample["mask"])
        assert batch["id"] == [sample["id"]]


def test_stats_come_from_train_split_only() -> None:
    dm = BijieDataModule(root=BIJIE)
    mean, std = dm.stats
    ref_mean, ref_std = band_statistics(Bijie(BIJIE, split="train"))
    torch.testing.assert_close(mean, ref_mean)
    torch.testing.assert_close(std, ref_std)
    test_mean, _ = band_statistics(Bijie(BIJIE, split="test"))
    assert not torch.allclose(mean, test_mean)
    dm.setup("fit")
    raw = _first(dm.val_dataloader())
    normed = dm.aug(dict(raw))
    expected = (raw["image"] - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
    torch.testing.assert_close(normed["image"], expected)


def test_band_subset_stats() -> None:
    dm = BijieDataModule(root=BIJIE, bands=("R", "G", "B"), patch_size=16)
    assert dm.stats[0].shape == (3,)
    dm.setup("fit")
    assert _first(dm.train_dataloader())["image"].shape[1] == 3


def test_hokkaido_datamodule() -> None:
    dm = HokkaidoDataModule(root=HOKKAIDO, batch_size=2, patch_size=16)
    dm.setup("fit")
    batch = _first(dm.train_dataloader())
    assert batch["image"].shape == (2, 4, 16, 16) and batch["mask"].shape == (2, 16, 16)
    dm.setup("test")
    assert len(dm.test_dataloader()) == len(Hokkaido(HOKKAIDO, split="test"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"mean": [0, 0, 0, 0]}, "Give both mean and std"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BijieDataModule(root=BIJIE, **kwargs)


def test_torchgeo_trainer_trains_on_bijie_batches(
    tmp_path: Path, torchgeo_segmentation_task: type
) -> None:
    """DESIGN contract: TorchGeo's own segmentation task consumes the batches unchanged."""
    import lightning

    lightning.seed_everything(0, verbose=False)
    dm = BijieDataModule(root=BIJIE, batch_size=2, patch_size=32)
    task = torchgeo_segmentation_task(
        model="unet",
        backbone="resnet18",
        weights=None,
        in_channels=4,
        task="binary",
        loss="bce",
    )
    before = [p.detach().clone() for p in task.model.parameters()]
    trainer = lightning.Trainer(
        fast_dev_run=True,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(task, dm)
    assert torch.isfinite(trainer.callback_metrics["train_loss"])
    assert "val_loss" in trainer.callback_metrics
    after = list(task.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before))  # it really trained
    trainer.test(task, dm)
    assert torch.isfinite(trainer.callback_metrics["test_loss"])


def test_dem_nodata_is_left_out_of_stats_and_normalised_to_zero() -> None:
    """The fake Hokkaido DEMs hold -9999 nodata cells (as GSI DEMs do at their edges)."""
    from landbench.inference.predictor import Predictor
    from landbench.models import create_model

    train = Hokkaido(HOKKAIDO, split="train", dem_format="tif")
    dem = torch.cat([train[i]["image"][3].flatten() for i in range(len(train))]).double()
    assert bool((dem == -9999).any()), "the fake data must exercise nodata"
    real = dem[dem != -9999]
    dm = HokkaidoDataModule(root=HOKKAIDO, dem_format="tif", batch_size=2, patch_size=16)
    mean, std = dm.stats
    assert mean[3].item() == pytest.approx(real.mean().item(), rel=1e-5)
    assert std[3].item() == pytest.approx(real.std(unbiased=False).item(), rel=1e-4)
    naive_mean, _ = band_statistics(train)  # without the nodata rule the -9999 cells dominate
    assert naive_mean[3] < mean[3] - 1

    dm.setup("test")
    sample = Hokkaido(HOKKAIDO, split="test", dem_format="tif")[0]
    nodata = sample["image"][3] == -9999
    batch = dm.aug({"image": sample["image"][None].clone()})
    assert bool((batch["image"][0, 3][nodata] == 0).all())
    assert batch["image"][0, 3][~nodata].abs().max() < 50

    # The Predictor prepares inputs exactly as training did.
    model = create_model("fusionnet-resunet", size="tiny").eval()
    predictor = Predictor(model, mean, std, dem_nodata=dm.dem_nodata)
    with torch.no_grad():
        expected = torch.sigmoid(model(batch["image"]))[0, 0]
    assert torch.allclose(predictor.predict_proba(sample["image"]), expected, atol=1e-6)


def test_relative_dem_sees_relief_only() -> None:
    """With dem_relative, a tile lifted by 1000 m is normalised exactly like the original."""
    from landbench.core.normalization import normalize, relative_dem

    dm = BijieDataModule(root=BIJIE, batch_size=2, patch_size=32, dem_relative=True)
    mean, std = dm.stats
    assert abs(mean[3].item()) < 1e-6  # relative elevation has zero mean over each tile
    absolute, _ = BijieDataModule(root=BIJIE, batch_size=2, patch_size=32).stats
    assert torch.equal(mean[:3], absolute[:3]) and std[3] < absolute[3]

    image = Bijie(BIJIE, split="test")[0]["image"][None]
    lifted = image.clone()
    lifted[:, 3] += 1000.0
    a = normalize(image, mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1), 3, None, True)
    b = normalize(lifted, mean.view(1, -1, 1, 1), std.view(1, -1, 1, 1), 3, None, True)
    assert torch.allclose(a, b, atol=1e-4)
    dem = torch.tensor([[[1.0, 3.0], [-9999.0, 5.0]]])
    assert relative_dem(dem, -9999.0).tolist() == [[[-2.0, 0.0], [0.0, 2.0]]]


# -- the one padding rule in collation, patches and normalisation (issue 14, item 1) -----------


def _sample(h: int, w: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    image = torch.cat([torch.rand(3, h, w, generator=g) * 255, 900 + torch.rand(1, h, w) * 50])
    mask = (torch.rand(h, w, generator=g) > 0.7).long()
    return {"image": image, "mask": mask, "id": f"s{seed}"}


def test_pad_collate_pads_each_tile_by_the_core_rule() -> None:
    from landbench.core.padding import pad_to_size
    from landbench.datamodules import pad_collate

    samples = [_sample(20, 37, 0), _sample(33, 10, 1)]
    batch = pad_collate(samples, multiple=16)
    assert batch["image"].shape == (2, 4, 48, 48) and batch["image"].dtype == torch.float32
    assert batch["mask"].shape == (2, 48, 48) and batch["mask"].dtype == torch.int64
    assert batch["valid"].shape == (2, 48, 48) and batch["valid"].dtype == torch.bool
    for i, s in enumerate(samples):
        h, w = s["mask"].shape
        padded, valid = pad_to_size(s["image"], (48, 48))
        assert torch.equal(batch["image"][i], padded)  # edge replication, not raw zeros
        assert torch.equal(batch["valid"][i], valid) and int(valid.sum()) == h * w
        assert torch.equal(batch["mask"][i, :h, :w], s["mask"])
        assert int(batch["mask"][i][~valid].sum()) == 0  # padding is background
    # The DEM padding repeats the tile's edge: no cliff at the border.
    assert batch["image"][0, 3, 30, 0] == samples[0]["image"][3, 19, 0]


def test_small_training_tiles_are_padded_by_the_core_rule() -> None:
    from landbench.datamodules import RandomPatches

    class One:
        def __len__(self) -> int:
            return 1

        def __getitem__(self, i: int) -> dict:
            return _sample(10, 24, 3)

    patch = RandomPatches(One(), patch_size=16)[0]
    assert patch["image"].shape == (4, 16, 16) and patch["valid"].shape == (16, 16)
    rows = patch["valid"].any(1)
    assert int(rows.sum()) == 10 and not bool(patch["valid"][10:].any())
    # The padded rows repeat the tile's last row (raw values), the mask there is background.
    assert torch.equal(patch["image"][:, 10], patch["image"][:, 9])
    assert int(patch["mask"][10:].sum()) == 0


def test_normalisation_uses_real_pixels_only() -> None:
    """A padded, normalised validation tile equals the tile normalised alone, then padded."""
    from landbench.core.padding import pad_to_size
    from landbench.datamodules import _Normalize, pad_collate

    samples = [_sample(20, 37, 0), _sample(33, 10, 1)]
    norm = _Normalize(torch.tensor([120.0, 120, 120, 920]), torch.tensor([60.0, 60, 60, 15]),
                      3, None, True)  # fmt: skip
    batch = norm(pad_collate(samples, multiple=16))
    for i, s in enumerate(samples):
        alone = norm({"image": s["image"][None]})["image"][0]
        expected, _ = pad_to_size(alone, (48, 48))
        assert torch.allclose(batch["image"][i], expected, atol=1e-5)
