"""Data modules on the fake Bijie and Hokkaido data, and TorchGeo's trainer on their batches."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from landbench.datamodules import BijieDataModule, HokkaidoDataModule, band_statistics
from landbench.datasets import Bijie, Hokkaido
from landbench.exceptions import ConfigError

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


def test_torchgeo_trainer_trains_on_bijie_batches(tmp_path: Path) -> None:
    """DESIGN contract: TorchGeo's own segmentation task consumes the batches unchanged."""
    import lightning
    from torchgeo.trainers import SemanticSegmentationTask

    lightning.seed_everything(0, verbose=False)
    dm = BijieDataModule(root=BIJIE, batch_size=2, patch_size=32)
    task = SemanticSegmentationTask(
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
