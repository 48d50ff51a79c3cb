"""Bijie: the upstream layout and quirks, split v1, bad input, download machinery."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import landbench
from landbench.core.errors import (
    ConfigError,
    DatasetNotFoundError,
    IntegrityError,
    InvalidDataError,
    LandbenchError,
)
from landbench.datasets import Bijie
from landbench.datasets import download as dl
from landbench.datasets.base import DatasetCountWarning
from landbench.datasets.bijie import read_polygon
from landbench.datasets.io import SizeMismatchWarning
from landbench.datasets.splits import assign_by_hash, split_counts

DATA = Path(__file__).parent / "data" / "bijie"
ARCHIVE = DATA / "Bijie-landslide-dataset.zip"
ARCHIVE_MD5 = "61ed567a48da87c346f3938f35d2bee4"
LANDSLIDE = ["df003", "hz001", "hz007", "js075", "ny012", "qxg004", "zdf001"]

pytestmark = pytest.mark.filterwarnings("ignore::landbench.datasets.base.DatasetCountWarning")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A private, writable copy of the fake dataset."""
    shutil.copytree(DATA / Bijie.directory, tmp_path / Bijie.directory)
    return tmp_path


def landslide_dir(root: Path) -> Path:
    return root / Bijie.directory / "landslide"


# Split v2 of the fake fixture, pinned: a change to the rule or the hash fails here.
V2_SPLITS = {
    "train": ["ddfgf10157", "df003", "dnypl05001", "fyb00345", "hz001", "hz007", "hzx00012",
              "qxg004", "zdf001"],
    "val": ["fyb00213", "jsx10077", "ny012", "qxd00101"],
    "test": ["dzjwv05231", "js075", "nyq03350", "wnz20456"],
}  # fmt: skip
V2_SHA256 = "8b94d6244fe3fe3b0d853961d17549827093eb4fff4799ca434a9b03c5cf0432"
V1_SPLITS = {
    "train": ["ddfgf10157", "df003", "dnypl05001", "dzjwv05231", "fyb00345", "hzx00012", "js075",
              "ny012", "nyq03350", "qxd00101", "qxg004", "zdf001"],
    "val": ["hz007", "jsx10077"],
    "test": ["fyb00213", "hz001", "wnz20456"],
}  # fmt: skip
V1_SHA256 = "ebcddd929334efc1de502cdc83734fc06b1774507f99a85d2412bd0513089104"


def test_split_v2_is_pinned() -> None:
    for split, ids in V2_SPLITS.items():
        assert list(Bijie(DATA, split=split).ids) == ids
    manifest = Bijie(DATA).manifest
    assert manifest.version == "v2" and manifest.sha256 == V2_SHA256


def test_split_v1_is_still_loadable_and_pinned() -> None:
    manifest = Bijie(DATA, split_version="v1").manifest
    assert {s: list(v) for s, v in manifest.splits.items()} == V1_SPLITS
    assert manifest.version == "v1" and manifest.sha256 == V1_SHA256
    # v1 cuts exact per-class counts.
    for ids, n in ((set(LANDSLIDE), 7), (set().union(*V1_SPLITS.values()) - set(LANDSLIDE), 10)):
        got = {s: len(set(V1_SPLITS[s]) & ids) for s in V1_SPLITS}
        assert got == split_counts(n, Bijie.fractions)
    with pytest.raises(ConfigError, match="split_version 'v9'"):
        Bijie(DATA, split_version="v9")


@pytest.mark.parametrize("gone", ["hz007", "fyb00213", "js075"])
def test_removing_a_sample_moves_no_other(root: Path, gone: str) -> None:
    # The reason for v2: under v1 removing one file can move others across a split boundary.
    for folder in (root / Bijie.directory).glob("*/*"):
        for path in folder.glob(f"{gone}.*"):
            path.unlink()
    manifest = Bijie(root).manifest
    expected = {s: [i for i in ids if i != gone] for s, ids in V2_SPLITS.items()}
    assert {s: list(v) for s, v in manifest.splits.items()} == expected


