"""Hub packaging: build -> validate -> load round trips, byte-exact, and bad input."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from affine import Affine
from rasterio.crs import CRS

import landbench
from landbench.cli import main
from landbench.core.errors import ConfigError, InvalidDataError, LandbenchError
from landbench.datasets import registry
from landbench.datasets.base import ALL_BANDS, DatasetCountWarning, LandslideDataset
from landbench.datasets.hub_errors import CardMismatchError, IncompleteDataError, ShardChecksumError
from landbench.datasets.hub_format import CARD_FILE, RECORD_FILE, read_record
from landbench.datasets.hub_reader import HubLandslideDataset
from landbench.datasets.splits import SplitManifest, assign_splits
from landbench.hub import cards
from landbench.hub.build import build
from landbench.hub.validate import validate

BIJIE_FAKE = Path(__file__).parent / "data" / "bijie"
HOKKAIDO_FAKE = Path(__file__).parent / "data" / "hokkaido"


@pytest.fixture(autouse=True)
def _hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the datasets cache out of the home folder."""
    import datasets.config

    cache = tmp_path_factory.getbasetemp() / "hf-datasets-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    warnings.simplefilter("ignore", DatasetCountWarning)


class ToyGeo(LandslideDataset):
    """A tiny georeferenced dataset (as Hokkaido's GeoTIFF snippets are), built in memory."""

    name = "toygeo"

    def __init__(
        self,
        root: str | None = None,
        split: str = "train",
        bands=ALL_BANDS,
        transforms=None,
        n: int = 8,
        fractional: bool = False,
    ) -> None:
        super().__init__(split=split, bands=bands, transforms=transforms)
        self.root = root
        self.n, self.fractional = n, fractional
        ids = [f"t{i:02d}" for i in range(n)]
        by_class = {"landslide": ids[::2], "non-landslide": ids[1::2]}
        fractions = {"train": 0.5, "val": 0.25, "test": 0.25}
        splits = assign_splits(self.name, "v1", by_class, fractions)
        self._manifest = SplitManifest(self.name, "v1", splits)

    @property
    def manifest(self) -> SplitManifest:
        return self._manifest

    def is_landslide(self, sample_id: str) -> bool:
        return int(sample_id[1:]) % 2 == 0

    def _load(self, sample_id: str) -> dict[str, Any]:
        i = int(sample_id[1:])
        rng = np.random.default_rng(i)
        h, w = 5 + i, 7 + 2 * i
        image = np.empty((4, h, w), dtype=np.float32)
        image[:3] = rng.integers(0, 256, (3, h, w)) + (0.5 if self.fractional else 0.0)
        image[3] = rng.normal(500, 100, (h, w))
        image[3, 0, 0] = np.nan  # nodata must survive bit for bit
        mask = np.zeros((h, w), dtype=np.int64)
        if self.is_landslide(sample_id):
            mask[1:3, 1:4] = 1
        return {
            "image": torch.from_numpy(image),
            "mask": torch.from_numpy(mask),
            "crs": CRS.from_epsg(6690),
            "transform": Affine(10.0, 0.0, 500000.0 + 10 * i, 0.0, -10.0, 4700000.0),
        }


