"""Samples/s loading Bijie-format tiles: ``Bijie.__getitem__`` against a naive PIL loop.

A third entry, the decode floor, only decodes the same PNGs (libpng via torchvision, nothing
assembled): the gap between it and ``Bijie.__getitem__`` is all the loader adds.

Both peers read the same files (a Bijie-layout folder of 40 tiles, 120-420 px a side, non-square,
8-bit RGB with texture, 8- and 16-bit DEMs, 0/255 masks) and build the same samples, in one run:
``python -m pytest tests/benchmarks/test_bench_loading.py --benchmark-enable``. With benchmarks
disabled (the default) the tests still check that both peers return identical samples.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from landbench.datasets.base import DatasetCountWarning
from landbench.datasets.bijie import Bijie

N_LANDSLIDE, N_NEGATIVE = 14, 26


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth field plus pixel noise in [0, 1], so PNGs compress like imagery, not like flats."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = sum(np.sin(a * yy + b * xx + c) for a, b, c in rng.uniform(0.01, 0.1, (3, 3)))
    f = (f - f.min()) / max(float(f.max() - f.min()), 1e-6)
    return np.clip(f + rng.normal(0, 0.04, (h, w)), 0, 1)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("bench_bijie")
    base = root / Bijie.directory
    for label, n in (("landslide", N_LANDSLIDE), ("non-landslide", N_NEGATIVE)):
        for sub in ("image", "dem", "mask") if label == "landslide" else ("image", "dem"):
            (base / label / sub).mkdir(parents=True)
        for i in range(n):
            stem = f"{'ls' if label == 'landslide' else 'nl'}{i * 3 + 1:04d}"
            h, w = (int(v) for v in rng.integers(120, 421, size=2))
            rgb = np.stack([_texture(rng, h, w) for _ in range(3)], -1)
            Image.fromarray((rgb * 255).astype(np.uint8)).save(
                base / label / "image" / f"{stem}.png"
            )
            relief = _texture(rng, h, w)
            dem = (
                (relief * 900 + 1100).astype(np.uint16)
                if i % 2
                else (relief * 255).astype(np.uint8)
            )
            Image.fromarray(dem).save(base / label / "dem" / f"{stem}.png")
            if label == "landslide":
                mask = (relief > 0.6).astype(np.uint8) * 255
                Image.fromarray(mask).save(base / label / "mask" / f"{stem}.png")
    return root


def _datasets(root: Path) -> list[Bijie]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetCountWarning)
        return [Bijie(root, split=s) for s in ("train", "val", "test")]


def naive_pil_samples(root: Path, stems: list[tuple[str, str]]) -> list[dict]:
    """The obvious loop: PIL open, numpy arrays, stack to [H, W, 4], transpose, to torch."""
    base = root / Bijie.directory
    out = []
    for label, stem in stems:
        rgb = np.array(Image.open(base / label / "image" / f"{stem}.png"))
        dem = np.array(Image.open(base / label / "dem" / f"{stem}.png")).astype(np.float32)
        image = np.concatenate([rgb.astype(np.float32), dem[..., None]], axis=-1)
        image = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        if label == "landslide":
            mask = np.array(Image.open(base / label / "mask" / f"{stem}.png")) == 255
        else:
            mask = np.zeros(rgb.shape[:2], dtype=bool)
        out.append({"image": image, "mask": torch.from_numpy(mask.astype(np.int64)), "id": stem})
    return out


def landbench_samples(datasets: list[Bijie]) -> list[dict]:
    return [ds[i] for ds in datasets for i in range(len(ds))]


def _report(benchmark, n: int) -> None:
    if benchmark.stats is not None:
        benchmark.extra_info["samples_per_s"] = round(n / benchmark.stats.stats.mean, 1)


@pytest.mark.benchmark(group="bijie-loading")
def test_bench_landbench_getitem(benchmark, root: Path) -> None:
    datasets = _datasets(root)
    samples = benchmark(landbench_samples, datasets)
    assert len(samples) == N_LANDSLIDE + N_NEGATIVE
    _report(benchmark, len(samples))


@pytest.mark.benchmark(group="bijie-loading")
def test_bench_naive_pil_loop(benchmark, root: Path) -> None:
    datasets = _datasets(root)
    stems = [(ds.files[i].label, i) for ds in datasets for i in ds.ids]
    samples = benchmark(naive_pil_samples, root, stems)
    _report(benchmark, len(samples))
    # The same tiles decode to the same samples in both peers.
    for ours, theirs in zip(landbench_samples(datasets), samples):
        assert ours["id"] == theirs["id"]
        assert torch.equal(ours["image"], theirs["image"])
        assert torch.equal(ours["mask"], theirs["mask"])


@pytest.mark.benchmark(group="bijie-loading")
def test_bench_decode_floor(benchmark, root: Path) -> None:
    from landbench.datasets.io import read_png

    datasets = _datasets(root)
    paths = [
        p
        for ds in datasets
        for f in ds.files.values()
        if f.image.stem in ds.ids
        for p in (f.image, f.dem, f.mask)
        if p is not None
    ]
    arrays = benchmark(lambda: [read_png(p) for p in paths])
    assert len(arrays) == 2 * (N_LANDSLIDE + N_NEGATIVE) + N_LANDSLIDE
    _report(benchmark, N_LANDSLIDE + N_NEGATIVE)


# --- Landslide4Sense: Landslide4Sense.__getitem__ against a plain h5py loop ---------------------

N_L4S = 40


@pytest.fixture(scope="module")
def l4s_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 training patches in the release format: float64 (128, 128, 14) and uint8 masks."""
    import h5py

    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("bench_l4s")
    for sub in ("img", "mask"):
        (root / "TrainData" / sub).mkdir(parents=True)
    for n in range(1, N_L4S + 1):
        with h5py.File(root / "TrainData" / "img" / f"image_{n}.h5", "w") as f:
            f.create_dataset("img", data=rng.normal(0, 1, (128, 128, 14)))
        with h5py.File(root / "TrainData" / "mask" / f"mask_{n}.h5", "w") as f:
            f.create_dataset("mask", data=(rng.random((128, 128)) > 0.98).astype(np.uint8))
    return root


