"""Landslide4Sense: release layout, official split, bands, partial copies, bad files, download."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import landbench
from landbench.core.errors import (
    ConfigError,
    DatasetNotFoundError,
    IntegrityError,
    InvalidDataError,
)
from landbench.datasets import download as dl
from landbench.datasets.base import DatasetCountWarning
from landbench.datasets.landslide4sense import Landslide4Sense, official_files
from landbench.datasets.splits import SplitManifest

FAKE = Path(__file__).parent / "data" / "landslide4sense"
ARCHIVE_MD5 = "a9c63fc53e5b0e491462cbc6bf3d36c3"  # printed by tests/data/landslide4sense/data.py


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", DatasetCountWarning)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    out = tmp_path / "l4s"
    for folder in ("TrainData", "ValidData", "TestData"):
        shutil.copytree(FAKE / folder, out / folder)
    return out


def test_samples_hold_the_file_values() -> None:
    ds = landbench.load("landslide4sense", split="train", root=FAKE)
    assert isinstance(ds, landbench.datasets.Landslide4Sense)
    assert ds.ids == ("train_image_1", "train_image_2", "train_image_3")
    sample = ds[2]
    with h5py.File(FAKE / "TrainData" / "img" / "image_3.h5") as f:
        raw = f["img"][()]
    with h5py.File(FAKE / "TrainData" / "mask" / "mask_3.h5") as f:
        raw_mask = f["mask"][()]
    assert raw.dtype == np.float64 and raw.shape == (128, 128, 14)
    assert sample["image"].dtype == torch.float32 and sample["image"].shape == (14, 128, 128)
    assert np.array_equal(sample["image"].numpy(), raw.transpose(2, 0, 1).astype(np.float32))
    assert sample["mask"].dtype == torch.int64
    assert np.array_equal(sample["mask"].numpy(), raw_mask)
    assert sample["id"] == "train_image_3"
    assert not ds[1]["mask"].any()  # a patch without landslides
    assert ds[0]["mask"].any()


def test_band_selection_by_name_and_alias() -> None:
    full = Landslide4Sense(FAKE, split="val")
    ds = Landslide4Sense(FAKE, split="val", bands=("R", "G", "B", "elevation", "slope"))
    assert ds.bands == ("R", "G", "B", "elevation", "slope")
    want = full[0]["image"][[3, 2, 1, 13, 12]]
    assert torch.equal(ds[0]["image"], want)
    assert Landslide4Sense.rgb_bands == ("B4", "B3", "B2")
    assert len(Landslide4Sense.all_bands) == 14 and "B8A" not in Landslide4Sense.all_bands
    with pytest.raises(ConfigError, match="B8A"):
        Landslide4Sense(FAKE, bands=("B8A",))
    with pytest.raises(ConfigError, match="repeats"):
        Landslide4Sense(FAKE, bands=("B4", "R"))


def test_official_split_lists() -> None:
    files = official_files()
    assert {s: len(v) for s, v in files.items()} == {"train": 3799, "val": 245, "test": 800}
    # The upstream dataset/{train,valid,test}.txt hold exactly these lines: their lengths in
    # characters (no trailing newline) are 105264, 6506 and 20691.
    lengths = {s: len("\n".join(v)) for s, v in files.items()}
    assert lengths == {"train": 105264, "val": 6506, "test": 20691}
    assert files["val"][0] == "ValidData/img/image_1.h5"
    ids = {s: [f"{s}_{Path(e).stem}" for e in v] for s, v in files.items()}
    manifest = SplitManifest("landslide4sense", "v1", ids)
    assert manifest.counts() == {"train": 3799, "val": 245, "test": 800}
    ds = Landslide4Sense(FAKE, split="test")
    assert ds.manifest.counts() == {"train": 3, "val": 2, "test": 2}
    assert ds.manifest.sha256 != manifest.sha256  # a partial copy does not cite the official hash


def test_partial_copy_warns_and_loads_what_is_there(root: Path) -> None:
    (root / "TrainData" / "mask" / "mask_3.h5").unlink()
    shutil.rmtree(root / "TestData")
    (root / "TrainData" / "img" / "image_9999.h5").write_bytes(b"")
    with pytest.warns(DatasetCountWarning, match=r"lacks 4840 of the 4844.*1 file\(s\) outside"):
        ds = Landslide4Sense(root, split="train")
    assert ds.ids == ("train_image_1", "train_image_2")
    report = Landslide4Sense.verify(root)
    assert not report.ok
    assert any("missing mask" in p and "mask_3.h5" in p for p in report.problems)
    assert any("image_9999.h5" in p for p in report.problems)
    assert report.counts == {"train": 2, "val": 2, "test": 0}
    with pytest.raises(DatasetNotFoundError, match="TestData"):
        Landslide4Sense(root, split="test")


def test_bad_files_are_named(root: Path) -> None:
    bad = root / "ValidData" / "img" / "image_2.h5"
    bad.write_bytes(b"not hdf5 at all")
    ds = Landslide4Sense(root, split="val")
    with pytest.raises(InvalidDataError, match="image_2.h5"):
        ds[1]
    with h5py.File(bad, "w") as f:
        f.create_dataset("img", data=np.zeros((64, 64, 14)))
    with pytest.raises(InvalidDataError, match=r"image_2\.h5.*\(64, 64, 14\)"):
        ds[1]
    with h5py.File(bad, "w") as f:
        f.create_dataset("image", data=np.zeros((128, 128, 14)))
    with pytest.raises(InvalidDataError, match="no dataset 'img'"):
        ds[1]
    mask = root / "ValidData" / "mask" / "mask_1.h5"
    with h5py.File(mask, "w") as f:
        f.create_dataset("mask", data=np.full((128, 128), 255, dtype=np.uint8))
    with pytest.raises(InvalidDataError, match=r"mask_1\.h5: mask values must be 0 or 1"):
        ds[0]
    problems = Landslide4Sense.verify(root).problems
    assert any("image_2.h5" in p for p in problems) and any("mask_1.h5" in p for p in problems)


def test_archive_in_root_is_extracted(root: Path) -> None:
    shutil.rmtree(root / "ValidData")
    shutil.copy(FAKE / "ValidData.zip", root / "ValidData.zip")
    ds = Landslide4Sense(root, split="val", checksum=False)
    assert len(ds) == 2 and (root / "ValidData" / "img" / "image_1.h5").is_file()


def test_download_with_checksum(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.rmtree(root / "ValidData")
    calls: list[str] = []

    def fake_transfer(url: str, path: Path) -> None:
        calls.append(url)
        shutil.copy(FAKE / "ValidData.zip", path)

    monkeypatch.setattr(dl, "transfer", fake_transfer)
    # No published checksum: refuse to download, and say where to get the files.
    with pytest.raises(DatasetNotFoundError, match="zenodo.org/records/10463239"):
        Landslide4Sense(root, split="val", download=True)
    assert not calls
    monkeypatch.setitem(Landslide4Sense.md5s, "val", "0" * 32)
    with pytest.raises(IntegrityError, match="md5"):
        Landslide4Sense(root, split="val", download=True)
    assert not (root / "ValidData.zip").exists() and not (root / "ValidData").exists()
    monkeypatch.setitem(Landslide4Sense.md5s, "val", ARCHIVE_MD5)
    ds = Landslide4Sense(root, split="val", download=True)
    assert calls[-1] == Landslide4Sense.urls["val"]
    assert len(ds) == 2 and ds[0]["image"].shape == (14, 128, 128)


def test_fake_archive_md5_is_current() -> None:
    assert dl.md5sum(FAKE / "ValidData.zip") == ARCHIVE_MD5


def test_dataset_facts_and_citation() -> None:
    from landbench.datasets.citation import cite

    assert len(Landslide4Sense.regions) == 4
    assert any("Iburi" in r for r in Landslide4Sense.regions)
    assert "10.1109/TGRS.2022.3215209" in Landslide4Sense.citation
    assert "10463239" in Landslide4Sense.zenodo
    text = cite("landslide4sense", FAKE)
    assert "manifest sha256" in text


def test_data_module_batches() -> None:
    from landbench.datamodules import Landslide4SenseDataModule

    dm = Landslide4SenseDataModule(root=str(FAKE), batch_size=2, bands=("R", "G", "B", "DEM"))
    dm.setup("fit")
    batch = dm.train_aug(next(iter(dm.train_dataloader())))
    assert batch["image"].shape == (2, 4, 128, 128) and batch["mask"].shape == (2, 128, 128)
    assert dm.stats[0].shape == (4,)
    val = next(iter(dm.val_dataloader()))
    assert val["image"].shape[1:] == (4, 128, 128)


def test_plot_uses_rgb_by_name() -> None:
    ds = Landslide4Sense(FAKE, split="train")
    fig = ds.plot(ds[0], suptitle="L4S")
    assert fig is not None