def test_v1_moved_samples_when_one_was_removed(root: Path) -> None:
    for path in (root / Bijie.directory / "landslide").glob("*/hz007.*"):
        path.unlink()
    after = Bijie(root, split_version="v1").manifest.splits
    moved = [i for s, ids in V1_SPLITS.items() for i in ids if i != "hz007" and i not in after[s]]
    assert moved  # the flaw v2 fixes


def test_manifest_is_the_pure_function_of_ids() -> None:
    ds = Bijie(DATA, split="val")
    by_class = {"landslide": LANDSLIDE, "non-landslide": sorted(set(ds.files) - set(LANDSLIDE))}
    expected = assign_by_hash("bijie", "v2", by_class, Bijie.fractions)
    assert {s: list(v) for s, v in ds.manifest.splits.items()} == expected
    assert ds.ids == tuple(expected["val"])


def test_manifest_independent_of_file_order(root: Path, tmp_path: Path) -> None:
    # Copy files in reverse order into a second root: same ids, same manifest.
    other = tmp_path / "other"
    for path in sorted((root / Bijie.directory).rglob("*"), reverse=True):
        dest = other / path.relative_to(root)
        if path.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    assert (
        Bijie(other).manifest.sha256 == Bijie(root).manifest.sha256 == Bijie(DATA).manifest.sha256
    )


def test_sample_contract_and_raw_values() -> None:
    ds = Bijie(DATA, split="train")
    sizes = set()
    for i in range(len(ds)):
        s = ds[i]
        img, mask = s["image"], s["mask"]
        assert img.dtype == torch.float32 and img.ndim == 3 and img.shape[0] == 4
        assert mask.dtype == torch.int64 and mask.shape == img.shape[1:]
        assert set(mask.unique().tolist()) <= {0, 1}
        sizes.add(tuple(mask.shape))
        folder = "landslide" if s["id"] in LANDSLIDE else "non-landslide"
        base = DATA / Bijie.directory / folder
        rgb = np.asarray(Image.open(base / "image" / f"{s['id']}.png"))
        dem = np.asarray(Image.open(base / "dem" / f"{s['id']}.png")).astype(np.float32)
        np.testing.assert_array_equal(img[:3].numpy(), np.moveaxis(rgb, -1, 0))
        np.testing.assert_array_equal(img[3].numpy(), dem)  # raw 8- or 16-bit values
        if folder == "landslide":
            ref = np.asarray(Image.open(base / "mask" / f"{s['id']}.png")) == 255
            np.testing.assert_array_equal(mask.numpy(), ref)
            assert mask.any()
        else:
            assert not mask.any()  # negatives have no mask file: all background
    assert any(h != w for h, w in sizes) and len(sizes) > 3  # variable, non-square tiles
    assert max(float(ds[i]["image"][3].max()) for i in range(len(ds))) > 255  # a 16-bit DEM


def test_band_selection_and_transforms() -> None:
    full = Bijie(DATA, split="test")[0]
    ds = Bijie(DATA, split="test", bands=("DEM", "R"), transforms=lambda s: {**s, "seen": True})
    s = ds[0]
    torch.testing.assert_close(s["image"], full["image"][[3, 0]])
    assert s["seen"] and s["id"] == full["id"]


