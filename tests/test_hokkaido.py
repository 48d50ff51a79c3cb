"""Hokkaido: canonical layout, PNG and GeoTIFF snippets, the import step, bad input."""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from PIL import Image
from rasterio.crs import CRS

import landbench
from landbench.core.errors import (
    ConfigError,
    DatasetNotFoundError,
    InvalidDataError,
    LandbenchError,
)
from landbench.datasets import Hokkaido
from landbench.datasets import download as dl
from landbench.datasets.base import DatasetCountWarning
from landbench.datasets.hokkaido_import import import_hokkaido, plan_import
from landbench.datasets.io import SizeMismatchWarning

DATA = Path(__file__).parent / "data" / "hokkaido"
UPSTREAM = DATA / "upstream"
PARTITION = {"train": ("hk_01", "hk_04", "hk_07"), "val": ("hk_02", "hk_09"),
             "test": ("hk_03", "hk_11")}  # fmt: skip

pytestmark = pytest.mark.filterwarnings("ignore::landbench.datasets.base.DatasetCountWarning")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "Hokkaido", tmp_path / "Hokkaido")
    return tmp_path


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    shutil.copytree(UPSTREAM, tmp_path / "upstream")
    return tmp_path / "upstream"


def test_authors_partition_is_the_split() -> None:
    for split, ids in PARTITION.items():
        ds = Hokkaido(DATA, split=split)
        assert ds.ids == ids
    assert Hokkaido(DATA).manifest.to_dict()["splits"] == {k: list(v) for k, v in PARTITION.items()}
    assert len(Hokkaido(DATA).manifest.sha256) == 64


def test_png_snippets_by_default() -> None:
    ds = Hokkaido(DATA, split="train")
    for i, sid in enumerate(ds.ids):
        s = ds[i]
        assert s["image"].dtype == torch.float32 and s["image"].shape[0] == 4
        assert s["mask"].dtype == torch.int64 and s["mask"].shape == s["image"].shape[1:]
        rgb = np.asarray(Image.open(DATA / "Hokkaido" / "train" / "image" / f"{sid}.png"))
        np.testing.assert_array_equal(s["image"][:3].numpy(), np.moveaxis(rgb, -1, 0))
        with rasterio.open(DATA / "Hokkaido" / "train" / "dem" / f"{sid}.tif") as src:
            np.testing.assert_array_equal(s["image"][3].numpy(), src.read(1))  # raw metres
            assert s["crs"] == src.crs and s["transform"] == src.transform  # from the DEM
        mask = np.asarray(Image.open(DATA / "Hokkaido" / "train" / "mask" / f"{sid}.png"))
        np.testing.assert_array_equal(s["mask"].numpy(), mask == 255)
        assert s["mask"].any()


def test_geotiff_snippets() -> None:
    ds = Hokkaido(DATA, split="val", image_format="tif")
    s = ds[0]
    with rasterio.open(DATA / "Hokkaido" / "val" / "image" / f"{s['id']}.tif") as src:
        np.testing.assert_array_equal(s["image"][:3].numpy(), src.read().astype(np.float32))
        assert s["crs"] == CRS.from_epsg(32654) and s["transform"] == src.transform
    assert float(s["image"][:3].max()) > 255  # raw 16-bit digital numbers


def test_bands_and_load() -> None:
    ds = landbench.load("hokkaido", split="test", root=str(DATA), bands=("DEM",))
    assert ds[0]["image"].shape[0] == 1
    with pytest.raises(ConfigError, match="Unknown split"):
        Hokkaido(DATA, split="dev")
    with pytest.raises(ConfigError, match="Unknown band"):
        Hokkaido(DATA, bands=("R", "SWIR"))
    with pytest.raises(ConfigError, match="image_format 'jpg'"):
        Hokkaido(DATA, image_format="jpg")


