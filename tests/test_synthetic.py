import hashlib
import json

import numpy as np
import pytest
import torch

import landbench
from landbench.core.errors import ConfigError, LandbenchError
from landbench.datasets import _terrain as terrain
from landbench.datasets.synth_generator import is_landslide_tile, tile_splits
from landbench.datasets.synth_presets import L4S_BANDS
from landbench.datasets.synthetic import (
    CACHE_MANIFEST,
    PRESETS,
    LandslideSynth,
    export_bijie_layout,
    generate_tile,
    parse_id,
    tile_classes,
)

SMALL = {"size": 32, "n": 40}


def digest(ds: LandslideSynth) -> str:
    h = hashlib.sha256()
    for i in range(len(ds)):
        s = ds[i]
        h.update(s["id"].encode())
        h.update(s["image"].numpy().tobytes())
        h.update(s["mask"].numpy().tobytes())
    return h.hexdigest()


def test_sample_contract():
    ds = LandslideSynth(split="train", **SMALL)
    s = ds[0]
    assert s["image"].shape == (4, 32, 32) and s["image"].dtype == torch.float32
    assert s["mask"].shape == (32, 32) and s["mask"].dtype == torch.int64
    assert set(torch.unique(s["mask"]).tolist()) <= {0, 1}
    assert s["id"] == ds.ids[0] and s["id"].startswith("synth-bijie-s0-")
    rgb = s["image"][:3]
    assert rgb.min() >= 0 and rgb.max() <= 255 and torch.equal(rgb, rgb.round())
    assert 1300 < float(s["image"][3].mean()) < 1800  # Bijie-like elevations, in metres


def test_default_sizes_and_registry():
    ds = landbench.load("synth", split="train")
    assert ds.size == (64, 64) and ds.n == 400
    assert len(ds) == 281  # 70% of 400 (pinned: split v2)
    assert sum(LandslideSynth(split=s).__len__() for s in ("train", "val", "test")) == 400
    assert isinstance(ds, landbench.datasets.LandslideSynth)  # the documented name works
    hok = landbench.load("synth", split="test", preset="hokkaido")
    assert hok.n == 80 and hok.preset.gsd_m > ds.preset.gsd_m


def test_bands_selection_and_transforms():
    ds = LandslideSynth(
        split="val", bands=("DEM", "R"), transforms=lambda s: {**s, "t": 1}, **SMALL
    )
    full = LandslideSynth(split="val", **SMALL)
    s = ds[0]
    assert s["image"].shape[0] == 2 and s["t"] == 1
    assert torch.equal(s["image"][0], full[0]["image"][3])


def test_deterministic_bytes():
    a = LandslideSynth(split="test", **SMALL)
    b = LandslideSynth(split="test", **SMALL)
    assert digest(a) == digest(b)
    # Reading order and n do not change a tile.
    c = LandslideSynth(split="test", size=32, n=80)
    shared = set(a.ids) & set(c.ids)
    assert shared
    for sid in sorted(shared)[:3]:
        assert np.array_equal(a.tile(sid)[0], c.tile(sid)[0])
    # Another seed or preset gives other tiles.
    d = LandslideSynth(split="test", seed=1, **SMALL)
    assert not np.array_equal(a[0]["image"].numpy(), d[0]["image"].numpy())


def test_generate_tile_is_pure():
    x1, m1 = generate_tile("hokkaido", 3, 7, 32)
    generate_tile("hokkaido", 3, 8, 32)  # other draws in between change nothing
    x2, m2 = generate_tile("hokkaido", 3, 7, 32)
    assert x1.tobytes() == x2.tobytes() and m1.tobytes() == m2.tobytes()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_class_balance_and_masks(preset):
    p = PRESETS[preset]
    n = 200
    classes = tile_classes(preset, 0, n)
    assert abs(classes.mean() - p.landslide_fraction) <= 1.5 / n
    ds = LandslideSynth(split="train", preset=preset, size=32, n=n)
    # Stratified 70/10/20 per class (largest remainder): counts are exact to within one.
    n_pos = sum(ds.is_landslide(i) for i in ds.ids)
    assert abs(n_pos - 0.7 * classes.sum()) <= 3  # low-discrepancy split: within a few tiles
    assert [is_landslide_tile(preset, 0, i) for i in range(n)] == classes.tolist()
    for sid in ds.ids[:25]:
        _, mask = ds.tile(sid)
        assert bool(mask.any()) == ds.is_landslide(sid)
        if ds.is_landslide(sid):
            assert mask.sum() >= min(p.min_landslide_px, 32 * 32)


def test_landslides_sit_on_steep_ground_and_change_the_dem():
    ds = LandslideSynth(split="train", size=48, n=60)
    scar_slope, other_slope = [], []
    for sid in ds.ids:
        image, mask = ds.tile(sid)
        if mask.any():
            slope = terrain.slope_deg(image[3].astype(np.float64), ds.preset.gsd_m)
            scar_slope.append(slope[mask > 0].mean())
            other_slope.append(slope[mask == 0].mean())
    assert scar_slope and np.mean(scar_slope) > np.mean(other_slope)