@pytest.fixture
def toygeo(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(registry.DATASETS, "toygeo", ToyGeo)
    return "toygeo"


@pytest.fixture(scope="module")
def bijie_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bijie") / "build"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetCountWarning)
        build("bijie", out, root=BIJIE_FAKE, allow_incomplete=True)
    return out


def bijie_counts() -> dict[str, int]:
    """Split sizes of the fake Bijie folder under the dataset's current split version."""
    return landbench.load("bijie", root=str(BIJIE_FAKE)).manifest.counts()


def assert_same_sample(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["id"] == b["id"]
    for key in ("image", "mask"):
        assert a[key].dtype == b[key].dtype, key
        assert a[key].shape == b[key].shape, key
        assert a[key].numpy().tobytes() == b[key].numpy().tobytes(), key
    for key in ("crs", "transform"):
        assert (key in a) == (key in b)
        if key in a:
            assert a[key] == b[key]


# --- round trips ------------------------------------------------------------------------------


def test_bijie_round_trip_byte_exact(bijie_build: Path, tmp_path: Path) -> None:
    report = validate(bijie_build, cache_dir=tmp_path / "cache")
    assert report.raw_compared == 17
    assert report.split_counts == bijie_counts()
    for split in ("train", "val", "test"):
        hub = landbench.load("bijie", split=split, source="hub", root=str(bijie_build.resolve()))
        raw = landbench.load("bijie", split=split, root=str(BIJIE_FAKE))
        assert isinstance(hub, LandslideDataset)
        assert hub.manifest == raw.manifest
        assert hub.manifest.sha256 == raw.manifest.sha256
        assert len(hub) == len(raw)
        for i in range(len(raw)):
            assert_same_sample(hub[i], raw[i])


def test_datasets_load_dataset_gives_decoded_images(bijie_build: Path) -> None:
    import datasets

    ds = datasets.load_dataset(str(bijie_build.resolve()), "bijie", split="test")
    raw = landbench.load("bijie", split="test", root=str(BIJIE_FAKE))
    row, sample = ds[0], raw[0]
    assert row["id"] == sample["id"]
    image = sample["image"].numpy()
    assert np.array_equal(np.moveaxis(np.asarray(row["image"]), -1, 0), image[:3])
    dem = np.asarray(row["dem"])
    assert dem.dtype == np.float32 and dem.tobytes() == image[3].tobytes()
    assert np.array_equal(np.asarray(row["mask"]), sample["mask"].numpy())
    assert row["is_landslide"] == raw.is_landslide(row["id"])
    # The default config also loads without naming it.
    assert datasets.load_dataset(str(bijie_build.resolve()), split="val").num_rows == len(
        landbench.load("bijie", split="val", root=str(BIJIE_FAKE))
    )


def test_card_metadata_matches_build(bijie_build: Path) -> None:
    card = cards.read_card(bijie_build)
    record = read_record(bijie_build)
    assert card.data.license == "other"
    assert card.data.license_name and card.data.license_link
    assert card.data.task_categories == ["image-segmentation"]
    assert card.data.configs[0]["data_files"][0] == {
        "split": "train",
        "path": ["data/train-00000-of-00001.parquet"],
    }
    splits = {s["name"]: s["num_examples"] for s in card.data.dataset_info["splits"]}
    assert splits == bijie_counts()
    assert record["manifest_sha256"] in card.text
    train = record["splits"]["train"]
    n, pos = train["num_examples"], train["num_landslide"]
    assert f"| train | {n} | {pos} | {n - pos} |" in card.text
    assert "Partial copy" in card.text
    assert cards.find_placeholders(card.content) == []
    for section in ("## Dataset structure", "## Source data", "## Licensing", "## Citation"):
        assert section in card.text


def test_georeferenced_round_trip(toygeo: str, tmp_path: Path) -> None:
    out = tmp_path / "geo"
    template = cards.template_path("hokkaido")
    record = build(toygeo, out, dataset_kwargs={"n": 8}, card_template=template)
    assert record["columns"][-2:] == ["crs", "transform"]
    report = validate(out, cache_dir=tmp_path / "cache")
    assert report.raw_compared == 8
    hub = landbench.load(toygeo, split="train", source="hub", root=str(out), cache_dir=tmp_path)
    raw = ToyGeo(split="train")
    for i in range(len(raw)):
        a, b = hub[i], raw[i]
        assert_same_sample(a, b)
        assert isinstance(a["crs"], CRS) and isinstance(a["transform"], Affine)
    assert "| `crs` |" in (out / CARD_FILE).read_text()


def test_hokkaido_round_trip_with_georeferencing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "hokkaido"
    with pytest.raises(IncompleteDataError, match="official 39"):
        build("hokkaido", out, root=HOKKAIDO_FAKE)
    assert not out.exists()
    args = ["hub", "build", "--dataset", "hokkaido", "--root", str(HOKKAIDO_FAKE)]
    assert main([*args, "--out", str(out), "--allow-incomplete"]) == 0
    assert main(["hub", "validate", str(out), "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "samples identical to the raw loader: 7" in capsys.readouterr().out
    record = read_record(out)
    assert record["georef_types"] == "rasterio" and record["dem_nodata"] == -9999.0
    text = (out / CARD_FILE).read_text()
    assert "`-9999.0`" in text and "| `transform` |" in text and "Partial copy" in text
    for split in ("train", "val", "test"):
        hub = landbench.load("hokkaido", split=split, source="hub", root=str(out))
        raw = landbench.load("hokkaido", split=split, root=str(HOKKAIDO_FAKE))
        assert hub.manifest.sha256 == raw.manifest.sha256 and len(hub) == len(raw) > 0
        for i in range(len(raw)):
            assert_same_sample(hub[i], raw[i])
            assert isinstance(hub[i]["crs"], CRS)


def test_synth_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    kwargs = {"n": 20, "size": 24, "seed": 3}
    assert main(["hub", "build", "--dataset", "synth", "--out", str(out),
                 "--set", "n=20", "--set", "size=24", "--set", "seed=3"]) == 0  # fmt: skip
    report = validate(out, cache_dir=tmp_path / "cache")
    assert report.raw_compared == 20  # regenerated from the recorded options
    record = read_record(out)
    assert record["dataset_kwargs"] == kwargs and record["complete"]
    for split in ("train", "test"):
        hub = landbench.load("synth", split=split, source="hub", root=str(out))
        raw = landbench.load("synth", split=split, **kwargs)
        assert hub.manifest.sha256 == raw.manifest.sha256
        for i in range(len(raw)):
            assert_same_sample(hub[i], raw[i])


def test_band_selection_transforms_and_plot(bijie_build: Path) -> None:
    ds = landbench.load(
        "bijie",
        split="train",
        source="hub",
        root=str(bijie_build),
        bands=("DEM", "R"),
        transforms=lambda s: {**s, "seen": True},
    )
    raw = landbench.load("bijie", split="train", root=str(BIJIE_FAKE), bands=("DEM", "R"))
    sample = ds[1]
    assert sample["seen"] and torch.equal(sample["image"], raw[1]["image"])
    full = landbench.load("bijie", split="train", source="hub", root=str(bijie_build))
    assert full.plot(full[0]) is not None
    assert full.ids == raw.ids and full.index_of(raw.ids[2]) == 2


def test_builds_are_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        build("synth", out, dataset_kwargs={"n": 10, "size": 16})
    assert (a / "SHA256SUMS").read_bytes() == (b / "SHA256SUMS").read_bytes()
    assert (a / CARD_FILE).read_bytes() == (b / CARD_FILE).read_bytes()


def test_small_shards_and_row_groups(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "sharded"
    record = build(
        "synth", out, dataset_kwargs={"n": 20, "size": 16}, max_shard_bytes=1, rows_per_group=2
    )
    files = record["splits"]["train"]["files"]
    assert files[0] == "data/train-00000-of-00007.parquet" and len(files) == 7
    assert pq.ParquetFile(out / files[0]).metadata.num_row_groups == 1
    assert validate(out, cache_dir=tmp_path / "cache").split_counts["train"] == 14


# --- bad input --------------------------------------------------------------------------------


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def test_incomplete_raw_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(IncompleteDataError, match="fewer than the official"):
        build("bijie", out, root=BIJIE_FAKE)
    assert _leftovers(tmp_path) == []
    code = main(
        ["hub", "build", "--dataset", "bijie", "--root", str(BIJIE_FAKE), "--out", str(out)]
    )
    assert code == 2 and not out.exists()


def test_missing_file_is_named(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(BIJIE_FAKE / "Bijie-landslide-dataset", raw / "Bijie-landslide-dataset")
    dem = raw / "Bijie-landslide-dataset" / "landslide" / "dem" / "hz001.png"
    dem.unlink()
    with pytest.raises(InvalidDataError, match="hz001"):
        build("bijie", tmp_path / "out", root=raw, allow_incomplete=True)
    assert not (tmp_path / "out").exists()


def test_failed_build_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toygeo: str
) -> None:
    template = tmp_path / "tpl.md"
    template.write_text("---\nlicense: mit\n---\n# {{ dataset }} {{ no_such_value }}\n")
    parent = tmp_path / "builds"
    parent.mkdir()
    with pytest.raises(CardMismatchError, match="no_such_value"):
        build(toygeo, parent / "out", card_template=template)
    assert _leftovers(parent) == []
    with pytest.raises(InvalidDataError, match="outside the integers 0-255"):
        build(
            toygeo,
            parent / "out",
            dataset_kwargs={"fractional": True},
            card_template=cards.template_path("hokkaido"),
        )
    assert _leftovers(parent) == []

    def interrupted(*args: Any, **kwargs: Any) -> str:
        raise KeyboardInterrupt  # the very last step of a build, after every shard is written

    monkeypatch.setattr(cards, "render_card", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(toygeo, parent / "out", card_template=cards.template_path("hokkaido"))
    assert _leftovers(parent) == []


def test_card_templates_are_valid(bijie_build: Path) -> None:
    for name in ("bijie", "hokkaido", "synth"):
        cards.check_template(cards.template_path(name))
    assert set(cards.card_context(read_record(bijie_build))) == cards.CONTEXT_KEYS


def test_bad_options_and_existing_output(tmp_path: Path, toygeo: str) -> None:
    with pytest.raises(ConfigError, match="Unknown option"):
        build(toygeo, tmp_path / "x", dataset_kwargs={"nope": 1})
    with pytest.raises(ConfigError, match="set by the build"):
        build(toygeo, tmp_path / "x", dataset_kwargs={"split": "train"})
    with pytest.raises(ConfigError, match="Unknown dataset"):
        build("nope", tmp_path / "x")
    (tmp_path / "x").mkdir()
    with pytest.raises(LandbenchError, match="already exists"):
        build(toygeo, tmp_path / "x", card_template=cards.template_path("hokkaido"))
    assert main(["hub", "build", "--dataset", "synth", "--out", str(tmp_path / "y"),
                 "--set", "n"]) == 2  # fmt: skip


@pytest.fixture
def bijie_copy(bijie_build: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(bijie_build, copy)
    return copy


def test_tampered_shard_fails_validate_and_load(bijie_copy: Path, tmp_path: Path) -> None:
    shard = bijie_copy / "data" / "val-00000-of-00001.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(ShardChecksumError, match="val-00000-of-00001.parquet"):
        validate(bijie_copy, cache_dir=tmp_path / "cache")
    with pytest.raises(ShardChecksumError):
        landbench.load("bijie", split="train", source="hub", root=str(bijie_copy))
    (bijie_copy / "data" / "extra.parquet").write_bytes(b"")
    shard.unlink()
    with pytest.raises(ShardChecksumError, match="missing"):
        validate(bijie_copy)


def test_card_not_matching_shards(bijie_copy: Path, tmp_path: Path) -> None:
    card = bijie_copy / CARD_FILE
    text = card.read_text()
    n = bijie_counts()["train"]
    card.write_text(text.replace(f"num_examples: {n}", f"num_examples: {n + 1}", 1))
    with pytest.raises(CardMismatchError, match=f"train split has {n + 1} examples"):
        validate(bijie_copy, cache_dir=tmp_path / "cache")
    card.write_text(text.replace("data/val-00000-of-00001.parquet", "data/val-*.parquet", 1))
    with pytest.raises(CardMismatchError, match="data_files"):
        validate(bijie_copy, cache_dir=tmp_path / "cache")
    card.write_text(text + "\n## Extra\n[More Information Needed]\n")
    with pytest.raises(CardMismatchError, match="placeholder"):
        validate(bijie_copy, cache_dir=tmp_path / "cache")
    assert main(["hub", "validate", str(bijie_copy)]) == 2


def test_raw_mismatch_is_reported(bijie_copy: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(BIJIE_FAKE / "Bijie-landslide-dataset", raw / "Bijie-landslide-dataset")
    image = raw / "Bijie-landslide-dataset" / "non-landslide" / "image" / "fyb00213.png"
    from PIL import Image

    pixels = np.asarray(Image.open(image)).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(image)
    with pytest.raises(InvalidDataError, match="fyb00213"):
        validate(bijie_copy, raw_root=raw, cache_dir=tmp_path / "cache")
    report = validate(bijie_copy, compare_raw=False, cache_dir=tmp_path / "cache")
    assert report.raw_compared == 0 and "disabled" in report.notes[0]


def test_hub_source_needs_a_snapshot(tmp_path: Path, bijie_build: Path) -> None:
    with pytest.raises(ConfigError, match="root="):
        landbench.load("bijie", source="hub")
    with pytest.raises(LandbenchError, match="does not exist"):
        landbench.load("bijie", source="hub", root=str(tmp_path / "none"))
    with pytest.raises(LandbenchError, match="neither a dataset card"):
        landbench.load("bijie", source="hub", root=str(tmp_path))
    with pytest.raises(ConfigError, match="holds the 'bijie' dataset"):
        landbench.load("synth", source="hub", root=str(bijie_build))
    assert isinstance(HubLandslideDataset(bijie_build, split="val", checksum=False).record, dict)
    assert (bijie_build / RECORD_FILE).is_file()


# --- multi-band builds (Landslide4Sense, folder datasets) --------------------------------------

L4S_FAKE = Path(__file__).parent / "data" / "landslide4sense"


def test_landslide4sense_round_trip_14_bands(tmp_path: Path) -> None:
    out = tmp_path / "l4s"
    assert main(["hub", "build", "--dataset", "landslide4sense", "--root", str(L4S_FAKE),
                 "--out", str(out), "--allow-incomplete"]) == 0  # fmt: skip
    record = read_record(out)
    assert record["image_shape"] == [14, 128, 128] and "dem" not in record["columns"]
    assert record["bands"][-2:] == ["slope", "DEM"]
    report = validate(out, cache_dir=tmp_path / "cache")
    assert report.raw_compared == 7 and report.split_counts == {"train": 3, "val": 2, "test": 2}
    for split in ("train", "test"):
        hub = landbench.load("landslide4sense", split=split, source="hub", root=str(out))
        raw = landbench.load("landslide4sense", split=split, root=str(L4S_FAKE))
        assert hub.manifest.sha256 == raw.manifest.sha256 and hub.all_bands == raw.all_bands
        for i in range(len(raw)):
            assert_same_sample(hub[i], raw[i])
    rgbd = landbench.load("landslide4sense", split="val", source="hub", root=str(out),
                          bands=("R", "G", "B", "DEM"))  # fmt: skip
    assert torch.equal(rgbd[0]["image"], hub_val_full(out)[0]["image"][[3, 2, 1, 13]])
    card = (out / CARD_FILE).read_text()
    shard_sha = record["splits"]["test"]["sha256"]["data/test-00000-of-00001.parquet"]
    wanted = ["license: mit", "10.1109/TGRS.2022.3215209", "zenodo.org/records/10463239"]
    wanted += ["Iburi", "Kodagu", "Gorkha", "Taiwan", "landslide share", shard_sha]
    for text in wanted:
        assert text in card, text
    data = cards.read_card(out).data
    assert data.dataset_info["features"][1]["name"] == "image"


def hub_val_full(out: Path) -> HubLandslideDataset:
    return HubLandslideDataset(out, split="val", checksum=False)


def test_multiband_build_refuses_tiles_of_other_sizes(tmp_path: Path, monkeypatch) -> None:
    from landbench.datasets.landslide4sense import Landslide4Sense

    real = Landslide4Sense.__getitem__

    def shrunk(self: Landslide4Sense, index: int) -> dict[str, Any]:
        sample = real(self, index)
        if sample["id"] == "test_image_2":
            sample["image"], sample["mask"] = sample["image"][:, :64], sample["mask"][:64]
        return sample

    monkeypatch.setattr(Landslide4Sense, "__getitem__", shrunk)
    with pytest.raises(InvalidDataError, match=r"test_image_2.*\(14, 64, 128\)"):
        build("landslide4sense", tmp_path / "x", root=L4S_FAKE, allow_incomplete=True)
    assert not (tmp_path / "x").exists()