def test_load_one_line() -> None:
    ds = landbench.load("bijie", split="test", root=str(DATA))
    assert isinstance(ds, Bijie) and len(ds) == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"split": "validation"}, "Unknown split 'validation'"), ({"bands": ("R", "NIR")}, "NIR")],
)
def test_unknown_split_or_band(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Bijie(DATA, **kwargs)


def test_polygons() -> None:
    ds = Bijie(DATA, split="train", polygons=True)
    for i in range(len(ds)):
        s = ds[i]
        poly = s["polygon"]
        if s["id"] in LANDSLIDE:
            assert poly.shape[1] == 2 and len(poly) >= 4
            assert torch.equal(poly[0], poly[-1])
            # Vertices lie on the mask: x is the column, y the row.
            assert s["mask"][poly[:, 1], poly[:, 0]].all()
        else:
            assert poly.shape == (0, 2)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("hello\n", "line 1"),
        ("landslide instance name: a\nlandslide instance polygon boundary coordinates(x,y):\n"
         "1 2\n3 4\n5 x\n", "line 5"),
        ("landslide instance name: a\nlandslide instance polygon boundary coordinates(x,y):\n"
         "1 2\n3 4\n5 6\n1 3\n", "not closed"),
        ("landslide instance name: a\nlandslide instance polygon boundary coordinates(x,y):\n"
         "1 2\n3 4\n1 2\n", "at least 3 distinct"),
    ],
)  # fmt: skip
def test_bad_polygon(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text(text)
    with pytest.raises(InvalidDataError, match=match) as err:
        read_polygon(path)
    assert str(path) in str(err.value)


def test_count_warning_once(root: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Bijie(root, split="train")
        Bijie(root, split="test")
    msgs = [str(w.message) for w in caught if issubclass(w.category, DatasetCountWarning)]
    assert len(msgs) == 1
    assert "has 7 landslide, 10 non-landslide samples" in msgs[0]
    assert "official release has 770 landslide, 2003 non-landslide" in msgs[0]


def test_verify_fake_reports_counts_and_dem() -> None:
    report = Bijie.verify(DATA)
    assert not report.ok
    assert report.counts == {"landslide": 7, "non-landslide": 10}
    assert report.problems[0].startswith("landslide: 7 samples, 763 fewer")
    assert report.dem_dtypes == {"uint16": 9, "uint8": 8}
    assert report.dem_range is not None and report.dem_range[1] > 255
    assert report.manifest_sha256 == Bijie(DATA).manifest.sha256
    assert "DEM dtype: uint16 x9, uint8 x8" in report.format()


def test_verify_passes_with_official_counts(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Bijie, "official_counts", {"landslide": 7, "non-landslide": 10})
    report = Bijie.verify(root)
    assert report.ok, report.problems
    assert report.format().endswith("OK")


def test_verify_names_missing_and_extra(root: Path) -> None:
    ls = landslide_dir(root)
    (ls / "mask" / "hz001.png").unlink()
    shutil.copyfile(ls / "dem" / "df003.png", ls / "dem" / "zz999.png")
    (ls / "image" / "js075.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    report = Bijie.verify(root)
    text = "\n".join(report.problems)
    assert "hz001.png has no mask" in text
    assert f"extra DEM without an image: {ls / 'dem' / 'zz999.png'}" in text
    assert "js075.png" in text


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="download=False") as err:
        Bijie(tmp_path / "nowhere")
    assert "gpcv.whu.edu.cn" in str(err.value)
    assert not (tmp_path / "nowhere").exists()  # nothing created


def test_incomplete_folder(tmp_path: Path) -> None:
    (tmp_path / Bijie.directory / "landslide" / "image").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="non-landslide"):
        Bijie(tmp_path)


@pytest.mark.parametrize(("kind", "stem"), [("dem", "ny012"), ("mask", "hz007")])
def test_missing_dem_or_mask(root: Path, kind: str, stem: str) -> None:
    missing = landslide_dir(root) / kind / f"{stem}.png"
    missing.unlink()
    with pytest.raises(InvalidDataError, match=f"no {kind.upper() if kind == 'dem' else kind}"):
        Bijie(root)
    with pytest.raises(InvalidDataError, match=str(missing)):
        Bijie(root)


def test_missing_dem_non_landslide(root: Path) -> None:
    (root / Bijie.directory / "non-landslide" / "dem" / "fyb00213.png").unlink()
    with pytest.raises(InvalidDataError, match="fyb00213.png has no DEM"):
        Bijie(root)


def _index(root: Path, stem: str) -> tuple[Bijie, int]:
    for split in ("train", "val", "test"):
        ds = Bijie(root, split=split)
        if stem in ds.ids:
            return ds, ds.index_of(stem)
    raise AssertionError(stem)


@pytest.mark.parametrize("kind", ["image", "dem", "mask"])
@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_png(root: Path, kind: str, damage: str) -> None:
    path = landslide_dir(root) / kind / "df003.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a png at all" * 4)
    ds, i = _index(root, "df003")
    with pytest.raises(InvalidDataError, match=str(path)):
        ds[i]