def _l4s(root: Path):
    from landbench.datasets.landslide4sense import Landslide4Sense

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetCountWarning)
        return Landslide4Sense(root, split="train")


def plain_h5py_samples(root: Path, numbers: list[int]) -> list[dict]:
    """The loop of the official code: h5py read, float32, transpose to [C, H, W], to torch."""
    import h5py

    out = []
    for n in numbers:
        with h5py.File(root / "TrainData" / "img" / f"image_{n}.h5", "r") as f:
            image = np.asarray(f["img"][:], np.float32).transpose(2, 0, 1)
        with h5py.File(root / "TrainData" / "mask" / f"mask_{n}.h5", "r") as f:
            mask = f["mask"][:].astype(np.int64)
        out.append({"image": torch.from_numpy(image.copy()), "mask": torch.from_numpy(mask)})
    return out


@pytest.mark.benchmark(group="landslide4sense-loading")
def test_bench_landslide4sense_getitem(benchmark, l4s_root: Path) -> None:
    ds = _l4s(l4s_root)
    samples = benchmark(lambda: [ds[i] for i in range(len(ds))])
    assert len(samples) == N_L4S
    _report(benchmark, N_L4S)


@pytest.mark.benchmark(group="landslide4sense-loading")
def test_bench_plain_h5py_loop(benchmark, l4s_root: Path) -> None:
    ds = _l4s(l4s_root)
    numbers = [int(i.rsplit("_", 1)[1]) for i in ds.ids]
    samples = benchmark(plain_h5py_samples, l4s_root, numbers)
    _report(benchmark, N_L4S)
    for i, theirs in enumerate(samples):  # both peers return the same samples
        ours = ds[i]
        assert torch.equal(ours["image"], theirs["image"])
        assert torch.equal(ours["mask"], theirs["mask"])
