"""Samples/s reading Bijie-format tiles: the Parquet Hub build against the raw PNG folder.

Run ``python -m pytest tests/benchmarks/test_bench_hub.py --benchmark-enable``; both peers read
the same tiles (Bijie layout, 30 tiles of 160-288 px, 8-bit RGB, 16-bit DEM) in one run. By
default (benchmarks disabled) the tests still check that both give identical samples.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from landbench.datasets.base import DatasetCountWarning
from landbench.datasets.bijie import Bijie
from landbench.datasets.hub_reader import HubLandslideDataset
from landbench.hub.build import build

N_LANDSLIDE, N_NEGATIVE = 10, 20


def _field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth terrain-like field in [0, 1] plus pixel noise, like imagery (PNGs do not vanish)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = sum(np.sin(rng.uniform(0.01, 0.08) * yy + rng.uniform(0.01, 0.08) * xx + rng.uniform(0, 6))
            for _ in range(3))  # fmt: skip
    f = (f - f.min()) / max(float(f.max() - f.min()), 1e-6)
    return np.clip(f + rng.normal(0, 0.03, (h, w)), 0, 1)


def write_bijie_folder(root: Path, seed: int = 0) -> Path:
    """A Bijie-layout folder of realistic-size tiles (variable, non-square)."""
    rng = np.random.default_rng(seed)
    base = root / "Bijie-landslide-dataset"
    for label, n in (("landslide", N_LANDSLIDE), ("non-landslide", N_NEGATIVE)):
        subs = ("image", "dem", "mask") if label == "landslide" else ("image", "dem")
        for sub in subs:
            (base / label / sub).mkdir(parents=True)
        for i in range(n):
            stem = f"{'ls' if label == 'landslide' else 'nl'}{i:04d}"
            h, w = (int(v) for v in rng.integers(160, 289, 2))
            rgb = np.stack([_field(rng, h, w) for _ in range(3)], -1)
            Image.fromarray((rgb * 255).astype(np.uint8), "RGB").save(
                base / label / "image" / f"{stem}.png"
            )
            dem = (1200 + 400 * _field(rng, h, w)).astype(np.uint16)
            Image.fromarray(dem).save(base / label / "dem" / f"{stem}.png")
            if label == "landslide":
                mask = (_field(rng, h, w) > 0.7).astype(np.uint8) * 255
                Image.fromarray(mask, "L").save(base / label / "mask" / f"{stem}.png")
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("bench-hub")
    raw = write_bijie_folder(tmp / "raw")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetCountWarning)
        build("bijie", tmp / "build", root=raw, allow_incomplete=True)
    return raw, tmp / "build", tmp / "cache"


def read_all(ds) -> int:
    """Read every sample once; returns the number read."""
    for i in range(len(ds)):
        ds[i]
    return len(ds)


def digest(ds) -> str:
    """SHA-256 of every sample's id, image and mask bytes, in id order: what a reader returns."""
    h = hashlib.sha256()
    for sample in sorted((ds[i] for i in range(len(ds))), key=lambda s: s["id"]):
        h.update(sample["id"].encode())
        h.update(sample["image"].numpy().tobytes())
        h.update(sample["mask"].numpy().tobytes())
    return h.hexdigest()


def _report(benchmark, n: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["samples_per_s"] = round(n / stats.stats.mean, 1)


@pytest.mark.benchmark(group="hub-loading")
def test_bench_raw_png_folder(benchmark, folders) -> None:
    raw, out, cache = folders
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetCountWarning)
        ds = Bijie(root=raw, split="train")
    n = benchmark(read_all, ds)
    assert n == len(ds) > 0
    assert digest(ds) == digest(HubLandslideDataset(out, split="train", cache_dir=cache))
    _report(benchmark, n)


@pytest.mark.benchmark(group="hub-loading")
def test_bench_hub_parquet_build(benchmark, folders) -> None:
    raw, out, cache = folders
    ds = HubLandslideDataset(out, split="train", cache_dir=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetCountWarning)
        reference = Bijie(root=raw, split="train")
    n = benchmark(read_all, ds)
    assert n == len(ds) == len(reference)
    assert digest(ds) == digest(reference)  # every sample, bit for bit
    _report(benchmark, n)