def test_image_mask_size_mismatch(root: Path) -> None:
    path = landslide_dir(root) / "mask" / "zdf001.png"
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(path)
    ds, i = _index(root, "zdf001")
    with pytest.raises(InvalidDataError, match=r"zdf001.png is \(5, 7\)"):
        ds[i]


def test_mask_values_must_be_0_255(root: Path) -> None:
    path = landslide_dir(root) / "mask" / "hz001.png"
    mask = np.asarray(Image.open(path)).copy()
    mask[0, 0] = 1
    Image.fromarray(mask).save(path)
    ds, i = _index(root, "hz001")
    with pytest.raises(InvalidDataError, match=r"hz001.png: mask values must be \{0, 255\}.*\[1\]"):
        ds[i]


def test_grey_image_refused(root: Path) -> None:
    path = landslide_dir(root) / "image" / "js075.png"
    Image.open(path).convert("L").save(path)
    ds, i = _index(root, "js075")
    with pytest.raises(InvalidDataError, match="js075.png is a single-band"):
        ds[i]


def test_palette_and_rgba_images_decode_to_rgb(root: Path) -> None:
    path = landslide_dir(root) / "image" / "js075.png"
    rgb = np.asarray(Image.open(path))
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(path)
    ds, i = _index(root, "js075")
    np.testing.assert_array_equal(ds[i]["image"][:3].numpy(), np.moveaxis(rgb, -1, 0))
    pal = Image.fromarray(rgb).quantize(16)
    pal.save(path)
    expected = np.moveaxis(np.asarray(pal.convert("RGB")), -1, 0)
    np.testing.assert_array_equal(ds[i]["image"][:3].numpy(), expected)