def test_rgb_confounders_sit_on_gentler_ground_than_landslides():
    # Bare-looking pixels (reddish: soil, rock, roofs, roads) outside the mask lie on gentle
    # ground; landslide pixels on steep ground. Only the DEM tells them apart.
    ds = LandslideSynth(split="train", size=48, n=60)
    bare_slope, scar_slope = [], []
    for sid in ds.ids:
        image, mask = ds.tile(sid)
        slope = terrain.slope_deg(image[3].astype(np.float64), ds.preset.gsd_m)
        redness = (image[0] - image[1]) / (image[0] + image[1] + 1e-6)
        bare_slope.append(slope[(redness > 0) & (mask == 0)])
        scar_slope.append(slope[mask > 0])
    bare, scar = np.concatenate(bare_slope), np.concatenate(scar_slope)
    assert bare.size > scar.size > 0
    assert np.mean(bare) + 10 < np.mean(scar)


# Split v2 manifests, pinned: any change to the rule, the ids or the fractions fails here.
MANIFESTS = {
    "bijie": "168da8344c43147cd0a6e36632bbb0d4763cf630c99f467d8f3e3c74f9c94d59",
    "hokkaido": "f17109385f67d2c0daecdff09025b676143d90e4f778d221d17450bb82980f62",
    "landslide4sense": "85b7a3a62fea665e8ed4da3dd52427f35e39ff773f1f990e5457c4507443d7fb",
}


@pytest.mark.parametrize("preset", sorted(MANIFESTS))
def test_split_v2_manifests_are_pinned(preset):
    manifest = LandslideSynth(preset=preset).manifest
    assert manifest.version == "v2" and manifest.sha256 == MANIFESTS[preset]


def test_split_v2_assignments_are_pinned():
    m = LandslideSynth().manifest
    assert m.counts() == {"train": 281, "val": 39, "test": 80}
    assert m.ids("val")[:4] == tuple(f"synth-bijie-s0-{i:05d}" for i in (7, 12, 24, 36))
    assert m.ids("test")[:4] == tuple(f"synth-bijie-s0-{i:05d}" for i in (0, 5, 10, 17))
    small = LandslideSynth(**SMALL).manifest
    assert small.counts() == {"train": 27, "val": 4, "test": 9}
    assert small.sha256 == "c2e5b05625d0d42d51ec18c8bac3f7452bc60b7da1b1a0d4b619f1127affa4a1"


def test_more_tiles_never_move_the_others():
    small = LandslideSynth(**SMALL).manifest
    large = LandslideSynth(size=32, n=400).manifest
    for split in ("train", "val", "test"):
        assert set(small.ids(split)) <= set(large.ids(split))
    where = tile_splits("bijie", 0, 1000, {"train": 0.7, "val": 0.1, "test": 0.2})
    assert (
        where[:40].tolist()
        == tile_splits("bijie", 0, 40, PRESETS["bijie"].split_fractions).tolist()
    )


def test_every_prefix_holds_each_share():
    # Low discrepancy: any n gets each split's share to within a few tiles, so even tiny
    # datasets have validation tiles.
    fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    for n in (10, 24, 40, 97, 400):
        counts = np.bincount(tile_splits("hokkaido", 5, n, fractions), minlength=3)
        for count, share in zip(counts, fractions.values(), strict=True):
            assert abs(count - share * n) <= 2, (n, counts)


def test_split_fractions_grow_the_test_split_only():
    fractions = {"train": 0.28, "val": 0.12, "test": 0.6}
    ds = LandslideSynth(split="test", n=1000, size=32, split_fractions=fractions)
    assert ds.manifest.counts() == {"train": 280, "val": 120, "test": 600}
    assert ds.manifest.sha256 != LandslideSynth(n=1000, size=32).manifest.sha256
    with pytest.raises(ConfigError, match="sum to 1"):
        LandslideSynth(split_fractions={"train": 0.5, "val": 0.1, "test": 0.1})
    with pytest.raises(ConfigError, match="Unknown split names"):
        LandslideSynth(split_fractions={"train": 0.5, "dev": 0.5})


def test_landslide4sense_preset():
    ds = LandslideSynth(split="train", preset="landslide4sense", n=24)
    assert ds.bands == L4S_BANDS == ds.all_bands and ds.size == (128, 128)
    sample = ds[0]
    assert sample["image"].shape == (14, 128, 128) and sample["image"].dtype == torch.float32
    image = sample["image"].numpy()
    assert (image[:12] >= 0).all() and (image[:12] < 2).all()  # reflectances
    slope = terrain.slope_deg(image[13].astype(np.float64), ds.preset.gsd_m)
    np.testing.assert_allclose(image[12], slope, atol=0.006)  # slope (degrees) of the DEM
    positives = [ds.tile(ds.sample_id(i))[1].mean() for i in range(24)]
    assert 0.01 < np.mean(positives) < 0.03  # about 2% landslide pixels
    assert min(positives) == 0  # some patches have none
    # Aliases meet: R, G, B, DEM select B4, B3, B2, DEM.
    rgbd = LandslideSynth(
        split="train", preset="landslide4sense", n=24, bands=("R", "G", "B", "DEM")
    )
    assert torch.equal(rgbd[0]["image"], sample["image"][[3, 2, 1, 13]])
    # Vegetation is brighter in NIR (B8) than in red (B4) over the tile.
    assert image[7].mean() > 1.5 * image[3].mean()


