"""Bring your own data: the folder layout, its loader and `landbench check-data`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from PIL import Image

import landbench
from landbench.cli import main
from landbench.core.errors import ConfigError, DatasetNotFoundError, InvalidDataError
from landbench.datasets.folder import FRACTIONS, FolderDataset, check_folder
from landbench.datasets.splits import split_of_id


def _tif(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path, "w", driver="GTiff", height=array.shape[1], width=array.shape[2],
        count=array.shape[0], dtype=array.dtype, crs="EPSG:32654",
        transform=Affine(10, 0, 500000, 0, -10, 4800000),
    ) as dst:  # fmt: skip
        dst.write(array)


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def make_folder(root: Path, n: int = 12, splits: bool = False) -> Path:
    """GeoTIFFs with bands B2, B3, B4, B8, elevation; masks as 0/255 PNGs."""
    rng = np.random.default_rng(0)
    (root / "bands.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "bands.txt").write_text("# Sentinel-2 and a DEM\nB2\nB3\nB4\nB8\nelevation\n")
    for i in range(n):
        h, w = 24 + i, 30
        _tif(root / "images" / f"tile{i:02d}.tif", rng.integers(0, 4000, (5, h, w), np.uint16))
        mask = np.zeros((h, w), np.uint8)
        mask[4:9, 5:12] = 255 if i % 2 else 0
        _png(root / "masks" / f"tile{i:02d}.png", mask)
    if splits:
        ids = [f"tile{i:02d}" for i in range(n)]
        split_map = {"train": ids[:8], "val": ids[8:10], "test": ids[10:]}
        (root / "splits.json").write_text(json.dumps(split_map))
    return root


def test_load_geotiff_folder_with_named_bands(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "region", splits=True)
    ds = landbench.load("folder", split="train", root=root)
    assert isinstance(ds, FolderDataset) and len(ds) == 8
    assert ds.all_bands == ("B2", "B3", "B4", "B8", "elevation")
    sample = ds[1]
    with rasterio.open(root / "images" / "tile01.tif") as src:
        raw = src.read()
    assert sample["image"].dtype == torch.float32
    assert np.array_equal(sample["image"].numpy(), raw.astype(np.float32))
    assert sample["mask"].dtype == torch.int64 and int(sample["mask"].sum()) == 35
    assert sample["id"] == "tile01" and sample["crs"] is not None
    rgbd = FolderDataset(root, split="test", bands=("R", "G", "B", "DEM"))
    assert torch.equal(
        rgbd[0]["image"], FolderDataset(root, split="test")[0]["image"][[2, 1, 0, 4]]
    )
    with pytest.raises(ConfigError, match="Unknown band"):
        FolderDataset(root, bands=("B11",))


def test_png_images_with_a_dem_folder_and_yaml(tmp_path: Path) -> None:
    root = tmp_path / "pngs"
    (root).mkdir()
    (root / "landbench.yaml").write_text("name: my-valley\nbands: [R, G, B]\ndem_nodata: -9999\n")
    rng = np.random.default_rng(1)
    for i in range(6):
        _png(root / "images" / f"p{i}.png", rng.integers(0, 255, (20, 16, 3), np.uint8))
        _tif(root / "dem" / f"p{i}.tif", rng.normal(800, 50, (1, 20, 16)).astype(np.float32))
        _png(root / "masks" / f"p{i}.png", (rng.random((20, 16)) > 0.9).astype(np.uint8))
    all_ids = []
    for split in ("train", "val", "test"):
        ds = FolderDataset(root, split=split)
        assert ds.bands == ("R", "G", "B", "DEM") and ds.dem_nodata == -9999
        assert ds.manifest.dataset == "my-valley"
        all_ids += list(ds.ids)
        for i in range(len(ds)):
            assert ds[i]["image"].shape == (4, 20, 16)
    assert sorted(all_ids) == [f"p{i}" for i in range(6)]


def test_hash_split_is_a_function_of_the_id_alone(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "a", n=30)
    before = {s: set(FolderDataset(root, split=s).ids) for s in ("train", "val", "test")}
    for sample_id in ("tile03", "tile17"):
        (root / "images" / f"{sample_id}.tif").unlink()
        (root / "masks" / f"{sample_id}.png").unlink()
    after = {s: set(FolderDataset(root, split=s).ids) for s in ("train", "val", "test")}
    for split in before:
        assert after[split] == before[split] - {"tile03", "tile17"}
        assert all(split_of_id("folder", "v1", i, FRACTIONS) == split for i in after[split])
    assert sum(len(v) for v in before.values()) == 30 and len(before["train"]) > len(before["val"])


def test_check_data_reports_every_problem_by_file(tmp_path: Path, capsys) -> None:
    root = make_folder(tmp_path / "bad", n=8, splits=True)
    assert main(["check-data", str(root)]) == 0
    assert "OK" in capsys.readouterr().out
    (root / "images" / "tile00.tif").write_bytes(b"garbage")  # unreadable
    _tif(root / "images" / "tile01.tif", np.zeros((3, 25, 30), np.uint16))  # 3 bands, not 5
    _png(root / "masks" / "tile02.png", np.zeros((10, 10), np.uint8))  # size mismatch
    _png(root / "masks" / "tile03.png", np.full((27, 30), 7, np.uint8))  # mask values
    (root / "masks" / "tile04.png").unlink()  # missing mask
    _png(root / "masks" / "orphan.png", np.zeros((5, 5), np.uint8))  # mask without image
    _tif(root / "images" / "tile99.tif", np.zeros((5, 4, 4), np.uint16))  # in no split
    split_map = json.loads((root / "splits.json").read_text())
    split_map["test"].append("ghost")  # id without files
    (root / "splits.json").write_text(json.dumps(split_map))
    assert main(["check-data", str(root)]) == 2
    out = capsys.readouterr().out
    expected = [
        ("tile00.tif", "not a readable GeoTIFF"),
        ("tile01.tif", "3 band(s) but"),
        ("tile02.png", "is (10, 10)"),
        ("tile03.png", "mask values"),
        ("tile04.tif", "has no mask"),
        ("orphan.png", "has no image"),
        ("tile99.tif", "is in no split"),
        ("'ghost'", "has no file"),
    ]
    for name, what in expected:
        assert any(name in line and what in line for line in out.splitlines()), (name, out)
    assert "FAILED: 9 problem(s)" in out  # tile99 also lacks its mask
    with pytest.raises(InvalidDataError, match="check-data"):
        FolderDataset(root)


def test_unknown_band_count_and_missing_folders(tmp_path: Path, capsys) -> None:
    root = make_folder(tmp_path / "nobands", n=3)
    (root / "bands.txt").unlink()
    _, problems = check_folder(root)
    assert len(problems) == 1 and "No band names" in problems[0]
    assert main(["check-data", str(root)]) == 2
    assert "bands: unknown" in capsys.readouterr().out
    with pytest.raises(DatasetNotFoundError, match="images"):
        FolderDataset(tmp_path / "nowhere")
    assert main(["check-data", str(tmp_path / "nowhere")]) == 2
    assert "images does not exist" in capsys.readouterr().err