def test_dem_size_mismatch_is_resampled_with_warning(root: Path) -> None:
    path = landslide_dir(root) / "dem" / "qxg004.png"
    dem = Image.open(path)
    dem.resize((dem.width // 2, dem.height // 2)).save(path)
    ds, i = _index(root, "qxg004")
    with pytest.warns(SizeMismatchWarning, match="qxg004.png"):
        s = ds[i]
    assert s["image"].shape[1:] == s["mask"].shape


def test_download_without_url_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        Bijie(tmp_path, download=True)
    msg = str(err.value)
    assert "http://gpcv.whu.edu.cn/data/Bijie_pages.html" in msg
    assert str(tmp_path / "Bijie-landslide-dataset" / "landslide" / "image") in msg
    assert str(tmp_path / "Bijie-landslide-dataset.zip") in msg
    assert list(tmp_path.iterdir()) == []


def test_archive_in_root_is_extracted(tmp_path: Path) -> None:
    shutil.copyfile(ARCHIVE, tmp_path / Bijie.filename)
    ds = Bijie(tmp_path, split="test")
    assert len(ds) == 4 and ds.manifest.sha256 == V2_SHA256
    assert (tmp_path / Bijie.filename).is_file()  # the user's archive is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == [Bijie.directory, Bijie.filename]


def test_checksum_mismatch_keeps_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Bijie, "md5", "0" * 32)
    archive = tmp_path / Bijie.filename
    shutil.copyfile(ARCHIVE, archive)
    with pytest.raises(IntegrityError, match=f"{archive} has md5 {ARCHIVE_MD5}, expected 0+"):
        Bijie(tmp_path, checksum=True)
    assert archive.read_bytes() == ARCHIVE.read_bytes()
    assert not (tmp_path / Bijie.directory).exists()
    monkeypatch.setattr(Bijie, "md5", ARCHIVE_MD5)
    assert len(Bijie(tmp_path, checksum=True)) == len(V2_SPLITS["train"])


def test_corrupt_archive(tmp_path: Path) -> None:
    (tmp_path / Bijie.filename).write_bytes(ARCHIVE.read_bytes()[:2000])
    with pytest.raises(InvalidDataError, match="Bijie-landslide-dataset.zip"):
        Bijie(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [Bijie.filename]  # no partial folder


def fake_transfer(calls: list[str], payload: Path = ARCHIVE):
    def transfer(url: str, path: Path) -> None:
        calls.append(url)
        shutil.copyfile(payload, path)

    return transfer


def test_download_verify_extract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(Bijie, "url", "https://example.org/bijie.zip")
    monkeypatch.setattr(Bijie, "md5", ARCHIVE_MD5)
    monkeypatch.setattr(dl, "transfer", fake_transfer(calls))
    ds = Bijie(tmp_path / "data", split="val", download=True, checksum=True)
    assert calls == ["https://example.org/bijie.zip"] and len(ds) == len(V2_SPLITS["val"])
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        Bijie.directory,
        Bijie.filename,
    ]
    Bijie(tmp_path / "data", download=True)  # already there: no second transfer
    assert len(calls) == 1


def test_download_with_bad_checksum_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Bijie, "url", "https://example.org/bijie.zip")
    monkeypatch.setattr(Bijie, "md5", "f" * 32)
    monkeypatch.setattr(dl, "transfer", fake_transfer([]))
    with pytest.raises(IntegrityError, match="expected f+"):
        Bijie(tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []


def test_download_failure_is_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(url: str, path: Path) -> None:
        path.write_bytes(b"partial")
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(Bijie, "url", "https://example.org/bijie.zip")
    monkeypatch.setattr(dl, "transfer", broken)
    with pytest.raises(DatasetNotFoundError, match="Downloading https://example.org/bijie.zip"):
        Bijie(tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []  # the partial file went with its temporary folder


def test_archive_without_dataset_folder(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / Bijie.filename, "w") as zf:
        zf.writestr("something/else.txt", "x")
    with pytest.raises(InvalidDataError, match="does not contain a 'Bijie-landslide-dataset'"):
        Bijie(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [Bijie.filename]


def test_unsafe_archive_refused(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / Bijie.filename, "w") as zf:
        zf.writestr("../evil.txt", "x")
    with pytest.raises(InvalidDataError, match="unsafe path"):
        Bijie(tmp_path)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_existing_folder_never_replaced(tmp_path: Path) -> None:
    (tmp_path / Bijie.directory).mkdir()
    with pytest.raises(LandbenchError, match="already exists"):
        dl.extract(ARCHIVE, tmp_path, Bijie.directory)
    assert list((tmp_path / Bijie.directory).iterdir()) == []


def test_plot() -> None:
    ds = Bijie(DATA, split="train")
    sample = ds[ds.index_of("df003")]
    sample["prediction"] = sample["mask"].clone()
    fig = ds.plot(sample, suptitle="df003")
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes] == ["RGB", "DEM (hillshade)", "Mask", "Prediction"]


def test_pil_fallback_decodes_identically(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import landbench.datasets.io as lio

    ls = landslide_dir(root)
    rgb = np.asarray(Image.open(ls / "image" / "js075.png"))
    Image.fromarray(rgb).quantize(16).save(ls / "image" / "js075.png")  # a palette image too
    reference = {s: Bijie(root, split=s) for s in ("train", "val", "test")}
    expected = {s: [ds[i] for i in range(len(ds))] for s, ds in reference.items()}
    monkeypatch.setattr(lio, "_decode_png_op", None)
    for split, ds in reference.items():
        for i, want in enumerate(expected[split]):
            got = ds[i]
            torch.testing.assert_close(got["image"], want["image"], rtol=0, atol=0)
            assert torch.equal(got["mask"], want["mask"])
    path = ls / "dem" / "df003.png"
    path.write_bytes(path.read_bytes()[:60])
    ds, i = _index(root, "df003")
    with pytest.raises(InvalidDataError, match=f"{path} is truncated or corrupt"):
        ds[i]