def test_power_law_sizes():
    a = terrain.truncated_pareto(np.random.default_rng(0), 100.0, 1e4, 1.2, 20000)
    assert a.min() >= 100 and a.max() <= 1e4
    assert np.median(a) < 0.05 * a.max()  # heavy tail: most slides are small


def test_bad_inputs():
    with pytest.raises(ConfigError, match="bijie, hokkaido"):
        LandslideSynth(preset="alps")
    with pytest.raises(ConfigError, match="train, val, test"):
        LandslideSynth(split="validation")
    with pytest.raises(ConfigError, match="size"):
        LandslideSynth(size=0)
    with pytest.raises(ConfigError, match="size"):
        LandslideSynth(size=(32, -4))
    with pytest.raises(ConfigError, match="n must be an integer from 1 to 100000"):
        LandslideSynth(n=0)
    with pytest.raises(ConfigError, match="seed"):
        LandslideSynth(seed=-1)
    with pytest.raises(ConfigError, match="Unknown band"):
        LandslideSynth(bands=("R", "NIR"))
    with pytest.raises(ConfigError, match="not a LandslideSynth id"):
        parse_id("hz001")
    assert parse_id("synth-bijie-s0-00017") == ("bijie", 0, 17)


def test_disk_cache_roundtrip_and_mismatch(tmp_path):
    root = tmp_path / "cache"
    a = LandslideSynth(root=root, split="val", **SMALL)
    first = digest(a)
    assert json.loads((root / CACHE_MANIFEST).read_text())["seed"] == 0
    files = sorted((root / "tiles").glob("*.npz"))
    assert len(files) == len(a)
    # A second dataset reads the cache (identical samples) and sees no stray temporary files.
    assert digest(LandslideSynth(root=root, split="val", **SMALL)) == first
    assert not [p for p in root.rglob("*") if p.name.startswith(".")]
    with pytest.raises(LandbenchError, match=r"seed=0 \(requested 1\)") as err:
        LandslideSynth(root=root, split="val", seed=1, **SMALL)
    assert str(root) in str(err.value)
    with pytest.raises(LandbenchError, match="generator_version"):
        manifest = json.loads((root / CACHE_MANIFEST).read_text())
        manifest["generator_version"] = "0.0"
        (root / CACHE_MANIFEST).write_text(json.dumps(manifest))
        LandslideSynth(root=root, split="val", **SMALL)


def test_cache_refuses_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LandbenchError, match="not a LandslideSynth cache"):
        LandslideSynth(root=tmp_path, **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_bad_input_writes_nothing(tmp_path):
    root = tmp_path / "cache"
    with pytest.raises(ConfigError):
        LandslideSynth(root=root, preset="nope")
    assert not root.exists()


def test_export_bijie_layout_roundtrip(tmp_path):
    from landbench.datasets.bijie import Bijie, read_polygon

    out = export_bijie_layout(tmp_path / "data", n=24, size=32)
    base = out / "Bijie-landslide-dataset"
    synth = {s: LandslideSynth(split=s, n=24, size=32) for s in ("train", "val", "test")}
    n_pos = sum(synth["train"].landslide_tiles)
    assert len(list((base / "landslide" / "image").glob("*.png"))) == n_pos
    assert len(list((base / "landslide" / "polygon_coordinate").glob("*.txt"))) == n_pos
    assert len(list((base / "non-landslide" / "dem").glob("*.png"))) == 24 - n_pos
    with pytest.warns(UserWarning):  # fewer samples than the official release
        bijie = {s: Bijie(root=out, split=s) for s in ("train", "val", "test")}
    assert sum(len(d) for d in bijie.values()) == 24
    ds = bijie["train"]
    for i in range(len(ds)):
        got = ds[i]
        image, mask = synth["train"].tile(got["id"])
        assert torch.equal(got["image"][:3], torch.from_numpy(image[:3].copy()))
        assert torch.equal(got["image"][3], torch.from_numpy(np.rint(image[3])))
        assert torch.equal(got["mask"], torch.from_numpy(mask.astype(np.int64)))
        if mask.any():
            ring = read_polygon(base / "landslide" / "polygon_coordinate" / f"{got['id']}.txt")
            assert ring[:, 0].max() < 32 and ring[:, 1].max() < 32
    with pytest.raises(LandbenchError, match="already exists"):
        export_bijie_layout(tmp_path / "data", n=24, size=32)
    with pytest.raises(ConfigError):
        export_bijie_layout(tmp_path / "other", preset="alps")
    assert not (tmp_path / "other").exists()