def test_count_warning_once(root: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Hokkaido(root)
        Hokkaido(root, split="val")
    msgs = [str(w.message) for w in caught if issubclass(w.category, DatasetCountWarning)]
    assert len(msgs) == 1 and "3 train, 2 val, 2 test" in msgs[0] and "39 train" in msgs[0]


def test_verify(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = Hokkaido.verify(root)
    assert not report.ok and report.counts == {"train": 3, "val": 2, "test": 2}
    assert report.problems[0] == "train: 3 snippets, 36 fewer than the official 39"
    assert report.dem_dtypes == {"float32": 7}
    lo, hi = report.dem_range
    assert 0 < lo < hi < 1000  # the -9999 nodata cells are left out of the range
    monkeypatch.setattr(Hokkaido, "official_counts", {"train": 3, "val": 2, "test": 2})
    assert Hokkaido.verify(root).ok
    (root / "Hokkaido" / "val" / "mask" / "hk_02.png").unlink()
    tif = root / "Hokkaido" / "test" / "image" / "hk_11.tif"  # not the default format: still read
    tif.write_bytes(tif.read_bytes()[:200])
    (root / "Hokkaido" / "train" / "dem" / "notes.txt").write_text("x")
    report = Hokkaido.verify(root)
    text = "\n".join(report.problems)
    assert "val/mask/hk_02" in text
    assert f"{tif} is not a readable GeoTIFF" in text
    assert "extra file (not a PNG or GeoTIFF)" in text and "notes.txt" in text


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="karstCand/HokkaidoLandslide_dataset"):
        Hokkaido(tmp_path)
    with pytest.raises(DatasetNotFoundError, match="landbench datasets import hokkaido"):
        Hokkaido(tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("role", ["dem", "mask"])
def test_missing_dem_or_mask(root: Path, role: str) -> None:
    path = next((root / "Hokkaido" / "test" / role).glob("hk_11.*"))
    path.unlink()
    with pytest.raises(InvalidDataError, match=f"test/{role}/hk_11.* does not exist"):
        Hokkaido(root, split="test")


def test_format_choice_reports_alternative(root: Path) -> None:
    with pytest.raises(InvalidDataError, match=r"found \.tif instead; pass dem_format"):
        Hokkaido(root, dem_format="png")


def test_corrupt_geotiff(root: Path) -> None:
    path = root / "Hokkaido" / "train" / "dem" / "hk_04.tif"
    path.write_bytes(path.read_bytes()[:300])
    ds = Hokkaido(root)
    with pytest.raises(InvalidDataError, match=f"{path} is not a readable GeoTIFF"):
        ds[ds.index_of("hk_04")]


def test_corrupt_png(root: Path) -> None:
    path = root / "Hokkaido" / "train" / "image" / "hk_07.png"
    path.write_bytes(path.read_bytes()[:80])
    ds = Hokkaido(root)
    with pytest.raises(InvalidDataError, match=f"{path} is truncated or corrupt"):
        ds[ds.index_of("hk_07")]


def test_mask_size_mismatch_and_values(root: Path) -> None:
    path = root / "Hokkaido" / "val" / "mask" / "hk_09.png"
    Image.fromarray(np.zeros((3, 4), np.uint8)).save(path)
    ds = Hokkaido(root, split="val")
    with pytest.raises(InvalidDataError, match=r"hk_09.png is \(3, 4\)"):
        ds[ds.index_of("hk_09")]
    img = Image.open(root / "Hokkaido" / "val" / "image" / "hk_09.png")
    Image.fromarray(np.full((img.height, img.width), 7, np.uint8)).save(path)
    with pytest.raises(InvalidDataError, match=r"hk_09.png: mask values must be .*\[7\]"):
        ds[ds.index_of("hk_09")]


def test_mask_0_1_accepted(root: Path) -> None:
    path = root / "Hokkaido" / "val" / "mask" / "hk_09.png"
    mask = np.asarray(Image.open(path)) // 255
    Image.fromarray(mask.astype(np.uint8)).save(path)
    ds = Hokkaido(root, split="val")
    assert torch.equal(ds[ds.index_of("hk_09")]["mask"], torch.from_numpy(mask.astype(np.int64)))


def test_dem_resampled_with_warning(root: Path) -> None:
    path = root / "Hokkaido" / "test" / "dem" / "hk_03.tif"
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read()
    profile.update(width=data.shape[2] // 2, height=data.shape[1] // 2)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data[:, ::2, ::2][:, : profile["height"], : profile["width"]])
    ds = Hokkaido(root, split="test")
    with pytest.warns(SizeMismatchWarning, match="hk_03.tif"):
        s = ds[ds.index_of("hk_03")]
    assert s["image"].shape[1:] == s["mask"].shape
    assert "crs" not in s  # the PNG image has no grid and the DEM's no longer matches


def test_id_in_two_splits(root: Path) -> None:
    shutil.copyfile(
        root / "Hokkaido" / "train" / "mask" / "hk_01.png",
        root / "Hokkaido" / "test" / "mask" / "hk_01.png",
    )
    with pytest.raises(InvalidDataError, match="hk_01' is also in"):
        Hokkaido(root)


# --- import -------------------------------------------------------------------------------


def test_import_reproduces_canonical_layout(tmp_path: Path) -> None:
    dest = import_hokkaido(UPSTREAM, tmp_path / "data")
    assert dest == tmp_path / "data" / "Hokkaido"
    expected = sorted(p.relative_to(DATA / "Hokkaido") for p in (DATA / "Hokkaido").rglob("*.*"))
    got = sorted(p.relative_to(dest) for p in dest.rglob("*.*") if p.name != "import.json")
    assert got == expected
    for rel in expected:
        assert (dest / rel).read_bytes() == (DATA / "Hokkaido" / rel).read_bytes()
    provenance = json.loads((dest / "import.json").read_text())
    assert len(provenance["files"]) == 28
    assert any(s.endswith("README.txt") for s in provenance["skipped"])
    assert Hokkaido(tmp_path / "data").manifest.sha256 == Hokkaido(DATA).manifest.sha256
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["Hokkaido"]  # no temp left


def test_import_other_naming(tmp_path: Path) -> None:
    # Roles from file names only, flat split folders, "validation", .tiff, and roles by content.
    src = tmp_path / "src"
    for split, folder in (("train", "Training"), ("val", "validation"), ("test", "testing")):
        (src / folder).mkdir(parents=True)
        for sid in PARTITION[split]:
            canon = DATA / "Hokkaido" / split
            shutil.copyfile(canon / "image" / f"{sid}.png", src / folder / f"rgb_{sid}.png")
            shutil.copyfile(canon / "dem" / f"{sid}.tif", src / folder / f"{sid}-elevation.tiff")
            shutil.copyfile(canon / "mask" / f"{sid}.png", src / folder / f"{sid}.png")  # content
    import_hokkaido(src, tmp_path / "out")
    assert Hokkaido(tmp_path / "out").manifest == Hokkaido(DATA).manifest
    assert (tmp_path / "out" / "Hokkaido" / "val" / "dem" / "hk_02.tif").is_file()


def _expect_import_error(src: Path, dest_root: Path, match: str) -> None:
    with pytest.raises(InvalidDataError, match=match):
        import_hokkaido(src, dest_root)
    assert not dest_root.exists() or list(dest_root.iterdir()) == []  # never half-written


def test_import_unplaceable_split(upstream: Path, tmp_path: Path) -> None:
    shutil.copyfile(upstream / "train" / "images" / "hk_01.png", upstream / "hk_50.png")
    _expect_import_error(upstream, tmp_path / "out", r"Cannot place .*hk_50.png.*no split")


def test_import_unknown_file(upstream: Path, tmp_path: Path) -> None:
    (upstream / "train" / "notes.docx").write_bytes(b"x")
    _expect_import_error(upstream, tmp_path / "out", r"Cannot place .*notes.docx")


def test_import_archive_inside(upstream: Path, tmp_path: Path) -> None:
    (upstream / "more.zip").write_bytes(b"PK")
    _expect_import_error(upstream, tmp_path / "out", r"more.zip: it is an archive")


def test_import_incomplete_snippet(upstream: Path, tmp_path: Path) -> None:
    (upstream / "valid" / "dem" / "hk_09_dem.tif").unlink()
    _expect_import_error(upstream, tmp_path / "out", r"Snippet 'hk_09' has no dem")


def test_import_duplicate(upstream: Path, tmp_path: Path) -> None:
    shutil.copyfile(
        upstream / "test" / "dem" / "hk_03_dem.tif", upstream / "test" / "dem" / "hk_03_dem.tiff"
    )
    _expect_import_error(upstream, tmp_path / "out", r"both map to test/dem/hk_03.tif")


def test_import_corrupt_file_writes_nothing(upstream: Path, tmp_path: Path) -> None:
    path = upstream / "test" / "masks" / "hk_11_mask.png"
    path.write_bytes(path.read_bytes()[:70])
    _expect_import_error(upstream, tmp_path / "out", r"hk_11_mask.png is truncated or corrupt")


def test_import_bad_mask_values(upstream: Path, tmp_path: Path) -> None:
    path = upstream / "test" / "masks" / "hk_11_mask.png"
    mask = np.asarray(Image.open(path)).copy()
    mask[0, 0] = 128
    Image.fromarray(mask).save(path)
    _expect_import_error(upstream, tmp_path / "out", r"hk_11_mask.png: mask values")


def test_import_undecidable_role(upstream: Path, tmp_path: Path) -> None:
    # A two-band GeoTIFF named without any role word: neither name nor content decides.
    with rasterio.open(upstream / "train" / "dem" / "hk_01_dem.tif") as src:
        profile, band = src.profile, src.read(1)
    profile.update(count=2)
    with rasterio.open(upstream / "train" / "hk_01_extra.tif", "w", **profile) as dst:
        dst.write(np.stack([band, band]))
    _expect_import_error(upstream, tmp_path / "out", r"Cannot place .*hk_01_extra.tif: neither")


def test_import_never_overwrites(root: Path) -> None:
    before = sorted(p.name for p in (root / "Hokkaido").rglob("*"))
    with pytest.raises(LandbenchError, match="already exists"):
        import_hokkaido(UPSTREAM, root)
    assert sorted(p.name for p in (root / "Hokkaido").rglob("*")) == before


def test_import_missing_source(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="is not a folder"):
        plan_import(tmp_path / "nope")


def test_archive_download_then_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "fake.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(UPSTREAM.rglob("*")):
            if path.is_file():
                zf.write(path, Path("HokkaidoLandslide_dataset") / path.relative_to(UPSTREAM))
    md5 = dl.md5sum(archive)
    calls = []

    def transfer(url: str, path: Path) -> None:
        calls.append(url)
        shutil.copyfile(archive, path)

    monkeypatch.setattr(Hokkaido, "url", "https://example.org/hokkaido.zip")
    monkeypatch.setattr(Hokkaido, "md5", md5)
    monkeypatch.setattr(dl, "transfer", transfer)
    ds = Hokkaido(tmp_path / "data", split="test", download=True, checksum=True)
    assert calls and ds.ids == PARTITION["test"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["Hokkaido", Hokkaido.filename]
